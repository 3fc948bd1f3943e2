//! The event loop itself: one per thread, `!Send`; its iteration is asyncio's `_run_once`.
//!
//! One iteration: collect remote work, poll the reactor (zero timeout if work is ready, else
//! until the next timer), collect again ([`park::turn`](crate::park::turn)), fire due timers,
//! ask the work source, then run exactly the items that were ready at that point — callbacks
//! scheduled meanwhile run in the next iteration. `run_until_complete`'s own future is one of
//! those items: its wake-ups queue it behind what was scheduled before them, as asyncio's main
//! task's `__step` is queued by `call_soon`.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use async_task::Runnable;
use concurrent_queue::ConcurrentQueue;
use polling::Poller;

use crate::any_runnable::AnyRunnable;
use crate::clock::Clock;
use crate::context;
use crate::debug::DebugSettings;
use crate::error::{CloseError, RunError};
use crate::exception::{ContextKind, ExceptionContext, ExceptionHandler, default_handler};
use crate::handle::{Handle, LoopHandle, Shared, ThreadsafeHandle, TimerHandle};
use crate::loom::{AtomicBool, Ordering};
use crate::park::{self, ParkState, Turn, Wait};
use crate::reactor::{LocalReactor, SharedSources};
use crate::ready::{OnceCell, Ready, ReadyQueue, Remote};
use crate::signals::SignalState;
use crate::timers::{Payload, Timers};
use crate::work_source::{FILL_BUDGET, WorkSource};

/// Poll the reactor (zero timeout) at least once per this many ready items, for I/O fairness.
const EVENT_INTERVAL: usize = 61;

/// The loop-thread half of an event loop.
pub(crate) struct Core {
    /// The half other threads reach through [`LoopHandle`].
    pub(crate) shared: Arc<Shared>,
    /// Callbacks and runnables ready to run, FIFO.
    pub(crate) ready: ReadyQueue,
    /// `call_later`/`call_at` callbacks and [`Timer`](crate::Timer) wakers.
    pub(crate) timers: RefCell<Timers>,
    /// File-descriptor registrations of this loop (`add_reader`, `sock_*` waits) and the
    /// reusable events buffer.
    pub(crate) reactor: LocalReactor,
    /// Real or virtual time.
    pub(crate) clock: Clock,
    /// A `run_*` call is in progress.
    pub(crate) running: Cell<bool>,
    /// `close` was called.
    pub(crate) closed: Cell<bool>,
    /// `stop` was called: leave after the current iteration.
    pub(crate) stopping: Cell<bool>,
    /// The installed exception handler, if any.
    pub(crate) handler: RefCell<Option<Rc<ExceptionHandler>>>,
    /// Debug mode settings.
    pub(crate) debug: DebugSettings,
    /// The installed work source, if any.
    pub(crate) work_source: RefCell<Option<Rc<dyn WorkSource>>>,
    /// The work source said it has more: do not block on the next iteration.
    pub(crate) more_work: Cell<bool>,
    /// Ready items run since the reactor was last polled.
    pub(crate) since_poll: Cell<usize>,
    /// Signal handlers and the self-pipe.
    pub(crate) signals: RefCell<SignalState>,
    /// [`EventLoop::on_close`] hooks, run once, in registration order, when the loop closes.
    pub(crate) close_hooks: RefCell<Vec<Box<dyn FnOnce()>>>,
    /// Higher tiers' per-loop data ([`EventLoop::attached`]).
    pub(crate) attached: crate::attached::Attached,
    /// The number of the latest `run_until_complete` ([`Ready::Main`] entries of other runs
    /// are stale).
    pub(crate) main_run: Cell<u64>,
}

impl Core {
    /// Appends `item` to the ready queue, after whatever other threads handed over before
    /// (see "One FIFO" in `ready.rs`): the injector is drained first if the park word says it
    /// was pushed to — a relaxed load when it was not, no lock and no read-modify-write.
    #[inline(always)]
    pub(crate) fn push_ready(&self, item: Ready) {
        if self.shared.park.is_set() {
            self.drain_remote();
        }
        self.ready.borrow_mut().push_back(item);
    }

    /// [`push_ready`](Self::push_ready)'s rare path: something was handed over.
    #[cold]
    #[inline(never)]
    fn drain_remote(&self) {
        if self.shared.park.begin_collect() {
            self.collect_remote();
        }
    }

