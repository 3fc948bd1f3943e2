//! A server's listening sockets: [`Listener`] (the socket, its address, the accept reader's
//! state, the `EMFILE` back-off timer), and the Unix socket file to unlink at close
//! ([`UnixCleanup`], 3.13's `cleanup_socket`).

use std::cell::{Cell, RefCell};
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use tower_loop::TimerHandle;
use tower_transport::SocketAddress;

/// A listening socket of a server.
pub(crate) struct Listener {
    /// The socket (non-blocking, bound; listening once the server started serving).
    pub(crate) fd: OwnedFd,
    /// Its address, read after `bind`.
    pub(crate) address: SocketAddress,
    /// Whether the loop has its reader (the accept callback).
    pub(crate) reading: Cell<bool>,
    /// The back-off timer after `EMFILE` (accept.rs), while one is pending.
    pub(crate) retry: RefCell<Option<TimerHandle>>,
    /// A Unix socket path to unlink at close, if it is still this socket's (3.13's
    /// `cleanup_socket`).
    pub(crate) cleanup: Option<UnixCleanup>,
}

impl Listener {
    /// A listener over the bound socket `fd`, not watched yet.
    pub(crate) fn new(fd: OwnedFd, address: SocketAddress, cleanup: Option<UnixCleanup>) -> Self {
        Listener {
            fd,
            address,
            reading: Cell::new(false),
            retry: RefCell::new(None),
            cleanup,
        }
    }
}

/// The identity of the socket file a Unix server bound: the path is unlinked at close only if
/// it still names this file (asyncio compares the inode; the device is compared too here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnixCleanup {
    /// The path bound.
    pub(crate) path: PathBuf,
    /// `st_dev` of the socket file after `bind`.
    pub(crate) dev: u64,
    /// `st_ino` of the socket file after `bind`.
    pub(crate) ino: u64,
}

impl UnixCleanup {
    /// Unlinks the path if it is still the socket file this server bound.
    pub(crate) fn run(&self) {
        let Ok(st) = rustix::fs::lstat(&self.path) else {
            return;
        };
        let is_socket =
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Socket;
        #[allow(clippy::unnecessary_cast)] // `st_dev`/`st_ino` are not u64 everywhere
        if is_socket && st.st_dev as u64 == self.dev && st.st_ino as u64 == self.ino {
            let _ = rustix::fs::unlink(&self.path);
        }
    }
}
