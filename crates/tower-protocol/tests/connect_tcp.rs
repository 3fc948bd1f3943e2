//! `create_connection` over loopback TCP: connection refused, asyncio's error rules,
//! happy eyeballs (one winner, every loser's socket closed, a silent first address,
//! cancelling mid-race), `local_addr`, `family`, and the sock variant. Every test checks the
//! process's fd count before and after.

mod connect_util;

use std::future::IntoFuture;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::Duration;

use connect_util::{Recorder, Silent, closed_port, fd_count, no_fd_leak, until};
use tower_protocol::{
    ConnectCallFailed, ConnectionErrors, Family, Host, create_connection, create_connection_sock,
};
use tower_task::error::TaskError;
use tower_task::{run, sleep, spawn_local};
use tower_transport::{BaseTransport, SocketAddress, WriteTransport, extra};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Listeners on several loopback addresses sharing one port: a silent one on each of
/// `silent`, a listening one on each of `live`.
fn same_port(silent: &[&str], live: &[&str]) -> (u16, Vec<Silent>, Vec<TcpListener>) {
    for _ in 0..20 {
        let first = Silent::new(silent[0], 0).unwrap();
        let port = first.addr().port();
        let mut silents = vec![first];
        let rest: io::Result<Vec<Silent>> =
            silent[1..].iter().map(|h| Silent::new(h, port)).collect();
        let lives: io::Result<Vec<TcpListener>> =
            live.iter().map(|h| TcpListener::bind((*h, port))).collect();
        if let (Ok(rest), Ok(lives)) = (rest, lives) {
            silents.extend(rest);
            return (port, silents, lives);
        }
    }
    panic!("no port free on every loopback address");
}

fn peer_of(t: &impl BaseTransport) -> SocketAddr {
    match t.get_extra_info(extra::Peername) {
        Some(SocketAddress::Inet(a)) => a,
        other => panic!("peername {other:?}"),
    }
}

#[test]
fn connection_refused_is_its_kind_with_the_address() {
    no_fd_leak(|| {
        let port = closed_port();
        let err = run(async move { create_connection(Recorder::default, "127.0.0.1", port).await })
            .unwrap()
            .err()
            .expect("nobody listens");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        let failed = err
            .get_ref()
            .unwrap()
            .downcast_ref::<ConnectCallFailed>()
            .unwrap();
        assert_eq!(failed.addr, SocketAddr::new(ip("127.0.0.1"), port));
        assert_eq!(
            failed.error.raw_os_error(),
            Some(rustix::io::Errno::CONNREFUSED.raw_os_error())
        );
    });
}

#[test]
fn connects_calls_connection_made_and_sets_nodelay() {
    no_fd_leak(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        run(async move {
            let (t, p) = create_connection(Recorder::default, "127.0.0.1", port)
                .await
                .unwrap();
            assert_eq!(
                p.borrow().seen.made,
                1,
                "connection_made ran before the return"
            );
            let fd = t.get_extra_info(extra::Socket).unwrap();
            // SAFETY: the transport owns `fd` and is open for the rest of this borrow.
            let sock = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            assert!(rustix::net::sockopt::tcp_nodelay(sock).unwrap());
            let (mut peer, _) = listener.accept().unwrap();
            t.write(b"hello").unwrap();
            let mut buf = [0; 5];
            peer.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"hello");
            peer.write_all(b"back").unwrap();
            until(|| p.borrow().seen.data == b"back").await;
            t.close();
            until(|| p.borrow().seen.lost.is_some()).await;
        })
        .unwrap();
    });
}

#[test]
fn multiple_refusals_are_multiple_exceptions_and_all_errors_lists_them() {
    no_fd_leak(|| {
        let port = closed_port();
        let two = Host::from(vec![ip("127.0.0.1"), ip("127.0.0.2")]);
        run(async move {
            let err = create_connection(Recorder::default, two.clone(), port)
                .await
                .err()
                .unwrap();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
            assert!(
                err.to_string()
                    .starts_with("Multiple exceptions: connect call failed 127.0.0.1:"),
                "{err}"
            );
            let all = err
                .get_ref()
                .unwrap()
                .downcast_ref::<ConnectionErrors>()
                .unwrap();
            assert_eq!(all.errors().len(), 2);

            let err = create_connection(Recorder::default, two.clone(), port)
                .all_errors(true)
                .await
                .err()
                .unwrap();
            assert_eq!(
                err.to_string(),
                "create_connection failed (2 sub-exceptions)"
            );

            // The same through happy eyeballs: both attempts failed, both errors kept.
            let err = create_connection(Recorder::default, two, port)
                .happy_eyeballs_delay(Duration::from_millis(10))
                .all_errors(true)
                .await
                .err()
                .unwrap();
            let all = err
                .get_ref()
                .unwrap()
                .downcast_ref::<ConnectionErrors>()
                .unwrap();
            assert_eq!(all.errors().len(), 2);
            assert!(
                all.errors()
                    .iter()
                    .all(|e| e.kind() == io::ErrorKind::ConnectionRefused)
            );
        })
        .unwrap();
    });
}

#[test]
fn silent_first_address_connects_through_the_second() {
    no_fd_leak(|| {
        let (port, silent, live) = same_port(&["127.0.0.1"], &["127.0.0.2"]);
        run(async move {
            let (t, p) = create_connection(
                Recorder::default,
                vec![ip("127.0.0.1"), ip("127.0.0.2")],
                port,
            )
            .happy_eyeballs_delay(Duration::from_millis(50))
            .await
            .unwrap();
            assert_eq!(peer_of(&t).ip(), ip("127.0.0.2"));
            assert_eq!(p.borrow().seen.made, 1);
            let (accepted, _) = live[0].accept().unwrap();
            drop(accepted);
            t.abort();
            until(|| p.borrow().seen.lost.is_some()).await;
        })
        .unwrap();
        drop(silent);
    });
}