    /// Moves the work other threads handed over into the ready queue, in the order it was
    /// handed over (bounded by what was there when it started).
    #[inline(never)]
    pub(crate) fn collect_remote(&self) {
        let n = self.shared.injector.len();
        for _ in 0..n {
            let Ok(item) = self.shared.injector.pop() else {
                break;
            };
            let item = match item {
                Remote::Runnable(r) => Ready::Runnable(r),
                Remote::Callback(cb) => Ready::Remote(cb),
                Remote::Main(id) => Ready::Main(id),
                Remote::Stop => Ready::Stop,
                Remote::CancelTimer(id) => {
                    let payload = self.timers.borrow_mut().cancel(id);
                    drop(payload);
                    continue;
                }
            };
            self.ready.borrow_mut().push_back(item);
        }
    }
}

impl Core {
    /// Releases everything the loop holds (close and drop): remote work, ready work, timers,
    /// registrations. Items are dropped after every borrow is released.
    fn release(&self) {
        self.run_close_hooks();
        self.shared.closed.store(true, Ordering::Release);
        self.shared.injector.close();
        let mut remote = Vec::new();
        while let Ok(item) = self.shared.injector.pop() {
            remote.push(item);
        }
        drop(remote);
        let ready = std::mem::take(&mut *self.ready.borrow_mut());
        drop(ready);
        let timers = self.timers.borrow_mut().clear();
        drop(timers);
        let regs = self.reactor.clear(&self.shared.poller);
        drop(regs);
        let ws = self.work_source.borrow_mut().take();
        drop(ws);
        let handler = self.handler.borrow_mut().take();
        drop(handler);
        let attached = self.attached.take();
        drop(attached);
    }
}

impl Core {
    /// Runs the `on_close` hooks (each once; a hook may register another, which runs too). A
    /// hook that panics is reported to the default exception handler and the rest still run.
    fn run_close_hooks(&self) {
        loop {
            let hooks = std::mem::take(&mut *self.close_hooks.borrow_mut());
            if hooks.is_empty() {
                return;
            }
            for hook in hooks {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(hook)) {
                    let mut ctx = ExceptionContext::new("an on_close hook panicked");
                    ctx.kind = ContextKind::Panic;
                    ctx.payload = Some(payload);
                    default_handler(&ctx);
                }
            }
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        crate::signals::close(self);
        self.release();
    }
}

/// Builds an [`EventLoop`] with non-default settings.
///
/// ```
/// use std::time::Duration;
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// let start = lp.time();
/// lp.run_until_complete(tower_loop::Timer::after(Duration::from_secs(3600))).unwrap();
/// assert!(lp.time() - start >= Duration::from_secs(3600)); // and no real hour passed
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    /// Use a virtual clock.
    paused: bool,
    /// Start in debug mode.
    debug: bool,
}

impl Builder {
    /// Virtual time (asyncio's TestLoop, tokio's `time::pause`): the clock stands still while
    /// work is ready and jumps to the next timer when the loop would otherwise wait for it.
    pub fn paused_clock(mut self) -> Self {
        self.paused = true;
        self
    }

    /// Starts in debug mode (see [`EventLoop::set_debug`]).
    pub fn debug(mut self, on: bool) -> Self {
        self.debug = on;
        self
    }

    /// Creates the loop on the current thread.
    ///
    /// # Errors
    ///
    /// If the OS poller cannot be created (out of file descriptors).
    pub fn build(self) -> io::Result<EventLoop> {
        let poller = Poller::new()?;
        let shared = Arc::new(Shared {
            injector: ConcurrentQueue::unbounded(),
            park: ParkState::new(),
            poller,
            owner: std::thread::current().id(),
            closed: AtomicBool::new(false),
            sources: SharedSources::default(),
        });
        let core = Core {
            shared,
            ready: RefCell::new(VecDeque::new()),
            timers: RefCell::new(Timers::default()),
            reactor: LocalReactor::default(),
            clock: if self.paused {
                Clock::paused()
            } else {
                Clock::Real
            },
            running: Cell::new(false),
            closed: Cell::new(false),
            stopping: Cell::new(false),
            handler: RefCell::new(None),
            debug: DebugSettings::default(),
            work_source: RefCell::new(None),
            more_work: Cell::new(false),
            since_poll: Cell::new(0),
            signals: RefCell::new(SignalState::default()),
            close_hooks: RefCell::new(Vec::new()),
            attached: crate::attached::Attached::default(),
            main_run: Cell::new(0),
        };
        core.debug.enabled.set(self.debug);
        let core = Rc::new(core);
        context::register_owned(&core);
        Ok(EventLoop { core })
    }
}

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
            .field("ready", &self.core.ready.borrow().len())
            .field("timers", &self.core.timers.borrow().len())
            .finish()
    }
}

