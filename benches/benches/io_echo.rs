//! The I/O echo rows of issue 14, side by side, the same work through each runtime's public
//! API (the workloads are in `io_work/mod.rs`, shared with `cargo xtask syscalls`):
//!
//! - `udp_echo_st`: 10^4 round trips of a 512-byte datagram, client and server on one thread.
//! - `udp_echo_mt`: the same on the multi-thread runtimes (2 workers; smol: an `Executor` on 2
//!   threads), client and server each a spawned task.
//! - `tcp_echo_st`: 50 connections × 2000 round trips of 1 KiB, one thread.
//! - `tcp_echo_mt`: the same on the multi-thread runtimes.
//!
//! tower single-thread uses the loop's `sock_*` methods in `spawn_local` tasks; tower
//! multi-thread uses `tower_loop::Async` in `Send` tasks; tokio its `net` types on its
//! current-thread or multi-thread (2 workers) runtime; smol `async-io`'s `Async` on a
//! `LocalExecutor` or on an `Executor` run by 2 threads. `sock_echo_st` is the TCP echo at a
//! smaller size (10 connections × 1000 round trips), kept for comparison with earlier figures.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

mod io_work;

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use io_work::Runner;

/// UDP round trips per iteration.
const UDP_TRIPS: usize = 10_000;
/// TCP connections.
const TCP_CONNS: usize = 50;
/// TCP round trips per connection per iteration.
const TCP_TRIPS: usize = 2000;

fn echo(c: &mut Criterion) {
    let mut runner = Runner::new();
    for (group, flavour, work, conns, trips) in [
        ("udp_echo_st", "st", "udp", 1, UDP_TRIPS),
        ("udp_echo_mt", "mt", "udp", 1, UDP_TRIPS),
        ("tcp_echo_st", "st", "tcp", TCP_CONNS, TCP_TRIPS),
        ("tcp_echo_mt", "mt", "tcp", TCP_CONNS, TCP_TRIPS),
        ("sock_echo_st", "st", "tcp", 10, 1000),
    ] {
        let mut g = c.benchmark_group(group);
        g.sample_size(10)
            .measurement_time(Duration::from_secs(5))
            .warm_up_time(Duration::from_millis(500));
        for rt in ["tower", "tokio", "smol"] {
            g.bench_function(rt, |b| {
                b.iter(|| runner.run(rt, flavour, work, conns, trips))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, echo);
criterion_main!(benches);
