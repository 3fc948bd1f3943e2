//! The other client-side factories: `create_unix_connection`, `connect_accepted_socket`, and
//! `create_connection` with happy eyeballs on a worker loop of the multi-thread runtime.
//! Every test checks the fd count before and after.

mod connect_util;

use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::time::Duration;

use connect_util::{Recorder, no_fd_leak, until};
use tower_protocol::{connect_accepted_socket, create_connection, create_unix_connection};
use tower_task::run;
use tower_task::runtime::{RuntimeBuilder, spawn_local};
use tower_transport::{BaseTransport, WriteTransport};

fn socket_path(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("tower-{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn unix_connection_both_ways() {
    no_fd_leak(|| {
        let path = socket_path("unix-conn");
        let listener = UnixListener::bind(&path).unwrap();
        let p2 = path.clone();
        run(async move {
            let (t, p) = create_unix_connection(Recorder::default, &p2)
                .await
                .unwrap();
            assert_eq!(p.borrow().seen.made, 1);
            let (mut peer, _) = listener.accept().unwrap();
            t.write(b"to server").unwrap();
            let mut buf = [0; 9];
            peer.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"to server");
            peer.write_all(b"to client").unwrap();
            drop(peer);
            until(|| p.borrow().seen.lost.is_some()).await;
            assert_eq!(p.borrow().seen.data, b"to client");
            assert!(p.borrow().seen.eof);
        })
        .unwrap();
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn unix_connection_errors() {
    no_fd_leak(|| {
        let missing = socket_path("unix-missing");
        run(async move {
            let err = create_unix_connection(Recorder::default, &missing)
                .await
                .err()
                .unwrap();
            assert_eq!(err.kind(), io::ErrorKind::NotFound);
        })
        .unwrap();
        // A path whose listener is gone: refused.
        let stale = socket_path("unix-stale");
        drop(UnixListener::bind(&stale).unwrap());
        let s2 = stale.clone();
        run(async move {
            let err = create_unix_connection(Recorder::default, &s2)
                .await
                .err()
                .unwrap();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        })
        .unwrap();
        std::fs::remove_file(&stale).unwrap();
    });
}

// A listener whose backlog is full (`listen(1)`, the queue filled, nothing accepted): the
// connect neither fails with `EAGAIN` nor hands the protocol an unconnected socket; it waits
// (the loop's `sock_connect` retries it) and completes once the listener makes room.
#[test]
fn unix_connection_waits_for_room_in_a_full_backlog() {
    use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
    no_fd_leak(|| {
        let path = socket_path("unix-full");
        let addr = SocketAddrUnix::new(&path).unwrap();
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        let sock =
            || rustix::net::socket_with(AddressFamily::UNIX, SocketType::STREAM, flags, None);
        let listener = sock().unwrap();
        rustix::net::bind(&listener, &addr).unwrap();
        rustix::net::listen(&listener, 1).unwrap();
        let mut queued = Vec::new();
        loop {
            let c = sock().unwrap();
            match rustix::net::connect(&c, &addr) {
                Ok(()) => queued.push(c),
                Err(rustix::io::Errno::AGAIN) => break,
                Err(e) => panic!("filling the backlog: {e}"),
            }
        }
        let p2 = path.clone();
        run(async move {
            let connect =
                spawn_local(async move { create_unix_connection(Recorder::default, &p2).await })
                    .unwrap();
            tower_task::sleep(Duration::from_millis(50)).await;
            assert!(!connect.done(), "finished with the backlog full");
            drop(tower_loop::accept_nonblocking(&listener).unwrap());
            let (t, p) = connect.await.unwrap().unwrap();
            assert_eq!(p.borrow().seen.made, 1);
            // Connected for real: what it writes reaches one of the listener's connections.
            t.write(b"hi").unwrap();
            let mut accepted = Vec::new();
            while let Ok(c) = tower_loop::accept_nonblocking(&listener) {
                accepted.push(c);
            }
            until(|| {
                accepted.iter().any(|c| {
                    let mut buf = [0; 2];
                    rustix::io::read(c, &mut buf) == Ok(2) && &buf == b"hi"
                })
            })
            .await;
            t.close();
        })
        .unwrap();
        drop(queued);
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn accepted_socket_both_ways() {
    no_fd_leak(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        run(async move {
            let (t, p) = connect_accepted_socket(Recorder::default, accepted)
                .await
                .unwrap();
            assert_eq!(p.borrow().seen.made, 1);
            client.write_all(b"request").unwrap();
            until(|| p.borrow().seen.data == b"request").await;
            t.write(b"response").unwrap();
            t.close();
            until(|| p.borrow().seen.lost.is_some()).await;
            let mut got = Vec::new();
            client.read_to_end(&mut got).unwrap();
            assert_eq!(got, b"response");

            let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let err = connect_accepted_socket(Recorder::default, udp)
                .await
                .err()
                .unwrap();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        })
        .unwrap();
    });
}

#[test]
fn happy_eyeballs_on_a_worker_loop() {
    no_fd_leak(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
        let task = rt.spawn(async move {
            spawn_local(async move {
                let (t, p) = create_connection(Recorder::default, "127.0.0.1", port)
                    .happy_eyeballs_delay(Duration::from_millis(50))
                    .await
                    .unwrap();
                let made = p.borrow().seen.made;
                t.abort();
                until(|| p.borrow().seen.lost.is_some()).await;
                made
            })
            .unwrap()
            .await
            .unwrap()
        });
        assert_eq!(rt.block_on(task).unwrap().unwrap(), 1);
        rt.shutdown_timeout(Duration::from_secs(5));
        drop(listener);
    });
}
