//! Tasks on one thread: tower's event loop (`tower_task::spawn` on `EventLoop`) against tokio's
//! current-thread runtime, smol's `LocalExecutor`, and the floor (`tower_benches::floor`).
//!
//! - `spawn_st`: spawn 10^5 tasks that return at once, await all.
//! - `yield_st`: 200 tasks × 1000 `yield_now` (`tower_coro::yield_now` on every runtime but the
//!   floor, which has its own).
//! - `ping_pong_st`: 1000 pairs; each pair exchanges a ping and a pong through two one-shot
//!   channels. tower, tokio and smol use the same tiny mutex-protected one-shot (below, as in
//!   `runtime_mt`), so only the scheduling differs; the floor uses its `Rc` one-shot.
//! - `chained_spawn_st`: a chain of 1000 tasks, each spawning the next (detached); the last
//!   completes a one-shot the main future awaits.
//!
//! Run with `TASKS_ST_MEM=1` to also print the bytes per idle task (RSS delta over 10^5
//! pending tasks, each runtime in a fresh child process).
#![allow(missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group};

use tower_benches::oneshot::{Tx, oneshot};

const SPAWN_N: usize = 100_000;
const YIELD_TASKS: usize = 200;
const YIELDS: usize = 1000;
const PAIRS: usize = 1000;
const CHAIN: usize = 1000;
const IDLE_TASKS: usize = 100_000;

thread_local! {
    /// smol's local executor for this thread (leaked: it lives as long as the bench).
    static SMOL: &'static async_executor::LocalExecutor<'static> =
        Box::leak(Box::new(async_executor::LocalExecutor::new()));
}

fn smol_spawn<F: Future + 'static>(f: F) -> async_executor::Task<F::Output> {
    SMOL.with(|ex| ex.spawn(f))
}

fn smol_block_on<F: Future>(f: F) -> F::Output {
    let ex = SMOL.with(|ex| *ex);
    futures_lite::future::block_on(ex.run(f))
}

