//! The multi-threaded runtime: N worker threads, each running its own `tower_loop::EventLoop`,
//! with `Send` tasks balanced between them by work stealing (asyncio has one loop per thread;
//! this is "many cores: many loops").
//!
//! - [`RuntimeBuilder`] starts the workers; [`Runtime`] owns them and shuts them down on drop;
//!   [`RuntimeHandle`] spawns onto them from anywhere.
//! - [`Runtime::spawn`] / [`RuntimeHandle::spawn`] run a `Send` future on some worker and return the
//!   task core's [`Task`](crate::Task) (cancel with a message, names, done callbacks); inside
//!   the runtime (a task, or `block_on`) plain [`tower_task::spawn`](crate::spawn) does the same,
//!   so `TaskGroup`, `gather` and `shield` are balanced over the workers. [`spawn_local`] (and
//!   [`tower_task::spawn_local`](crate::spawn_local)) run a `!Send` future on the current
//!   thread's loop. `current_task`, `all_tasks` and the task tree on any worker see every task
//!   of the runtime.
//! - Inside, each worker has a bounded lock-free [`queue`] that others steal half of, a LIFO slot
//!   for the task woken last, the global [`inject`]or, and [`idle`] bookkeeping of searching and
//!   sleeping workers; a worker sleeps in its loop's reactor, so timers and I/O work on every
//!   worker.
//! - Every `Send` task is registered in the task registry of the worker loop that spawned it
//!   (of the first worker's, from outside); the registry links back to the runtime, which is
//!   how a task's schedule function, capturing nothing, finds it. At shutdown each worker
//!   closes its loop once no worker polls any more (`exit`), and the registry's close drops
//!   every task it holds, pending ones included.
//!
//! ```
//! use tower_task::runtime::RuntimeBuilder;
//!
//! let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
//! let total = rt
//!     .block_on(async {
//!         let tasks: Vec<_> = (0..100u64)
//!             .map(|i| rt.spawn(async move { tower_coro::yield_now().await; i }))
//!             .collect();
//!         let mut total = 0;
//!         for t in tasks {
//!             total += t.await.unwrap();
//!         }
//!         total
//!     })
//!     .unwrap();
//! assert_eq!(total, 4950);
//! assert_eq!(rt.metrics().spawned(), 100);
//! ```

pub mod error;
mod exit;
pub mod idle;
pub mod inject;
pub mod metrics;
#[doc(hidden)]
pub mod model;
pub mod queue;
mod rt;
mod worker;

/// The handle [`Runtime::spawn`] returns: the task core's [`Task`](crate::Task) (kept as a
/// name for code written against the first runtime).
pub type JoinHandle<T> = crate::Task<T>;
pub use metrics::{RuntimeMetrics, WorkerMetrics};
pub(crate) use rt::entered;
pub use rt::{Runtime, RuntimeBuilder, RuntimeHandle, spawn_local};
pub(crate) use worker::RuntimeLink;
