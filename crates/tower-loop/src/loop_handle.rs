//! [`LoopHandle`]: the `Send + Sync` handle that other threads (and tasks) use to reach a loop,
//! and [`Shared`], the half of the loop it points at (the injector, the park word, the poller).

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::thread::ThreadId;

use crate::reactor::Poller;
use async_task::Runnable;
use concurrent_queue::ConcurrentQueue;

use crate::any_runnable::AnyRunnable;
use crate::callback::SendCell;
use crate::context;
use crate::handle::ThreadsafeHandle;
use crate::loom::{AtomicBool, Ordering};
use crate::park::ParkState;
use crate::reactor::SharedSources;
use crate::reactor::driver::IoDriver;
use crate::ready::{Ready, Remote};
use crate::timer_queue::TimerId;

/// The half of a loop that other threads see.
pub(crate) struct Shared {
    /// Work handed over by other threads (and `call_soon_threadsafe` from any thread); merged
    /// into the ready queue in order before every local push (see "One FIFO" in `ready.rs`).
    injector: ConcurrentQueue<Remote>,
    /// The park/notify protocol word.
    park: ParkState,
    /// The OS poller (epoll/kqueue); `Sync`, so `notify` and `modify` work from any thread.
    poller: Poller,
    /// The thread that owns (created) the loop.
    owner: ThreadId,
    /// Set by `close`.
    closed: AtomicBool,
    /// Readiness sources of [`Async`](crate::Async) values registered with this loop.
    sources: SharedSources,
    /// The [`IoDriver`] this loop is member `.1` of (a multi-thread runtime's worker loop):
    /// its `Async` sources are registered there. Set once, before the loop runs.
    io_driver: OnceLock<(Arc<IoDriver>, usize)>,
}

impl Shared {
    /// The shared half of a new loop on the current thread, around `poller`.
    pub(crate) fn new(poller: Poller) -> Shared {
        Shared {
            injector: ConcurrentQueue::unbounded(),
            park: ParkState::new(),
            poller,
            owner: std::thread::current().id(),
            closed: AtomicBool::new(false),
            sources: SharedSources::default(),
            io_driver: OnceLock::new(),
        }
    }

    /// The [`IoDriver`] of this loop and its member index, if it has one.
    #[inline(always)]
    pub(crate) fn io_driver(&self) -> Option<(&Arc<IoDriver>, usize)> {
        self.io_driver.get().map(|(d, i)| (d, *i))
    }

    /// Makes this loop member `index` of `driver` (once).
    pub(crate) fn set_io_driver(&self, driver: Arc<IoDriver>, index: usize) -> Result<(), ()> {
        self.io_driver.set((driver, index)).map_err(|_| ())
    }

    /// The park/notify protocol word.
    #[inline(always)]
    pub(crate) fn park(&self) -> &ParkState {
        &self.park
    }

    /// The OS poller.
    #[inline(always)]
    pub(crate) fn poller(&self) -> &Poller {
        &self.poller
    }

    /// The registered [`Async`](crate::Async) sources.
    #[inline(always)]
    pub(crate) fn sources(&self) -> &SharedSources {
        &self.sources
    }

    /// How many items other threads handed over and the loop has not collected yet.
    #[inline]
    pub(crate) fn remote_len(&self) -> usize {
        self.injector.len()
    }

    /// The oldest item handed over, removed (for the loop's thread).
    #[inline]
    pub(crate) fn pop_remote(&self) -> Option<Remote> {
        self.injector.pop().ok()
    }

    /// Marks the loop closed for other threads and closes the injector (later pushes fail),
    /// returning what was handed over and not collected, for the caller to drop.
    pub(crate) fn close(&self) -> Vec<Remote> {
        self.closed.store(true, Ordering::Release);
        self.injector.close();
        let mut remote = Vec::new();
        while let Ok(item) = self.injector.pop() {
            remote.push(item);
        }
        remote
    }

    /// Pushes `item` for the loop and wakes it if it is parked. Returns the item back if the
    /// loop is closed.
    pub(crate) fn push_remote(&self, item: Remote) -> Result<(), Remote> {
        match self.injector.push(item) {
            Ok(()) => {
                self.wake();
                Ok(())
            }
            Err(e) => Err(e.into_inner()),
        }
    }

