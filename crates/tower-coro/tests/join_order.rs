//! `join`/`try_join` and their vector forms: every future is polled, outputs come back in
//! argument order, and `try_join` stops at the first error and drops the rest.
//! Ports test_asyncio/test_gather.py: `test_result_order` (results in argument order, not
//! completion order), `test_one_exception` (first exception propagates; here the rest are
//! dropped, as with `return_exceptions=False` inside a TaskGroup).

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use tower_coro::{
    block_on, join, join_all, join3, join4, pending, try_join, try_join_all, try_join3, yield_now,
};

/// A boxed fallible future, so futures of different types share one vector.
type BoxFuture = std::pin::Pin<Box<dyn Future<Output = Result<u8, u8>>>>;

/// Sets its flag when dropped.
struct DropFlag(Rc<RefCell<bool>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        *self.0.borrow_mut() = true;
    }
}

/// Yields `n` times, logging each step, then returns `id`.
async fn worker(id: u32, n: u32, log: &RefCell<Vec<u32>>) -> u32 {
    for _ in 0..n {
        log.borrow_mut().push(id);
        yield_now().await;
    }
    id
}

#[test]
fn join_returns_outputs_in_argument_order() {
    // The second finishes first; the output order is still the argument order.
    let log = RefCell::new(Vec::new());
    let out = block_on(join(worker(1, 3, &log), worker(2, 1, &log)));
    assert_eq!(out, (1, 2));
}

#[test]
fn join_polls_all_futures_each_round() {
    let log = RefCell::new(Vec::new());
    block_on(join(worker(1, 2, &log), worker(2, 2, &log)));
    assert_eq!(*log.borrow(), [1, 2, 1, 2]);
}

#[test]
fn join3_and_join4_keep_order() {
    let log = RefCell::new(Vec::new());
    let three = block_on(join3(
        worker(1, 3, &log),
        worker(2, 0, &log),
        worker(3, 1, &log),
    ));
    assert_eq!(three, (1, 2, 3));
    let four = block_on(join4(
        worker(4, 1, &log),
        worker(3, 2, &log),
        worker(2, 0, &log),
        worker(1, 3, &log),
    ));
    assert_eq!(four, (4, 3, 2, 1));
}

#[test]
fn join_drops_a_finished_future_at_once() {
    let flag = Rc::new(RefCell::new(false));
    let f = flag.clone();
    let mut j = pin!(join(
        async move {
            let _guard = DropFlag(f);
        },
        pending::<()>()
    ));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(j.as_mut().poll(&mut cx).is_pending());
    assert!(
        *flag.borrow(),
        "the finished future was dropped while the join still runs"
    );
}

#[test]
fn join_all_returns_in_input_order() {
    let log = RefCell::new(Vec::new());
    let futs: Vec<_> = (0..5).map(|i| worker(i, 5 - i, &log)).collect();
    assert_eq!(block_on(join_all(futs)), [0, 1, 2, 3, 4]);
}

#[test]
fn join_all_of_nothing_is_empty() {
    let none: Vec<std::future::Ready<u8>> = Vec::new();
    assert!(block_on(join_all(none)).is_empty());
}

#[test]
fn try_join_returns_all_values() {
    let r = block_on(try_join3(
        async { Ok::<_, ()>(1) },
        async {
            yield_now().await;
            Ok("b")
        },
        async { Ok(3.0) },
    ));
    assert_eq!(r, Ok((1, "b", 3.0)));
}

#[test]
fn try_join_short_circuits_and_drops_the_others() {
    let flag = Rc::new(RefCell::new(false));
    let f = flag.clone();
    let never = async move {
        let _guard = DropFlag(f);
        pending::<Result<u8, &str>>().await
    };
    let mut j = pin!(try_join(never, async {
        yield_now().await;
        Err::<u8, _>("boom")
    }));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(j.as_mut().poll(&mut cx).is_pending());
    assert!(!*flag.borrow());
    assert_eq!(j.as_mut().poll(&mut cx), Poll::Ready(Err("boom")));
    // Dropped before the error was returned, while the TryJoin itself is still alive.
    assert!(*flag.borrow());
}

#[test]
fn try_join_first_error_in_argument_order_wins() {
    let r = block_on(try_join(async { Err::<u8, _>(1) }, async {
        Err::<u8, _>(2)
    }));
    assert_eq!(r, Err(1));
}

#[test]
fn try_join_all_short_circuits_and_drops_the_others() {
    let flags: Vec<_> = (0..3).map(|_| Rc::new(RefCell::new(false))).collect();
    let futs: Vec<BoxFuture> = vec![
        Box::pin({
            let f = flags[0].clone();
            // The guard is captured, so it drops with the future even if never polled.
            let g = DropFlag(f);
            async move {
                let _g = g;
                pending().await
            }
        }),
        Box::pin(async { Err(7) }),
        Box::pin({
            let f = flags[2].clone();
            // The guard is captured, so it drops with the future even if never polled.
            let g = DropFlag(f);
            async move {
                let _g = g;
                pending().await
            }
        }),
    ];
    let mut j = pin!(try_join_all(futs));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(j.as_mut().poll(&mut cx), Poll::Ready(Err(7)));
    assert!(*flags[0].borrow() && *flags[2].borrow());
}

#[test]
fn try_join_all_returns_values_in_order() {
    let log = RefCell::new(Vec::new());
    let futs = (0..4).map(|i| {
        let log = &log;
        async move { Ok::<_, ()>(worker(i, 4 - i, log).await) }
    });
    assert_eq!(block_on(try_join_all(futs)), Ok(vec![0, 1, 2, 3]));
}

#[test]
fn debug_names_the_state_of_each_future() {
    let j = join(async { 1 }, pending::<u8>());
    assert_eq!(format!("{j:?}"), "Join { a: Running, b: Running }");
}
