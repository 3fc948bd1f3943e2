//! Tier 4 of the tower: tasks and the multi-core runtime — asyncio's `tasks.py`,
//! `taskgroups.py`, `timeouts.py` and `runners.py`.
//!
//! The [`runtime`] module runs one `tower_loop::EventLoop` per worker thread and balances
//! `Send` tasks between them by work stealing.
//!
//! Tasks on one loop: [`spawn`]/[`create_task`] (or [`TaskBuilder`] for a name and eager start)
//! give a [`Task`]; awaiting it gives `Result<T, TaskError>`, dropping it detaches the task.
//! [`cancel`](TaskRef::cancel) is asyncio's: a request delivered into the task where it is
//! suspended — an awaited task is cancelled in turn and waited for, [`catch_cancel`] catches it
//! (then clean up with awaits and [`reraise`], return a value, or `uncancel`), and with nothing
//! there that takes part, the task's future is dropped. [`current_task`],
//! [`all_tasks`] and [`task_tree`] show what runs; [`sleep`] waits on the loop's clock; [`run`]
//! is `asyncio.run`.
//!
//! ```
//! use std::time::Duration;
//! use tower_task::{TaskBuilder, error::TaskError, run, sleep, spawn, task_tree};
//!
//! let out = run(async {
//!     let worker = TaskBuilder::new().name("worker").spawn(async {
//!         sleep(Duration::from_millis(5)).await;
//!         2
//!     }).unwrap();
//!     let stuck = spawn(tower_coro::pending::<()>());
//!     sleep(Duration::from_millis(1)).await;
//!     assert!(task_tree().to_string().contains("\"worker\" [suspended]"));
//!     stuck.cancel_with("not needed");
//!     assert!(matches!(stuck.await, Err(TaskError::Cancelled(_))));
//!     worker.await.unwrap() * 21
//! });
//! assert_eq!(out.unwrap(), 42);
//! ```
//!
//! # Map of the crate
//!
//! | module | what it owns |
//! |---|---|
//! | `task/` | the task core: the header (and the thin form of a task's stored output), [`Task`]/[`TaskRef`], making a task on a loop, the current task, the per-loop registry, [`sleep`], [`run`], the task tree; it names nothing of the runtime |
//! | [`runtime`] | the multi-thread work-stealing runtime, built on the task core (its worker loops' registries link back to it through the core's `SchedulerLink`) |
//! | `spawning.rs` | [`spawn`], [`create_task`], [`spawn_local`], [`TaskBuilder`]: where the task core and the runtime meet (a `Send` task inside a runtime goes to the runtime, any other to the running loop) |
//! | `threadsafe.rs` | [`run_coroutine_threadsafe`] and its [`ConcurrentFuture`] |
//! | `combinators/` | [`TaskGroup`], [`gather`], [`wait`], [`as_completed`], [`shield`], [`timeout`], [`wait_for`], [`catch_cancel`] |
//! | [`error`] | the errors |
//! | `loom.rs` | the loom shim: std's synchronisation types, loom's under `cfg(loom)` |
#![doc(test(attr(deny(warnings))))]

mod combinators;
pub mod error;
mod loom;
pub mod runtime;

pub use combinators::as_completed::{AsCompleted, AsCompletedTimeout, as_completed};
pub use combinators::catch::{CatchCancel, Reraise, catch_cancel, reraise};
pub use combinators::gather::{
    Gather, GatherSettled, TryGather, gather, gather_settled, try_gather,
};
pub use combinators::shield::{Shield, shield};
pub use combinators::taskgroup::{ChildTask, TaskGroup, TaskGroupRun};
pub use combinators::timeout::{
    CancelOnDrop, Timeout, TimeoutHandle, TimeoutScope, timeout, timeout_at, timeout_scope,
    timeout_scope_at, wait_for, wait_for_task,
};
pub use combinators::wait::{ReturnWhen, Wait, wait};

mod task;
/// A real task header outside any task, for the loom models (`tests/loom_cancel.rs`,
/// `tests/loom_extra.rs`).
#[cfg(loom)]
#[doc(hidden)]
pub use task::header_model;
/// The task registry's slot table, for the loom models (`tests/loom_registry.rs`).
#[cfg(loom)]
#[doc(hidden)]
pub use task::slots;

pub use task::{
    LoopTaskOptions, Sleep, Task, TaskId, TaskRef, TaskState, all_tasks, current_task,
    get_task_factory, set_task_factory, sleep, sleep_until,
};

pub use task::{TaskNode, TaskTree, install_task_tree_dump, run, task_tree, task_tree_of};

mod spawning;
pub use spawning::{TaskBuilder, create_task, spawn, spawn_local};

mod threadsafe;
pub use threadsafe::{ConcurrentFuture, run_coroutine_threadsafe};
