//! TCP servers: create_server's options and the Server's life (CPython's test_server.py,
//! test_base_events.py `test_create_server*`, test_selector_events.py's accept tests).

mod server_util;

use std::cell::Cell;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::task::Poll;

use tower_loop::EventLoop;
use tower_protocol::{Family, Host, Protocol, ServerError, create_server, create_server_sock};
use tower_transport::{BaseTransport, SocketAddress, StreamTransport};

use server_util::{
    Echo, Stats, connect, echo, inet_addr, inet_addrs, make, no_fd_leak, poll_once, read_now,
    run_once, run_until, run_until_closed, setup, shut_down,
};

#[test]
fn serve_and_echo() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let server = make(&lp, create_server(Echo::factory(&stats), "127.0.0.1", 0)).unwrap();
        assert!(server.is_serving());
        let addr = inet_addr(&server);
        assert_ne!(addr.port(), 0);
        let mut a = connect(addr);
        let mut b = connect(addr);
        echo(&lp, &mut a, b"first");
        echo(&lp, &mut b, b"second");
        echo(&lp, &mut a, b"again");
        assert_eq!(
            stats.made.get(),
            2,
            "the factory is called once per connection"
        );
        assert_eq!(server.client_count(), 2);
        drop((a, b));
        run_until(&lp, || stats.lost.get() == 2);
        assert_eq!(server.client_count(), 0);
        server.close();
        lp.close().unwrap();
    });
}

/// test_server.py `test_wait_closed_basic`/`test_close_with_clients`: close stops listening
/// and leaves the clients; wait_closed waits for them.
#[test]
fn close_keeps_clients_and_wait_closed_waits_for_them() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let server = make(&lp, create_server(Echo::factory(&stats), "127.0.0.1", 0)).unwrap();
        let addr = inet_addr(&server);
        let mut a = connect(addr);
        let mut b = connect(addr);
        echo(&lp, &mut a, b"a");
        echo(&lp, &mut b, b"b");

        let mut waiting = server.wait_closed();
        assert!(poll_once(&mut waiting).is_pending(), "not closed yet");
        server.close();
        server.close(); // idempotent
        assert!(!server.is_serving());
        assert!(server.sockets().is_empty());
        let refused = TcpStream::connect(addr).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);

        // The clients are still served.
        echo(&lp, &mut a, b"still here");
        echo(&lp, &mut b, b"me too");
        assert!(poll_once(&mut waiting).is_pending(), "two clients left");
        drop(a);
        run_until(&lp, || stats.lost.get() == 1);
        assert!(poll_once(&mut waiting).is_pending(), "one client left");
        drop(b);
        run_until(&lp, || stats.lost.get() == 2);
        assert_eq!(poll_once(&mut waiting), Poll::Ready(()));
        // And at once from now on.
        assert_eq!(poll_once(&mut server.wait_closed()), Poll::Ready(()));
        lp.close().unwrap();
    });
}

/// test_server.py `test_wait_closed_race`-like: no clients, wait_closed returns at close.
#[test]
fn wait_closed_without_clients_returns_at_close() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let server = make(&lp, create_server(Echo::factory(&stats), "127.0.0.1", 0)).unwrap();
        let mut waiting = server.wait_closed();
        assert!(poll_once(&mut waiting).is_pending());
        let s = server.clone();
        lp.call_soon(move || s.close());
        lp.run_until_complete(waiting).unwrap();
        assert!(server.sockets().is_empty());
        lp.close().unwrap();
    });
}

/// asyncio 3.13 `test_close_clients`/`test_abort_clients`.
#[test]
fn close_clients_and_abort_clients() {
    for abort in [false, true] {
        no_fd_leak(|| {
            let (lp, stats) = setup();
            let server = make(&lp, create_server(Echo::factory(&stats), "127.0.0.1", 0)).unwrap();
            let addr = inet_addr(&server);
            let mut a = connect(addr);
            let mut b = connect(addr);
            echo(&lp, &mut a, b"x");
            echo(&lp, &mut b, b"y");
            server.close();
            if abort {
                server.abort_clients();
            } else {
                server.close_clients();
            }
            run_until(&lp, || stats.lost.get() == 2);
            run_until_closed(&lp, &mut a);
            run_until_closed(&lp, &mut b);
            assert_eq!(server.client_count(), 0);
            assert_eq!(poll_once(&mut server.wait_closed()), Poll::Ready(()));
            lp.close().unwrap();
        });
    }
}

