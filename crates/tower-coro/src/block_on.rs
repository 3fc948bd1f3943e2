//! `block_on`: run a future to completion on the current thread, parking between polls.
//!
//! Each thread caches one parker and its waker, so after the first call on a thread `block_on`
//! allocates nothing; a nested call finds the cache in use and makes a fresh pair.

use std::cell::RefCell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use crate::parker::Parker;

thread_local! {
    /// This thread's parker and the waker that unparks it, reused by every outermost `block_on`.
    static CACHE: RefCell<(Parker, Waker)> = RefCell::new(parker_and_waker());
}

/// A fresh parker and a waker that unparks it.
fn parker_and_waker() -> (Parker, Waker) {
    let parker = Parker::new();
    let waker = Waker::from(parker.unparker());
    (parker, waker)
}

/// Runs `future` to completion on the current thread and returns its output.
///
/// Between polls the thread is parked; any clone of the waker, woken from any thread, unparks
/// it. This is asyncio's `loop.run_until_complete(coro)` without a loop: nothing else runs while
/// it waits, and timers or I/O must be driven by whoever wakes the future.
///
/// The parker and waker are cached per thread, so only the first call on a thread allocates.
/// Calls nest: a `block_on` inside a future being run by `block_on` uses a fresh parker (and so
/// allocates once). A panic in `future` propagates to the caller.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, yield_now};
///
/// let n = block_on(async {
///     yield_now().await;
///     1 + 2
/// });
/// assert_eq!(n, 3);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    // `None`: the cache is in use by an outer `block_on` (or already destroyed because this
    // runs in a thread-local destructor); fall back to a fresh parker outside the closure.
    let cached = CACHE
        .try_with(|cache| {
            let cache = cache.try_borrow_mut().ok()?;
            let (parker, waker) = &*cache;
            Some(run(future.as_mut(), parker, waker))
        })
        .ok()
        .flatten();
    match cached {
        Some(output) => output,
        None => {
            let (parker, waker) = parker_and_waker();
            run(future, &parker, &waker)
        }
    }
}

/// Polls `future` with `waker` until it is ready, parking on `parker` after each `Pending`.
fn run<F: Future + ?Sized>(mut future: Pin<&mut F>, parker: &Parker, waker: &Waker) -> F::Output {
    let mut cx = Context::from_waker(waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        if crate::cancel::in_flight() {
            // Not a task: a cancellation raised here that nothing caught has nowhere to go
            // (`crate::cancel`), and must not reach whatever this thread polls next.
            drop(crate::cancel::take_escaped());
        }
        parker.park();
    }
}
