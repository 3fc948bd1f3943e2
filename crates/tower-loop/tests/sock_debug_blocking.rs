//! Debug mode: a `sock_*` method given a blocking socket fails with
//! [`BlockingSocket`] instead of stalling the loop (test_sock_lowlevel.py:
//! `_basetest_sock_client_ops`, "in debug mode, socket operations must fail if the socket is
//! not in blocking mode" — asyncio raises `ValueError("the socket must be non-blocking")`).

mod sock_util;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;

use rustix::net::{AddressFamily, SocketFlags, SocketType};
use sock_util::{no_fd_leak, tcp_listener};
use tower_loop::EventLoop;
use tower_loop::error::BlockingSocket;

/// Whether `r` failed with the debug-mode blocking-socket error.
fn is_blocking_error<T>(r: &io::Result<T>) -> bool {
    r.as_ref().err().is_some_and(|e| {
        e.kind() == io::ErrorKind::InvalidInput
            && e.get_ref()
                .is_some_and(|inner| inner.downcast_ref::<BlockingSocket>().is_some())
    })
}

// Every stream method refuses a blocking socket in debug mode, before any syscall on it: the
// connect and accept would otherwise block the loop's thread. Data is ready for the receives
// (more than the receives take) and a connection for the accept, so that code without the
// check returns rather than hangs.
#[test]
fn stream_methods_refuse_a_blocking_socket_in_debug_mode() {
    no_fd_leak(|| {
        let lp = EventLoop::builder().debug(true).build().unwrap();
        let (listener, addr) = tcp_listener();
        listener.set_nonblocking(false).unwrap();
        let _pending_conn = TcpStream::connect(addr).unwrap();
        let (a, b) = UnixStream::pair().unwrap(); // blocking
        (&b).write_all(b"data for the receives").unwrap();
        let blocking_tcp = rustix::net::socket_with(
            AddressFamily::INET,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let results = lp
            .run_until_complete(async {
                let mut buf = [0u8; 4];
                [
                    is_blocking_error(&lp.sock_connect(&blocking_tcp, addr).await),
                    is_blocking_error(&lp.sock_sendall(&a, b"GET").await),
                    is_blocking_error(&lp.sock_recv(&a, 4).await),
                    is_blocking_error(&lp.sock_recv_into(&a, &mut buf).await),
                    is_blocking_error(&lp.sock_accept(&listener).await),
                ]
            })
            .unwrap();
        assert_eq!(
            results, [true; 5],
            "connect, sendall, recv, recv_into, accept must each refuse the blocking socket"
        );
        // asyncio's test then goes on in non-blocking mode: the same calls work.
        a.set_nonblocking(true).unwrap();
        let got = lp
            .run_until_complete(lp.sock_recv(&a, 1024))
            .unwrap()
            .unwrap();
        assert_eq!(got, b"data for the receives");
        lp.close().unwrap();
    });
}

// The datagram methods too.
#[test]
fn datagram_methods_refuse_a_blocking_socket_in_debug_mode() {
    no_fd_leak(|| {
        let lp = EventLoop::builder().debug(true).build().unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap(); // blocking
        let me: SocketAddr = sock.local_addr().unwrap();
        sock.send_to(b"queued", me).unwrap();
        let results = lp
            .run_until_complete(async {
                let mut buf = [0u8; 16];
                [
                    is_blocking_error(&lp.sock_sendto(&sock, b"x", me).await),
                    is_blocking_error(&lp.sock_recvfrom(&sock, 16).await),
                    is_blocking_error(&lp.sock_recvfrom_into(&sock, &mut buf).await),
                ]
            })
            .unwrap();
        assert_eq!(results, [true; 3]);
        lp.close().unwrap();
    });
}

// Outside debug mode nothing is checked (asyncio's check is debug-only, it costs a syscall);
// the receive still cannot block the loop (it passes MSG_DONTWAIT).
#[test]
fn blocking_socket_is_not_checked_outside_debug_mode() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (a, b) = UnixStream::pair().unwrap(); // blocking
        (&b).write_all(b"hi").unwrap();
        let got = lp
            .run_until_complete(lp.sock_recv(&a, 16))
            .unwrap()
            .unwrap();
        assert_eq!(got, b"hi");
        lp.close().unwrap();
    });
}
