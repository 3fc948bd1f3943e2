//! [`EventLoop`]: the public face of a loop — creating it, its clock, and scheduling callbacks
//! and tasks on it (`call_soon`, `call_later`, `call_at`, `schedule`).
//!
//! The rest of its API lives with the idea it belongs to: running (`run.rs`), one iteration
//! (`iteration.rs`), closing (`close.rs`), the exception handler (`exception.rs`), debug mode
//! (`debug.rs`), file descriptors (`io.rs`, `sock.rs`), signals (`signals.rs`), the work source
//! (`work_source.rs`) and attached data (`attached.rs`). Its state is [`Core`].

use std::fmt;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_task::Runnable;

use crate::any_runnable::AnyRunnable;
use crate::builder::EventLoopBuilder;
use crate::callback::OnceCell;
use crate::context;
use crate::core::Core;
use crate::handle::{CallbackHandle, ThreadsafeHandle, TimerHandle};
use crate::loop_handle::LoopHandle;
use crate::ready::Ready;
use crate::timer_queue::Payload;

/// An asyncio event loop: per thread, `!Send`; clones are the same loop.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let l = log.clone();
/// lp.call_later(Duration::from_millis(1), move || l.borrow_mut().push("later"));
/// let l = log.clone();
/// lp.call_soon(move || l.borrow_mut().push("soon"));
/// let l2 = lp.clone();
/// lp.call_later(Duration::from_millis(2), move || l2.stop());
/// lp.run_forever().unwrap();
/// assert_eq!(*log.borrow(), ["soon", "later"]);
/// lp.close().unwrap();
/// ```
#[derive(Clone)]
pub struct EventLoop {
    /// The loop's state, shared by clones and by the thread-local running-loop slot.
    core: Rc<Core>,
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop")
            .field("running", &self.is_running())
            .field("closed", &self.is_closed())
            .field("debug", &self.get_debug())
            .field("ready", &self.core.ready().len())
            .field("timers", &self.core.timers().len())
            .finish()
    }
}

impl EventLoop {
    /// A new loop on the current thread (asyncio's `new_event_loop`).
    ///
    /// # Errors
    ///
    /// If the OS poller cannot be created (out of file descriptors).
    pub fn new() -> io::Result<EventLoop> {
        EventLoopBuilder::default().build()
    }

    /// An [`EventLoopBuilder`] for a loop with a paused clock or debug mode.
    pub fn builder() -> EventLoopBuilder {
        EventLoopBuilder::default()
    }

    /// Wraps a new core.
    pub(crate) fn from_new_core(core: Core) -> EventLoop {
        let core = Rc::new(core);
        context::register_owned(&core);
        EventLoop { core }
    }

    /// Wraps a core (used by `get_running_loop`).
    pub(crate) fn from_core(core: Rc<Core>) -> EventLoop {
        EventLoop { core }
    }

    /// The loop's core.
    pub(crate) fn core(&self) -> &Rc<Core> {
        &self.core
    }

    /// A `Send + Sync` handle to this loop.
    pub fn handle(&self) -> LoopHandle {
        LoopHandle::from_shared(self.core.shared().clone())
    }

    /// The loop's clock (asyncio's `loop.time()`): `Instant::now()`, or virtual time. Each
    /// call reads the clock; new deadlines are measured from
    /// [`iteration_time`](Self::iteration_time) instead.
    pub fn time(&self) -> Instant {
        self.core.clock().now()
    }

    /// The time new deadlines are measured from ([`call_later`](Self::call_later),
    /// [`Timer::after`](crate::Timer::after), tier 4's `sleep` and `timeout`): within one
    /// iteration's batch of callbacks, the loop's clock as read once after the iteration's wait
    /// (at the batch's first need of it), so every timer scheduled in the batch with the same
    /// delay gets the same deadline; outside an iteration, the clock now. A callback that runs
    /// long does not move it for the callbacks after it in the batch (tokio's timers are
    /// relative to its driver's cached time likewise). On a paused clock it is
    /// [`time`](Self::time). docs/decisions/0010-timer-clock-and-cancellation.md has the rule.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_loop::EventLoop;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let lp2 = lp.clone();
    /// lp.run_until_complete(async move {
    ///     let a = lp2.call_later(Duration::from_millis(5), || {});
    ///     std::thread::sleep(Duration::from_millis(2)); // a long callback
    ///     let b = lp2.call_later(Duration::from_millis(5), || {});
    ///     assert_eq!(a.when(), b.when()); // one "now" for the whole batch
    ///     assert!(lp2.time() >= lp2.iteration_time());
    /// })
    /// .unwrap();
    /// ```
    pub fn iteration_time(&self) -> Instant {
        self.core.clock().cached_now()
    }

