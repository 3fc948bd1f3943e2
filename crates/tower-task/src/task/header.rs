//! The per-task record ([`Header`]) shared by a task's future, its [`Task`](crate::Task)
//! handle, every [`TaskRef`] and its loop's registry; and [`TaskRef`], the untyped handle that
//! introspection (`current_task`, `all_tasks`, done callbacks) hands out.
//!
//! Who touches what:
//! - `id`, `parent`, `registry`, `slot` are written once, before the header is shared.
//! - `state` is written only by the task's own future (the wrapper in `wrapper.rs`), on the
//!   thread polling it; anyone reads it.
//! - `must_cancel`/`num_cancels` are written by `cancel`/`uncancel` from anywhere and read by
//!   the wrapper at each poll.
//! - `waker` is set once, by the first poll that returns `Pending`; `cancel` and the
//!   loop-close hook wake it.
//! - `extra` (name, cancel message, done callbacks) is behind a poison-free mutex that never
//!   runs user code while held.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::Waker;

use super::registry::Registry;

/// How many spare headers a thread keeps for reuse.
const POOL_MAX: usize = 4096;

thread_local! {
    /// Spare header allocations (unique `Arc`s, their contents already released): a spawn
    /// reuses one instead of allocating, which halves the allocator traffic of a task.
    static POOL: RefCell<Vec<Arc<Header>>> = const { RefCell::new(Vec::new()) };
}

/// An `Arc` holding `header`: a spare allocation from this thread's pool, or a new one.
pub(crate) fn new_header(header: Header) -> Arc<Header> {
    let spare = POOL.try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.pop()));
    if let Ok(Some(mut arc)) = spare {
        if let Some(slot) = Arc::get_mut(&mut arc) {
            *slot = header;
            return arc;
        }
    }
    Arc::new(header)
}

/// Drops a reference to a header; if it was the last one, releases what the header holds (the
/// task's waker, its name and callbacks) and keeps the allocation for the next spawn on this
/// thread.
pub(crate) fn recycle(mut arc: Arc<Header>) {
    // Only a thread whose pool has room pays for the uniqueness check.
    let room = POOL
        .try_with(|p| p.try_borrow().is_ok_and(|p| p.len() < POOL_MAX))
        .unwrap_or(false);
    if !room {
        return;
    }
    let Some(h) = Arc::get_mut(&mut arc) else {
        return;
    };
    let waker = h.waker.take();
    let extra = h
        .extra
        .get_mut()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let keep = !h.registry.is_closed();
    drop(waker);
    drop(extra);
    if keep {
        let mut arc = Some(arc);
        let _ = POOL.try_with(|p| {
            if let Ok(mut p) = p.try_borrow_mut() {
                if p.len() < POOL_MAX {
                    p.extend(arc.take());
                }
            }
        });
        drop(arc);
    }
}

/// Forgets the spare headers that point at `registry` (its loop closed).
pub(crate) fn purge_pool(registry: &Arc<Registry>) {
    let spares = POOL.try_with(|p| {
        p.try_borrow_mut().ok().map(|mut p| {
            let (gone, kept): (Vec<_>, Vec<_>) = p
                .drain(..)
                .partition(|h| Arc::ptr_eq(&h.registry, registry));
            *p = kept;
            gone
        })
    });
    drop(spares);
}

/// A task's id: unique within the process, increasing in spawn order on each thread (asyncio
/// numbers its default names the same way: `Task-1`, `Task-2`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// Spawned, not polled yet.
    Pending,
    /// Being polled right now.
    Running,
    /// Polled, waiting to be woken.
    Suspended,
    /// Completed with a value.
    Finished,
    /// Cancelled (its future was dropped).
    Cancelled,
    /// Its future panicked.
    Panicked,
}

impl TaskState {
    /// Whether the task is done (finished, cancelled or panicked).
    pub fn is_done(self) -> bool {
        matches!(
            self,
            TaskState::Finished | TaskState::Cancelled | TaskState::Panicked
        )
    }

    /// Decodes the header's state byte.
    pub(crate) fn from_u8(v: u8) -> TaskState {
        match v {
            ST_PENDING => TaskState::Pending,
            ST_RUNNING => TaskState::Running,
            ST_SUSPENDED => TaskState::Suspended,
            ST_FINISHED => TaskState::Finished,
            ST_CANCELLED => TaskState::Cancelled,
            _ => TaskState::Panicked,
        }
    }

