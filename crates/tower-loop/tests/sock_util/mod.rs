//! What the `sock_*` tests share: the fd-leak check (`fd_leak.rs`, shared with
//! tower-transport's tests) and socket constructors.
#![allow(dead_code)] // each test binary uses a part

use std::net::{SocketAddr, TcpListener};
use std::os::fd::OwnedFd;

use rustix::net::{AddressFamily, SocketFlags, SocketType, socket_with};

mod fd_leak;
#[allow(unused_imports)] // each test binary uses a part
pub(crate) use fd_leak::{fd_count, no_fd_leak};

/// A non-blocking, close-on-exec socket of `family` and `ty`, not yet connected.
pub(crate) fn socket(family: AddressFamily, ty: SocketType) -> OwnedFd {
    socket_with(
        family,
        ty,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )
    .unwrap()
}

/// A non-blocking TCP/IPv4 socket, not yet connected.
pub(crate) fn tcp_socket() -> OwnedFd {
    socket(AddressFamily::INET, SocketType::STREAM)
}

/// A non-blocking listener on an ephemeral loopback port, and its address.
pub(crate) fn tcp_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// A loopback address with nothing listening on it (bound, then closed).
pub(crate) fn closed_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Fills the send buffer of the non-blocking `sock` (and its peer's receive buffer) with
/// `fill` bytes, until even one byte would block; returns how many were written.
pub(crate) fn fill_send_buffer(sock: &std::os::unix::net::UnixStream, fill: u8) -> usize {
    use std::io::Write;
    let chunk = [fill; 8192];
    let (mut size, mut total) = (chunk.len(), 0);
    while size > 0 {
        match (&*sock).write(&chunk[..size]) {
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => size /= 2,
            Err(e) => panic!("filling the send buffer: {e}"),
        }
    }
    total
}

/// Spawns `f` as a task on the loop behind `h` and schedules it (tier 2's tests have no
/// `tower_task::spawn`: a bare `async_task` task on the loop's scheduler).
pub(crate) fn spawn<F>(h: &tower_loop::LoopHandle, f: F) -> async_task::Task<F::Output>
where
    F: std::future::Future + 'static,
{
    let (r, t) = async_task::spawn_local(f, h.scheduler());
    r.schedule();
    t
}
