//! Cancelling a gather's awaiter on the multi-thread runtime: the children run on any worker,
//! the cancellation reaches them across threads, and the awaiter resolves only once every child
//! is gone (test_cancel_gather_2's scenario, raced: 200 rounds, cancelled at varying points).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tower_task::error::TaskError;
use tower_task::runtime::RuntimeBuilder;
use tower_task::{catch_cancel, gather, reraise};

/// Counts a running child body; the count goes down when the body is dropped (finished,
/// cancelled or unwound).
struct Alive(Arc<AtomicUsize>);

impl Alive {
    fn enter(n: &Arc<AtomicUsize>) -> Alive {
        n.fetch_add(1, Ordering::SeqCst);
        Alive(n.clone())
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A child: waits forever; on cancellation cleans up over a few yields (on its worker), then
/// re-raises, or (odd `i`) returns a value instead.
async fn child(i: usize, alive: Arc<AtomicUsize>) -> usize {
    let _alive = Alive::enter(&alive);
    let caught = catch_cancel(tower_coro::pending::<()>()).await;
    let Err(c) = caught else {
        unreachable!("pending never completes")
    };
    for _ in 0..3 {
        tower_coro::yield_now().await;
    }
    if i % 2 == 1 {
        return i;
    }
    reraise(c).await
}

// test_cancel_gather_2 on two workers, 200 rounds: no gather child is alive when the cancelled
// awaiter's handle resolves, and the awaiter always ends cancelled.
#[test]
fn no_child_outlives_the_cancelled_awaiter() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    rt.block_on(async {
        for round in 0..200usize {
            let alive = Arc::new(AtomicUsize::new(0));
            let a = alive.clone();
            let awaiter =
                rt.spawn(async move { gather((0..4).map(|i| child(i, a.clone()))).await });
            if round % 2 == 0 {
                // Every child has started (and is suspended, or about to be) on some worker.
                while alive.load(Ordering::SeqCst) < 4 {
                    tower_coro::yield_now().await;
                }
            } else {
                // Cancel before, during or after the children start, varying by round.
                for _ in 0..round % 7 {
                    tower_coro::yield_now().await;
                }
            }
            awaiter.cancel_with("round over");
            match awaiter.await {
                Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("round over")),
                other => panic!("round {round}: expected a cancellation, got {other:?}"),
            }
            assert_eq!(
                alive.load(Ordering::SeqCst),
                0,
                "round {round}: a child outlived it"
            );
        }
    })
    .unwrap();
}