/// The four workloads over a spawn function, a detach, a yield and a one-shot constructor.
macro_rules! workloads {
    ($modname:ident, $spawn:path, $detach:expr, $yield:path, $oneshot:ident, $tx:ty) => {
        mod $modname {
            use super::*;

            pub(super) async fn spawn_many() {
                let hs: Vec<_> = (0..SPAWN_N)
                    .map(|_| $spawn(async { black_box(1) }))
                    .collect();
                for t in hs {
                    let _ = t.await;
                }
            }

            pub(super) async fn yield_many() {
                let hs: Vec<_> = (0..YIELD_TASKS)
                    .map(|_| {
                        $spawn(async {
                            for _ in 0..YIELDS {
                                $yield().await;
                            }
                        })
                    })
                    .collect();
                for t in hs {
                    let _ = t.await;
                }
            }

            pub(super) async fn ping_pong() {
                let hs: Vec<_> = (0..PAIRS)
                    .map(|_| {
                        $spawn(async move {
                            let (ping_tx, ping_rx) = $oneshot();
                            let (pong_tx, pong_rx) = $oneshot();
                            let d = $detach;
                            d($spawn(async move {
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

            fn chain(n: usize, done: $tx) {
                if n == 0 {
                    done.send(());
                } else {
                    let d = $detach;
                    d($spawn(async move { chain(n - 1, done) }));
                }
            }

            pub(super) async fn chained_spawn() {
                let (tx, rx) = $oneshot::<()>();
                chain(CHAIN, tx);
                rx.await;
            }
        }
    };
}

workloads!(
    tower_w,
    tower_task::spawn,
    |t: tower_task::Task<_>| t.detach(),
    tower_coro::yield_now,
    oneshot,
    Tx<()>
);
workloads!(
    tokio_w,
    tokio::spawn,
    |t: tokio::task::JoinHandle<_>| drop(t),
    tower_coro::yield_now,
    oneshot,
    Tx<()>
);
workloads!(
    smol_w,
    smol_spawn,
    |t: async_executor::Task<_>| t.detach(),
    tower_coro::yield_now,
    oneshot,
    Tx<()>
);
workloads!(
    floor_w,
    tower_benches::floor::spawn,
    |t: async_task::Task<_>| t.detach(),
    tower_benches::floor::yield_now,
    floor_oneshot,
    tower_benches::floor::Sender<()>
);

/// The floor's `Rc` one-shot under the name the macro expects.
fn floor_oneshot<T>() -> (
    tower_benches::floor::Sender<T>,
    tower_benches::floor::Receiver<T>,
) {
    tower_benches::floor::oneshot()
}

fn tasks_st(c: &mut Criterion) {
    let lp = tower_loop::EventLoop::new().expect("tower loop");
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");

    macro_rules! group {
        ($name:literal, $f:ident) => {{
            let mut g = c.benchmark_group($name);
            g.sample_size(10)
                .measurement_time(Duration::from_secs(2))
                .warm_up_time(Duration::from_millis(500));
            g.bench_function("tower", |b| {
                b.iter(|| lp.run_until_complete(tower_w::$f()).unwrap())
            });
            g.bench_function("tokio", |b| b.iter(|| tokio.block_on(tokio_w::$f())));
            g.bench_function("smol", |b| b.iter(|| smol_block_on(smol_w::$f())));
            g.bench_function("floor", |b| {
                b.iter(|| tower_benches::floor::block_on(floor_w::$f()))
            });
            g.finish();
        }};
    }
    group!("spawn_st", spawn_many);
    group!("yield_st", yield_many);
    group!("ping_pong_st", ping_pong);
    group!("chained_spawn_st", chained_spawn);
}

/// Resident set size of this process, in bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// In a child process: RSS growth per pending task on runtime `which`.
fn idle_bytes(which: &str) -> f64 {
    let before = rss();
    let after = match which {
        "tower" => {
            let lp = tower_loop::EventLoop::new().unwrap();
            lp.run_until_complete(async {
                let hs: Vec<_> = (0..IDLE_TASKS)
                    .map(|_| tower_task::spawn(std::future::pending::<()>()))
                    .collect();
                tower_coro::yield_now().await;
                tower_coro::yield_now().await;
                let r = rss();
                black_box(hs);
                r
            })
            .unwrap()
        }
        "tokio" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(async {
                let hs: Vec<_> = (0..IDLE_TASKS)
                    .map(|_| tokio::spawn(std::future::pending::<()>()))
                    .collect();
                tokio::task::yield_now().await;
                tokio::task::yield_now().await;
                let r = rss();
                black_box(hs);
                r
            })
        }
        _ => smol_block_on(async {
            let hs: Vec<_> = (0..IDLE_TASKS)
                .map(|_| smol_spawn(std::future::pending::<()>()))
                .collect();
            futures_lite::future::yield_now().await;
            futures_lite::future::yield_now().await;
            let r = rss();
            black_box(hs);
            r
        }),
    };
    (after.saturating_sub(before)) as f64 / IDLE_TASKS as f64
}

/// Runs `workload:runtime` `TASKS_ST_ITERS` times (for `valgrind --tool=callgrind`, or for
/// wall time outside criterion). `a+b:runtime` runs workload `a` once first, then `b`: a
/// workload measured in the heap another one left, as in criterion's one process.
fn profile(spec: &str) {
    let (work, rt) = spec.split_once(':').unwrap_or((spec, "tower"));
    let iters: usize = std::env::var("TASKS_ST_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    match work.split_once('+') {
        Some((first, then)) => {
            profile_one(first, rt, 1);
            let start = std::time::Instant::now();
            profile_one(then, rt, iters);
            eprintln!("{then} after {first} on {rt}: {:?}", start.elapsed());
        }
        None => profile_one(work, rt, iters),
    }
}

/// Runs workload `work` on runtime `rt`, `iters` times.
fn profile_one(work: &str, rt: &str, iters: usize) {
    macro_rules! on {
        ($f:ident) => {
            match rt {
                "tower" => {
                    let lp = tower_loop::EventLoop::new().unwrap();
                    for _ in 0..iters {
                        lp.run_until_complete(tower_w::$f()).unwrap();
                    }
                }
                "tokio" => {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    for _ in 0..iters {
                        rt.block_on(tokio_w::$f());
                    }
                }
                "smol" => {
                    for _ in 0..iters {
                        smol_block_on(smol_w::$f());
                    }
                }
                _ => {
                    for _ in 0..iters {
                        tower_benches::floor::block_on(floor_w::$f());
                    }
                }
            }
        };
    }
    match work {
        "spawn" => on!(spawn_many),
        "yield" => on!(yield_many),
        "ping_pong" => on!(ping_pong),
        _ => on!(chained_spawn),
    }
}

criterion_group!(benches, tasks_st);

fn main() {
    if let Ok(which) = std::env::var("TASKS_ST_IDLE_CHILD") {
        println!("{:.0}", idle_bytes(&which));
        return;
    }
    // TASKS_ST_PROFILE=<workload>:<runtime> runs one workload (TASKS_ST_ITERS times), for callgrind.
    if let Ok(spec) = std::env::var("TASKS_ST_PROFILE") {
        profile(&spec);
        return;
    }
    if std::env::var("TASKS_ST_MEM").is_ok() {
        let exe = std::env::current_exe().expect("own path");
        println!("bytes per idle task (RSS delta over {IDLE_TASKS} pending tasks):");
        for which in ["tower", "tokio", "smol"] {
            let out = std::process::Command::new(&exe)
                .env("TASKS_ST_IDLE_CHILD", which)
                .output()
                .expect("child");
            println!(
                "  {which:6} {}",
                String::from_utf8_lossy(&out.stdout).trim()
            );
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
