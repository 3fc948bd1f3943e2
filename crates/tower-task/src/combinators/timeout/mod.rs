//! `timeout`, `timeout_at`, `wait_for`, `wait_for_task` and `timeout_scope`: run a future against
//! a deadline on the running loop's clock (asyncio's `timeouts.py` and `wait_for`).
//!
//! As in asyncio, a timeout *cancels the task* at its deadline and turns the cancellation that
//! comes back out of its body into `TimeoutError` (decision 0006): the request is delivered to
//! the innermost cancellation-aware await in the body — an awaited task is cancelled and waited
//! for, a `catch_cancel` may catch it and clean up — and only then does the timeout return.
//! Outside a task the timeout delivers its own request into the body instead. Each deadline is
//! one [`tower_loop::Timer`] entry, cancelled when the timeout completes or is dropped.
//!
//! - `state.rs`: the state machine they all run (asyncio's `Timeout` minus the timer);
//! - `future.rs`: [`Timeout`], the future of `timeout`, `timeout_at`, `wait_for`;
//! - `scope.rs`: [`TimeoutScope`] and its [`TimeoutHandle`];
//! - `cancel_on_drop.rs`: `wait_for_task` and [`CancelOnDrop`].

use std::time::Duration;

use tower_loop::Timer;

mod cancel_on_drop;
mod future;
mod scope;
mod state;

pub use cancel_on_drop::{CancelOnDrop, wait_for_task};
pub use future::{Timeout, timeout, timeout_at, wait_for};
pub use scope::{TimeoutHandle, TimeoutScope, timeout_scope, timeout_scope_at};

/// A timer `delay` from now by the running loop's clock — its
/// [`iteration_time`](tower_loop::EventLoop::iteration_time), so its deadline is known at once
/// — or, outside a loop, `delay` from its first poll.
pub(crate) fn timer_after(delay: Duration) -> Timer {
    match tower_loop::get_running_loop() {
        Ok(lp) => lp
            .iteration_time()
            .checked_add(delay)
            .map_or_else(Timer::never, Timer::at),
        Err(_) => Timer::after(delay),
    }
}

/// Cancels `timer`'s loop entry, if any, keeping its deadline (for `when()`).
fn release(timer: &mut Timer) {
    if let Some(at) = timer.deadline() {
        timer.reset(at);
    }
}