/// asyncio 3.13 `test_abort_clients`: with data buffered for a client that does not read,
/// close_clients waits for the buffer to drain, abort_clients drops it and ends at once.
#[test]
fn abort_clients_drops_buffered_data_close_clients_flushes_it() {
    /// Writes 8 MiB at connection_made (more than the socket buffers take).
    struct Flood(Rc<Stats>, Option<StreamTransport>);
    impl Protocol for Flood {
        fn connection_made(&mut self, t: StreamTransport) {
            use tower_transport::WriteTransport;
            t.write(&vec![b'z'; 8 << 20]).unwrap();
            assert!(t.get_write_buffer_size() > 0, "something is buffered");
            self.1 = Some(t);
        }
        fn connection_lost(&mut self, _exc: Option<io::Error>) {
            self.0.lost.set(self.0.lost.get() + 1);
            self.1 = None;
        }
    }
    for abort in [false, true] {
        no_fd_leak(|| {
            let (lp, stats) = setup();
            let s2 = stats.clone();
            let server = make(
                &lp,
                create_server(move || Flood(s2.clone(), None), "127.0.0.1", 0),
            )
            .unwrap();
            let mut c = connect(inet_addr(&server));
            run_until(&lp, || server.client_count() == 1);
            for _ in 0..3 {
                run_once(&lp);
            }
            if abort {
                server.abort_clients();
                run_until(&lp, || stats.lost.get() == 1);
            } else {
                server.close_clients();
                for _ in 0..10 {
                    run_once(&lp);
                }
                assert_eq!(stats.lost.get(), 0, "close waits for the buffer to drain");
                // Reading lets it drain; then it closes.
                let mut got = Vec::new();
                run_until(&lp, || read_now(&mut c, &mut got).is_none());
                assert_eq!(
                    got.len(),
                    8 << 20,
                    "every buffered byte arrived before the close"
                );
                assert_eq!(stats.lost.get(), 1);
            }
            drop(c);
            shut_down(&lp, &server);
        });
    }
}

/// test_server.py `test_serve_forever` cancelled: the server closes, the clients stay.
#[test]
fn serve_forever_cancelled_closes_the_server_and_keeps_clients() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let server = make(
            &lp,
            create_server(Echo::factory(&stats), "127.0.0.1", 0).start_serving(false),
        )
        .unwrap();
        assert!(!server.is_serving());
        let s = server.clone();
        // Spawned from inside the loop (spawn_local needs a running loop); the handle comes out
        // in an Option, not as the block's awaitable value.
        let task = lp
            .run_until_complete(async move {
                Some(tower_task::spawn_local(
                    async move { s.serve_forever().await },
                ))
            })
            .unwrap()
            .unwrap();
        run_once(&lp);
        assert!(server.is_serving(), "serve_forever starts serving");
        let addr = inet_addr(&server);
        let mut c = connect(addr);
        echo(&lp, &mut c, b"before");

        assert!(task.cancel());
        run_until(&lp, || task.done());
        assert!(task.cancelled());
        assert!(!server.is_serving());
        assert!(
            server.sockets().is_empty(),
            "cancelling serve_forever closes the server"
        );
        assert_eq!(
            TcpStream::connect(addr).unwrap_err().kind(),
            io::ErrorKind::ConnectionRefused
        );
        echo(&lp, &mut c, b"after");
        assert_eq!(server.client_count(), 1);
        drop(c);
        run_until(&lp, || server.client_count() == 0);
        assert_eq!(poll_once(&mut server.wait_closed()), Poll::Ready(()));
        lp.close().unwrap();
    });
}

/// Dropping the serve_forever future is cancelling it.
#[test]
fn serve_forever_dropped_closes_the_server() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let server = make(&lp, create_server(Echo::factory(&stats), "127.0.0.1", 0)).unwrap();
        let mut c = connect(inet_addr(&server));
        let mut forever = server.serve_forever();
        assert!(poll_once(&mut forever).is_pending());
        echo(&lp, &mut c, b"served");
        drop(forever);
        assert!(!server.is_serving() && server.sockets().is_empty());
        echo(&lp, &mut c, b"kept");
        drop(c);
        run_until(&lp, || server.client_count() == 0);
        lp.close().unwrap();
    });
}

