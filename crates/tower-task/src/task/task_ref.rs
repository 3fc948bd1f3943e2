//! [`TaskRef`]: the untyped handle to a task that introspection (`current_task`, `all_tasks`,
//! done callbacks) hands out and that [`Task`](crate::Task) dereferences to.
//!
//! A `TaskRef` is one pointer, to the task's `async_task` allocation (the pointer an
//! `async_task::Task` and the task's wakers hold; the [`Header`] is at a fixed offset in it,
//! see [`layout`]), and owns one reference count of that allocation — a waker reference count:
//! cloning the task's home waker ([`Header::home`]) takes one, dropping an owning copy of it
//! releases one. So a `TaskRef` keeps the header readable after the task is done, and nothing
//! else: once the task completes, its future is gone.

use std::fmt;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::Waker;

use super::header::{F_ABORT, F_CANCEL, F_DEFER, Header};
use super::layout;
use super::state::{TaskId, TaskState};
use crate::loom::Ordering;

/// An untyped handle to a task: what [`current_task`](crate::current_task),
/// [`all_tasks`](crate::all_tasks) and done callbacks give (asyncio's `Task` object seen from
/// outside). Cheap to clone; does not keep the task's future alive once it is done.
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::{current_task, TaskBuilder};
///
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     let t = TaskBuilder::new().name("worker").spawn(async {
///         current_task().unwrap().get_name().to_string()
///     }).unwrap();
///     assert_eq!(t.await.unwrap(), "worker");
/// })
/// .unwrap();
/// ```
// `repr(transparent)`: a `&FallibleTask` of the task is read as a `&TaskRef` (`Task<T>`'s
// `Deref`): both are this one pointer.
#[repr(transparent)]
pub struct TaskRef {
    /// The task's allocation (its header is inside); this handle owns one reference count of
    /// it (see the module docs).
    task: NonNull<()>,
}

// SAFETY: a `TaskRef` is a reference count of a task allocation plus a pointer to its
// `Header`, which is `Send + Sync` (atomics, a mutex, an `Arc`); async-task's reference counts
// may be taken and released on any thread (they are waker reference counts).
unsafe impl Send for TaskRef {}
// SAFETY: as above; `&TaskRef` gives only `&Header`.
unsafe impl Sync for TaskRef {}

impl TaskRef {
    /// A new handle to the task whose header is `header`: one more reference count.
    pub(crate) fn new(header: &Header) -> TaskRef {
        // Cloning the home waker takes a reference count of the allocation (async-task's
        // `clone_waker`); the clone's parts are the home waker's, so forgetting it and
        // releasing through the home waker in `Drop` is the same as dropping it.
        let owned = Waker::clone(&header.home());
        debug_assert_eq!(owned.data(), header.home().data());
        std::mem::forget(owned);
        TaskRef {
            task: layout::task_of(header),
        }
    }

    /// The task's header.
    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: this handle holds a reference count of the allocation (or, read from a
        // `Task<T>`'s async-task handle, that handle does), so the
        // allocation and the header inside it are alive as long as `self`.
        unsafe { layout::header_of(self.task).as_ref() }
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> TaskRef {
        TaskRef::new(self.header())
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // Read the parts before the count is released (the release may free the allocation).
        let home = self.header().home();
        // Releasing the reference this handle holds: dropping an owning copy of the home waker
        // is async-task's `drop_waker` on this task.
        drop(ManuallyDrop::into_inner(home));
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRef")
            .field("id", &self.header().id())
            .field("name", &self.header().name())
            .field("state", &self.header().state())
            .finish()
    }
}

impl PartialEq for TaskRef {
    fn eq(&self, other: &Self) -> bool {
        self.task == other.task
    }
}

impl Eq for TaskRef {}

impl TaskRef {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.header().id()
    }

    /// The task's name (asyncio's `get_name`; default `Task-<id>`).
    pub fn get_name(&self) -> Arc<str> {
        self.header().name()
    }

    /// Renames the task (asyncio's `set_name`).
    pub fn set_name(&self, name: impl Into<String>) {
        let name: Arc<str> = Arc::from(name.into());
        let old = self.header().extra().name.replace(name);
        drop(old);
    }

    /// Where the task is in its life.
    pub fn state(&self) -> TaskState {
        self.header().state()
    }

    /// Whether the task is done: finished, cancelled or panicked (asyncio's `done`).
    pub fn done(&self) -> bool {
        self.header().is_done()
    }

    /// Whether the task ended cancelled (asyncio's `cancelled`).
    pub fn cancelled(&self) -> bool {
        self.header().state() == TaskState::Cancelled
    }

    /// The id of the task that spawned this one, if it was spawned from a task.
    pub fn parent_id(&self) -> Option<TaskId> {
        match self.header().parent() {
            0 => None,
            id => Some(TaskId(id)),
        }
    }

    /// The id of the task last seen awaiting this task's handle, if any.
    pub fn awaited_by(&self) -> Option<TaskId> {
        match self.header().awaited_by() {
            0 => None,
            id => Some(TaskId(id)),
        }
    }

    /// Requests cancellation (asyncio's `cancel()`; [`cancel_with`](Self::cancel_with) gives a
    /// message): returns `false` if the task is already
    /// done; otherwise counts the request (see [`cancelling`](Self::cancelling)) and wakes the
    /// task. At its next poll the request is delivered where the task is suspended, to the
    /// innermost cancellation-aware await (decision 0006): an awaited [`Task`](crate::Task) is
    /// cancelled in turn and waited for, an awaited `LoopFuture` is cancelled,
    /// [`catch_cancel`](crate::catch_cancel) catches it; with nothing there that takes part
    /// (or before its first poll), its future is dropped without running further. A task
    /// ended by it gives its awaiter `Err(TaskError::Cancelled)` carrying the message; a task whose
    /// future returns while the request waits ends cancelled too (asyncio's
    /// `test_cancel_at_end`).
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use std::time::Duration;
    /// use tower_task::{catch_cancel, sleep, spawn};
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let v = lp.run_until_complete(async {
    ///     let t = spawn(async {
    ///         match catch_cancel(tower_coro::pending::<()>()).await {
    ///             Ok(()) => 0,
    ///             Err(c) => c.message().map_or(0, str::len), // handled: a value
    ///         }
    ///     });
    ///     sleep(Duration::from_millis(1)).await; // t is suspended in catch_cancel
    ///     assert!(t.cancel_with("stop"));
    ///     t.await
    /// });
    /// assert_eq!(v.unwrap().unwrap(), 4);
    /// ```
    pub fn cancel(&self) -> bool {
        self.cancel_opt(None)
    }

    /// Requests cancellation with a message (asyncio's `cancel(msg)`), which the task's awaiter
    /// finds in `TaskError::Cancelled` and a [`catch_cancel`](crate::catch_cancel) in the task
    /// finds in the [`Cancelled`](crate::error::Cancelled) it catches; otherwise as
    /// [`cancel`](Self::cancel).
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_task::{error::TaskError, spawn};
    ///
    /// let lp = EventLoop::new().unwrap();
    /// lp.run_until_complete(async {
    ///     let t = spawn(tower_coro::pending::<()>());
    ///     assert!(t.cancel_with("not needed"));
    ///     match t.await {
    ///         Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("not needed")),
    ///         other => panic!("{other:?}"),
    ///     }
    /// })
    /// .unwrap();
    /// ```
    pub fn cancel_with(&self, msg: &str) -> bool {
        self.cancel_opt(Some(msg))
    }

    /// Requests cancellation with `msg`, if any (a cancellation passed on keeps its message).
    pub(crate) fn cancel_opt(&self, msg: Option<&str>) -> bool {
        let h = self.header();
        if !h.request_cancel(msg) {
            return false;
        }
        // After the flag (`request_cancel` returned). async-task's wake: a task that is
        // scheduled or running already runs again (and sees `F_CANCEL` at the start of that
        // poll); an idle one is scheduled now.
        h.home().wake_by_ref();
        true
    }

    /// How many cancellation requests are pending (asyncio's `cancelling()`): incremented by
    /// [`cancel`](Self::cancel), decremented by [`uncancel`](Self::uncancel).
    pub fn cancelling(&self) -> u32 {
        self.header().cancelling()
    }

    /// Withdraws one cancellation request and returns how many are left (asyncio's
    /// `uncancel()`). When none is left before the task's next poll, the task is not cancelled
    /// after all.
    pub fn uncancel(&self) -> u32 {
        let h = self.header();
        h.withdraw_cancel(|| {
            if super::wrapper::current_id() == h.id().0 {
                // The task uncancels itself while its poll delivers the request: nothing is
                // left to deliver (asyncio 3.13 clears `_must_cancel` here).
                tower_coro::cancel::withdraw();
            }
        })
    }

    /// Adds a callback run on the task's loop (scheduled with `call_soon`, never inline) once
    /// the task is done, with this handle (asyncio's `add_done_callback`). Callbacks run in the
    /// order they were added; if the task is already done, the callback is scheduled now.
    /// Callbacks of a task dropped because its loop closed are dropped unrun.
    pub fn add_done_callback<F>(&self, f: F)
    where
        F: FnOnce(&TaskRef) + Send + 'static,
    {
        let h = self.header();
        // Given back if the task is done: scheduled now, after the header's lock is released.
        if let Some(f) = h.add_callback(f) {
            let me = self.clone();
            h.registry().schedule_callback(move || f(&me));
        }
    }

    /// Requests cancellation as [`cancel`](Self::cancel) does, for a structured scope
    /// (`TaskGroup`) that returns an error while an outside cancellation is pending: it is
    /// delivered at the task's next poll, unless the task's future completes in the poll
    /// running now, whose outcome (the scope's error, passed on) then stands.
    pub(crate) fn cancel_deferred(&self, msg: Option<&str>) -> bool {
        if !self.cancel_opt(msg) {
            return false;
        }
        self.header()
            .flags_byte()
            .fetch_or(F_DEFER, Ordering::Release);
        true
    }

    /// Stops the task at once, the hard way (tokio's `abort`): at its next poll its future is
    /// dropped without the cancellation being delivered into it — no `catch_cancel` sees it,
    /// no awaited task is told (a task it awaits is detached) — and it ends cancelled. Returns
    /// `false` if the task is already done. It does not count as a request
    /// ([`cancelling`](Self::cancelling) is unchanged) and cannot be withdrawn. Prefer
    /// [`cancel`](Self::cancel), which lets the task clean up.
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_task::{catch_cancel, spawn};
    ///
    /// let lp = EventLoop::new().unwrap();
    /// lp.run_until_complete(async {
    ///     let t = spawn(async { catch_cancel(tower_coro::pending::<()>()).await.is_err() });
    ///     tower_coro::yield_now().await;
    ///     assert!(t.abort());
    ///     assert!(t.await.unwrap_err().is_cancelled()); // the catch never ran
    /// })
    /// .unwrap();
    /// ```
    pub fn abort(&self) -> bool {
        let h = self.header();
        if h.is_done() {
            return false;
        }
        h.flags_byte()
            .fetch_or(F_ABORT | F_CANCEL, Ordering::Release);
        h.home().wake_by_ref();
        true
    }
}
