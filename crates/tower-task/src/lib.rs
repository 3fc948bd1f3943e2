//! Tier 4 of the tower: tasks and the multi-core runtime — asyncio's `tasks.py`,
//! `taskgroups.py`, `timeouts.py` and `runners.py`.
//!
//! The [`runtime`] module runs one `tower_loop::EventLoop` per worker thread and balances
//! `Send` tasks between them by work stealing.
#![doc(test(attr(deny(warnings))))]

pub mod error;
mod loom;
pub mod runtime;

mod task;

pub use task::{
    Builder, Sleep, Task, TaskFactory, TaskId, TaskRef, TaskState, all_tasks, create_task,
    current_task, get_task_factory, set_task_factory, sleep, sleep_until, spawn, spawn_local,
};