/// test_server.py: serve_forever twice, and on a closed server, are errors; close ends it.
#[test]
fn serve_forever_errors_and_close_ends_it() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let server = make(&lp, create_server(Echo::factory(&stats), "127.0.0.1", 0)).unwrap();
        let mut first = server.serve_forever();
        assert!(poll_once(&mut first).is_pending());
        let mut second = server.serve_forever();
        assert!(matches!(
            poll_once(&mut second),
            Poll::Ready(Err(ServerError::AlreadyServingForever))
        ));
        drop(second); // an errored serve_forever closes nothing
        assert!(server.is_serving());
        server.close();
        assert!(matches!(poll_once(&mut first), Poll::Ready(Ok(()))));
        let mut third = server.serve_forever();
        assert!(matches!(
            poll_once(&mut third),
            Poll::Ready(Err(ServerError::Closed))
        ));
        assert!(server.start_serving().is_err());
        lp.close().unwrap();
    });
}

/// test_base_events.py `test_create_server_no_start_serving`-like: bound, not listening; then
/// start_serving.
#[test]
fn start_serving_false_then_start_serving() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let server = make(
            &lp,
            create_server(Echo::factory(&stats), "127.0.0.1", 0).start_serving(false),
        )
        .unwrap();
        assert!(!server.is_serving());
        let addr = inet_addr(&server);
        assert_eq!(
            TcpStream::connect(addr).unwrap_err().kind(),
            io::ErrorKind::ConnectionRefused,
            "not listening before start_serving"
        );
        server.start_serving().unwrap();
        server.start_serving().unwrap(); // idempotent
        assert!(server.is_serving());
        let mut c = connect(addr);
        echo(&lp, &mut c, b"now");
        drop(c);
        server.close();
        assert!(!server.is_serving());
        run_until(&lp, || server.client_count() == 0);
        lp.close().unwrap();
    });
}

/// Several hosts: one socket each, every one served.
#[test]
fn two_hosts() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let server = make(
            &lp,
            create_server(Echo::factory(&stats), ["127.0.0.1", "127.0.0.2"], 0),
        )
        .unwrap();
        assert_eq!(server.sockets().len(), 2);
        for addr in inet_addrs(&server) {
            let mut c = connect(addr);
            echo(&lp, &mut c, addr.to_string().as_bytes());
        }
        assert_eq!(stats.made.get(), 2);
        shut_down(&lp, &server);
    });
}

/// A name is resolved off the loop (the blocking pool); every address it gives is served.
#[test]
fn a_host_name_is_resolved() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let server = make(&lp, create_server(Echo::factory(&stats), "localhost", 0)).unwrap();
        assert!(!server.sockets().is_empty());
        for addr in inet_addrs(&server) {
            assert!(addr.ip().is_loopback(), "{addr}");
            let mut c = connect(addr);
            echo(&lp, &mut c, b"by name");
        }
        shut_down(&lp, &server);
    });
}

/// A host given twice (or resolving to one address twice) is bound once (asyncio's set).
#[test]
fn duplicate_hosts_bind_once() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let server = make(
            &lp,
            create_server(Echo::factory(&stats), vec!["127.0.0.1", "127.0.0.1"], 0),
        )
        .unwrap();
        assert_eq!(server.sockets().len(), 1);
        server.close();
        lp.close().unwrap();
    });
}

