//! Timers, single-thread: 10^5 sleeps with deadlines spread over 0..10 ms awaited concurrently
//! (`timers_sleep_st`), and 10^5 timeouts registered and cancelled before they fire
//! (`timers_timeout_st`); tower's loop vs tokio current-thread vs async-io (smol's reactor, on an
//! `async-executor` `LocalExecutor`). Every runtime is used through the API its users call:
//! tower's tasks through `tower_task::spawn` and its timers through `tower_task::sleep`
//! (asyncio's `create_task` and `sleep`), tokio's through `tokio::spawn` and
//! `tokio::time::sleep`, smol's through `LocalExecutor::spawn` and `async_io::Timer`.
//!
//! `TIMERS_PROFILE=<sleep|timeout>:<tower|tokio|async-io>` runs one workload `TIMERS_ITERS`
//! times (default 1) outside criterion, for `valgrind --tool=callgrind` or `strace -c`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use tower_loop::EventLoop;
use tower_task::{sleep, spawn};

const N: usize = 100_000;

/// The deadline of sleep `i`: spread over 0..10 ms.
fn spread(i: usize) -> Duration {
    Duration::from_micros((i % 10_000) as u64)
}

/// Pending once (waking itself), then ready: the inner future of the timeouts.
#[derive(Default)]
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// `timeout(fut, timer)`: the same combinator for every runtime, so only the timer differs.
/// The inner future is polled first; the timer is registered on its first poll and dropped
/// (cancelled) when the inner future wins.
async fn with_timeout<F: Future, T: Future>(fut: F, timer: T) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut timer = std::pin::pin!(timer);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// The workloads, one function per runtime, as the benches and the profile mode run them.
mod work {
    use super::*;

    /// The timeout every `timers_timeout_st` timer is given (it never fires).
    const LONG: Duration = Duration::from_secs(60);

    pub(super) async fn tower_sleeps() {
        let tasks: Vec<_> = (0..N)
            .map(|i| spawn(async move { sleep(spread(i)).await }))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    }

    pub(super) async fn tokio_sleeps() {
        let tasks: Vec<_> = (0..N)
            .map(|i| tokio::spawn(async move { tokio::time::sleep(spread(i)).await }))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    }

    pub(super) async fn async_io_sleeps(ex: &async_executor::LocalExecutor<'_>) {
        let tasks: Vec<_> = (0..N)
            .map(|i| ex.spawn(async move { async_io::Timer::after(spread(i)).await }))
            .collect();
        for t in tasks {
            t.await;
        }
    }

    pub(super) async fn tower_timeouts() {
        let tasks: Vec<_> = (0..N)
            .map(|_| spawn(with_timeout(YieldOnce::default(), sleep(LONG))))
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().is_some());
        }
    }

    pub(super) async fn tokio_timeouts() {
        let tasks: Vec<_> = (0..N)
            .map(|_| tokio::spawn(with_timeout(YieldOnce::default(), tokio::time::sleep(LONG))))
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().is_some());
        }
    }

    pub(super) async fn async_io_timeouts(ex: &async_executor::LocalExecutor<'_>) {
        let tasks: Vec<_> = (0..N)
            .map(|_| {
                ex.spawn(with_timeout(
                    YieldOnce::default(),
                    async_io::Timer::after(LONG),
                ))
            })
            .collect();
        for t in tasks {
            assert!(t.await.is_some());
        }
    }
}

fn sleeps(c: &mut Criterion) {
    let mut g = c.benchmark_group("timers_sleep_st");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));

    let lp = EventLoop::new().unwrap();
    g.bench_function("tower", |b| {
        b.iter(|| lp.run_until_complete(work::tower_sleeps()).unwrap())
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    g.bench_function("tokio", |b| b.iter(|| rt.block_on(work::tokio_sleeps())));

    let ex = async_executor::LocalExecutor::new();
    g.bench_function("async-io", |b| {
        b.iter(|| async_io::block_on(ex.run(work::async_io_sleeps(&ex))))
    });
    g.finish();
}

fn timeouts(c: &mut Criterion) {
    let mut g = c.benchmark_group("timers_timeout_st");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));

    let lp = EventLoop::new().unwrap();
    g.bench_function("tower", |b| {
        b.iter(|| lp.run_until_complete(work::tower_timeouts()).unwrap())
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    g.bench_function("tokio", |b| b.iter(|| rt.block_on(work::tokio_timeouts())));

    let ex = async_executor::LocalExecutor::new();
    g.bench_function("async-io", |b| {
        b.iter(|| async_io::block_on(ex.run(work::async_io_timeouts(&ex))))
    });
    g.finish();
}

/// Runs `workload:runtime` `TIMERS_ITERS` times, outside criterion.
fn profile(spec: &str) {
    let (work, rt) = spec.split_once(':').unwrap_or((spec, "tower"));
    let iters: usize = std::env::var("TIMERS_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let sleeps = match work {
        "sleep" => true,
        "timeout" => false,
        _ => panic!("TIMERS_PROFILE=<sleep|timeout>:<tower|tokio|async-io>"),
    };
    match rt {
        "tower" => {
            let lp = EventLoop::new().unwrap();
            for _ in 0..iters {
                if sleeps {
                    lp.run_until_complete(work::tower_sleeps()).unwrap();
                } else {
                    lp.run_until_complete(work::tower_timeouts()).unwrap();
                }
            }
        }
        "tokio" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            for _ in 0..iters {
                if sleeps {
                    rt.block_on(work::tokio_sleeps());
                } else {
                    rt.block_on(work::tokio_timeouts());
                }
            }
        }
        "async-io" => {
            let ex = async_executor::LocalExecutor::new();
            for _ in 0..iters {
                if sleeps {
                    async_io::block_on(ex.run(work::async_io_sleeps(&ex)));
                } else {
                    async_io::block_on(ex.run(work::async_io_timeouts(&ex)));
                }
            }
        }
        _ => panic!("TIMERS_PROFILE=<sleep|timeout>:<tower|tokio|async-io>"),
    }
}

criterion_group!(benches, sleeps, timeouts);

fn main() {
    if let Ok(spec) = std::env::var("TIMERS_PROFILE") {
        profile(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
