//! tower-sync against tokio::sync, async-lock and async-channel, all on one tokio
//! current-thread runtime (the same executor for every id, so only the primitive differs).
//!
//! Groups: `queue_spsc` (1 producer / 1 consumer, 10^6 items, bound 1024), `queue_mpsc`
//! (4 producers / 1 consumer, 10^6 items in all, bound 1024), `lock` (100 tasks × 1000
//! lock/unlock of one lock), `queue_mpsc_mt` (the 4/1 workload on tokio's multi-thread
//! runtime, 2 workers, for cross-thread contention), `semaphore` (1000 tasks × 100 acquires,
//! 10 permits), and `lock_contended` / `semaphore_contended`: the same two workloads with the
//! holder awaiting while it holds (one `yield_now().await` inside the critical section, the same
//! runtime-neutral `futures_lite` yield for every id), so every release finds waiters queued and
//! the primitive's hand-off to a waiter is what is measured. Ids: `tower`
//! (`tower_sync::Queue` / `Lock` / `Semaphore`), `tower-mpsc` (`tower_sync::mpsc`), `tokio`,
//! `async-channel` / `async-lock` (smol's).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use futures_lite::future::yield_now;

/// Items per queue run.
const ITEMS: usize = 1_000_000;
/// Queue bound.
const BOUND: usize = 1024;
/// Producers in the mpsc workload.
const PRODUCERS: usize = 4;

/// Runs `tasks` to completion on `rt`, all spawned at once.
fn run_all<F>(rt: &tokio::runtime::Runtime, tasks: Vec<F>)
where
    F: Future<Output = ()> + Send + 'static,
{
    rt.block_on(async {
        let handles: Vec<_> = tasks.into_iter().map(tokio::spawn).collect();
        for h in handles {
            h.await.unwrap();
        }
    });
}

/// Boxed task body.
type Task = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// `producers` producers sending `ITEMS / producers` each, one consumer summing.
fn queue_tasks(kind: &str, producers: usize) -> Vec<Task> {
    let per = ITEMS / producers;
    let total = per * producers;
    let mut tasks: Vec<Task> = Vec::new();
    match kind {
        "tower" => {
            let q = tower_sync::Queue::new(BOUND);
            for _ in 0..producers {
                let q = q.clone();
                tasks.push(Box::pin(async move {
                    for i in 0..per {
                        q.put(i).await.unwrap();
                    }
                }));
            }
            tasks.push(Box::pin(async move {
                let mut sum = 0usize;
                for _ in 0..total {
                    sum = sum.wrapping_add(q.get().await.unwrap());
                }
                black_box(sum);
            }));
        }
        "tower-mpsc" => {
            let (tx, mut rx) = tower_sync::mpsc::channel(BOUND);
            for _ in 0..producers {
                let tx = tx.clone();
                tasks.push(Box::pin(async move {
                    for i in 0..per {
                        tx.send(i).await.unwrap();
                    }
                }));
            }
            drop(tx);
            tasks.push(Box::pin(async move {
                let mut sum = 0usize;
                while let Ok(v) = rx.recv().await {
                    sum = sum.wrapping_add(v);
                }
                black_box(sum);
            }));
        }
        "tokio" => {
            let (tx, mut rx) = tokio::sync::mpsc::channel(BOUND);
            for _ in 0..producers {
                let tx = tx.clone();
                tasks.push(Box::pin(async move {
                    for i in 0..per {
                        tx.send(i).await.unwrap();
                    }
                }));
            }
            drop(tx);
            tasks.push(Box::pin(async move {
                let mut sum = 0usize;
                while let Some(v) = rx.recv().await {
                    sum = sum.wrapping_add(v);
                }
                black_box(sum);
            }));
        }
        "async-channel" => {
            let (tx, rx) = async_channel::bounded(BOUND);
            for _ in 0..producers {
                let tx = tx.clone();
                tasks.push(Box::pin(async move {
                    for i in 0..per {
                        tx.send(i).await.unwrap();
                    }
                }));
            }
            drop(tx);
            tasks.push(Box::pin(async move {
                let mut sum = 0usize;
                while let Ok(v) = rx.recv().await {
                    sum = sum.wrapping_add(v);
                }
                black_box(sum);
            }));
        }
        _ => unreachable!(),
    }
    tasks
}