/// `None`: every interface, one socket per address family; the IPv6 one is v6-only.
#[test]
fn all_interfaces_one_socket_per_family() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let server = make(&lp, create_server(Echo::factory(&stats), None, 0)).unwrap();
        let socks = server.sockets();
        let v4: Vec<_> = socks
            .iter()
            .filter(|s| matches!(s.address, SocketAddress::Inet(a) if a.is_ipv4()))
            .collect();
        let v6: Vec<_> = socks
            .iter()
            .filter(|s| matches!(s.address, SocketAddress::Inet(a) if a.is_ipv6()))
            .collect();
        assert_eq!(v4.len(), 1);
        assert!(v6.len() <= 1, "IPv6 may be disabled here: {socks:?}");
        for s in &v6 {
            // SAFETY: the fd is the server's listening socket, open until close.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(s.fd) };
            assert!(rustix::net::sockopt::ipv6_v6only(fd).unwrap());
        }
        let SocketAddress::Inet(a4) = v4[0].address else {
            panic!()
        };
        assert!(a4.ip().is_unspecified());
        let mut c = connect(SocketAddr::from(([127, 0, 0, 1], a4.port())));
        echo(&lp, &mut c, b"wildcard");
        server.close();
        drop(c);
        run_until(&lp, || server.client_count() == 0);

        // Family::V4 keeps only the IPv4 wildcard.
        let server = make(
            &lp,
            create_server(Echo::factory(&stats), Host::All, 0).family(Family::V4),
        )
        .unwrap();
        assert_eq!(server.sockets().len(), 1);
        server.close();
        lp.close().unwrap();
    });
}

/// test_selector_events.py `test_accept_connection_multiple`: at most `backlog` accepts per
/// readiness, so per loop iteration.
#[test]
fn backlog_accepts_per_iteration() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        // The listener's own queue holds all of them (listen(64)); the server's backlog of 3
        // then bounds the accepts per iteration (its listen(3) does not drop queued ones).
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<TcpStream> = (0..10).map(|_| connect(addr)).collect();
        let stats = Rc::new(Stats::default());
        let server = make(
            &lp,
            create_server_sock(Echo::factory(&stats), listener)
                .backlog(3)
                .start_serving(false),
        )
        .unwrap();
        server.start_serving().unwrap();
        let mut per_iteration = Vec::new();
        while stats.made.get() < clients.len() {
            let before = stats.made.get();
            run_once(&lp);
            per_iteration.push(stats.made.get() - before);
            assert!(per_iteration.len() < 1000, "{per_iteration:?}");
        }
        assert!(per_iteration.iter().all(|&n| n <= 3), "{per_iteration:?}");
        assert_eq!(per_iteration.iter().filter(|&&n| n > 0).count(), 4);
        assert_eq!(per_iteration.iter().find(|&&n| n > 0), Some(&3));
        drop(clients);
        shut_down(&lp, &server);
    });
}

/// asyncio 3.13's keep_alive: the accepted sockets have SO_KEEPALIVE.
#[test]
fn keep_alive_is_set_on_accepted_sockets() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        for on in [true, false] {
            let stats = Rc::new(Stats::default());
            let server = make(
                &lp,
                create_server(Echo::factory(&stats), "127.0.0.1", 0).keep_alive(on),
            )
            .unwrap();
            let mut c = connect(inet_addr(&server));
            echo(&lp, &mut c, b"k");
            assert_eq!(*stats.keepalive.borrow(), [on]);
            server.close();
            drop(c);
            run_until(&lp, || server.client_count() == 0);
        }
        lp.close().unwrap();
    });
}

/// test_base_events.py `test_create_server_reuse_port`: two servers on one port.
#[test]
fn reuse_port_lets_two_servers_share_a_port() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let first = make(
            &lp,
            create_server(Echo::factory(&stats), "127.0.0.1", 0).reuse_port(true),
        )
        .unwrap();
        let port = inet_addr(&first).port();
        let second = make(
            &lp,
            create_server(Echo::factory(&stats), "127.0.0.1", port).reuse_port(true),
        )
        .unwrap();
        assert_eq!(inet_addr(&second).port(), port);
        let without = make(&lp, create_server(Echo::factory(&stats), "127.0.0.1", port));
        let err = without.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        assert!(err.to_string().contains("127.0.0.1"), "{err}");
        // Both serve: connections go to one or the other.
        let mut c = connect(SocketAddr::from(([127, 0, 0, 1], port)));
        echo(&lp, &mut c, b"shared");
        drop(c);
        first.close();
        second.close();
        run_until(&lp, || first.client_count() + second.client_count() == 0);
        lp.close().unwrap();
    });
}

