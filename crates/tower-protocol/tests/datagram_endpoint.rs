//! `create_datagram_endpoint` over loopback UDP: datagrams both ways, a connected endpoint's
//! errors to `error_received`, `family` alone, `reuse_port`, `allow_broadcast`, `sock`, and
//! the option errors. Every test checks the fd count before and after.

mod connect_util;

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::BorrowedFd;
use std::time::Duration;

use connect_util::{closed_port, no_fd_leak, until};
use tower_protocol::{
    DatagramProtocol, Family, create_datagram_endpoint, create_datagram_endpoint_sock,
};
use tower_task::{run, sleep};
use tower_transport::{
    BaseTransport, DatagramSocketTransport, DatagramTransport, SocketAddress, extra,
};

/// Records datagrams and errors; echoes if asked.
#[derive(Default)]
struct Udp {
    transport: Option<DatagramSocketTransport>,
    echo: bool,
    got: Vec<(Vec<u8>, Option<SocketAddress>)>,
    errors: Vec<io::ErrorKind>,
    lost: bool,
}

impl DatagramProtocol for Udp {
    fn connection_made(&mut self, t: DatagramSocketTransport) {
        self.transport = Some(t);
    }
    fn datagram_received(&mut self, data: &[u8], addr: Option<SocketAddress>) {
        if self.echo {
            let t = self.transport.as_ref().unwrap();
            t.sendto(data, addr.as_ref()).unwrap();
        }
        self.got.push((data.to_vec(), addr));
    }
    fn error_received(&mut self, exc: io::Error) {
        self.errors.push(exc.kind());
    }
    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        self.lost = true;
        self.transport = None;
    }
}

fn echo() -> Udp {
    Udp {
        echo: true,
        ..Udp::default()
    }
}

fn sockname(t: &DatagramSocketTransport) -> SocketAddr {
    match t.get_extra_info(extra::Sockname) {
        Some(SocketAddress::Inet(a)) => a,
        other => panic!("sockname {other:?}"),
    }
}

#[test]
fn send_and_receive_both_ways() {
    no_fd_leak(|| {
        run(async {
            let (server, sp) = create_datagram_endpoint(echo)
                .local_addr("127.0.0.1", 0)
                .await
                .unwrap();
            let at = sockname(&server);
            assert!(server.get_extra_info(extra::Peername).is_none());
            let (client, cp) = create_datagram_endpoint(Udp::default)
                .remote_addr("127.0.0.1", at.port())
                .await
                .unwrap();
            assert_eq!(
                client.get_extra_info(extra::Peername),
                Some(SocketAddress::Inet(at))
            );
            client.sendto(b"ping", None).unwrap();
            until(|| !cp.borrow().got.is_empty()).await;
            assert_eq!(cp.borrow().got[0].0, b"ping");
            let from = sp.borrow().got[0].1.clone();
            assert_eq!(from, Some(SocketAddress::Inet(sockname(&client))));
            client.close();
            server.close();
            until(|| cp.borrow().lost && sp.borrow().lost).await;
        })
        .unwrap();
    });
}

#[test]
fn connected_endpoint_errors_go_to_error_received() {
    no_fd_leak(|| {
        let port = closed_port();
        run(async move {
            let (t, p) = create_datagram_endpoint(Udp::default)
                .remote_addr("127.0.0.1", port)
                .await
                .unwrap();
            // The first send draws an ICMP port unreachable; the kernel reports it on a later
            // send or receive of the connected socket.
            for _ in 0..200 {
                t.sendto(b"anyone?", None).unwrap();
                sleep(Duration::from_millis(5)).await;
                if !p.borrow().errors.is_empty() {
                    break;
                }
            }
            assert_eq!(p.borrow().errors[0], io::ErrorKind::ConnectionRefused);
            assert!(!t.is_closing(), "the endpoint stays open");
            t.close();
            until(|| p.borrow().lost).await;
        })
        .unwrap();
    });
}

