//! What the connection-factory tests share: the fd-leak check (as tower-transport's tests
//! do), a protocol that records its events, and a loopback address that never answers.
#![allow(dead_code)] // each test binary uses a part

use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rustix::net::{AddressFamily, SocketFlags, SocketType};
use tower_protocol::Protocol;
use tower_transport::StreamTransport;

/// The workspace's fd-leak check, one file with tower-loop's tests (no test-support crate).
#[path = "../../../tower-loop/tests/sock_util/fd_leak.rs"]
mod fd_leak;
#[allow(unused_imports)] // each test binary uses a part
pub(crate) use fd_leak::{fd_count, no_fd_leak};

/// What a [`Recorder`] saw.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) made: usize,
    pub(crate) data: Vec<u8>,
    pub(crate) eof: bool,
    pub(crate) lost: Option<Option<io::ErrorKind>>,
}

/// A protocol that records its events and keeps its transport.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) transport: Option<StreamTransport>,
    pub(crate) seen: Seen,
}

impl Protocol for Recorder {
    fn connection_made(&mut self, t: StreamTransport) {
        self.transport = Some(t);
        self.seen.made += 1;
    }
    fn data_received(&mut self, data: &[u8]) {
        self.seen.data.extend_from_slice(data);
    }
    fn eof_received(&mut self) -> bool {
        self.seen.eof = true;
        false
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.seen.lost = Some(exc.map(|e| e.kind()));
        self.transport = None;
    }
}

/// Awaits (sleeping 1 ms at a time on the loop) until `cond` holds; panics after 10 s.
pub(crate) async fn until(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached in 10 s");
        tower_task::sleep(Duration::from_millis(1)).await;
    }
}

/// Waits until `server` has no client left, then closes it and waits for it to be closed.
pub(crate) async fn close_when_idle(server: &tower_protocol::Server) {
    until(|| server.client_count() == 0).await;
    server.close();
    server.wait_closed().await;
}

/// Waits until `p`'s `connection_lost` has run.
pub(crate) async fn until_lost<P: 'static>(p: &Rc<RefCell<P>>, lost: impl Fn(&P) -> bool) {
    until(|| lost(&p.borrow())).await;
}

/// A loopback listener that never answers a SYN: its backlog is 0 and its accept queue is
/// full (filled by connections nobody accepts), so the kernel drops every new SYN and a
/// connect to it hangs (for a second, then the SYN is retried, and dropped again). Keeps its
/// fds; drop it to close them.
pub(crate) struct Silent {
    pub(crate) listener: OwnedFd,
    fillers: Vec<OwnedFd>,
}

impl Silent {
    /// A silent listener on `ip` (port 0: any).
    pub(crate) fn new(ip: &str, port: u16) -> io::Result<Silent> {
        let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
        let listener = rustix::net::socket_with(
            AddressFamily::INET,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )?;
        rustix::net::bind(&listener, &addr)?;
        rustix::net::listen(&listener, 0)?;
        let at = Silent::addr_of(&listener);
        let mut fillers = Vec::new();
        for _ in 0..3 {
            let s = rustix::net::socket_with(
                AddressFamily::INET,
                SocketType::STREAM,
                SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
                None,
            )?;
            let _ = rustix::net::connect(&s, &at); // EINPROGRESS or done
            fillers.push(s);
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Silent { listener, fillers })
    }

    fn addr_of(fd: &OwnedFd) -> SocketAddr {
        let any = rustix::net::getsockname(fd).unwrap();
        SocketAddr::try_from(any).unwrap()
    }

    /// Where it listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        Silent::addr_of(&self.listener)
    }
}

/// A listener on `ip` at `port` (0: any), bound with std.
pub(crate) fn listener(ip: &str, port: u16) -> io::Result<TcpListener> {
    TcpListener::bind(format!("{ip}:{port}"))
}

/// A port of 127.0.0.1 nobody listens on (bound, then closed).
pub(crate) fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