/// `sock=`: serving an existing socket (`create_server_sock`; host/port with it cannot be
/// written: a `compile_fail` example on `create_server_sock`); a socket that is not a stream
/// socket is an error.
#[test]
fn sock_option() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = make(&lp, create_server_sock(Echo::factory(&stats), listener)).unwrap();
        assert_eq!(inet_addr(&server), addr);
        let mut c = connect(addr);
        echo(&lp, &mut c, b"sock");
        drop(c);
        server.close();
        run_until(&lp, || server.client_count() == 0);

        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let err = make(&lp, create_server_sock(Echo::factory(&stats), udp)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        lp.close().unwrap();
    });
}

/// An unknown name fails the builder (the resolver's error), and so does an empty host list.
#[test]
fn bad_hosts_are_errors() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let empty: Vec<&str> = Vec::new();
        let err = make(&lp, create_server(Echo::factory(&stats), empty, 0)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = make(
            &lp,
            create_server(Echo::factory(&stats), "::1", 0).family(Family::V4),
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrNotAvailable);
        lp.close().unwrap();
    });
}

/// A protocol replaced with set_protocol: the server still knows when the client is gone.
#[test]
fn replaced_protocol_still_counts_as_a_client() {
    /// Hands its transport over to a plain echo at the first byte.
    struct Switcher(Rc<Stats>);
    impl Protocol for Switcher {
        fn connection_made(&mut self, t: StreamTransport) {
            let echo = Echo::factory(&self.0)();
            let echo = Rc::new(std::cell::RefCell::new(echo));
            echo.borrow_mut().connection_made(t.clone());
            t.set_protocol(echo);
        }
    }
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let s2 = stats.clone();
        let server = make(
            &lp,
            create_server(move || Switcher(s2.clone()), "127.0.0.1", 0),
        )
        .unwrap();
        let mut c = connect(inet_addr(&server));
        echo(&lp, &mut c, b"switched");
        assert_eq!(
            server.client_count(),
            1,
            "still a client after set_protocol"
        );
        server.close();
        let mut waiting = server.wait_closed();
        assert!(poll_once(&mut waiting).is_pending());
        drop(c);
        run_until(&lp, || poll_once(&mut waiting).is_ready());
        assert_eq!(server.client_count(), 0);
        lp.close().unwrap();
    });
}

/// The loop closing with a server serving and clients connected frees everything.
#[test]
fn loop_close_frees_a_serving_server() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let server = make(&lp, create_server(Echo::factory(&stats), "127.0.0.1", 0)).unwrap();
        let mut c = connect(inet_addr(&server));
        echo(&lp, &mut c, b"x");
        let dbg = format!("{server:?}");
        assert!(
            dbg.contains("serving: true") && dbg.contains("clients: 1"),
            "{dbg}"
        );
        drop(server); // still serving: the loop keeps it
        lp.close().unwrap();
        assert_eq!(stats.lost.get(), 1, "the loop's close ends the connection");
        let mut sink = Vec::new();
        assert!(
            read_now(&mut c, &mut sink).is_none(),
            "the client sees it closed"
        );
    });
}

/// A factory that panics loses that connection only; the server goes on.
#[test]
fn panicking_factory_drops_the_connection() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let reports = Rc::new(Cell::new(0));
        let r = reports.clone();
        lp.set_exception_handler(move |_, _| r.set(r.get() + 1));
        let stats = Rc::new(Stats::default());
        let calls = Rc::new(Cell::new(0));
        let (c2, inner) = (calls.clone(), Echo::factory(&stats));
        let factory = move || {
            c2.set(c2.get() + 1);
            assert!(c2.get() != 1, "the first connection's factory call fails");
            inner()
        };
        let server = make(&lp, create_server(factory, "127.0.0.1", 0)).unwrap();
        let addr = inet_addr(&server);
        let mut first = connect(addr);
        run_until(&lp, || calls.get() == 1);
        run_until_closed(&lp, &mut first);
        assert_eq!(reports.get(), 1);
        assert_eq!(server.client_count(), 0);
        let mut second = connect(addr);
        echo(&lp, &mut second, b"fine");
        drop(second);
        server.close();
        run_until(&lp, || server.client_count() == 0);
        let _ = first.write(b"");
        lp.close().unwrap();
    });
}
