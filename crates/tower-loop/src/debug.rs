//! Debug mode: reports callbacks and task polls slower than `slow_callback_duration`.
//!
//! Off by default; when off, the loop reads no clock per callback.

use std::cell::{Cell, RefCell};
use std::time::Duration;

/// asyncio's default `slow_callback_duration`: 100 ms.
pub const DEFAULT_SLOW_CALLBACK_DURATION: Duration = Duration::from_millis(100);

/// The loop's debug settings.
#[derive(Debug)]
pub(crate) struct DebugSettings {
    /// `set_debug`.
    pub(crate) enabled: Cell<bool>,
    /// Items slower than this are reported.
    pub(crate) slow_callback_duration: Cell<Duration>,
}

impl Default for DebugSettings {
    fn default() -> Self {
        DebugSettings {
            enabled: Cell::new(false),
            slow_callback_duration: Cell::new(DEFAULT_SLOW_CALLBACK_DURATION),
        }
    }
}

thread_local! {
    /// What the runnable being polled on this thread calls itself (debug mode only): taken by
    /// the loop after the poll, for its slow-poll report.
    static POLL_LABEL: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Names the task being polled right now in the loop's debug-mode slow-poll report (for
/// example `task "fetcher" (id 7)`); without it the report says "a task poll". Tier 4 calls it
/// at the start of each poll when [`running_loop_debug`](crate::running_loop_debug) is set;
/// it costs nothing otherwise. The loop clears the label before each task poll; within one poll
/// the first label set wins (an eager task started inside it does not rename it).
///
/// ```
/// use std::time::Duration;
/// use tower_loop::{ContextKind, EventLoop};
///
/// let lp = EventLoop::builder().paused_clock().debug(true).build().unwrap();
/// lp.set_exception_handler(|_, ctx| {
///     if matches!(ctx.kind, ContextKind::SlowCallback { .. }) {
///         assert!(ctx.message.contains("task \"slow\""));
///     }
/// });
/// let h = lp.handle();
/// let (r, t) = async_task::spawn(
///     async {
///         tower_loop::set_poll_label("task \"slow\"".to_string());
///         tower_loop::get_running_loop().unwrap().advance(Duration::from_secs(1));
///     },
///     h.scheduler(),
/// );
/// r.schedule();
/// lp.run_until_complete(t).unwrap();
/// ```
pub fn set_poll_label(label: String) {
    let _ = POLL_LABEL.try_with(|l| {
        // The first label of a poll wins: an eager task polled inside another task's poll
        // must not rename the outer poll.
        if let Ok(mut l) = l.try_borrow_mut() {
            if l.is_none() {
                *l = Some(label);
            }
        }
    });
}

/// Takes the label set by [`set_poll_label`] during the last poll, if any.
pub(crate) fn take_poll_label() -> Option<String> {
    POLL_LABEL
        .try_with(|l| l.try_borrow_mut().ok().and_then(|mut l| l.take()))
        .ok()
        .flatten()
}
