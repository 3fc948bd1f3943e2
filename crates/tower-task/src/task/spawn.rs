//! Spawning: [`spawn`]/[`create_task`], [`spawn_local`], and the [`Builder`] for named and
//! eager tasks. A task is one `async_task` allocation scheduled with the loop's `schedule` (a
//! push on the loop's ready queue) plus its header.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tower_loop::{EventLoop, LoopHandle, get_running_loop};

use super::handle::Task;
use super::header::{Extra, Header, ST_PENDING, TaskId, TaskRef};
use super::registry::with_loop;
use super::wrapper::{TaskFuture, current_id};
use crate::error::SpawnError;

/// The next block of task ids (ids start at 1; 0 means "no task" in atomics).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// How many ids a thread takes from [`NEXT_ID`] at once.
const ID_BLOCK: u64 = 1024;

thread_local! {
    /// This thread's block of ids: the next one and the end of the block.
    static IDS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// A fresh task id: unique in the process, increasing on each thread (one atomic operation
/// per [`ID_BLOCK`] spawns).
pub(crate) fn next_id() -> TaskId {
    let id = IDS.try_with(|ids| {
        let (next, end) = ids.get();
        if next < end {
            ids.set((next + 1, end));
            next
        } else {
            let start = NEXT_ID.fetch_add(ID_BLOCK, Ordering::Relaxed);
            ids.set((start + 1, start + ID_BLOCK));
            start
        }
    });
    TaskId(id.unwrap_or_else(|_| NEXT_ID.fetch_add(1, Ordering::Relaxed)))
}

/// Spawns `future` as a task on the running loop (asyncio's `create_task`) and schedules it:
/// it starts in a later loop iteration (or at once, with an eager task factory).
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::spawn;
///
/// let lp = EventLoop::new().unwrap();
/// let sum = lp
///     .run_until_complete(async {
///         let tasks: Vec<_> = (0..10).map(|i| spawn(async move { i * 2 })).collect();
///         let mut sum = 0;
///         for t in tasks {
///             sum += t.await.unwrap();
///         }
///         sum
///     })
///     .unwrap();
/// assert_eq!(sum, 90);
/// ```
///
/// # Panics
///
/// If no tower event loop runs on this thread ([`Builder::spawn`] returns an error instead).
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match Builder::new().spawn(future) {
        Ok(t) => t,
        Err(e) => panic!("tower_task::spawn: {e}"),
    }
}

/// asyncio's name for [`spawn`].
///
/// ```
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// let v = lp.run_until_complete(async { tower_task::create_task(async { 1 }).await.unwrap() });
/// assert_eq!(v.unwrap(), 1);
/// ```
///
/// # Panics
///
/// If no tower event loop runs on this thread.
pub fn create_task<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn(future)
}

/// Spawns a `!Send` future as a task on the running loop; it stays on this thread.
///
/// ```
/// use std::rc::Rc;
/// use tower_loop::EventLoop;
/// use tower_task::spawn_local;
///
/// let lp = EventLoop::new().unwrap();
/// let v = lp.run_until_complete(async {
///     let shared = Rc::new(5);
///     let s = shared.clone();
///     spawn_local(async move { *s + 1 }).await.unwrap()
/// });
/// assert_eq!(v.unwrap(), 6);
/// ```
///
/// # Panics
///
/// If no tower event loop runs on this thread.
pub fn spawn_local<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match Builder::new().spawn_local(future) {
        Ok(t) => t,
        Err(e) => panic!("tower_task::spawn_local: {e}"),
    }
}

/// Spawns a task with a name, or eagerly (asyncio's `create_task(coro, name=..., eager_start=...)`).
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::Builder;
///
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     let t = Builder::new().name("fetcher").eager(true).spawn(async { 3 }).unwrap();
///     assert_eq!(&*t.get_name(), "fetcher");
///     assert!(t.done()); // eager, and it never suspended
///     assert_eq!(t.await.unwrap(), 3);
/// })
/// .unwrap();
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a Builder does nothing until spawn is called"]
pub struct Builder {
    /// The task's name.
    name: Option<String>,
    /// Eager start; `None`: the loop's task factory decides.
    eager: Option<bool>,
}

