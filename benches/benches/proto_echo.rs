//! The protocol echo rows of issue 15, side by side: echo over loopback through tower's
//! protocols (asyncio's `Protocol` on a `SocketTransport`, single-thread `EventLoop`) against
//! tokio's streams (current-thread runtime) and async-io's streams (`Async<TcpStream>` on a
//! `LocalExecutor`), each server on its own thread, all driven by the same native load client
//! (`tower_benches::load_client`, one epoll thread: the bench thread) with the same work. Each
//! server runs in a child process of this binary (`tower_benches::server_process`), as a server
//! does.
//!
//! One criterion group per message size and mode, `proto_echo_<size>_<mode>`: sizes 1, 10 and
//! 100 KiB; mode `pp` (ping-pong: one message in flight per connection) or `p16` (16-deep
//! pipelining). [`CONNS`] connections per server, opened once and kept across iterations, so
//! an iteration is echo alone: [`trips`] round trips in total, every byte checked.
//!
//! Beside each group, `proto_echo_<size>_<mode>_server_cpu` runs the same work timed by the
//! server process's CPU time (user + system of all its threads, smol's `async-io` helper
//! thread included, from `/proc/<pid>/stat`, 10 ms ticks summed over each sample) instead of
//! the wall clock: in ping-pong the pace is set by the kernel's loopback path and the hand-over
//! between client and server, and the server's own cost per round trip shows only here.
//!
//! The servers are in `proto_work/mod.rs` (shared with `examples/proto_echo.rs`, which
//! `cargo xtask syscalls` and `cargo xtask idle` run).

mod proto_work;

use std::time::Duration;

use std::process::Command;

use criterion::Criterion;
use proto_work::RUNTIMES;
use tower_benches::load_client::LoadClient;
use tower_benches::server_process::ServerProcess;

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

/// Set in a child process of this binary: serve `<runtime>`'s echo (see [`ServerProcess`]).
const SERVER_ENV: &str = "PROTO_ECHO_SERVER";

/// Starts `rt`'s server in a child process of this bench binary (`proto_work::serve_in_child`).
fn start_server(rt: &str) -> ServerProcess {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let mut cmd = Command::new(exe);
    cmd.env(SERVER_ENV, rt);
    ServerProcess::spawn(cmd).expect("the server child")
}

fn proto_echo(c: &mut Criterion) {
    // Every server and its client up front, so each row measures a warm server.
    let mut sides: Vec<(&str, ServerProcess, LoadClient)> = RUNTIMES
        .iter()
        .map(|rt| {
            let server = start_server(rt);
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
                g.bench_function(*rt, |b| {
                    b.iter_custom(|iters| {
                        let before = server.cpu_time().expect("the server's /proc stat");
                        for _ in 0..iters {
                            client.run(size, depth, trips(size, depth)).unwrap();
                        }
                        server.cpu_time().expect("the server's /proc stat") - before
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

fn main() {
    if let Ok(rt) = std::env::var(SERVER_ENV) {
        proto_work::serve_in_child(&rt, proto_work::PEER_BUF);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    proto_echo(&mut c);
    c.final_summary();
}