    /// The lowercase name used in the task tree.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Running => "running",
            TaskState::Suspended => "suspended",
            TaskState::Finished => "finished",
            TaskState::Cancelled => "cancelled",
            TaskState::Panicked => "panicked",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// State byte: spawned, not yet polled.
pub(crate) const ST_PENDING: u8 = 0;
/// State byte: inside a poll.
pub(crate) const ST_RUNNING: u8 = 1;
/// State byte: returned `Pending`.
pub(crate) const ST_SUSPENDED: u8 = 2;
/// State byte: completed with a value (this and the following are "done").
pub(crate) const ST_FINISHED: u8 = 3;
/// State byte: cancelled.
pub(crate) const ST_CANCELLED: u8 = 4;
/// State byte: panicked.
pub(crate) const ST_PANICKED: u8 = 5;

/// A done callback of a task.
pub(crate) type DoneCallback = Box<dyn FnOnce(&TaskRef) + Send + 'static>;

/// The rarely used, lock-protected part of a header (allocated on first use).
#[derive(Default)]
pub(crate) struct Extra {
    /// `set_name`/`Builder::name`; `None`: the default `Task-<id>`.
    pub(crate) name: Option<Arc<str>>,
    /// The message of the latest `cancel(msg)`.
    pub(crate) cancel_msg: Option<String>,
    /// Done callbacks in registration order.
    pub(crate) callbacks: Vec<DoneCallback>,
}

/// The record of one task (see the module docs for who writes which field).
pub(crate) struct Header {
    /// The task's id.
    pub(crate) id: TaskId,
    /// The task that spawned it, if any.
    pub(crate) parent: Option<TaskId>,
    /// `ST_*`.
    pub(crate) state: AtomicU8,
    /// A cancellation is requested: the wrapper drops the future at its next poll.
    pub(crate) must_cancel: AtomicBool,
    /// asyncio's `_num_cancels_requested`.
    pub(crate) num_cancels: AtomicU32,
    /// Id of the task last seen awaiting this one's handle (0: none).
    pub(crate) awaited_by: AtomicU64,
    /// Set (under `extra`'s lock) once a done callback was added.
    pub(crate) has_callbacks: AtomicBool,
    /// Its `Task` handle was dropped before the output was taken: nobody will see a panic
    /// unless the loop's exception handler is told.
    pub(crate) detached: AtomicBool,
    /// The task's own waker, from its first poll: `cancel` and the loop-close hook wake it.
    pub(crate) waker: OnceLock<Waker>,
    /// Name, cancel message, callbacks.
    pub(crate) extra: Mutex<Option<Box<Extra>>>,
    /// The registry of the loop it was spawned on.
    pub(crate) registry: Arc<Registry>,
    /// Its slot in `registry`.
    pub(crate) slot: usize,
}

impl Header {
    /// Locks `extra`, ignoring poisoning (no user code runs under it).
    pub(crate) fn extra(&self) -> MutexGuard<'_, Option<Box<Extra>>> {
        self.extra.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state.
    pub(crate) fn state(&self) -> TaskState {
        TaskState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Whether it is done.
    pub(crate) fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) >= ST_FINISHED
    }

    /// The name (the default is `Task-<id>`).
    pub(crate) fn name(&self) -> Arc<str> {
        match self.extra().as_ref().and_then(|e| e.name.clone()) {
            Some(n) => n,
            None => Arc::from(format!("Task-{}", self.id.0)),
        }
    }

    /// The message of the pending cancellation.
    pub(crate) fn cancel_msg(&self) -> Option<String> {
        self.extra().as_ref().and_then(|e| e.cancel_msg.clone())
    }
}

/// An untyped handle to a task: what [`current_task`](crate::current_task),
/// [`all_tasks`](crate::all_tasks) and done callbacks give (asyncio's `Task` object seen from
/// outside). Cheap to clone; does not keep the task's future alive once it is done.
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::{current_task, Builder};
///
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     let t = Builder::new().name("worker").spawn(async {
///         current_task().unwrap().get_name().to_string()
///     }).unwrap();
///     assert_eq!(t.await.unwrap(), "worker");
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct TaskRef {
    /// The shared record.
    pub(crate) header: Arc<Header>,
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRef")
            .field("id", &self.header.id)
            .field("name", &self.header.name())
            .field("state", &self.header.state())
            .finish()
    }
}

impl PartialEq for TaskRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.header, &other.header)
    }
}

impl Eq for TaskRef {}

