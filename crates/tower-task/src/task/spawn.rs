//! Spawning: [`spawn`]/[`create_task`], [`spawn_local`], and the [`TaskBuilder`] for named and
//! eager tasks; and [`spawn_in`], the one path every task (the runtime's too) is made by. A
//! task is one `async_task` allocation with its [`Header`] as metadata, scheduled with the
//! loop's `schedule` (a push on the loop's ready queue).

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_task::Runnable;
use tower_loop::{LoopHandle, with_running_loop};

use super::handle::Task;
use super::header::{Extra, Header};
use super::layout;
use super::loop_options::LoopTaskOptions;
use super::registry::{Registry, loop_tasks_of};
use super::state::TaskId;
use super::wrapper::{Unbound, current_id};
use crate::error::{SpawnError, TaskError};

/// The `async_task` handle of a task whose output is `T`.
pub(crate) type RawTask<T> = async_task::Task<Result<T, TaskError>, Header>;

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
#[inline]
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
/// If no tower event loop runs on this thread ([`TaskBuilder::spawn`] returns an error instead).
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match TaskBuilder::new().spawn(future) {
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
    match TaskBuilder::new().spawn_local(future) {
        Ok(t) => t,
        Err(e) => panic!("tower_task::spawn_local: {e}"),
    }
}

/// Spawns a task with a name, or eagerly (asyncio's `create_task(coro, name=..., eager_start=...)`).
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::TaskBuilder;
///
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     let t = TaskBuilder::new().name("fetcher").eager(true).spawn(async { 3 }).unwrap();
///     assert_eq!(&*t.get_name(), "fetcher");
///     assert!(t.done()); // eager, and it never suspended
///     assert_eq!(t.await.unwrap(), 3);
/// })
/// .unwrap();
/// ```
#[doc(alias = "Builder")]
#[derive(Debug, Default, Clone)]
#[must_use = "a TaskBuilder does nothing until spawn is called"]
pub struct TaskBuilder {
    /// The task's name.
    name: Option<String>,
    /// Eager start; `None`: the loop's task factory decides.
    eager: Option<bool>,
}

impl TaskBuilder {
    /// A builder with the defaults (name `Task-<id>`, the loop's factory decides eagerness).
    pub fn new() -> TaskBuilder {
        TaskBuilder::default()
    }

    /// Names the task.
    pub fn name(mut self, name: impl Into<String>) -> TaskBuilder {
        self.name = Some(name.into());
        self
    }

    /// Starts the task eagerly: it runs inside `spawn` up to its first suspension, and if it
    /// completes without suspending it never touches the ready queue (asyncio's `eager_start`).
    pub fn eager(mut self, on: bool) -> TaskBuilder {
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
        self.on_running_loop(future, |builder, unbound| {
            builder.spawn(move |h| unbound.bind(h), schedule_home)
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
        self.on_running_loop(future, |builder, unbound| {
            builder.spawn_local(move |h| unbound.bind(h), schedule_home)
        })
    }

    /// The common part of `spawn` and `spawn_local`: a task of the running loop (its registry,
    /// its task factory), allocated by `alloc`, first scheduled on the loop's ready queue.
    fn on_running_loop<F, A>(self, future: F, alloc: A) -> Result<Task<F::Output>, SpawnError>
    where
        F: Future,
        A: FnOnce(
            async_task::Builder<Header>,
            Unbound<F>,
        ) -> (Runnable<Header>, RawTask<F::Output>),
    {
        let spawned = with_running_loop(|lp| {
            let tasks = loop_tasks_of(lp);
            let factory = tasks.factory.borrow().clone();
            spawn_in(
                self.name,
                self.eager,
                factory,
                tasks.registry.clone(),
                future,
                alloc,
                |r| lp.schedule(r),
            )
        });
        Ok(spawned?)
    }
}

/// The schedule function of every loop task. It captures nothing — so async-task takes no
/// extra reference count around each wake-up, as it does for a schedule closure with state —
/// and finds the task's loop in its header (the registry of the loop it was spawned on).
pub(crate) fn schedule_home(runnable: Runnable<Header>) {
    // The handle lives in the registry the header holds an `Arc` of, inside the task's
    // allocation, which is alive while `runnable` exists. `try_schedule_local` either hands
    // `runnable` back (we own it again, so the handle is still alive for the slow path) or
    // pushes it onto this thread's ready queue, from which it cannot run (nor its task be
    // freed) before this function returns, and the handle is not used after that push.
    let handle: *const LoopHandle = &runnable.metadata().registry.handle;
    // SAFETY: see above: `handle` is alive for every use below.
    let handle = unsafe { &*handle };
    if let Err(runnable) = handle.try_schedule_local(runnable) {
        let handle = handle.clone();
        handle.schedule(runnable);
    }
}

/// Makes a task: its header (registered in `registry`) and `async_task` allocation — `alloc`
/// calls the `async_task` builder it is given with the caller's schedule function and
/// `unbound.bind` as the future — then starts it: eagerly (`eager`, else the `factory`
/// decides) inside this call, or by handing its runnable to `first`. Calls the factory's
/// `on_spawn` hook last.
pub(crate) fn spawn_in<F, A, S>(
    name: Option<String>,
    eager: Option<bool>,
    factory: Option<LoopTaskOptions>,
    registry: Arc<Registry>,
    future: F,
    alloc: A,
    first: S,
) -> Task<F::Output>
where
    F: Future,
    A: FnOnce(async_task::Builder<Header>, Unbound<F>) -> (Runnable<Header>, RawTask<F::Output>),
    S: FnOnce(Runnable<Header>),
{
    let extra = name.map(|n| {
        Box::new(Extra {
            name: Some(Arc::from(n)),
            ..Extra::default()
        })
    });
    let header = Header::new(next_id(), current_id(), extra, registry);
    let (runnable, raw) = alloc(
        async_task::Builder::new().metadata(header),
        Unbound::new(future),
    );
    let raw = raw.fallible();
    let h = runnable.metadata();
    // The registry's reference count: a waker the header keeps the vtable of (its home waker,
    // whose data is the allocation `layout::task_of` finds) and that `TaskFuture`'s drop
    // releases, so a task nothing else references lives until its future is dropped
    // (async-task frees a task without wakers, leaking its future).
    let waker = runnable.waker();
    // Before anything derives the allocation from the header, or reads `raw` as a `TaskRef`.
    layout::check_spawned(h, &waker, &raw);
    h.set_home(&waker);
    std::mem::forget(waker);
    h.slot.store(h.registry.insert(h), Ordering::Relaxed);
    let task = Task::new(raw);
    let eager = eager.unwrap_or_else(|| factory.as_ref().is_some_and(|f| f.eager));
    if eager {
        // Inside the spawner's poll: the new task must not see a cancellation that poll is
        // delivering (its own, if any, it delivers itself).
        let ((), _) = tower_coro::cancel::isolate(|| {
            runnable.run();
        });
    } else {
        first(runnable);
    }
    if let Some(hook) = factory.and_then(|f| f.on_spawn) {
        hook(&task);
    }
    task
}
