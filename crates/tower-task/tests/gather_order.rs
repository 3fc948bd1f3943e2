//! `gather`, `gather_settled`, `try_gather`: ports of CPython's `test_tasks.py` gather
//! scenarios (`test_gather*`, `GatherTestsBase`). Virtual time only.

use std::sync::atomic::Ordering;

use tower_task::error::GatherError;
use tower_task::{gather, gather_settled, sleep, spawn, try_gather};

mod common;
use common::{DropFlag, flag, paused, secs};

// test_gather / GatherTestsBase: results in input order, whatever the completion order.
#[test]
fn results_in_input_order() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            gather([5u64, 1, 3, 2, 4].map(|s| async move {
                sleep(secs(s)).await;
                s
            }))
            .await
        })
        .unwrap();
    assert_eq!(out.unwrap(), [5, 1, 3, 2, 4]);
}

// GatherTestsBase.test_constructor_empty_sequence: nothing to gather, an empty list.
#[test]
fn empty_input_gives_empty_list() {
    let lp = paused();
    let out = lp
        .run_until_complete(gather(Vec::<std::future::Ready<u8>>::new()))
        .unwrap();
    assert!(out.unwrap().is_empty());
}

// GatherTestsBase.test_return_exceptions / test_one_cancellation: every outcome, a cancelled
// child included, in input order.
#[test]
fn settled_returns_every_outcome() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let g = gather_settled([1u64, 10, 2].map(|s| async move {
                sleep(secs(s)).await;
                s
            }));
            assert!(g.task_refs()[1].cancel_with("second"));
            g.await
        })
        .unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!(*out[0].as_ref().unwrap(), 1);
    assert!(out[1].as_ref().unwrap_err().is_cancelled());
    assert_eq!(*out[2].as_ref().unwrap(), 2);
}

// GatherTestsBase.test_return_exceptions with errors as values: gather_settled of futures
// returning Result keeps each Err in its place.
#[test]
fn settled_keeps_err_values() {
    let lp = paused();
    let out = lp
        .run_until_complete(gather_settled([1u64, 2, 3].map(|s| async move {
            sleep(secs(s)).await;
            if s == 2 { Err("two") } else { Ok(s) }
        })))
        .unwrap();
    let out: Vec<_> = out.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(out, [Ok(1), Err("two"), Ok(3)]);
}

// GatherTestsBase.test_one_exception: the first failure is returned at once and the other
// children are NOT cancelled (asyncio's documented behaviour): they run to completion.
#[test]
fn first_error_returned_others_not_cancelled() {
    let lp = paused();
    let finished = flag();
    let f = finished.clone();
    lp.run_until_complete(async move {
        let f2 = f.clone();
        let r = try_gather([
            Box::pin(async {
                sleep(secs(1)).await;
                Err("boom")
            }) as std::pin::Pin<Box<dyn Future<Output = Result<u8, &str>> + Send>>,
            Box::pin(async move {
                sleep(secs(5)).await;
                f2.store(true, Ordering::SeqCst);
                Ok(1)
            }),
        ])
        .await;
        assert!(matches!(r, Err(GatherError::Failed("boom"))));
        assert!(
            !f.load(Ordering::SeqCst),
            "returned before the other finished"
        );
        sleep(secs(10)).await;
    })
    .unwrap();
    assert!(finished.load(Ordering::SeqCst), "the other task ran on");
}

// GatherTestsBase.test_one_exception with a panic (a raised exception): gather returns the
// task error.
#[test]
fn panic_ends_gather_with_task_error() {
    let lp = paused();
    let r = lp
        .run_until_complete(gather([
            Box::pin(async {
                sleep(secs(1)).await;
                if true {
                    panic!("boom");
                }
                1
            }) as std::pin::Pin<Box<dyn Future<Output = i32> + Send>>,
            Box::pin(async { 2 }),
        ]))
        .unwrap();
    assert!(r.unwrap_err().is_panic());
}

// test_cancel_gather_2: cancelling the task awaiting a gather cancels every child still
// running (a child with nothing cancellation-aware in it is dropped at its suspension point).
// More in gather_cancel.rs.
#[test]
fn cancelling_the_awaiter_cancels_the_children() {
    let lp = paused();
    let (dropped, resumed) = (flag(), flag());
    let (d, r2) = (dropped.clone(), resumed.clone());
    lp.run_until_complete(async move {
        let outer = spawn(async move {
            gather([async move {
                let _flag = DropFlag(d);
                sleep(secs(10)).await;
                r2.store(true, Ordering::SeqCst);
            }])
            .await
        });
        sleep(secs(1)).await;
        outer.cancel();
        assert!(outer.await.unwrap_err().is_cancelled());
        sleep(secs(1)).await;
    })
    .unwrap();
    assert!(dropped.load(Ordering::SeqCst));
    assert!(!resumed.load(Ordering::SeqCst));
}

// GatherTestsBase (try_gather, every child Ok): the values in input order.
#[test]
fn try_gather_all_ok() {
    let lp = paused();
    let r = lp
        .run_until_complete(try_gather([3u64, 1].map(|s| async move {
            sleep(secs(s)).await;
            Ok::<_, ()>(s)
        })))
        .unwrap();
    assert_eq!(r.unwrap(), [3, 1]);
}