/// The waker of the future given to `run_until_complete`: queues a [`Ready::Main`] entry, as
/// a task's waker queues its runnable.
struct MainWaker {
    /// An entry is queued and the future not yet polled for it: further wakes add none. Set
    /// by `wake`, cleared by the loop just before it polls the future; left set when the run
    /// ends, so a waker kept past it queues nothing.
    queued: AtomicBool,
    /// The run's number ([`Core::main_run`]).
    run: u64,
    /// The loop.
    shared: Arc<Shared>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        // An RMW, not a load first: a stale `true` read by a relaxed load could skip the
        // wake-up of a poll that missed this thread's work (the two sides would each read the
        // other's old value). The swap is totally ordered with the loop's swap before the poll:
        // either it reads that `false` and queues the future, or the loop's swap reads this
        // `true`, synchronizes with it, and the poll sees the work.
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let local = context::with_running_if(&self.shared, |core| {
            core.push_ready(Ready::Main(self.run));
        });
        if local.is_none() {
            let _ = self.shared.push_remote(Remote::Main(self.run));
        }
    }
}

/// Resets the running state when a `run_*` call returns or unwinds.
struct RunGuard<'a> {
    /// The loop being run.
    core: &'a Core,
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        self.core.running.set(false);
        self.core.stopping.set(false);
        let prev = context::set(None);
        drop(prev);
    }
}

impl EventLoop {
    /// A new loop on the current thread (asyncio's `new_event_loop`).
    ///
    /// # Errors
    ///
    /// If the OS poller cannot be created (out of file descriptors).
    pub fn new() -> io::Result<EventLoop> {
        Builder::default().build()
    }

    /// A [`Builder`] for a loop with a paused clock or debug mode.
    pub fn builder() -> Builder {
        Builder::default()
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
        LoopHandle {
            shared: self.core.shared.clone(),
        }
    }

    /// The loop's clock (asyncio's `loop.time()`): `Instant::now()`, or virtual time.
    pub fn time(&self) -> Instant {
        self.core.clock.now()
    }

    /// Moves a paused clock forward by `by` (tokio's `time::advance`); timers now due run in the
    /// next iteration. Returns `false` (and does nothing) on a real clock.
    pub fn advance(&self, by: Duration) -> bool {
        self.core.clock.advance(by)
    }

    /// Whether this loop runs on virtual time.
    pub fn is_clock_paused(&self) -> bool {
        self.core.clock.is_paused()
    }