/// `allow_broadcast` with `remote_addr` (asyncio's): the socket stays unconnected (a connected
/// one could not send to a broadcast address), `sendto(data, None)` goes to the remote, any
/// other address is refused as on a connected endpoint, and any sender is heard.
#[test]
fn allow_broadcast_with_remote_addr_keeps_the_socket_unconnected() {
    no_fd_leak(|| {
        let remote = UdpSocket::bind("127.0.0.1:0").unwrap();
        let other = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (to, other_at) = (remote.local_addr().unwrap(), other.local_addr().unwrap());
        run(async move {
            let (t, p) = create_datagram_endpoint(Udp::default)
                .remote_addr("127.0.0.1", to.port())
                .allow_broadcast(true)
                .await
                .unwrap();
            let fd = t.get_extra_info(extra::Socket).unwrap();
            // SAFETY: the transport owns `fd` and stays open for this borrow.
            let sock = unsafe { BorrowedFd::borrow_raw(fd) };
            assert!(rustix::net::sockopt::socket_broadcast(sock).unwrap());
            assert_eq!(
                rustix::net::getpeername(sock).unwrap_err(),
                rustix::io::Errno::NOTCONN,
                "not connected"
            );
            assert!(t.get_extra_info(extra::Peername).is_none());
            t.sendto(b"default", None).unwrap();
            t.sendto(b"same", Some(&SocketAddress::Inet(to))).unwrap();
            let mut buf = [0; 16];
            let (n, from) = remote.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"default");
            let (n, _) = remote.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"same");
            let err = t
                .sendto(b"elsewhere", Some(&SocketAddress::Inet(other_at)))
                .unwrap_err();
            assert!(
                matches!(err, tower_transport::SendToError::InvalidAddress { ref connected }
                    if *connected == SocketAddress::Inet(to)),
                "{err}"
            );
            // Unconnected: a datagram from a third socket arrives too.
            other.send_to(b"hello", from).unwrap();
            until(|| !p.borrow().got.is_empty()).await;
            assert_eq!(
                p.borrow().got[0],
                (b"hello".to_vec(), Some(SocketAddress::Inet(other_at)))
            );
            t.close();
            until(|| p.borrow().lost).await;
        })
        .unwrap();
    });
}

#[test]
fn family_alone_gives_an_unbound_socket() {
    no_fd_leak(|| {
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = peer.local_addr().unwrap();
        run(async move {
            let (t, p) = create_datagram_endpoint(Udp::default)
                .family(Family::V4)
                .await
                .unwrap();
            t.sendto(b"hi", Some(&SocketAddress::Inet(to))).unwrap();
            let mut buf = [0; 8];
            let (n, from) = peer.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"hi");
            peer.send_to(b"yo", from).unwrap();
            until(|| !p.borrow().got.is_empty()).await;
            t.close();
            until(|| p.borrow().lost).await;
        })
        .unwrap();
    });
}

#[test]
fn reuse_port_and_allow_broadcast_are_set() {
    no_fd_leak(|| {
        run(async {
            let (a, _pa) = create_datagram_endpoint(Udp::default)
                .local_addr("127.0.0.1", 0)
                .reuse_port(true)
                .allow_broadcast(true)
                .await
                .unwrap();
            let at = sockname(&a);
            let fd = a.get_extra_info(extra::Socket).unwrap();
            // SAFETY: the transport owns `fd` and stays open for this borrow.
            let sock = unsafe { BorrowedFd::borrow_raw(fd) };
            assert!(rustix::net::sockopt::socket_reuseport(sock).unwrap());
            assert!(rustix::net::sockopt::socket_broadcast(sock).unwrap());
            // A second endpoint on the same address: allowed by SO_REUSEPORT on both.
            let (b, _pb) = create_datagram_endpoint(Udp::default)
                .local_addr("127.0.0.1", at.port())
                .reuse_port(true)
                .await
                .unwrap();
            assert_eq!(sockname(&b), at);
            // Without it the address is taken.
            let err = create_datagram_endpoint(Udp::default)
                .local_addr("127.0.0.1", at.port())
                .await
                .err()
                .unwrap();
            assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
            a.close();
            b.close();
            sleep(Duration::from_millis(2)).await;
        })
        .unwrap();
    });
}

#[test]
fn sock_is_used_as_it_is_and_excludes_the_other_options() {
    // The other options with a socket cannot be written: `create_datagram_endpoint_sock`
    // takes none (a `compile_fail` example on it).
    no_fd_leak(|| {
        run(async {
            let std_sock = UdpSocket::bind("127.0.0.1:0").unwrap();
            let at = std_sock.local_addr().unwrap();
            let (t, _p) = create_datagram_endpoint_sock(Udp::default, std_sock)
                .await
                .unwrap();
            assert_eq!(sockname(&t), at);
            t.close();

            let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let err = create_datagram_endpoint_sock(Udp::default, tcp)
                .await
                .err()
                .unwrap();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);

            let err = create_datagram_endpoint(Udp::default).await.err().unwrap();
            assert_eq!(err.to_string(), "unexpected address family");

            // Local and remote of no common family.
            let err = create_datagram_endpoint(Udp::default)
                .local_addr("127.0.0.1", 0)
                .remote_addr("::1", 9)
                .await
                .err()
                .unwrap();
            assert_eq!(err.to_string(), "can not get address information");
            sleep(Duration::from_millis(2)).await;
        })
        .unwrap();
    });
}
