//! The multi-threaded runtimes, 2 worker threads each: tower's work-stealing runtime against
//! tokio's multi-thread runtime and smol's `async-executor` run on 2 threads.
//!
//! tokio's runtime is built with `enable_all()` (its workers drive the I/O and timer drivers, as
//! every tower worker runs a loop with timers and a reactor); smol's executor threads drive no
//! reactor (async-io runs its own thread), as smol is normally used.
//!
//! Every workload runs as one spawned root task (so its spawns are "from a worker" on every
//! runtime), started and awaited from the bench thread with each runtime's `block_on`:
//!
//! - `spawn_mt`: spawn 10^5 tasks that return at once, await all.
//! - `yield_mt`: 200 tasks × 1000 `yield_now` (the same executor-agnostic `tower_coro::yield_now`
//!   future on every runtime).
//! - `ping_pong_mt`: 1000 pairs; each pair's tasks exchange a ping and a pong through two
//!   one-shot channels. The one-shot is the same tiny mutex-protected slot + waker on every
//!   runtime (defined below), so only the scheduling differs.
//! - `chained_spawn_mt`: a chain of 1000 tasks, each spawning the next (detached); the last
//!   completes a one-shot the root awaits.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use async_executor::Executor;
use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};

use tower_benches::oneshot::{Tx, oneshot};

mod smol_pool;

use smol_pool::{Smol, WORKERS};
const SPAWN_N: usize = 100_000;
const YIELD_TASKS: usize = 200;
const YIELDS: usize = 1000;
const PAIRS: usize = 1000;
const CHAIN: usize = 1000;

/// The four workloads, written once over a spawner expression `$h` with `$h.spawn(fut)`
/// (returning something awaitable) and a way to detach a handle.
macro_rules! workloads {
    ($modname:ident, $handle:ty, $detach:expr) => {
        mod $modname {
            use super::*;

            pub(super) async fn spawn_many(h: $handle) {
                let hs: Vec<_> = (0..SPAWN_N)
                    .map(|_| h.spawn(async { black_box(1) }))
                    .collect();
                for t in hs {
                    let _ = t.await;
                }
            }

            pub(super) async fn yield_many(h: $handle) {
                let hs: Vec<_> = (0..YIELD_TASKS)
                    .map(|_| {
                        h.spawn(async {
                            for _ in 0..YIELDS {
                                tower_coro::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for t in hs {
                    let _ = t.await;
                }
            }

            pub(super) async fn ping_pong(h: $handle) {
                let hs: Vec<_> = (0..PAIRS)
                    .map(|_| {
                        let h2 = h.clone();
                        h.spawn(async move {
                            let (ping_tx, ping_rx) = oneshot::<u32>();
                            let (pong_tx, pong_rx) = oneshot::<u32>();
                            let d = $detach;
                            d(h2.spawn(async move {
                                let v = ping_rx.await;
                                pong_tx.send(v + 1);
                            }));
                            ping_tx.send(1);
                            black_box(pong_rx.await)
                        })
                    })
                    .collect();
                for t in hs {
                    let _ = t.await;
                }
            }

            fn chain(h: $handle, n: usize, done: Tx<()>) {
                if n == 0 {
                    done.send(());
                } else {
                    let h2 = h.clone();
                    let d = $detach;
                    d(h.spawn(async move { chain(h2, n - 1, done) }));
                }
            }

            pub(super) async fn chained_spawn(h: $handle) {
                let (tx, rx) = oneshot();
                chain(h, CHAIN, tx);
                rx.await;
            }
        }
    };
}

workloads!(
    tower_w,
    tower_task::runtime::RuntimeHandle,
    |t: tower_task::Task<_>| drop(t)
);
workloads!(
    tokio_w,
    tokio::runtime::Handle,
    |t: tokio::task::JoinHandle<_>| drop(t)
);
workloads!(smol_w, Arc<Executor<'static>>, |t: async_executor::Task<
    _,
>| t.detach());

/// One group: the same workload on the three runtimes.
fn group<TF, TkF, SF>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    tower: &tower_task::runtime::Runtime,
    tokio: &tokio::runtime::Runtime,
    smol: &Smol,
    tower_work: impl Fn(tower_task::runtime::RuntimeHandle) -> TF,
    tokio_work: impl Fn(tokio::runtime::Handle) -> TkF,
    smol_work: impl Fn(Arc<Executor<'static>>) -> SF,
) where
    TF: Future<Output = ()> + Send + 'static,
    TkF: Future<Output = ()> + Send + 'static,
    SF: Future<Output = ()> + Send + 'static,
{
    g.bench_function("tower", |b| {
        b.iter(|| {
            let h = tower.handle().clone();
            tower.block_on(tower.spawn(tower_work(h))).unwrap().unwrap();
        })
    });
    g.bench_function("tokio", |b| {
        b.iter(|| {
            let h = tokio.handle().clone();
            tokio.block_on(tokio.spawn(tokio_work(h))).unwrap();
        })
    });
    g.bench_function("smol", |b| {
        b.iter(|| {
            let ex = smol.ex.clone();
            futures_lite::future::block_on(smol.ex.spawn(smol_work(ex)));
        })
    });
}

fn runtime_mt(c: &mut Criterion) {
    let tower = tower_task::runtime::RuntimeBuilder::new()
        .worker_threads(WORKERS)
        .build()
        .expect("tower runtime");
    // `enable_all`: tokio's workers then drive an I/O and timer driver, as tower's loops do.
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let smol = Smol::new();

    let mut g = c.benchmark_group("spawn_mt");
    g.sample_size(10).measurement_time(Duration::from_secs(2));
    group(
        &mut g,
        &tower,
        &tokio,
        &smol,
        tower_w::spawn_many,
        tokio_w::spawn_many,
        smol_w::spawn_many,
    );
    g.finish();

    let mut g = c.benchmark_group("yield_mt");
    g.sample_size(10).measurement_time(Duration::from_secs(2));
    group(
        &mut g,
        &tower,
        &tokio,
        &smol,
        tower_w::yield_many,
        tokio_w::yield_many,
        smol_w::yield_many,
    );
    g.finish();

    let mut g = c.benchmark_group("ping_pong_mt");
    g.sample_size(10).measurement_time(Duration::from_secs(2));
    group(
        &mut g,
        &tower,
        &tokio,
        &smol,
        tower_w::ping_pong,
        tokio_w::ping_pong,
        smol_w::ping_pong,
    );
    g.finish();

    let mut g = c.benchmark_group("chained_spawn_mt");
    g.sample_size(10).measurement_time(Duration::from_secs(2));
    group(
        &mut g,
        &tower,
        &tokio,
        &smol,
        tower_w::chained_spawn,
        tokio_w::chained_spawn,
        smol_w::chained_spawn,
    );
    g.finish();
}

criterion_group!(benches, runtime_mt);
criterion_main!(benches);