    /// Schedules `f` to run in the next iteration, after the callbacks already scheduled
    /// (asyncio's `call_soon`). On a closed loop `f` is dropped and the handle is cancelled.
    pub fn call_soon<F: FnOnce() + 'static>(&self, f: F) -> Handle {
        let cb = OnceCell::new_rc(f);
        if self.core.closed.get() {
            cb.cancel();
        } else {
            self.core.push_ready(Ready::Callback(cb.clone()));
        }
        Handle { cb }
    }

    /// [`LoopHandle::call_soon_threadsafe`] on this loop.
    pub fn call_soon_threadsafe<F: FnOnce() + Send + 'static>(&self, f: F) -> ThreadsafeHandle {
        self.handle().call_soon_threadsafe(f)
    }

    /// Schedules `f` to run `delay` from now (asyncio's `call_later`).
    pub fn call_later<F: FnOnce() + 'static>(&self, delay: Duration, f: F) -> TimerHandle {
        let when = self.time().checked_add(delay).unwrap_or_else(far_future);
        self.call_at(when, f)
    }

    /// Schedules `f` to run at `when` by the loop's clock (asyncio's `call_at`). Callbacks with
    /// equal deadlines run in the order they were scheduled.
    pub fn call_at<F: FnOnce() + 'static>(&self, when: Instant, f: F) -> TimerHandle {
        let cb = OnceCell::new_rc(f);
        let id = if self.core.closed.get() {
            cb.cancel();
            None
        } else {
            Some(
                self.core
                    .timers
                    .borrow_mut()
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
        handle.is_shared(&self.core.shared)
    }

    /// Schedules a task's runnable (of any metadata type) on this loop's ready queue (same
    /// thread: no lock, no atomic).
    #[inline]
    pub fn schedule<M: Send + Sync + 'static>(&self, runnable: Runnable<M>) {
        if self.core.closed.get() {
            drop(runnable);
        } else {
            self.core
                .push_ready(Ready::Runnable(AnyRunnable::new(runnable)));
        }
    }

    /// Runs the loop until `fut` completes and returns its output (asyncio's
    /// `run_until_complete`). The future need not be `Send` or `'static`.
    ///
    /// # Errors
    ///
    /// [`RunError`]: the loop is closed or already running, another loop runs on this thread,
    /// or `stop()` was called before `fut` completed (then `fut` is dropped).
    ///
    /// # Panics
    ///
    /// A panic of `fut` itself propagates (callbacks' and tasks' panics go to the exception
    /// handler instead).
    pub fn run_until_complete<F: Future>(&self, fut: F) -> Result<F::Output, RunError> {
        let _guard = self.enter()?;
        let core = &*self.core;
        let mut fut = pin!(fut);
        let run = core.main_run.get() + 1;
        core.main_run.set(run);
        let main = Arc::new(MainWaker {
            queued: AtomicBool::new(true),
            run,
            shared: core.shared.clone(),
        });
        // The first poll is queued behind what is ready already (asyncio's `ensure_future`
        // schedules the main task's first step with `call_soon`).
        core.push_ready(Ready::Main(run));
        let waker = Waker::from(main.clone());
        let mut cx = Context::from_waker(&waker);
        let mut out = None;
        loop {
            self.run_once(|id| {
                if id != run || out.is_some() {
                    return;
                }
                // Cleared before the poll, so a wake during it queues the next one; an
                // acquiring RMW, so the poll sees what the waking thread did before waking.
                main.queued.swap(false, Ordering::AcqRel);
                // The main future is no task: a cancellation raised in it that no
                // `catch_cancel` caught has nowhere to go, and must not reach the next task
                // polled on this thread.
                let polled = fut.as_mut().poll(&mut cx);
                if tower_coro::cancel::in_flight() {
                    drop(tower_coro::cancel::take_escaped());
                }
                if let Poll::Ready(v) = polled {
                    out = Some(v);
                    core.stopping.set(true);
                }
            });
            if core.stopping.get() {
                break;
            }
        }
        // A waker kept past the run queues nothing (an entry already queued is skipped).
        main.queued.store(true, Ordering::Release);
        self.core.reactor.take_error()?;
        out.ok_or(RunError::StoppedBeforeComplete)
    }

    /// Runs the loop until [`stop`](Self::stop) is called (asyncio's `run_forever`). If `stop`
    /// was called before, runs one iteration (polling I/O without blocking) and returns.
    ///
    /// # Errors
    ///
    /// [`RunError`]: the loop is closed or already running, or another loop runs on this thread.
    pub fn run_forever(&self) -> Result<(), RunError> {
        let stop_early = self.core.stopping.get();
        let _guard = self.enter()?;
        self.core.stopping.set(stop_early);
        loop {
            self.run_once(|_| {});
            if self.core.stopping.get() {
                return self.core.reactor.take_error();
            }
        }
    }

    /// Stops the loop: the current iteration finishes, then `run_forever` returns (asyncio's
    /// `stop`). Called before `run_forever`, it makes the next run do one iteration.
    pub fn stop(&self) {
        self.core.stopping.set(true);
    }

    /// Whether a `run_*` call is in progress.
    pub fn is_running(&self) -> bool {
        self.core.running.get()
    }

    /// Registers `hook` to run when the loop closes (by [`close`](Self::close), or when the last
    /// `EventLoop` clone is dropped unclosed), before its pending work is dropped — the place for
    /// a higher tier to release what it keeps per loop (tasks, executors). Hooks run once, in
    /// registration order; on an already closed loop, `hook` runs at once.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use tower_loop::EventLoop;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let ran = Rc::new(Cell::new(false));
    /// let flag = ran.clone();
    /// lp.on_close(move || flag.set(true));
    /// lp.close().unwrap();
    /// assert!(ran.get());
    /// ```
    pub fn on_close<F: FnOnce() + 'static>(&self, hook: F) {
        if self.core.closed.get() {
            hook();
        } else {
            self.core.close_hooks.borrow_mut().push(Box::new(hook));
        }
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.core.closed.get()
    }

    /// Closes the loop: drops pending callbacks, timers, tasks scheduled on it and fd
    /// registrations, removes signal handlers. Idempotent. The OS poller is freed when the last
    /// [`LoopHandle`] is dropped.
    ///
    /// # Errors
    ///
    /// [`CloseError`] if the loop is running.
    pub fn close(&self) -> Result<(), CloseError> {
        if self.core.running.get() {
            return Err(CloseError);
        }
        if self.core.closed.replace(true) {
            return Ok(());
        }
        crate::signals::close(&self.core);
        self.core.release();
        Ok(())
    }

    /// Installs `handler` as the loop's exception handler (asyncio's `set_exception_handler`).
    pub fn set_exception_handler<F>(&self, handler: F)
    where
        F: Fn(&EventLoop, &ExceptionContext) + 'static,
    {
        *self.core.handler.borrow_mut() = Some(Rc::new(handler));
    }

    /// Goes back to the default exception handler (asyncio's `set_exception_handler(None)`).
    pub fn reset_exception_handler(&self) {
        let old = self.core.handler.borrow_mut().take();
        drop(old);
    }

    /// The installed exception handler, if any.
    pub fn get_exception_handler(&self) -> Option<Rc<ExceptionHandler>> {
        self.core.handler.borrow().clone()
    }

    /// The default exception handler: writes the context to stderr.
    pub fn default_exception_handler(&self, context: &ExceptionContext) {
        default_handler(context);
    }

    /// Reports `context` to the installed handler, or the default one. A handler that panics
    /// is reported, with the original context, to the default handler.
    pub fn call_exception_handler(&self, context: &ExceptionContext) {
        let handler = self.core.handler.borrow().clone();
        match handler {
            None => default_handler(context),
            Some(h) => {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| h(self, context))) {
                    let mut ctx = ExceptionContext::new("unhandled panic in the exception handler");
                    ctx.kind = ContextKind::Panic;
                    ctx.payload = Some(payload);
                    default_handler(&ctx);
                    default_handler(context);
                }
            }
        }
    }

    /// Turns debug mode on or off: reports callbacks and task polls slower than
    /// [`slow_callback_duration`](Self::slow_callback_duration).
    pub fn set_debug(&self, on: bool) {
        self.core.debug.enabled.set(on);
        context::set_debug_flag(&self.core, on);
    }

    /// Whether debug mode is on.
    pub fn get_debug(&self) -> bool {
        self.core.debug.enabled.get()
    }

    /// The threshold of debug mode's slow-callback reports (default 100 ms).
    pub fn slow_callback_duration(&self) -> Duration {
        self.core.debug.slow_callback_duration.get()
    }

    /// Sets the threshold of debug mode's slow-callback reports.
    pub fn set_slow_callback_duration(&self, d: Duration) {
        self.core.debug.slow_callback_duration.set(d);
    }

    /// Installs (or removes, with `None`) the loop's [`WorkSource`].
    pub fn set_work_source(&self, source: Option<Rc<dyn WorkSource>>) {
        let old = std::mem::replace(&mut *self.core.work_source.borrow_mut(), source);
        drop(old);
    }

    /// Pending (not cancelled, not fired) timers: callbacks and [`Timer`](crate::Timer)s.
    pub fn pending_timers(&self) -> usize {
        self.core.timers.borrow().len()
    }

    /// Marks the loop running on this thread.
    fn enter(&self) -> Result<RunGuard<'_>, RunError> {
        if self.core.closed.get() {
            return Err(RunError::Closed);
        }
        if self.core.running.get() {
            return Err(RunError::AlreadyRunning);
        }
        if context::with_current(|c| c.is_some()) {
            return Err(RunError::AnotherLoopRunning);
        }
        let prev = context::set(Some(self.core.clone()));
        drop(prev);
        self.core.running.set(true);
        // The first iteration polls I/O even if work is ready (asyncio's pre-stopped
        // `run_forever` polls the selector once).
        self.core.since_poll.set(EVENT_INTERVAL);
        Ok(RunGuard { core: &self.core })
    }

    /// One iteration (asyncio's `_run_once`): [`park::turn`] (collect, poll the reactor,
    /// collect), due timers, the work source, then the ready batch. `poll_main` polls
    /// `run_until_complete`'s future for a [`Ready::Main`] entry of the batch.
    #[inline]
    fn run_once(&self, mut poll_main: impl FnMut(u64)) {
        let core = &*self.core;
        let ws = core.work_source.borrow().clone();
        park::turn(
            &core.shared.park,
            &LoopTurn {
                lp: self,
                ws: ws.as_deref(),
            },
        );
        self.fire_timers();
        if let Some(w) = &ws {
            let more = w.fill(
                &mut |r| core.ready.borrow_mut().push_back(Ready::Runnable(r)),
                FILL_BUDGET,
            );
            core.more_work.set(more);
        }
        let ntodo = core.ready.borrow().len();
        for _ in 0..ntodo {
            let item = core.ready.borrow_mut().pop_front();
            match item {
                Some(item) => self.run_item(item, &mut poll_main),
                None => break,
            }
            // The work source's LIFO task, woken by the item just run, runs now.
            if let Some(w) = &ws {
                while let Some(r) = w.next_in_batch() {
                    self.run_item(Ready::Runnable(r), &mut poll_main);
                }
            }
        }
        core.since_poll.set(core.since_poll.get() + ntodo);
    }

    /// Polls the reactor and dispatches its events; returns the number of events.
    fn poll_io(&self, timeout: Option<Duration>) -> usize {
        self.core.since_poll.set(0);
        self.core.reactor.poll(&self.core, timeout)
    }

    /// Moves due `call_later` callbacks to the ready queue and wakes due timers, in deadline
    /// order (bounded by the number pending when it started). Inline: most iterations of a
    /// busy loop have no timer, and pay one load for it.
    #[inline]
    fn fire_timers(&self) {
        let n = self.core.timers.borrow().len();
        if n != 0 {
            self.fire_due_timers(n);
        }
    }

    /// [`fire_timers`](Self::fire_timers) with `n` timers pending.
    #[inline(never)]
    fn fire_due_timers(&self, n: usize) {
        let core = &*self.core;
        let now = core.clock.now();
        for _ in 0..n {
            let due = core.timers.borrow_mut().pop_due(now);
            match due {
                None => break,
                Some(Payload::Callback(cb)) => {
                    core.ready.borrow_mut().push_back(Ready::Callback(cb))
                }
                Some(Payload::Waker(w)) => w.wake(),
            }
        }
    }

    /// Runs one ready item, catching a panic (and, in debug mode, timing it: see
    /// [`run_item_debug`](Self::run_item_debug)); a [`Ready::Main`] entry is passed to
    /// `poll_main`. Always inlined into the iteration: it is the per-item hot path, and a call
    /// frame for it was ~17 instructions per item.
    #[inline(always)]
    fn run_item(&self, item: Ready, poll_main: &mut impl FnMut(u64)) {
        if self.core.debug.enabled.get() {
            return match item {
                Ready::Main(id) => poll_main(id),
                Ready::Stop => self.core.stopping.set(true),
                item => self.run_item_debug(item),
            };
        }
        let (source, result) = match item {
            Ready::Runnable(r) => (
                "a task poll",
                catch_unwind(AssertUnwindSafe(|| {
                    r.run();
                })),
            ),
            Ready::Callback(cb) if cb.is_cancelled() => return,
            Ready::Remote(cb) if cb.is_cancelled() => return,
            Ready::Callback(cb) => (cb.name(), catch_unwind(AssertUnwindSafe(|| cb.run()))),
            Ready::Remote(cb) => (cb.name(), catch_unwind(AssertUnwindSafe(|| cb.run()))),
            // The main future's own panic propagates: not caught.
            Ready::Main(id) => return poll_main(id),
            Ready::Stop => return self.core.stopping.set(true),
        };
        if let Err(payload) = result {
            self.report_panic(source, payload);
        }
    }

    /// Reports the panic of a ready item to the exception handler.
    #[cold]
    #[inline(never)]
    fn report_panic(&self, source: &'static str, payload: Box<dyn Any + Send>) {
        let ctx = ExceptionContext {
            message: format!("panic in {source}"),
            kind: ContextKind::Panic,
            payload: Some(payload),
            source: Some(source),
        };
        self.call_exception_handler(&ctx);
    }

    /// [`run_item`](Self::run_item) in debug mode: times the item and reports it if it ran
    /// longer than `slow_callback_duration`, naming what ran inside it (`add_poll_detail`).
    #[inline(never)]
    fn run_item_debug(&self, item: Ready) {
        let core = &*self.core;
        let cancelled = match &item {
            Ready::Callback(cb) => cb.is_cancelled(),
            Ready::Remote(cb) => cb.is_cancelled(),
            Ready::Runnable(_) => false,
            // `run_item` handles these itself.
            Ready::Main(_) | Ready::Stop => true,
        };
        if cancelled {
            return;
        }
        let start = core.clock.now();
        // What ran inside this item and was slow on its own (`add_poll_detail`) goes into this
        // item's one report.
        let prev_details = crate::debug::begin_details();
        let mut label = None;
        let (source, result) = match item {
            Ready::Callback(cb) => (cb.name(), catch_unwind(AssertUnwindSafe(|| cb.run()))),
            Ready::Remote(cb) => (cb.name(), catch_unwind(AssertUnwindSafe(|| cb.run()))),
            Ready::Runnable(r) => {
                drop(crate::debug::take_poll_label());
                let res = catch_unwind(AssertUnwindSafe(|| {
                    r.run();
                }));
                label = crate::debug::take_poll_label();
                ("a task poll", res)
            }
            Ready::Main(_) | Ready::Stop => return,
        };
        let details = crate::debug::end_details(prev_details);
        if let Err(payload) = result {
            self.report_panic(source, payload);
        }
        let elapsed = core.clock.now().saturating_duration_since(start);
        if elapsed >= core.debug.slow_callback_duration.get() {
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

/// The event loop's parts of [`park::turn`]: its reactor, timers, ready queue and work source.
struct LoopTurn<'a> {
    /// The loop.
    lp: &'a EventLoop,
    /// The installed work source, if any.
    ws: Option<&'a dyn WorkSource>,
}

impl Turn for LoopTurn<'_> {
    #[inline(always)]
    fn has_work(&self) -> bool {
        let core = &*self.lp.core;
        !core.ready.borrow().is_empty() || core.stopping.get() || core.more_work.get()
    }

    #[inline(always)]
    fn poll_if_due(&self) {
        let core = &*self.lp.core;
        if core.since_poll.get() >= EVENT_INTERVAL {
            if core.reactor.has_registrations(core) {
                self.lp.poll_io(Some(Duration::ZERO));
            } else {
                core.since_poll.set(0);
            }
        }
    }

    fn wait(&self) -> Wait {
        let core = &*self.lp.core;
        let deadline = core.timers.borrow_mut().next_deadline();
        let timeout = deadline.map(|d| round_up_ms(d.saturating_duration_since(core.clock.now())));
        match (timeout, deadline) {
            (Some(Duration::ZERO), _) => Wait::Now,
            (Some(_), Some(deadline)) if core.clock.is_paused() => Wait::Virtual(deadline),
            _ => Wait::Block(timeout),
        }
    }

    fn before_park(&self) -> bool {
        self.ws.is_none_or(|w| w.before_park())
    }

    fn after_unpark(&self) {
        if let Some(w) = self.ws {
            w.after_unpark();
        }
    }

    fn poll(&self, timeout: Option<Duration>) -> usize {
        self.lp.poll_io(timeout)
    }

    fn advance_to(&self, deadline: Instant) {
        self.lp.core.clock.advance_to(deadline);
    }

    fn collect(&self) {
        self.lp.core.collect_remote();
    }
}

/// Rounds a blocking timeout up to whole milliseconds (epoll's own granularity, and tokio's
/// timer resolution): timers fire at most 1 ms late, and timers due within the same millisecond
/// fire in one iteration instead of one wake-up each.
fn round_up_ms(d: Duration) -> Duration {
    let ms = d.as_nanos().div_ceil(1_000_000);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// A deadline that never comes (for overflowing `call_later` delays).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}