/// `queue_spsc` and `queue_mpsc`.
fn queues(c: &mut Criterion) {
    let rt = runtime();
    for (group, producers) in [("queue_spsc", 1), ("queue_mpsc", PRODUCERS)] {
        let mut g = c.benchmark_group(group);
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        for kind in ["tower", "tower-mpsc", "tokio", "async-channel"] {
            g.bench_function(kind, |b| {
                b.iter(|| run_all(&rt, queue_tasks(kind, producers)))
            });
        }
        g.finish();
    }
    // The same 4/1 workload on tokio's multi-thread runtime (2 workers): the queues under
    // real cross-thread contention.
    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime");
    let mut g = c.benchmark_group("queue_mpsc_mt");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for kind in ["tower", "tower-mpsc", "tokio", "async-channel"] {
        g.bench_function(kind, |b| {
            b.iter(|| run_all(&mt, queue_tasks(kind, PRODUCERS)))
        });
    }
    g.finish();
}

/// Lock workload sizes.
const LOCK_TASKS: usize = 100;
/// Lock/unlock pairs per task.
const LOCK_ITERS: usize = 1000;

/// One run of the `lock` workload with the lock of `kind`; `contended`: the holder yields once
/// to the executor before it unlocks.
fn run_lock(rt: &tokio::runtime::Runtime, kind: &str, contended: bool) {
    /// 100 tasks × 1000 lock/unlock through `$lock`.
    macro_rules! go {
        ($m:expr) => {{
            let m = Arc::new($m);
            run_all(
                rt,
                (0..LOCK_TASKS)
                    .map(|_| {
                        let m = m.clone();
                        async move {
                            for _ in 0..LOCK_ITERS {
                                let mut g = m.lock().await;
                                *g += 1;
                                if contended {
                                    yield_now().await;
                                }
                                drop(g);
                            }
                        }
                    })
                    .collect(),
            );
        }};
    }
    match kind {
        "tower" => go!(tower_sync::Lock::new(0u64)),
        "tokio" => go!(tokio::sync::Mutex::new(0u64)),
        "async-lock" => go!(async_lock::Mutex::new(0u64)),
        _ => unreachable!(),
    }
}

/// `lock`: 100 tasks × 1000 lock/unlock of one lock; `lock_contended`: the same, each holder
/// yielding once while it holds.
fn lock(c: &mut Criterion) {
    let rt = runtime();
    for (group, contended) in [("lock", false), ("lock_contended", true)] {
        let mut g = c.benchmark_group(group);
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        for kind in ["tower", "tokio", "async-lock"] {
            g.bench_function(kind, |b| b.iter(|| run_lock(&rt, kind, contended)));
        }
        g.finish();
    }
}

/// Semaphore workload sizes.
const SEM_TASKS: usize = 1000;
/// Acquires per task.
const SEM_ITERS: usize = 100;
/// Permits.
const SEM_PERMITS: usize = 10;

/// One run of the `semaphore` workload with the semaphore of `kind`; `contended`: the holder
/// yields once to the executor before it releases its permit.
fn run_semaphore(rt: &tokio::runtime::Runtime, kind: &str, contended: bool) {
    /// 1000 tasks × 100 acquires through `$sem`, each permit taken with `$acquire`.
    macro_rules! go {
        ($sem:expr, |$s:ident| $acquire:expr) => {{
            let sem = Arc::new($sem);
            run_all(
                rt,
                (0..SEM_TASKS)
                    .map(|_| {
                        let $s = sem.clone();
                        async move {
                            for _ in 0..SEM_ITERS {
                                let permit = black_box($acquire);
                                if contended {
                                    yield_now().await;
                                }
                                drop(permit);
                            }
                        }
                    })
                    .collect(),
            );
        }};
    }
    match kind {
        "tower" => go!(tower_sync::Semaphore::new(SEM_PERMITS), |s| s
            .acquire()
            .await),
        "tokio" => go!(tokio::sync::Semaphore::new(SEM_PERMITS), |s| s
            .acquire()
            .await
            .unwrap()),
        "async-lock" => go!(async_lock::Semaphore::new(SEM_PERMITS), |s| s
            .acquire()
            .await),
        _ => unreachable!(),
    }
}

