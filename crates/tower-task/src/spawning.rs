//! Spawning, the public way in: [`spawn`]/[`create_task`], [`spawn_local`], and the
//! [`TaskBuilder`] for named and eager tasks. Here the two places a task can go meet: a `Send`
//! task spawned inside a multi-thread runtime (on a worker, or in `block_on`) goes to the
//! runtime's work-stealing queues (`runtime/`), any other to the running loop (`task/`); the
//! task core itself does not know the runtime.

use std::future::Future;

use crate::error::SpawnError;
use crate::task::{Task, schedule_home, spawn_on_loop};

/// Spawns `future` as a task on the running loop (asyncio's `create_task`) and schedules it:
/// it starts in a later loop iteration (or at once, with eager task options: [`set_task_factory`](crate::set_task_factory)).
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
    /// Eager start; `None`: the loop's task options decide.
    eager: Option<bool>,
}

impl TaskBuilder {
    /// A builder with the defaults (name `Task-<id>`, the loop's task options decide eagerness).
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

    /// Spawns `future` on the running loop, or, inside a multi-thread runtime (a task on one of
    /// its workers, or `block_on`), onto the runtime's workers
    /// ([`RuntimeHandle::spawn`](crate::runtime::RuntimeHandle::spawn)).
    ///
    /// # Errors
    ///
    /// [`SpawnError::NoRunningLoop`] if no tower event loop runs on this thread.
    pub fn spawn<F>(self, future: F) -> Result<Task<F::Output>, SpawnError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Inside a multi-thread runtime (a worker, `block_on`), `Send` tasks go to its
        // work-stealing queues (one thread-local read otherwise).
        if let Some(rt) = crate::runtime::entered() {
            return Ok(rt.spawn_task(self.name, self.eager, future));
        }
        spawn_on_loop(self.name, self.eager, future, |builder, unbound| {
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
        spawn_on_loop(self.name, self.eager, future, |builder, unbound| {
            builder.spawn_local(move |h| unbound.bind(h), schedule_home)
        })
    }
}