impl TaskRef {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.header.id
    }

    /// The task's name (asyncio's `get_name`; default `Task-<id>`).
    pub fn get_name(&self) -> Arc<str> {
        self.header.name()
    }

    /// Renames the task (asyncio's `set_name`).
    pub fn set_name(&self, name: impl Into<String>) {
        let name: Arc<str> = Arc::from(name.into());
        let old = self
            .header
            .extra()
            .get_or_insert_with(Default::default)
            .name
            .replace(name);
        drop(old);
    }

    /// Where the task is in its life.
    pub fn state(&self) -> TaskState {
        self.header.state()
    }

    /// Whether the task is done: finished, cancelled or panicked (asyncio's `done`).
    pub fn done(&self) -> bool {
        self.header.is_done()
    }

    /// Whether the task ended cancelled (asyncio's `cancelled`).
    pub fn cancelled(&self) -> bool {
        self.header.state() == TaskState::Cancelled
    }

    /// The id of the task that spawned this one, if it was spawned from a task.
    pub fn parent_id(&self) -> Option<TaskId> {
        self.header.parent
    }

    /// The id of the task last seen awaiting this task's handle, if any.
    pub fn awaited_by(&self) -> Option<TaskId> {
        match self.header.awaited_by.load(Ordering::Relaxed) {
            0 => None,
            id => Some(TaskId(id)),
        }
    }

    /// Requests cancellation (asyncio's `cancel(msg)`): returns `false` if the task is already
    /// done; otherwise counts the request (see [`cancelling`](Self::cancelling)) and wakes the
    /// task so that its future is dropped at its next suspension point — before its first poll
    /// if it has not started. Whoever awaits the task gets `Err(TaskError::Cancelled)` carrying
    /// `msg`. A task that completes in the poll during which it was cancelled keeps its value.
    pub fn cancel(&self, msg: Option<&str>) -> bool {
        let h = &*self.header;
        if h.is_done() {
            return false;
        }
        if let Some(m) = msg {
            let old = h
                .extra()
                .get_or_insert_with(Default::default)
                .cancel_msg
                .replace(m.to_owned());
            drop(old);
        }
        h.num_cancels.fetch_add(1, Ordering::AcqRel);
        h.must_cancel.store(true, Ordering::Release);
        // Pairs with the fence after the wrapper publishes the waker (see `wrapper.rs`).
        fence(Ordering::SeqCst);
        if let Some(w) = h.waker.get() {
            w.wake_by_ref();
        }
        true
    }

    /// How many cancellation requests are pending (asyncio's `cancelling()`): incremented by
    /// [`cancel`](Self::cancel), decremented by [`uncancel`](Self::uncancel).
    pub fn cancelling(&self) -> u32 {
        self.header.num_cancels.load(Ordering::Acquire)
    }

    /// Withdraws one cancellation request and returns how many are left (asyncio's
    /// `uncancel()`). When none is left before the task's next poll, the task is not cancelled
    /// after all.
    pub fn uncancel(&self) -> u32 {
        let h = &*self.header;
        let mut cur = h.num_cancels.load(Ordering::Acquire);
        loop {
            if cur == 0 {
                return 0;
            }
            match h
                .num_cancels
                .compare_exchange(cur, cur - 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if cur == 1 {
                        h.must_cancel.store(false, Ordering::Release);
                    }
                    return cur - 1;
                }
                Err(actual) => cur = actual,
            }
        }
    }

    /// Adds a callback run on the task's loop (scheduled with `call_soon`, never inline) once
    /// the task is done, with this handle (asyncio's `add_done_callback`). Callbacks run in the
    /// order they were added; if the task is already done, the callback is scheduled now.
    /// Callbacks of a task dropped because its loop closed are dropped unrun.
    pub fn add_done_callback<F>(&self, f: F)
    where
        F: FnOnce(&TaskRef) + Send + 'static,
    {
        let h = &*self.header;
        let mut extra = h.extra();
        h.has_callbacks.store(true, Ordering::SeqCst);
        if h.state.load(Ordering::SeqCst) >= ST_FINISHED {
            drop(extra);
            let me = self.clone();
            h.registry.schedule_callback(move || f(&me));
        } else {
            extra
                .get_or_insert_with(Default::default)
                .callbacks
                .push(Box::new(f));
        }
    }
}

/// Marks the task of `header` done with `state` and schedules its done callbacks (cloning the
/// `Arc` only for them).
pub(crate) fn finish(header: &Arc<Header>, state: u8) {
    let h = &**header;
    h.state.store(state, Ordering::SeqCst);
    if h.has_callbacks.load(Ordering::SeqCst) {
        let cbs = h.extra().as_mut().map(|e| std::mem::take(&mut e.callbacks));
        let Some(cbs) = cbs else { return };
        for cb in cbs {
            let me = TaskRef {
                header: header.clone(),
            };
            h.registry.schedule_callback(move || cb(&me));
        }
    }
}
