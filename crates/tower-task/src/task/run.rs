//! [`run`]: asyncio's `asyncio.run(main())` — a fresh loop, run `main`, cancel and drain what
//! is left, close the loop.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use tower_loop::EventLoop;

use super::registry::own_registry;
use crate::error::RunError;

/// How many cancel-and-drain rounds `run` makes (tasks spawned while draining get cancelled
/// in the next round).
const DRAIN_ROUNDS: usize = 16;

/// Runs `main` on a fresh event loop and returns its output (asyncio's `asyncio.run`). Then
/// cancels every task still alive, runs the loop until they are done (their futures are
/// dropped, their done callbacks run), and closes the loop. A panic of `main` propagates after
/// the cleanup.
///
/// ```
/// use std::time::Duration;
///
/// let out = tower_task::run(async {
///     let t = tower_task::spawn(async { 20 });
///     let _leftover = tower_task::spawn(tower_task::sleep(Duration::from_secs(3600)));
///     t.await.unwrap() + 1
/// })
/// .unwrap();
/// assert_eq!(out, 21); // and the leftover sleeper was cancelled, not awaited
/// ```
///
/// # Errors
///
/// [`RunError::Io`] if the loop cannot be created, [`RunError::Loop`] if another loop runs on
/// this thread (`run` does not nest) or the loop was stopped before `main` completed.
pub fn run<F: Future>(main: F) -> Result<F::Output, RunError> {
    let lp = EventLoop::new().map_err(RunError::Io)?;
    let out = catch_unwind(AssertUnwindSafe(|| lp.run_until_complete(main)));
    cancel_all_tasks(&lp);
    let _ = lp.close();
    match out {
        Ok(r) => r.map_err(RunError::Loop),
        Err(payload) => resume_unwind(payload),
    }
}

/// Cancels the tasks left on `lp` and runs it until they are done (asyncio's
/// `_cancel_all_tasks`).
pub(crate) fn cancel_all_tasks(lp: &EventLoop) {
    let registry = own_registry(lp);
    for _ in 0..DRAIN_ROUNDS {
        let tasks: Vec<_> = registry.tasks().into_iter().filter(|t| !t.done()).collect();
        if tasks.is_empty() {
            return;
        }
        for t in &tasks {
            t.cancel();
        }
        let drained = lp.run_until_complete(async {
            while !tasks.iter().all(|t| t.done()) {
                tower_coro::yield_now().await;
            }
            // One more turn so that the done callbacks scheduled by the last ones run.
            tower_coro::yield_now().await;
        });
        if drained.is_err() {
            return;
        }
    }
}
