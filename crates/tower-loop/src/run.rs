//! Running a loop: [`EventLoop::run_until_complete`], [`EventLoop::run_forever`],
//! [`EventLoop::stop`], and the run state they share ([`RunState`]).
//!
//! `run_until_complete`'s own future is scheduled like a task: its first poll and each of its
//! wake-ups queue a [`Ready::Main`] entry behind what is ready already, as asyncio's main task's
//! `__step` is queued by `call_soon`.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::context;
use crate::core::Core;
use crate::error::RunError;
use crate::event_loop::EventLoop;
use crate::loom::{AtomicBool, Ordering};
use crate::loop_handle::Shared;
use crate::ready::{Ready, Remote};

/// Whether a `run_*` call is in progress and whether it should stop.
#[derive(Debug, Default)]
pub(crate) struct RunState {
    /// A `run_*` call is in progress.
    running: Cell<bool>,
    /// `stop` was called (or the main future completed, or the poller failed): leave after the
    /// current iteration.
    stopping: Cell<bool>,
    /// The number of the latest `run_until_complete` ([`Ready::Main`] entries of other runs
    /// are stale).
    main_run: Cell<u64>,
}

impl RunState {
    /// Whether a `run_*` call is in progress.
    #[inline(always)]
    pub(crate) fn is_running(&self) -> bool {
        self.running.get()
    }

    /// Whether the loop leaves after the current iteration.
    #[inline(always)]
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.get()
    }

    /// Asks the loop to leave after the current iteration (before a run: after the next one).
    #[inline(always)]
    pub(crate) fn stop(&self) {
        self.stopping.set(true);
    }

    /// A `run_*` call starts.
    fn begin(&self) {
        self.running.set(true);
    }

    /// A `run_*` call ended: neither running nor stopping.
    fn end(&self) {
        self.running.set(false);
        self.stopping.set(false);
    }

    /// Numbers a new `run_until_complete`.
    fn next_main_run(&self) -> u64 {
        let run = self.main_run.get() + 1;
        self.main_run.set(run);
        run
    }
}

/// The waker of the future given to `run_until_complete`: queues a [`Ready::Main`] entry, as
/// a task's waker queues its runnable.
struct MainWaker {
    /// An entry is queued and the future not yet polled for it: further wakes add none. Set
    /// by `wake`, cleared by the loop just before it polls the future; left set when the run
    /// ends, so a waker kept past it queues nothing.
    queued: AtomicBool,
    /// The run's number ([`RunState::next_main_run`]).
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
        self.core.run_state().end();
        // An iteration left by a panic did not end its clock batch.
        self.core.clock().end_batch();
        let prev = context::set(None);
        drop(prev);
    }
}

impl EventLoop {
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
        let core = &**self.core();
        let state = core.run_state();
        let mut fut = pin!(fut);
        let run = state.next_main_run();
        let main = Arc::new(MainWaker {
            queued: AtomicBool::new(true),
            run,
            shared: core.shared().clone(),
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
                    state.stop();
                }
            });
            if state.is_stopping() {
                break;
            }
        }
        // A waker kept past the run queues nothing (an entry already queued is skipped).
        main.queued.store(true, Ordering::Release);
        core.reactor().take_error()?;
        out.ok_or(RunError::StoppedBeforeComplete)
    }

    /// Runs the loop until [`stop`](Self::stop) is called (asyncio's `run_forever`). If `stop`
    /// was called before, runs one iteration (polling I/O without blocking) and returns.
    ///
    /// # Errors
    ///
    /// [`RunError`]: the loop is closed or already running, or another loop runs on this thread.
    pub fn run_forever(&self) -> Result<(), RunError> {
        let _guard = self.enter()?;
        let core = self.core();
        loop {
            self.run_once(|_| {});
            if core.run_state().is_stopping() {
                return core.reactor().take_error();
            }
        }
    }

    /// Stops the loop: the current iteration finishes, then `run_forever` returns (asyncio's
    /// `stop`). Called before `run_forever`, it makes the next run do one iteration.
    pub fn stop(&self) {
        self.core().run_state().stop();
    }

    /// Whether a `run_*` call is in progress.
    pub fn is_running(&self) -> bool {
        self.core().run_state().is_running()
    }

    /// Marks the loop running on this thread.
    fn enter(&self) -> Result<RunGuard<'_>, RunError> {
        let core = self.core();
        if core.is_closed() {
            return Err(RunError::Closed);
        }
        if core.run_state().is_running() {
            return Err(RunError::AlreadyRunning);
        }
        if context::with_current(|c| c.is_some()) {
            return Err(RunError::AnotherLoopRunning);
        }
        let prev = context::set(Some(core.clone()));
        drop(prev);
        core.run_state().begin();
        // The first iteration polls I/O even if work is ready (asyncio's pre-stopped
        // `run_forever` polls the selector once).
        core.reactor().poll_on_next_turn();
        Ok(RunGuard { core })
    }
}