    /// Moves a paused clock forward by `by` (tokio's `time::advance`); timers now due run in the
    /// next iteration. Returns `false` (and does nothing) on a real clock.
    pub fn advance(&self, by: Duration) -> bool {
        self.core.clock().advance(by)
    }

    /// Whether this loop runs on virtual time.
    pub fn is_clock_paused(&self) -> bool {
        self.core.clock().is_paused()
    }

    /// Schedules `f` to run in the next iteration, after the callbacks already scheduled
    /// (asyncio's `call_soon`). On a closed loop `f` is dropped and the handle is cancelled.
    pub fn call_soon<F: FnOnce() + 'static>(&self, f: F) -> CallbackHandle {
        let cb = OnceCell::new_rc(f);
        let mut entry = Some(cb.clone());
        self.core.push_ready_if_open(&mut entry, Ready::Callback);
        if entry.is_some() {
            cb.cancel();
        }
        CallbackHandle { cb }
    }

    /// [`LoopHandle::call_soon_threadsafe`] on this loop.
    pub fn call_soon_threadsafe<F: FnOnce() + Send + 'static>(&self, f: F) -> ThreadsafeHandle {
        self.handle().call_soon_threadsafe(f)
    }

    /// Schedules `f` to run `delay` from now (asyncio's `call_later`); "now" is the
    /// [`iteration_time`](Self::iteration_time), read once per iteration. asyncio reads
    /// `time()` at each call instead, so after a long callback in the same batch this timer
    /// can come due earlier than asyncio's would (docs/decisions/0010); `call_at(self.time() +
    /// delay, f)` is asyncio's exact rule.
    pub fn call_later<F: FnOnce() + 'static>(&self, delay: Duration, f: F) -> TimerHandle {
        let when = self
            .iteration_time()
            .checked_add(delay)
            .unwrap_or_else(far_future);
        self.call_at(when, f)
    }

    /// Schedules `f` to run at `when` by the loop's clock (asyncio's `call_at`). Callbacks with
    /// equal deadlines run in the order they were scheduled.
    pub fn call_at<F: FnOnce() + 'static>(&self, when: Instant, f: F) -> TimerHandle {
        let cb = OnceCell::new_rc(f);
        let id = if self.core.is_closed() {
            cb.cancel();
            None
        } else {
            Some(
                self.core
                    .timers()
                    .insert(when, Payload::Callback(cb.clone())),
            )
        };
        TimerHandle {
            cb,
            when,
            id,
            core: Rc::downgrade(&self.core),
        }
    }

    /// Whether `handle` is a handle to this loop (a pointer compare; no clone of the handle).
    ///
    /// ```
    /// use tower_loop::EventLoop;
    ///
    /// let a = EventLoop::new().unwrap();
    /// let b = EventLoop::new().unwrap();
    /// assert!(a.is_same_loop(&a.handle()));
    /// assert!(!a.is_same_loop(&b.handle()));
    /// ```
    pub fn is_same_loop(&self, handle: &LoopHandle) -> bool {
        handle.is_shared(self.core.shared())
    }

    /// Schedules a task's runnable (of any metadata type) on this loop's ready queue (same
    /// thread: no lock, no atomic).
    #[inline]
    pub fn schedule<M: Send + Sync + 'static>(&self, runnable: Runnable<M>) {
        let mut runnable = Some(runnable);
        self.core
            .push_ready_if_open(&mut runnable, |r| Ready::Runnable(AnyRunnable::new(r)));
        // On a closed loop the runnable is dropped here, which cancels its task.
        drop(runnable);
    }

    /// Pending (not cancelled, not fired) timers: callbacks and [`Timer`](crate::Timer)s.
    pub fn pending_timers(&self) -> usize {
        self.core.timers().len()
    }
}

/// A deadline that never comes (for overflowing `call_later` delays).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}