impl Builder {
    /// A builder with the defaults (name `Task-<id>`, the loop's factory decides eagerness).
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task.
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Starts the task eagerly: it runs inside `spawn` up to its first suspension, and if it
    /// completes without suspending it never touches the ready queue (asyncio's `eager_start`).
    pub fn eager(mut self, on: bool) -> Builder {
        self.eager = Some(on);
        self
    }

    /// Spawns `future` on the running loop.
    ///
    /// # Errors
    ///
    /// [`SpawnError::NoRunningLoop`] if no tower event loop runs on this thread.
    pub fn spawn<F>(self, future: F) -> Result<Task<F::Output>, SpawnError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Runtime hook: inside a multi-thread runtime (a worker, `block_on`), `Send` tasks go
        // to its work-stealing queues (one thread-local flag read otherwise).
        if let Some(rt) = crate::runtime::entered() {
            return Ok(rt.spawn_task(self.name, self.eager, future));
        }
        let lp = get_running_loop()?;
        let handle = lp.handle();
        self.spawn_with(&lp, handle, future, |fut, handle| {
            async_task::spawn(fut, move |r| handle.schedule(r))
        })
    }

    /// Spawns a `!Send` `future` on the running loop; it stays on this thread.
    ///
    /// # Errors
    ///
    /// [`SpawnError::NoRunningLoop`] if no tower event loop runs on this thread.
    pub fn spawn_local<F>(self, future: F) -> Result<Task<F::Output>, SpawnError>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let lp = get_running_loop()?;
        let handle = lp.handle();
        self.spawn_with(&lp, handle, future, |fut, handle| {
            async_task::spawn_local(fut, move |r| handle.schedule(r))
        })
    }

    /// The common part: header, registry, wrapper, then schedule or run eagerly.
    fn spawn_with<F, A>(
        self,
        lp: &EventLoop,
        handle: LoopHandle,
        future: F,
        alloc: A,
    ) -> Result<Task<F::Output>, SpawnError>
    where
        F: Future,
        A: FnOnce(
            TaskFuture<F>,
            LoopHandle,
        ) -> (
            async_task::Runnable,
            async_task::Task<Result<F::Output, crate::error::TaskError>>,
        ),
    {
        let parent = match current_id() {
            0 => None,
            id => Some(TaskId(id)),
        };
        let id = next_id();
        let extra = self.name.map(|n| {
            Box::new(Extra {
                name: Some(Arc::from(n)),
                ..Extra::default()
            })
        });
        let (header, factory) = with_loop(lp, &handle, |e| {
            let reg = e.registry.clone();
            let header = e.registry.insert(move |slot| Header {
                id,
                parent,
                state: AtomicU8::new(ST_PENDING),
                must_cancel: AtomicBool::new(false),
                num_cancels: AtomicU32::new(0),
                awaited_by: AtomicU64::new(0),
                has_callbacks: AtomicBool::new(false),
                detached: AtomicBool::new(false),
                waker: OnceLock::new(),
                extra: Mutex::new(extra),
                registry: reg,
                slot,
            });
            (header, e.factory.clone())
        });
        let eager = self
            .eager
            .unwrap_or_else(|| factory.as_ref().is_some_and(|f| f.eager));
        let task_ref = TaskRef {
            header: header.clone(),
        };
        let (runnable, raw) = alloc(TaskFuture::new(header, future), handle);
        let task = Task::new(raw, task_ref);
        if eager {
            runnable.run();
        } else {
            lp.schedule(runnable);
        }
        if let Some(hook) = factory.and_then(|f| f.on_spawn) {
            hook(&task);
        }
        Ok(task)
    }
}
