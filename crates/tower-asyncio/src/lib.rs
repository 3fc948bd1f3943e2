//! The tower: Python's `asyncio`, tier by tier, in Rust.
//!
//! This facade re-exports each tier behind a cargo feature of the same name (all on by default):
//!
//! | module | feature | tier | asyncio |
//! |---|---|---|---|
//! | [`coro`] | `coro` | 1 — [`tower_coro`] | coroutines, `await` |
//! | [`event_loop`] | `loop` | 2 — [`tower_loop`] | `events.py`, `base_events.py` |
//! | [`future`] | `future` | 3 — [`tower_future`] | `futures.py` |
//! | [`task`] | `task` | 4 — [`tower_task`] | `tasks.py`, `taskgroups.py`, `timeouts.py`, `runners.py` |
//! | [`exec`] | `exec` | 5 — [`tower_exec`] | `run_in_executor`, `to_thread`, `subprocess.py` |
//! | [`sync`] | `sync` | 6 — [`tower_sync`] | `queues.py`, `locks.py` |
//!
//! Depend on a single tier's crate instead to pull in only that tier (and the tiers below it
//! that it needs).
//!
//! The names a program reaches for first are also here at the top, as `import asyncio` has
//! them: [`run`], [`sleep`], [`spawn`], [`TaskGroup`], [`timeout`], [`Queue`], [`to_thread`], ...
//!
//! ```
//! use std::time::Duration;
//!
//! let answer = tower_asyncio::run(async {
//!     let task = tower_asyncio::spawn(async {
//!         tower_asyncio::sleep(Duration::from_millis(1)).await;
//!         6 * 7
//!     });
//!     task.await.unwrap()
//! })
//! .unwrap();
//! assert_eq!(answer, 42);
//! ```
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

#[cfg(feature = "coro")]
#[doc(inline)]
pub use tower_coro as coro;

#[cfg(feature = "loop")]
#[doc(inline)]
pub use tower_loop as event_loop;

#[cfg(feature = "future")]
#[doc(inline)]
pub use tower_future as future;

#[cfg(feature = "task")]
#[doc(inline)]
pub use tower_task as task;

#[cfg(feature = "exec")]
#[doc(inline)]
pub use tower_exec as exec;

#[cfg(feature = "sync")]
#[doc(inline)]
pub use tower_sync as sync;

#[cfg(feature = "loop")]
#[doc(inline)]
pub use tower_loop::{EventLoop, get_running_loop};

#[cfg(feature = "task")]
#[doc(inline)]
pub use tower_task::{
    Task, TaskGroup, all_tasks, as_completed, create_task, current_task, gather, run, shield,
    sleep, spawn, spawn_local, task_tree, timeout, timeout_at, wait, wait_for,
};

#[cfg(feature = "exec")]
#[doc(inline)]
pub use tower_exec::{create_subprocess_exec, create_subprocess_shell, run_in_executor, to_thread};

#[cfg(feature = "sync")]
#[doc(inline)]
pub use tower_sync::{
    Barrier, BoundedSemaphore, Condition, Event, LifoQueue, Lock, PriorityQueue, Queue, Semaphore,
};