#[test]
fn one_winner_and_every_losers_socket_is_closed() {
    no_fd_leak(|| {
        let (port, silent, live) = same_port(&["127.0.0.1", "127.0.0.3"], &["127.0.0.2"]);
        run(async move {
            let at_start = fd_count();
            let (t, _p) = create_connection(
                Recorder::default,
                vec![ip("127.0.0.1"), ip("127.0.0.3"), ip("127.0.0.2")],
                port,
            )
            .happy_eyeballs_delay(Duration::from_millis(20))
            .await
            .unwrap();
            assert_eq!(peer_of(&t).ip(), ip("127.0.0.2"));
            // Exactly one new fd: the winner's. The two silent attempts' sockets are closed.
            assert_eq!(fd_count(), at_start + 1);
            t.abort();
            let (accepted, _) = live[0].accept().unwrap();
            drop(accepted);
            sleep(Duration::from_millis(5)).await;
            assert_eq!(fd_count(), at_start);
        })
        .unwrap();
        drop(silent);
    });
}

#[test]
fn cancelling_mid_race_leaks_no_fd() {
    no_fd_leak(|| {
        let (port, silent, _live) = same_port(&["127.0.0.1", "127.0.0.2", "127.0.0.3"], &[]);
        run(async move {
            let at_start = fd_count();
            let racer = spawn_local(
                create_connection(
                    Recorder::default,
                    vec![ip("127.0.0.1"), ip("127.0.0.2"), ip("127.0.0.3")],
                    port,
                )
                .happy_eyeballs_delay(Duration::from_millis(5))
                .into_future(),
            );
            sleep(Duration::from_millis(60)).await;
            assert_eq!(fd_count(), at_start + 3, "three attempts are connecting");
            racer.cancel();
            assert!(matches!(racer.await, Err(TaskError::Cancelled(_))));
            assert_eq!(fd_count(), at_start, "every attempt's socket closed");

            // Without happy eyeballs: the one attempt's socket is the future's own.
            let one =
                spawn_local(create_connection(Recorder::default, "127.0.0.1", port).into_future());
            sleep(Duration::from_millis(20)).await;
            assert_eq!(fd_count(), at_start + 1);
            one.cancel();
            assert!(matches!(one.await, Err(TaskError::Cancelled(_))));
            assert_eq!(fd_count(), at_start);
        })
        .unwrap();
        drop(silent);
    });
}

#[test]
fn local_addr_is_honoured() {
    no_fd_leak(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        run(async move {
            let (t, _p) = create_connection(Recorder::default, "127.0.0.1", port)
                .local_addr("127.0.0.2", 0)
                .await
                .unwrap();
            let (peer, from) = listener.accept().unwrap();
            assert_eq!(from.ip(), ip("127.0.0.2"));
            match t.get_extra_info(extra::Sockname) {
                Some(SocketAddress::Inet(a)) => assert_eq!(a.ip(), ip("127.0.0.2")),
                other => panic!("{other:?}"),
            }
            drop(peer);
            t.abort();
            sleep(Duration::from_millis(2)).await;

            // A local port in use: asyncio's bind message, the kind kept.
            let taken = listener.local_addr().unwrap();
            let err = create_connection(Recorder::default, "127.0.0.1", port)
                .local_addr("127.0.0.1", taken.port())
                .await
                .err()
                .unwrap();
            assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
            assert_eq!(
                err.to_string(),
                format!(
                    "error while attempting to bind on address {taken}: address already in use"
                )
            );

            // Only local addresses of another family: asyncio's message.
            let err = create_connection(Recorder::default, "127.0.0.1", port)
                .local_addr("::1", 0)
                .await
                .err()
                .unwrap();
            assert_eq!(
                err.to_string(),
                "no matching local address with family=AF_INET found"
            );
        })
        .unwrap();
    });
}

#[test]
fn family_filters_the_addresses() {
    no_fd_leak(|| {
        run(async {
            let err = create_connection(Recorder::default, "127.0.0.1", 9)
                .family(Family::V6)
                .await
                .err()
                .unwrap();
            assert_eq!(err.kind(), io::ErrorKind::AddrNotAvailable);
        })
        .unwrap();
    });
}

#[test]
fn sock_variant_takes_a_connected_stream_socket() {
    no_fd_leak(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        run(async move {
            let (t, _p) = create_connection_sock(Recorder::default, client)
                .await
                .unwrap();
            t.write(b"via sock").unwrap();
            let mut buf = [0; 8];
            server.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"via sock");
            t.close();
            sleep(Duration::from_millis(2)).await;

            let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let err = create_connection_sock(Recorder::default, udp)
                .await
                .err()
                .unwrap();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        })
        .unwrap();
    });
}

#[test]
fn interleave_without_delay_connects_one_after_another() {
    no_fd_leak(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        run(async move {
            let (t, _p) = create_connection(Recorder::default, "127.0.0.1", port)
                .interleave(2)
                .await
                .unwrap();
            let _accepted = listener.accept().unwrap();
            assert!(t.get_extra_info(extra::Socket).is_some());
            t.abort();
            sleep(Duration::from_millis(2)).await;
        })
        .unwrap();
    });
}
