//! [`current_task`] and [`all_tasks`].

use super::registry::running_tasks;
use super::task_ref::TaskRef;
use super::wrapper;

/// The task being polled on this thread, if any (asyncio's `current_task()`): a pointer read,
/// no lookup.
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::{current_task, spawn};
///
/// assert!(current_task().is_none());
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     assert!(current_task().is_none()); // run_until_complete's future is not a task
///     let t = spawn(async { current_task().unwrap().id() });
///     let id = t.id();
///     assert_eq!(t.await.unwrap(), id);
/// })
/// .unwrap();
/// ```
pub fn current_task() -> Option<TaskRef> {
    wrapper::current()
}

/// The tasks of the running loop that are not done yet (asyncio's `all_tasks()`), in no
/// particular order. Empty outside a running loop.
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::{all_tasks, spawn};
///
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     let a = spawn(tower_coro::pending::<()>());
///     let b = spawn(async {});
///     let ids: Vec<_> = all_tasks().iter().map(|t| t.id()).collect();
///     assert!(ids.contains(&a.id()) && ids.contains(&b.id()));
///     b.await.unwrap();
///     assert!(!all_tasks().iter().any(|t| t.done()));
/// })
/// .unwrap();
/// ```
pub fn all_tasks() -> Vec<TaskRef> {
    running_tasks().into_iter().filter(|t| !t.done()).collect()
}
