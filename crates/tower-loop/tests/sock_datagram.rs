//! `sock_sendto`, `sock_recvfrom`, `sock_recvfrom_into` over loopback UDP (test_sock_lowlevel.py:
//! test_recvfrom, test_recvfrom_into; the echo server of `run_udp_echo_server` is a task on the
//! same loop here), and their cancel safety: a datagram is taken whole by one call or not at all.

mod sock_util;

use std::future::Future;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::pin::Pin;
use std::task::Poll;

use sock_util::no_fd_leak;
use tower_loop::EventLoop;
use tower_loop::error::UnsupportedAddress;

/// A non-blocking UDP socket on an ephemeral loopback port, and its address.
fn udp() -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_nonblocking(true).unwrap();
    let a = s.local_addr().unwrap();
    (s, a)
}

/// Starts a task echoing `n` datagrams on `server` back to their senders.
fn spawn_echo(lp: &EventLoop, server: UdpSocket, n: usize) -> async_task::Task<()> {
    let l2 = lp.clone();
    sock_util::spawn(&lp.handle(), async move {
        for _ in 0..n {
            let (data, from) = l2.sock_recvfrom(&server, 65536).await.unwrap();
            let sent = l2.sock_sendto(&server, &data, from).await.unwrap();
            assert_eq!(sent, data.len());
        }
    })
}

// test_recvfrom: send 4096 bytes to an echo server; sock_recvfrom returns them and the
// server's address.
#[test]
fn recvfrom_returns_the_datagram_and_its_sender() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (server, server_addr) = udp();
        let echo = spawn_echo(&lp, server, 1);
        let (sock, _) = udp();
        let data = vec![1u8; 4096];
        let (got, from) = lp
            .run_until_complete(async {
                let sent = lp.sock_sendto(&sock, &data, server_addr).await.unwrap();
                assert_eq!(sent, 4096);
                let r = lp.sock_recvfrom(&sock, 4096).await.unwrap();
                echo.await;
                r
            })
            .unwrap();
        assert_eq!(got, data);
        assert_eq!(from, server_addr);
        lp.close().unwrap();
    });
}

// test_recvfrom_into: into a buffer of the datagram's size, then into the first 4096 bytes of
// a larger one (asyncio's nbytes argument is a shorter slice here).
#[test]
fn recvfrom_into_fills_the_buffer_and_returns_the_sender() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (server, server_addr) = udp();
        let echo = spawn_echo(&lp, server, 2);
        let (sock, _) = udp();
        let data = vec![1u8; 4096];
        lp.run_until_complete(async {
            let mut buf = vec![0u8; 4096];
            lp.sock_sendto(&sock, &data, server_addr).await.unwrap();
            let (n, from) = lp.sock_recvfrom_into(&sock, &mut buf).await.unwrap();
            assert_eq!((n, from), (4096, server_addr));
            assert_eq!(buf, data);

            let mut buf = vec![0u8; 8192];
            lp.sock_sendto(&sock, &data, server_addr).await.unwrap();
            let (n, from) = lp
                .sock_recvfrom_into(&sock, &mut buf[..4096])
                .await
                .unwrap();
            assert_eq!((n, from), (4096, server_addr));
            assert_eq!(buf[..4096], data[..]);
            assert!(buf[4096..].iter().all(|&b| b == 0));
            echo.await;
        })
        .unwrap();
        lp.close().unwrap();
    });
}

// Datagram boundaries are kept: two datagrams are two receives, and a datagram longer than the
// buffer is truncated, its rest discarded (the next receive gets the next datagram).
#[test]
fn datagrams_are_received_whole_one_per_call() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (a, a_addr) = udp();
        let (b, b_addr) = udp();
        let got = lp
            .run_until_complete(async {
                lp.sock_sendto(&a, b"first", b_addr).await.unwrap();
                lp.sock_sendto(&a, b"second datagram", b_addr)
                    .await
                    .unwrap();
                lp.sock_sendto(&a, b"third", b_addr).await.unwrap();
                let mut out = Vec::new();
                out.push(lp.sock_recvfrom(&b, 64).await.unwrap());
                out.push(lp.sock_recvfrom(&b, 6).await.unwrap()); // truncated
                out.push(lp.sock_recvfrom(&b, 64).await.unwrap());
                out
            })
            .unwrap();
        let expected: Vec<(Vec<u8>, SocketAddr)> = vec![
            (b"first".to_vec(), a_addr),
            (b"second".to_vec(), a_addr),
            (b"third".to_vec(), a_addr),
        ];
        assert_eq!(got, expected);
        lp.close().unwrap();
    });
}

// Cancel safety: a sock_recvfrom dropped while it waits takes no datagram; the next one gets
// the datagram whole.
#[test]
fn dropped_recvfrom_takes_no_datagram() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (a, a_addr) = udp();
        let (b, b_addr) = udp();
        let got = lp
            .run_until_complete(async {
                {
                    let mut buf = [0u8; 64];
                    let mut waiting = lp.sock_recvfrom_into(&b, &mut buf);
                    let pending = std::future::poll_fn(|cx| {
                        Poll::Ready(Pin::new(&mut waiting).poll(cx).is_pending())
                    })
                    .await;
                    assert!(pending);
                }
                lp.sock_sendto(&a, b"whole", b_addr).await.unwrap();
                lp.sock_recvfrom(&b, 64).await.unwrap()
            })
            .unwrap();
        assert_eq!(got, (b"whole".to_vec(), a_addr));
        lp.close().unwrap();
    });
}

// A receive that waits is woken by a datagram sent later by another task.
#[test]
fn recvfrom_waits_for_a_datagram() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (a, a_addr) = udp();
        let (b, b_addr) = udp();
        let l2 = lp.clone();
        let got = lp
            .run_until_complete(async {
                // Runs after the receive below started waiting.
                let sender = sock_util::spawn(&lp.handle(), async move {
                    l2.sock_sendto(&a, b"later", b_addr).await.map(|n| (n, a))
                });
                let got = lp.sock_recvfrom(&b, 64).await.unwrap();
                let (n, _a) = sender.await.unwrap();
                assert_eq!(n, 5);
                got
            })
            .unwrap();
        assert_eq!(got, (b"later".to_vec(), a_addr));
        lp.close().unwrap();
    });
}

// A socket that is not IPv4/IPv6 (a Unix datagram pair): the sender has no IP address; the
// receive reports UnsupportedAddress rather than inventing one.
#[test]
fn recvfrom_on_a_non_ip_socket_reports_unsupported_address() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (a, b) = UnixDatagram::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        a.send(b"unix").unwrap();
        let r = lp.run_until_complete(lp.sock_recvfrom(&b, 64)).unwrap();
        let e = r.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
        assert!(
            e.get_ref()
                .unwrap()
                .downcast_ref::<UnsupportedAddress>()
                .is_some()
        );
        lp.close().unwrap();
    });
}