    /// Pushes `item` for the loop without waking it ([`ParkState::post`](crate::park::ParkState::post)): a message the loop
    /// takes at its next iteration, or before it blocks, or when a blocked loop wakes for
    /// anything else. Returns the item back if the loop is closed.
    pub(crate) fn post_remote(&self, item: Remote) -> Result<(), Remote> {
        match self.injector.push(item) {
            Ok(()) => {
                self.park.post();
                Ok(())
            }
            Err(e) => Err(e.into_inner()),
        }
    }

    /// Makes the loop run an iteration: a syscall only if it is parked in the reactor.
    pub(crate) fn wake(&self) {
        self.park.notify(|| {
            // A failed notify leaves the loop to its timeout; nothing better can be done.
            let _ = self.poller.notify();
        });
    }
}

/// A `Send + Sync + Clone` handle to an event loop: schedule work on it from any thread or
/// task, stop it, wake it.
///
/// ```
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// let handle = lp.handle();
/// std::thread::spawn(move || {
///     handle.call_soon_threadsafe(|| tower_loop::get_running_loop().unwrap().stop());
/// });
/// lp.run_forever().unwrap();
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    /// The shared half of the loop.
    shared: Arc<Shared>,
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopHandle")
            .field("owner", &self.shared.owner)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl LoopHandle {
    /// The handle of the loop whose shared half is `shared`.
    pub(crate) fn from_shared(shared: Arc<Shared>) -> LoopHandle {
        LoopHandle { shared }
    }

    /// The shared half of the loop.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Schedules `f` to run on the loop's thread in a later iteration (asyncio's
    /// `call_soon_threadsafe`), in one FIFO with `call_soon` and task wake-ups: it runs before
    /// whatever the loop's thread schedules after learning that this call returned. If the
    /// loop is closed, `f` is dropped and the returned handle is already cancelled.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use tower_loop::EventLoop;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// let l = log.clone();
    /// lp.handle().call_soon_threadsafe(move || l.lock().unwrap().push("threadsafe"));
    /// let l = log.clone();
    /// lp.call_soon(move || l.lock().unwrap().push("soon"));
    /// let l2 = lp.clone();
    /// lp.call_soon(move || l2.stop());
    /// lp.run_forever().unwrap();
    /// assert_eq!(*log.lock().unwrap(), ["threadsafe", "soon"]);
    /// ```
    pub fn call_soon_threadsafe<F>(&self, f: F) -> ThreadsafeHandle
    where
        F: FnOnce() + Send + 'static,
    {
        let cb = SendCell::new_arc(f);
        if let Err(Remote::Callback(cb)) = self.shared.push_remote(Remote::Callback(cb.clone())) {
            cb.cancel();
        }
        ThreadsafeHandle { cb }
    }

    /// Schedules a task's runnable on this loop: the `schedule` function of `async_task`.
    ///
    /// On the thread whose running loop is this loop it is a push onto the thread-local ready
    /// queue (no lock, no atomic); from anywhere else it goes through the injector and costs a
    /// `Poller::notify` syscall only if the loop is parked. A runnable scheduled on a closed loop
    /// is dropped on the loop's thread (which cancels its task) and leaked on any other thread
    /// (a `spawn_local` task must not be dropped off its thread).
    pub fn schedule<M: Send + Sync + 'static>(&self, runnable: Runnable<M>) {
        // The common case: woken on the loop's own thread while it runs.
        let mut runnable = Some(AnyRunnable::new(runnable));
        let _ = context::with_running_if(&self.shared, |core| {
            core.push_ready_if_open(&mut runnable, Ready::Runnable);
        });
        if runnable.is_none() {
            return;
        }
        context::with_loop(&self.shared, |core| {
            if let Some(core) = core {
                core.push_ready_if_open(&mut runnable, Ready::Runnable);
            }
        });
        if let Some(r) = runnable {
            if let Err(Remote::Runnable(r)) = self.shared.push_remote(Remote::Runnable(r)) {
                // The loop is closed. On its own thread, dropping cancels the task. Elsewhere a
                // `spawn_local` task must not be dropped (async-task aborts the process), so the
                // task is leaked: never polled, never freed.
                if std::thread::current().id() == self.shared.owner {
                    drop(r);
                } else {
                    std::mem::forget(r);
                }
            }
        }
    }

    /// Schedules `runnable` only if this loop is the one running on the current thread (a
    /// push onto its ready queue, no atomic); otherwise hands it back. For a `schedule`
    /// function that finds its loop in the task's own metadata: the fast path needs no
    /// reference count, and the caller takes one (clones the handle) only for the slow path,
    /// where the task may run — and be freed — on the loop's thread before
    /// [`schedule`](Self::schedule) returns.
    ///
    /// ```
    /// use tower_loop::EventLoop;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let h = lp.handle();
    /// let (runnable, task) = async_task::spawn(async { 5 }, |_| {});
    /// // No loop runs on this thread: the runnable comes back.
    /// let runnable = h.try_schedule_local(runnable).unwrap_err();
    /// let out = lp.run_until_complete(async move {
    ///     assert!(h.try_schedule_local(runnable).is_ok());
    ///     task.await
    /// });
    /// assert_eq!(out.unwrap(), 5);
    /// ```
    ///
    /// # Errors
    ///
    /// The runnable, unscheduled, if this loop is not running on this thread (or is closed).
    #[inline]
    pub fn try_schedule_local<M: Send + Sync + 'static>(
        &self,
        runnable: Runnable<M>,
    ) -> Result<(), Runnable<M>> {
        let mut runnable = Some(runnable);
        let _ = context::with_running_if(&self.shared, |core| {
            core.push_ready_if_open(&mut runnable, |r| Ready::Runnable(AnyRunnable::new(r)));
        });
        match runnable {
            None => Ok(()),
            Some(r) => Err(r),
        }
    }

    /// A `schedule` function for `async_task::spawn`/`spawn_local` that schedules on this loop.
    ///
    /// ```
    /// use tower_loop::EventLoop;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let (runnable, task) = async_task::spawn(async { 1 + 1 }, lp.handle().scheduler());
    /// runnable.schedule();
    /// assert_eq!(lp.run_until_complete(task).unwrap(), 2);
    /// ```
    pub fn scheduler(&self) -> impl Fn(Runnable) + Send + Sync + 'static {
        let handle = self.clone();
        move |runnable| handle.schedule(runnable)
    }

    /// Stops the loop from any thread: the current iteration finishes, then `run_forever`
    /// returns (asyncio's `loop.call_soon_threadsafe(loop.stop)`).
    pub fn stop(&self) {
        let _ = self.shared.push_remote(Remote::Stop);
    }

    /// Makes the loop run one more iteration (a syscall only if it is parked). The
    /// multi-threaded runtime calls this after handing a worker's loop work through its own
    /// queues (see [`WorkSource`](crate::WorkSource)).
    pub fn wake(&self) {
        self.shared.wake();
    }

    /// Whether the loop was closed.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Whether this loop is the one running on the current thread.
    pub fn is_current(&self) -> bool {
        context::with_current(|cur| cur.is_some_and(|c| Arc::ptr_eq(c.shared(), &self.shared)))
    }

    /// Whether this handle's loop state is `shared`.
    pub(crate) fn is_shared(&self, shared: &Arc<Shared>) -> bool {
        Arc::ptr_eq(&self.shared, shared)
    }

    /// Whether `self` and `other` are handles to the same loop.
    pub fn same_loop(&self, other: &LoopHandle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Cancels a timer entry of this loop from wherever we are. From another thread the
    /// cancellation is posted without waking the loop: a timer is a waker (a multi-thread
    /// runtime's task that moved to another worker drops or re-arms it there, as hyper does
    /// once per request), and an entry left in place until the loop's next iteration can only
    /// wake its task once more, spuriously, if its deadline passes first. Waking a sleeping
    /// worker for each such cancellation was a context switch for nothing
    /// (docs/decisions/0011-multi-thread-io.md, "Needless wake-ups").
    pub(crate) fn cancel_timer(&self, id: TimerId) {
        let local = context::with_loop(&self.shared, |core| {
            core.map(|core| core.timers().cancel(id))
        });
        if local.is_none() {
            let _ = self.shared.post_remote(Remote::CancelTimer(id));
        }
    }
}
