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
//! - Inside, each worker has a bounded lock-free local queue that others steal half of, a LIFO
//!   slot for the task woken last, the global injector, and the idle bookkeeping of searching
//!   and sleeping workers; a worker sleeps in its loop's reactor, so timers and I/O work on
//!   every worker. The workers' loops share one I/O driver (`tower_loop::IoDriver`): the
//!   `Async` sources made on any worker are polled by the worker that blocks, so a worker with
//!   nothing to run serves the sockets of a busy one (docs/decisions/0011-multi-thread-io.md).
//! - Every `Send` task is registered in the task registry of the worker loop that spawned it
//!   (of the first worker's, from outside); the registry links back to the runtime through the
//!   task core's `SchedulerLink`, which is how a task's schedule function, capturing nothing,
//!   finds it. At shutdown each worker closes its loop once no worker polls any more (`exit`),
//!   and the registry's close drops every task it holds, pending ones included.
//!
//! # Map of the module
//!
//! | file | what it owns |
//! |---|---|
//! | `builder.rs` | [`RuntimeBuilder`]: starting the worker threads, and each thread's body (its loop, a member of the runtime's I/O driver, with the worker as work source) |
//! | `rt.rs` | [`Runtime`]: the owner of the worker threads; shutdown and joining |
//! | `handle.rs` | [`RuntimeHandle`]: spawn, `block_on`, metrics from any thread; `entered`, where `tower_task::spawn` sends `Send` tasks |
//! | `spawn.rs` | `spawn_on`, the spawn path of every `Send` task of a runtime; [`spawn_local`] |
//! | `context.rs` | which runtime this thread is in: the current worker (thread-local), the runtime `block_on` entered |
//! | `schedule.rs` | the schedule functions (wake-ups and first schedules: local push or injector), and the `SchedulerLink` a worker's registry holds |
//! | `shared.rs` | `Shared`, the state workers and handles share: per-worker stealers, wake-ups and counters, the injector, the idle bookkeeping, the shutdown flag |
//! | `worker.rs` | `Worker`, one worker thread's own state (LIFO slot, local queue, flags): local scheduling, searching, sleeping |
//! | `worker/work_source.rs` | the `WorkSource` hook the worker's loop calls: fill a batch, the next LIFO task, before and after blocking |
//! | `queue.rs` | the bounded lock-free local run queue and its stealers |
//! | `inject.rs` | the global injector |
//! | `idle.rs` | searching and sleeping workers, no lost wake-up |
//! | `exit.rs` | the workers' exit rendezvous at shutdown |
//! | `metrics.rs` | [`RuntimeMetrics`], [`WorkerMetrics`] and the live counters |
//! | `error.rs` | the runtime's errors |
//! | `model.rs` | the scheduler without threads or loops, for the loom models (`cfg(loom)` only) |
//!
//! `queue`, `inject`, `idle` and `model` are private; under `cfg(loom)` they are exported
//! (hidden) for the models in `tests/loom_*.rs`.
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

mod builder;
mod context;
pub mod error;
mod exit;
mod handle;
mod metrics;
mod rt;
mod schedule;
mod shared;
mod spawn;
mod worker;

// The scheduler's internals; public (hidden) only for the loom models in `tests/loom_*.rs`.
#[cfg(not(loom))]
mod idle;
#[cfg(loom)]
#[doc(hidden)]
pub mod idle;
#[cfg(not(loom))]
mod inject;
#[cfg(loom)]
#[doc(hidden)]
pub mod inject;
#[cfg(loom)]
#[doc(hidden)]
pub mod model;
#[cfg(not(loom))]
mod queue;
#[cfg(loom)]
#[doc(hidden)]
pub mod queue;

/// The handle [`Runtime::spawn`] returns: the task core's [`Task`](crate::Task) (kept as a
/// name for code written against the first runtime).
pub type JoinHandle<T> = crate::Task<T>;
pub use builder::RuntimeBuilder;
pub use handle::RuntimeHandle;
pub(crate) use handle::entered;
pub use metrics::{RuntimeMetrics, WorkerMetrics};
pub use rt::Runtime;
pub use spawn::spawn_local;
