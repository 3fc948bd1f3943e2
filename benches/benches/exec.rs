//! Tier 5 side by side with its peers, in one run.
//!
//! - `blocking`: 10^4 blocking calls submitted at once and then awaited in order — tower's
//!   `to_thread` on its event loop, tokio's `spawn_blocking` (current-thread runtime), and the
//!   `blocking` crate's `unblock` (on async-io's `block_on`). Each pool stays warm between
//!   iterations (all keep idle threads for seconds).
//! - `subprocess`: 200 × `/bin/true` spawned, then every exit status awaited — tower's `Command`
//!   (`tower`: `spawn_off_loop`, asyncio's awaited `create_subprocess_exec`, forking on the
//!   blocking pool; `tower-spawn-on-loop`: `spawn`, forking on the loop thread as the peers do),
//!   `tokio::process`, `async-process`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

/// Blocking calls per iteration.
const CALLS: u64 = 10_000;
/// Children per iteration.
const CHILDREN: usize = 200;

fn blocking(c: &mut Criterion) {
    let lp = tower_loop::EventLoop::new().expect("tower loop");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    let mut g = c.benchmark_group("blocking");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.bench_function("tower", |b| {
        b.iter(|| {
            lp.run_until_complete(async {
                let futs: Vec<_> = (0..CALLS)
                    .map(|i| tower_exec::to_thread(move || black_box(i)))
                    .collect();
                let mut sum = 0;
                for f in futs {
                    sum += f.await.unwrap();
                }
                sum
            })
            .unwrap()
        })
    });
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..CALLS)
                    .map(|i| tokio::task::spawn_blocking(move || black_box(i)))
                    .collect();
                let mut sum = 0;
                for h in handles {
                    sum += h.await.unwrap();
                }
                sum
            })
        })
    });
    g.bench_function("blocking", |b| {
        b.iter(|| {
            async_io::block_on(async {
                let tasks: Vec<_> = (0..CALLS)
                    .map(|i| blocking::unblock(move || black_box(i)))
                    .collect();
                let mut sum = 0;
                for t in tasks {
                    sum += t.await;
                }
                sum
            })
        })
    });
    g.finish();
}

fn subprocess(c: &mut Criterion) {
    let lp = tower_loop::EventLoop::new().expect("tower loop");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    let mut g = c.benchmark_group("subprocess");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    // asyncio's way: `create_subprocess_exec` is awaited, the fork/exec runs off the loop.
    g.bench_function("tower", |b| {
        b.iter(|| {
            lp.run_until_complete(async {
                let cmd = tower_exec::Command::new("/bin/true");
                let spawns = (0..CHILDREN).map(|_| cmd.spawn_off_loop());
                let mut children = tower_coro::try_join_all(spawns).await.unwrap();
                for c in &mut children {
                    assert_eq!(c.wait().await.unwrap(), 0);
                }
            })
            .unwrap()
        })
    });
    // The peers' way: fork/exec on the loop thread.
    g.bench_function("tower-spawn-on-loop", |b| {
        b.iter(|| {
            lp.run_until_complete(async {
                let mut children: Vec<_> = (0..CHILDREN)
                    .map(|_| tower_exec::Command::new("/bin/true").spawn().unwrap())
                    .collect();
                for c in &mut children {
                    assert_eq!(c.wait().await.unwrap(), 0);
                }
            })
            .unwrap()
        })
    });
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut children: Vec<_> = (0..CHILDREN)
                    .map(|_| tokio::process::Command::new("/bin/true").spawn().unwrap())
                    .collect();
                for c in &mut children {
                    assert!(c.wait().await.unwrap().success());
                }
            })
        })
    });
    g.bench_function("async-process", |b| {
        b.iter(|| {
            async_io::block_on(async {
                let mut children: Vec<_> = (0..CHILDREN)
                    .map(|_| async_process::Command::new("/bin/true").spawn().unwrap())
                    .collect();
                for c in &mut children {
                    assert!(c.status().await.unwrap().success());
                }
            })
        })
    });
    g.finish();
}

// Subprocesses first: the blocking peers leave hundreds of idle pool threads behind for seconds.
criterion_group!(benches, subprocess, blocking);
criterion_main!(benches);
