//! The loop's sock_* methods over loopback TCP (test_sock_lowlevel.py:
//! test_sock_client_ops, test_sock_accept, test_huge_content, test_sock_connect_fail).

mod sock_util;

use std::future::Future;
use std::net::{TcpListener, TcpStream};

use sock_util::no_fd_leak;
use tower_loop::EventLoop;

/// A non-blocking TCP socket, not yet connected.
fn tcp_socket() -> std::os::fd::OwnedFd {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, socket_with};
    socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )
    .unwrap()
}

// test_sock_client_ops + test_sock_accept: connect, accept, send, receive, both on the loop.
#[test]
fn connect_accept_send_recv_over_loopback() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = lp.handle();
        let l2 = lp.clone();
        let got = lp
            .run_until_complete(async move {
                let server = sock_util::spawn(&handle, async move {
                    let conn = TcpStream::from(l2.sock_accept(&listener).await.unwrap());
                    let data = l2.sock_recv(&conn, 1024).await.unwrap();
                    l2.sock_sendall(&conn, &data).await.unwrap();
                });
                let lp = tower_loop::get_running_loop().unwrap();
                let sock = tcp_socket();
                lp.sock_connect(&sock, addr).await.unwrap();
                lp.sock_sendall(&sock, b"hello tower").await.unwrap();
                let mut buf = [0u8; 64];
                let n = lp.sock_recv_into(&sock, &mut buf).await.unwrap();
                server.await;
                buf[..n].to_vec()
            })
            .unwrap();
        assert_eq!(got, b"hello tower");
    });
}

// test_huge_content: sendall of more than the socket buffers hold waits for writability.
#[test]
fn sendall_of_a_large_buffer_completes() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = lp.handle();
        let l2 = lp.clone();
        let size = 8 << 20;
        let total = lp
            .run_until_complete(async move {
                let reader = sock_util::spawn(&handle, async move {
                    let conn = TcpStream::from(l2.sock_accept(&listener).await.unwrap());
                    let mut buf = vec![0u8; 65536];
                    let mut total = 0;
                    loop {
                        let n = l2.sock_recv_into(&conn, &mut buf).await.unwrap();
                        if n == 0 {
                            return total;
                        }
                        total += n;
                    }
                });
                let lp = tower_loop::get_running_loop().unwrap();
                let sock = tcp_socket();
                lp.sock_connect(&sock, addr).await.unwrap();
                lp.sock_sendall(&sock, &vec![7u8; size]).await.unwrap();
                drop(sock);
                reader.await
            })
            .unwrap();
        assert_eq!(total, size);
    });
}

// test_sock_connect_fail / test_create_connection refused: the error comes back as a value.
#[test]
fn connect_to_a_closed_port_fails() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let l2 = lp.clone();
        let r = lp
            .run_until_complete(async move {
                let sock = tcp_socket();
                l2.sock_connect(&sock, addr).await
            })
            .unwrap();
        assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::ConnectionRefused);
    });
}

// test_sock_lowlevel cancellation (test_sock_recv_racing / cancelled sock_recv): a dropped
// sock_recv takes nothing; a later one gets the bytes.
#[test]
fn dropped_recv_loses_nothing() {
    no_fd_leak(|| {
        use std::io::Write;
        use std::os::unix::net::UnixStream;
        let lp = EventLoop::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let l2 = lp.clone();
        let got = lp
            .run_until_complete(async move {
                let mut buf = [0u8; 8];
                {
                    let mut recv = l2.sock_recv_into(&a, &mut buf);
                    let pending = std::future::poll_fn(|cx| {
                        std::task::Poll::Ready(std::pin::Pin::new(&mut recv).poll(cx).is_pending())
                    })
                    .await;
                    assert!(pending);
                }
                b.write_all(b"late").unwrap();
                l2.sock_recv(&a, 8).await.unwrap()
            })
            .unwrap();
        assert_eq!(got, b"late");
    });
}