/// `semaphore`: 1000 tasks × 100 acquires, 10 permits; `semaphore_contended`: the same, each
/// holder yielding once while it holds its permit.
fn semaphore(c: &mut Criterion) {
    let rt = runtime();
    for (group, contended) in [("semaphore", false), ("semaphore_contended", true)] {
        let mut g = c.benchmark_group(group);
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        for kind in ["tower", "tokio", "async-lock"] {
            g.bench_function(kind, |b| b.iter(|| run_semaphore(&rt, kind, contended)));
        }
        g.finish();
    }
}

/// The tokio current-thread runtime every id runs on.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

criterion_group!(benches, queues, lock, semaphore);

/// Criterion's main, plus a profiling mode for callgrind: `TOWER_SYNC_PROFILE=<group>/<id>`
/// (and optionally `TOWER_SYNC_RUNS=n`) runs that workload n times (default 3) and exits;
/// and `TOWER_SYNC_INTERLEAVED=<rounds>` (see [`interleaved`]).
fn main() {
    if let Ok(which) = std::env::var("TOWER_SYNC_PROFILE") {
        let runs = std::env::var("TOWER_SYNC_RUNS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(3);
        let rt = runtime();
        let (group, kind) = which
            .split_once('/')
            .expect("TOWER_SYNC_PROFILE=<group>/<id>");
        for _ in 0..runs {
            match group {
                "queue_spsc" => run_all(&rt, queue_tasks(kind, 1)),
                "queue_mpsc" => run_all(&rt, queue_tasks(kind, PRODUCERS)),
                "lock" => run_lock(&rt, kind, false),
                "lock_contended" => run_lock(&rt, kind, true),
                "semaphore" => run_semaphore(&rt, kind, false),
                "semaphore_contended" => run_semaphore(&rt, kind, true),
                _ => panic!("unknown group {group}"),
            }
        }
        return;
    }
    if let Ok(rounds) = std::env::var("TOWER_SYNC_INTERLEAVED") {
        interleaved(rounds.parse().unwrap_or(10));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

/// `TOWER_SYNC_INTERLEAVED=<rounds>`: every id of every single-thread group, run round-robin
/// `rounds` times; prints the best time of each and its ratio to the best peer. On a shared,
/// noisy machine the minimum of interleaved runs is a steadier ratio than separate samples.
fn interleaved(rounds: usize) {
    let rt = runtime();
    let groups: [(&str, &[&str]); 6] = [
        (
            "queue_spsc",
            &["tower", "tower-mpsc", "tokio", "async-channel"],
        ),
        (
            "queue_mpsc",
            &["tower", "tower-mpsc", "tokio", "async-channel"],
        ),
        ("lock", &["tower", "tokio", "async-lock"]),
        ("lock_contended", &["tower", "tokio", "async-lock"]),
        ("semaphore", &["tower", "tokio", "async-lock"]),
        ("semaphore_contended", &["tower", "tokio", "async-lock"]),
    ];
    println!("| group | id | best of {rounds} | / best peer |");
    println!("|---|---|---|---|");
    for (group, ids) in groups {
        let mut best = vec![Duration::MAX; ids.len()];
        for _ in 0..rounds {
            for (i, id) in ids.iter().enumerate() {
                let start = std::time::Instant::now();
                match group {
                    "queue_spsc" => run_all(&rt, queue_tasks(id, 1)),
                    "queue_mpsc" => run_all(&rt, queue_tasks(id, PRODUCERS)),
                    "lock" => run_lock(&rt, id, false),
                    "lock_contended" => run_lock(&rt, id, true),
                    "semaphore" => run_semaphore(&rt, id, false),
                    _ => run_semaphore(&rt, id, true),
                }
                best[i] = best[i].min(start.elapsed());
            }
        }
        let peer = ids
            .iter()
            .zip(&best)
            .filter(|(id, _)| !id.starts_with("tower"))
            .map(|(_, t)| *t)
            .min()
            .unwrap_or(Duration::MAX);
        for (id, t) in ids.iter().zip(&best) {
            println!(
                "| {group} | {id} | {t:.2?} | {:.2} |",
                t.as_secs_f64() / peer.as_secs_f64()
            );
        }
    }
}
