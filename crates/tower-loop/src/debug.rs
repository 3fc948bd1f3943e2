//! Debug mode: reports callbacks and task polls slower than `slow_callback_duration` — the
//! settings ([`DebugSettings`], [`EventLoop::set_debug`]), the labels and details a slow item's
//! report names, and the timed run of one ready item.
//!
//! Off by default; when off, the loop reads no clock per callback.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use crate::context;
use crate::event_loop::EventLoop;
use crate::exception::{ContextKind, ExceptionContext};
use crate::ready::Ready;

/// asyncio's default `slow_callback_duration`: 100 ms.
pub const DEFAULT_SLOW_CALLBACK_DURATION: Duration = Duration::from_millis(100);

/// The loop's debug settings.
#[derive(Debug)]
pub(crate) struct DebugSettings {
    /// `set_debug`.
    enabled: Cell<bool>,
    /// Items slower than this are reported.
    slow_callback_duration: Cell<Duration>,
}

impl DebugSettings {
    /// Whether debug mode is on.
    #[inline(always)]
    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.get()
    }

    /// Turns debug mode on or off.
    pub(crate) fn set_enabled(&self, on: bool) {
        self.enabled.set(on);
    }

    /// Items slower than this are reported.
    fn slow_callback_duration(&self) -> Duration {
        self.slow_callback_duration.get()
    }

    /// Sets the threshold of the reports.
    fn set_slow_callback_duration(&self, d: Duration) {
        self.slow_callback_duration.set(d);
    }
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

thread_local! {
    /// While the loop times an item in debug mode: what ran inside it and was slow on its own
    /// (`add_poll_detail`), for the item's one report. `None`: no item is being timed.
    static POLL_DETAILS: RefCell<Option<Vec<(String, &'static str)>>> = const { RefCell::new(None) };
}

/// Adds `detail` (for example "blocking call read config took 0.250 seconds") to the slow-item
/// report of the callback or task poll that the loop is timing on this thread in debug mode,
/// and returns `true`; the loop then reports that item once, naming `detail`, with `source` as
/// the report's source. Returns `false` when no item is being timed (debug mode off, no loop,
/// or code the loop does not time, such as `run_until_complete`'s own future): the caller
/// reports on its own. This is how tier 5's `blocking_call` avoids a second report for the
/// same stall.
///
/// ```
/// // No loop runs here: nothing is being timed.
/// assert!(!tower_loop::add_poll_detail("a detail".to_string(), "example"));
/// ```
pub fn add_poll_detail(detail: String, source: &'static str) -> bool {
    POLL_DETAILS
        .try_with(|d| match d.try_borrow_mut() {
            Ok(mut d) => match d.as_mut() {
                Some(v) => {
                    v.push((detail, source));
                    true
                }
                None => false,
            },
            Err(_) => false,
        })
        .unwrap_or(false)
}

/// Starts collecting details for an item the loop times; returns what was being collected
/// before (restored by [`end_details`]).
pub(crate) fn begin_details() -> Option<Vec<(String, &'static str)>> {
    POLL_DETAILS
        .try_with(|d| d.replace(Some(Vec::new())))
        .ok()
        .flatten()
}

/// Stops collecting; returns the item's details and restores `prev`.
pub(crate) fn end_details(
    prev: Option<Vec<(String, &'static str)>>,
) -> Vec<(String, &'static str)> {
    POLL_DETAILS
        .try_with(|d| d.replace(prev))
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Takes the label set by [`set_poll_label`] during the last poll, if any.
pub(crate) fn take_poll_label() -> Option<String> {
    POLL_LABEL
        .try_with(|l| l.try_borrow_mut().ok().and_then(|mut l| l.take()))
        .ok()
        .flatten()
}

impl EventLoop {
    /// Turns debug mode on or off: reports callbacks and task polls slower than
    /// [`slow_callback_duration`](Self::slow_callback_duration).
    pub fn set_debug(&self, on: bool) {
        self.core().debug().set_enabled(on);
        context::set_debug_flag(self.core(), on);
    }

    /// Whether debug mode is on.
    pub fn get_debug(&self) -> bool {
        self.core().debug().is_enabled()
    }

    /// The threshold of debug mode's slow-callback reports (default 100 ms).
    pub fn slow_callback_duration(&self) -> Duration {
        self.core().debug().slow_callback_duration()
    }

    /// Sets the threshold of debug mode's slow-callback reports.
    pub fn set_slow_callback_duration(&self, d: Duration) {
        self.core().debug().set_slow_callback_duration(d);
    }

    /// The iteration's run of one ready item in debug mode (see `iteration.rs`): times the item
    /// and reports it if it ran longer than `slow_callback_duration`, naming what ran inside it
    /// (`add_poll_detail`).
    #[inline(never)]
    pub(crate) fn run_item_debug(&self, item: Ready) {
        let core = self.core();
        let cancelled = match &item {
            Ready::Callback(cb) => cb.is_cancelled(),
            Ready::Remote(cb) => cb.is_cancelled(),
            Ready::Runnable(_) => false,
            // The iteration handles these itself.
            Ready::Main(_) | Ready::Stop => true,
        };
        if cancelled {
            return;
        }
        let start = core.clock().now();
        // What ran inside this item and was slow on its own (`add_poll_detail`) goes into this
        // item's one report.
        let prev_details = begin_details();
        let mut label = None;
        let (source, result) = match item {
            Ready::Callback(cb) => (cb.name(), catch_unwind(AssertUnwindSafe(|| cb.run()))),
            Ready::Remote(cb) => (cb.name(), catch_unwind(AssertUnwindSafe(|| cb.run()))),
            Ready::Runnable(r) => {
                drop(take_poll_label());
                let res = catch_unwind(AssertUnwindSafe(|| {
                    r.run();
                }));
                label = take_poll_label();
                ("a task poll", res)
            }
            Ready::Main(_) | Ready::Stop => return,
        };
        let details = end_details(prev_details);
        if let Err(payload) = result {
            self.report_panic(source, payload);
        }
        let elapsed = core.clock().now().saturating_duration_since(start);
        if elapsed >= core.debug().slow_callback_duration() {
            let mut message = format!(
                "executing {} took {:.3} seconds",
                label.as_deref().unwrap_or(source),
                elapsed.as_secs_f64()
            );
            for (detail, _) in &details {
                message.push_str("; inside it, ");
                message.push_str(detail);
            }
            let ctx = ExceptionContext {
                message,
                kind: ContextKind::SlowCallback { elapsed },
                payload: None,
                source: Some(details.first().map_or(source, |d| d.1)),
            };
            self.call_exception_handler(&ctx);
        }
    }
}
