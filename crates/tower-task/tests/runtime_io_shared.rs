//! Multi-thread I/O (docs/decisions/0011-multi-thread-io.md): the runtime's `Async` sources
//! are served by whichever worker is free, not only by the worker whose loop was running when
//! they were made; tasks on different workers ping-pong over UDP; runtimes with sockets leak
//! no fd and no thread.
//!
//! Asserted by behaviour, not timing: a worker's thread is held by a task that spins until
//! the I/O it waits for was served elsewhere (with a generous deadline, so that a regression
//! fails instead of hanging).

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use tower_loop::Async;
use tower_task::runtime::{RuntimeBuilder, RuntimeHandle};

/// How long a spinning task waits for the other worker before the test gives up.
const DEADLINE: Duration = Duration::from_secs(20);

/// Spins on the current worker's thread (no await: the worker's loop cannot poll) until `flag`
/// is set or [`DEADLINE`] passes; returns whether the flag was set.
fn spin_until(flag: &AtomicBool) -> bool {
    let start = Instant::now();
    while !flag.load(Ordering::Acquire) {
        if start.elapsed() > DEADLINE {
            return false;
        }
        std::hint::spin_loop();
    }
    true
}

/// A UDP socket bound to a free loopback port.
fn udp() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

/// Spawns `f` on the current worker so that another worker can steal it: a spawn goes to the
/// worker's LIFO slot (which is not stolen), and the next spawn pushes it to the queue.
fn spawn_stealable<F>(h: &RuntimeHandle, f: F) -> tower_task::Task<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = h.spawn(f);
    h.spawn(async {}).detach();
    task
}

#[test]
fn an_idle_worker_serves_a_socket_made_on_a_busy_worker() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let served = Arc::new(AtomicBool::new(false));
    let waiting = Arc::new(AtomicBool::new(false));
    let sock = udp();
    let addr = sock.local_addr().unwrap();
    let (served2, waiting2) = (served.clone(), waiting.clone());
    let busy = rt.spawn(async move {
        let h = RuntimeHandle::current().unwrap();
        let busy_thread = thread::current().id();
        // Made on this worker: before the shared driver, only this worker's loop (which the
        // spin below keeps from polling) would deliver its events.
        let sock = Async::new(sock).unwrap();
        let reader = spawn_stealable(&h, async move {
            waiting2.store(true, Ordering::Release);
            let mut buf = [0u8; 16];
            let n = sock.read_with(|s| s.recv(&mut buf)).await.unwrap();
            served2.store(true, Ordering::Release);
            (buf[..n].to_vec(), thread::current().id())
        });
        let released = spin_until(&served);
        (released, busy_thread, reader)
    });
    // Once the reader runs (on the other worker: this one spins), send it a datagram.
    let sender = thread::spawn(move || {
        let start = Instant::now();
        while !waiting.load(Ordering::Acquire) && start.elapsed() < DEADLINE {
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(Duration::from_millis(20));
        udp().send_to(b"ping", addr).unwrap();
    });
    let (released, busy_thread, reader) = rt.block_on(busy).unwrap().unwrap();
    sender.join().unwrap();
    assert!(released, "the other worker never served the socket");
    let (got, reader_thread) = rt.block_on(reader).unwrap().unwrap();
    assert_eq!(got, b"ping");
    assert_ne!(reader_thread, busy_thread);
}

#[test]
fn tasks_on_two_workers_ping_pong_over_udp() {
    const TRIPS: usize = 2000;
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let (srv, cli) = (udp(), udp());
    let srv_addr = srv.local_addr().unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let started2 = started.clone();
    let (server, client) = rt
        .block_on(rt.spawn(async move {
            let h = RuntimeHandle::current().unwrap();
            let here = thread::current().id();
            // The server starts on the other worker (this one spins until it has), the client
            // on this one: each makes its socket where it starts.
            let server = spawn_stealable(&h, async move {
                let srv = Async::new(srv).unwrap();
                let there = thread::current().id();
                started2.store(true, Ordering::Release);
                let mut buf = [0u8; 64];
                for _ in 0..TRIPS {
                    let (n, from) = srv.read_with(|s| s.recv_from(&mut buf)).await.unwrap();
                    srv.write_with(|s| s.send_to(&buf[..n], from))
                        .await
                        .unwrap();
                }
                there
            });
            assert!(spin_until(&started), "the server never started");
            let client = h.spawn(async move {
                let cli = Async::new(cli).unwrap();
                let mut buf = [0u8; 64];
                for i in 0..TRIPS {
                    let msg = (i as u32).to_le_bytes();
                    cli.write_with(|s| s.send_to(&msg, srv_addr)).await.unwrap();
                    let n = cli.read_with(|s| s.recv(&mut buf)).await.unwrap();
                    assert_eq!(&buf[..n], &msg);
                }
            });
            (server, (client, here))
        }))
        .unwrap()
        .unwrap();
    let (client, client_start) = client;
    rt.block_on(client).unwrap().unwrap();
    let server_start = rt.block_on(server).unwrap().unwrap();
    assert_ne!(server_start, client_start);
}

/// The workspace's fd-leak check (its fd and thread counts).
#[path = "../../tower-loop/tests/sock_util/fd_leak.rs"]
mod fd_leak;
use fd_leak::{fd_count, thread_count};

#[test]
fn runtimes_with_sockets_leak_no_fd_and_no_thread() {
    let run = || {
        let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
        let (a, b) = (udp(), udp());
        let b_addr = b.local_addr().unwrap();
        rt.block_on(rt.spawn(async move {
            let (a, b) = (Async::new(a).unwrap(), Async::new(b).unwrap());
            a.write_with(|s| s.send_to(b"x", b_addr)).await.unwrap();
            let mut buf = [0u8; 4];
            b.read_with(|s| s.recv(&mut buf)).await.unwrap()
        }))
        .unwrap()
        .unwrap();
        // A socket still waiting when the runtime goes away.
        let c = udp();
        rt.spawn(async move {
            let c = Async::new(c).unwrap();
            let mut buf = [0u8; 4];
            let _ = c.read_with(|s| s.recv(&mut buf)).await;
        })
        .detach();
        drop(rt);
    };
    run(); // warm-up (lazy statics)
    let (fds, threads) = (fd_count(), thread_count());
    for _ in 0..20 {
        run();
    }
    assert_eq!(fd_count(), fds);
    assert_eq!(thread_count(), threads);
}
