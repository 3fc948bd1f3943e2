//! The protocol echo bench's pieces work and leak nothing: the load client against each echo
//! server (`benches/proto_work/mod.rs`) in ping-pong and 16-deep pipelining at the bench's
//! sizes, and the client's check catching an echo that differs from what was sent. Every test
//! checks this process's fd count before and after.

#[path = "../benches/proto_work/mod.rs"]
mod proto_work;

use std::io::{self, Read, Write};
use std::net::TcpListener;

use tower_benches::load_client::LoadClient;

/// The workspace's fd-leak check.
#[path = "../../crates/tower-loop/tests/sock_util/fd_leak.rs"]
mod fd_leak;
use fd_leak::fd_count;

/// Runs `f` and asserts it left no fd open that it did not find open. Each runtime's
/// process-wide fds are made first (tokio's signal driver keeps a socket pair for the life of
/// the process, async-io its global reactor's poller and notifier): one server of each runtime
/// is started and stopped before counting.
fn no_fd_leak<R>(f: impl FnOnce() -> R) -> R {
    let warm_up = || {
        for rt in proto_work::RUNTIMES {
            drop(proto_work::ServerThread::start(rt));
        }
    };
    fd_leak::no_fd_leak_after(warm_up, f)
}

#[test]
fn every_server_echoes_every_size_and_depth() {
    no_fd_leak(|| {
        for rt in proto_work::RUNTIMES {
            let server = proto_work::ServerThread::start(rt);
            let mut client = LoadClient::connect(server.addr, 8).unwrap();
            assert_eq!(client.len(), 8);
            for size in [1, 1024, 10 * 1024, 100 * 1024] {
                for depth in [1, 16] {
                    // Not a multiple of the connections: some make one more round trip.
                    client
                        .run(size, depth, 61)
                        .unwrap_or_else(|e| panic!("{rt}: size {size}, depth {depth}: {e}"));
                }
            }
            drop(client);
            drop(server);
        }
    });
}

/// The load client at every size and depth against `addr`, 8 connections.
fn echo_all(addr: std::net::SocketAddr, who: &str) {
    let mut client = LoadClient::connect(addr, 8).unwrap();
    for size in [1, 1024, 10 * 1024, 100 * 1024] {
        for depth in [1, 16] {
            client
                .run(size, depth, 61)
                .unwrap_or_else(|e| panic!("{who}: size {size}, depth {depth}: {e}"));
        }
    }
}

#[test]
fn the_tower_streams_server_echoes_every_size_and_depth() {
    no_fd_leak(|| {
        let server = proto_work::ServerThread::start("tower-streams");
        echo_all(server.addr, "tower-streams");
        drop(server);
    });
}

/// CPython asyncio's servers of `py_echo` (and uvloop's, where the interpreter has it): the
/// script serves, echoes every byte, and its process is gone (waited for) once dropped.
#[test]
fn the_python_servers_echo_every_size_and_depth() {
    use tower_benches::server_process::{python, python_echo, python_has};
    if !python_has("asyncio") {
        eprintln!("SKIPPED: {} cannot run asyncio", python().display());
        return;
    }
    let flavours: Vec<&str> = ["asyncio", "uvloop"]
        .into_iter()
        .filter(|f| python_has(f))
        .collect();
    no_fd_leak(|| {
        for api in ["protocol", "streams"] {
            for flavour in &flavours {
                let server = python_echo(api, flavour).expect("the Python server");
                let pid = server.pid();
                echo_all(server.addr, &format!("{flavour} {api}"));
                drop(server);
                // Waited for: no zombie, no process.
                assert!(
                    !std::path::Path::new(&format!("/proc/{pid}")).exists(),
                    "{flavour} {api}: the server process {pid} is still there"
                );
            }
        }
    });
}

#[test]
fn the_tower_server_keeps_its_connections_across_runs_and_closes_them_when_dropped() {
    no_fd_leak(|| {
        let server = proto_work::ServerThread::start("tower");
        let mut client = LoadClient::connect(server.addr, 4).unwrap();
        client.run(1024, 1, 4).unwrap();
        let fds = fd_count();
        client.run(1024, 16, 400).unwrap();
        assert_eq!(fd_count(), fds, "a run opened or closed sockets");
        // The server closes its end of every connection when it stops.
        drop(server);
        assert!(client.run(1024, 1, 4).is_err(), "the server is gone");
    });
}

/// An echo server on a thread that flips one byte of what it echoes on its one connection.
fn corrupting_server() -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 4096];
        let mut first = true;
        loop {
            let n = match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if first {
                buf[n / 2] ^= 0x40;
                first = false;
            }
            if s.write_all(&buf[..n]).is_err() {
                return;
            }
        }
    });
    (addr, t)
}

#[test]
fn the_client_catches_an_echo_that_differs() {
    no_fd_leak(|| {
        let (addr, server) = corrupting_server();
        let mut client = LoadClient::connect(addr, 1).unwrap();
        let err = client.run(100, 1, 10).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        drop(client);
        server.join().unwrap();
    });
}

#[test]
fn a_timed_run_times_every_round_trip_once() {
    no_fd_leak(|| {
        let server = proto_work::ServerThread::start("tower");
        let mut client = LoadClient::connect(server.addr, 8).unwrap();
        for (size, depth) in [(1024, 1), (1024, 16), (100 * 1024, 16)] {
            let times = client.run_timed(size, depth, 101).unwrap();
            assert_eq!(times.len(), 101, "size {size}, depth {depth}");
            assert!(times.iter().all(|t| !t.is_zero()));
        }
        // An untimed run after a timed one records nothing and still echoes.
        client.run(1024, 4, 50).unwrap();
        assert!(client.run_timed(1, 1, 0).unwrap().is_empty());
        drop(client);
        drop(server);
    });
}

#[test]
fn zero_round_trips_return_at_once() {
    no_fd_leak(|| {
        let server = proto_work::ServerThread::start("tokio");
        let mut client = LoadClient::connect(server.addr, 3).unwrap();
        client.run(1024, 16, 0).unwrap();
        client.run(1024, 1, 1).unwrap(); // one connection works, two have nothing to do
    });
}

#[test]
fn a_thousand_connections_held_at_once_each_echoed_once() {
    // The cheap form of the 10 000 idle connections (`cargo xtask idle`): both sides in this
    // process, so 2 000 fds.
    let (soft, _) = tower_benches::load_client::raise_fd_limit().unwrap();
    if soft.is_some_and(|s| s < 2200) {
        eprintln!("skipped: the fd limit ({soft:?}) is below 2 200");
        return;
    }
    no_fd_leak(|| {
        for rt in ["tower", "tokio"] {
            let server = proto_work::ServerThread::start(rt);
            let mut client = LoadClient::connect(server.addr, 1000).unwrap();
            client.run(1024, 1, 1000).unwrap();
            client.run(1, 1, 1000).unwrap();
            drop(client);
            drop(server);
        }
    });
}
