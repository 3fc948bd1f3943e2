//! The protocol echo rows of issue 15, side by side: echo over loopback through tower's
//! protocols (asyncio's `Protocol` on a `SocketTransport`, single-thread `EventLoop`) against
//! tokio's streams (current-thread runtime) and async-io's streams (`Async<TcpStream>` on a
//! `LocalExecutor`), each server on its own thread, all driven by the same native load client
//! (`tower_benches::load_client`, one epoll thread: the bench thread) with the same work.
//!
//! One criterion group per message size and mode, `proto_echo_<size>_<mode>`: sizes 1, 10 and
//! 100 KiB; mode `pp` (ping-pong: one message in flight per connection) or `p16` (16-deep
//! pipelining). [`CONNS`] connections per server, opened once and kept across iterations, so
//! an iteration is echo alone: [`trips`] round trips in total, every byte checked.
//!
//! Beside each group, `proto_echo_<size>_<mode>_server_cpu` runs the same work timed by the
//! server thread's CPU time (user + system, from `/proc/self/task/<tid>/stat`, 10 ms ticks
//! summed over each sample) instead of the wall clock: on 2 cores with the client busy on one,
//! a ping-pong row's wall time is mostly the client's and the kernel's, and the server's own
//! cost per round trip shows only here. (smol's `async-io` may also drive its reactor from its
//! own helper thread, not counted; it is idle while `block_on` is polling, as here.)
//!
//! The servers are in `proto_work/mod.rs` (shared with `examples/proto_echo.rs`, which
//! `cargo xtask syscalls` and `cargo xtask idle` run).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

mod proto_work;

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use proto_work::{RUNTIMES, ServerThread};
use tower_benches::load_client::{LoadClient, thread_cpu_time};

/// Connections per server.
const CONNS: usize = 50;

/// Round trips per iteration for a message size and depth: each iteration takes some 30–80 ms
/// on this machine (pipelining runs 2–5× as many round trips per second as ping-pong).
fn trips(size: usize, depth: usize) -> u64 {
    match (size, depth) {
        (s, 1) if s <= 1024 => 20_000,
        (s, _) if s <= 1024 => 100_000,
        (s, 1) if s <= 10 * 1024 => 10_000,
        (s, _) if s <= 10 * 1024 => 20_000,
        (_, 1) => 2_000,
        // 40 messages per connection would be mostly the 16-deep window filling and draining.
        _ => 5_000,
    }
}

fn proto_echo(c: &mut Criterion) {
    // Every server and its client up front, so each row measures a warm server.
    let mut sides: Vec<(&str, ServerThread, LoadClient)> = RUNTIMES
        .iter()
        .map(|rt| {
            let server = ServerThread::start(rt);
            let client = LoadClient::connect(server.addr, CONNS).unwrap();
            (*rt, server, client)
        })
        .collect();
    for (size, size_name) in [(1024, "1k"), (10 * 1024, "10k"), (100 * 1024, "100k")] {
        for (depth, mode) in [(1, "pp"), (16, "p16")] {
            let mut g = c.benchmark_group(format!("proto_echo_{size_name}_{mode}"));
            g.sample_size(10)
                .measurement_time(Duration::from_secs(2))
                .warm_up_time(Duration::from_millis(300));
            for (rt, _, client) in sides.iter_mut() {
                g.bench_function(*rt, |b| {
                    b.iter(|| client.run(size, depth, trips(size, depth)).unwrap())
                });
            }
            g.finish();
            // The same work, timed by the server thread's CPU time instead of the wall clock.
            let mut g = c.benchmark_group(format!("proto_echo_{size_name}_{mode}_server_cpu"));
            g.sample_size(10)
                .measurement_time(Duration::from_secs(2))
                .warm_up_time(Duration::from_millis(300));
            for (rt, server, client) in sides.iter_mut() {
                let tid = server.tid;
                g.bench_function(*rt, |b| {
                    b.iter_custom(|iters| {
                        let before = thread_cpu_time(tid).unwrap();
                        for _ in 0..iters {
                            client.run(size, depth, trips(size, depth)).unwrap();
                        }
                        thread_cpu_time(tid).unwrap() - before
                    })
                });
            }
            g.finish();
        }
    }
    // Clients first (the servers see every connection close), then the servers.
    for (_, server, client) in sides.drain(..) {
        drop(client);
        drop(server);
    }
}

criterion_group!(benches, proto_echo);
criterion_main!(benches);
