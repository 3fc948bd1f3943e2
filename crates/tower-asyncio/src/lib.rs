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
//! | [`transport`] | `transport` | 7 — [`tower_transport`] | `transports.py`, the transports of `selector_events.py` |
//! | [`protocol`] | `protocol` | 8 — [`tower_protocol`] | `protocols.py`, the connection factories of `base_events.py` |
//! | `protocol::tls` | `tls` | 8 — [`tower_protocol`]'s `tls` feature (rustls), and [`tower_stream`]'s (`StreamWriter::start_tls`, `ssl` on the helpers) | `sslproto.py`, `start_tls`, `ssl=` |
//! | [`stream`] | `stream` | 9 — [`tower_stream`] | `streams.py` |
//!
//! Off by default, an adapter rather than a tier: `hyper` re-exports `tower-hyper` as `hyper`
//! (hyper 1.x on the tower: `TowerIo`, `TowerExecutor`, `LocalExecutor`, `TowerTimer`; hyper
//! brings tokio in as a library, see docs/decisions/0016-hyper-adapter.md).
//!
//! Depend on a single tier's crate instead to pull in only that tier (and the tiers below it
//! that it needs).
//!
//! The names a program reaches for first are also here at the top, as `import asyncio` has
//! them: [`run`], [`sleep`], [`spawn`], [`TaskGroup`] and its [`ChildTask`]s, [`timeout`],
//! [`Queue`], [`to_thread`], ...
//!
//! ```
//! use std::time::Duration;
//! use tower_asyncio::{TaskGroup, sleep, timeout};
//!
//! type BoxError = Box<dyn std::error::Error + Send + Sync>;
//!
//! fn main() -> Result<(), BoxError> {
//!     // The group ends only once every task created in it has ended.
//!     let answer = tower_asyncio::run(TaskGroup::run(|tg| async move {
//!         let six = tg.create_task(async { Ok::<_, BoxError>(6) })?;
//!         let seven = tg.create_task(async {
//!             sleep(Duration::from_millis(1)).await;
//!             Ok(7)
//!         })?;
//!         // A timeout's error, a task's error and the children's: each is one `?`.
//!         let seven = timeout(Duration::from_secs(1), seven).await??;
//!         Ok::<_, BoxError>(six.await? * seven)
//!     }))??;
//!     assert_eq!(answer, 42);
//!     Ok(())
//! }
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

#[cfg(feature = "transport")]
#[doc(inline)]
pub use tower_transport as transport;

#[cfg(feature = "protocol")]
#[doc(inline)]
pub use tower_protocol as protocol;

#[cfg(feature = "stream")]
#[doc(inline)]
pub use tower_stream as stream;

/// hyper 1.x on the tower (the `hyper` feature, off by default; docs/decisions/0016).
#[cfg(feature = "hyper")]
pub use tower_hyper as hyper;

#[cfg(feature = "loop")]
#[doc(inline)]
pub use tower_loop::{EventLoop, get_running_loop};

#[cfg(feature = "task")]
#[doc(inline)]
pub use tower_task::{
    ChildTask, Task, TaskGroup, all_tasks, as_completed, catch_cancel, create_task, current_task,
    gather, reraise, run_coroutine_threadsafe, shield, sleep, spawn, spawn_local, task_tree,
    timeout, timeout_at, wait, wait_for,
};

/// How long [`run`] waits for the default executor's threads at the end (asyncio's
/// `THREAD_JOIN_TIMEOUT`).
#[cfg(all(feature = "task", feature = "exec"))]
pub const THREAD_JOIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Runs `main` on a fresh event loop and tears everything down, as `asyncio.run(main())` does:
/// leftover tasks are cancelled and drained, the default executor is shut down (waiting up to
/// [`THREAD_JOIN_TIMEOUT`] for its threads; with the `exec` feature), and the loop is closed.
///
/// # Errors
///
/// [`task::error::RunError`] if a loop is already running on this thread or could not be made.
///
/// # Examples
///
/// ```
/// let out = tower_asyncio::run(async {
///     tower_asyncio::to_thread(|| 2 + 2).await.unwrap()
/// })
/// .unwrap();
/// assert_eq!(out, 4);
/// ```
#[cfg(feature = "task")]
pub fn run<F: std::future::Future>(main: F) -> Result<F::Output, tower_task::error::RunError> {
    #[cfg(feature = "exec")]
    let main = async move {
        let out = main.await;
        // A timeout leaves the stragglers running detached, as asyncio's warning does.
        let _ = tower_exec::shutdown_default_executor(THREAD_JOIN_TIMEOUT).await;
        out
    };
    tower_task::run(main)
}

#[cfg(feature = "exec")]
#[doc(inline)]
pub use tower_exec::{create_subprocess_exec, create_subprocess_shell, run_in_executor, to_thread};

#[cfg(feature = "sync")]
#[doc(inline)]
pub use tower_sync::{
    Barrier, BoundedSemaphore, Condition, Event, LifoQueue, Lock, PriorityQueue, Queue, Semaphore,
};

/// The README's examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
