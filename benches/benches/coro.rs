//! `block_on` on the current thread: tower-coro's against futures-lite's and tokio's
//! current-thread runtime. Two workloads, one group each: a ready future (the fixed cost of a
//! call: thread-local cache, context, one poll) and a future that yields 10 times (the
//! self-wake and park path). The yielding future is `tower_coro::yield_now`, which is
//! executor-agnostic, so all three run the same future.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

/// Ten self-waking yields, then a value.
async fn yield10() -> u32 {
    for _ in 0..10 {
        tower_coro::yield_now().await;
    }
    black_box(10)
}

/// Both groups: `block_on_st` (ready future) and `block_on_yield10_st` (ten yields).
fn block_on_st(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");

    let mut g = c.benchmark_group("block_on_st");
    g.sample_size(10).measurement_time(Duration::from_secs(1));
    g.bench_function("tower", |b| {
        b.iter(|| tower_coro::block_on(async { black_box(1) }))
    });
    g.bench_function("futures-lite", |b| {
        b.iter(|| futures_lite::future::block_on(async { black_box(1) }))
    });
    g.bench_function("tokio", |b| b.iter(|| rt.block_on(async { black_box(1) })));
    g.finish();

    let mut g = c.benchmark_group("block_on_yield10_st");
    g.sample_size(10).measurement_time(Duration::from_secs(1));
    g.bench_function("tower", |b| b.iter(|| tower_coro::block_on(yield10())));
    g.bench_function("futures-lite", |b| {
        b.iter(|| futures_lite::future::block_on(yield10()))
    });
    g.bench_function("tokio", |b| b.iter(|| rt.block_on(yield10())));
    g.finish();
}

criterion_group!(benches, block_on_st);
criterion_main!(benches);
