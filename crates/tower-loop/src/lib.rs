//! # tower-loop — Tier 2 of the tower: the event loop
//!
//! asyncio's event loop in Rust (`events.py`, `base_events.py`, the loop part of
//! `selector_events.py`): one [`EventLoop`] per thread (`!Send`), reached from anywhere through a
//! `Send + Sync` [`LoopHandle`], and by code it runs through [`get_running_loop`].
//!
//! It owns:
//!
//! - the **ready queue**, holding plain callbacks and tasks (`async_task::Runnable`s of any metadata, as [`AnyRunnable`]) side by side
//!   ([`EventLoop::call_soon`], [`LoopHandle::schedule`]);
//! - the **timers** ([`EventLoop::call_later`], [`EventLoop::call_at`], and the [`Timer`]
//!   future), cheap at 10^6 pending and mostly cancelled;
//! - the **reactor** on `polling` ([`EventLoop::add_reader`], [`Async`]) and the low-level
//!   socket methods;
//! - cross-thread wake-ups ([`LoopHandle::call_soon_threadsafe`]) that cost a syscall only when
//!   the loop is parked ([`park`]);
//! - the exception handler, debug mode, virtual time ([`Builder::paused_clock`]) and the
//!   [`WorkSource`] hook for the multi-threaded runtime.
//!
//! ```
//! use std::time::Duration;
//! use tower_loop::{EventLoop, Timer};
//!
//! let lp = EventLoop::new().unwrap();
//! let handle = lp.handle();
//! let answer = lp
//!     .run_until_complete(async move {
//!         Timer::after(Duration::from_millis(1)).await;
//!         // Spawn a task the way tier 4 does: async-task + the loop's scheduler.
//!         let (runnable, task) = async_task::spawn(async { 6 * 7 }, handle.scheduler());
//!         runnable.schedule();
//!         task.await
//!     })
//!     .unwrap();
//! assert_eq!(answer, 42);
//! lp.close().unwrap();
//! ```
//!
//! ## Map of the crate
//!
//! | file | idea |
//! |---|---|
//! | `event_loop.rs` | [`EventLoop`], [`Builder`], one iteration (`_run_once`) |
//! | `ready.rs` | the ready queue's entries: callbacks and runnables |
//! | `handle.rs` | [`Handle`], [`TimerHandle`], [`ThreadsafeHandle`], [`LoopHandle`] |
//! | `context.rs` | the thread-local running loop, [`get_running_loop`], [`with_running_loop`] |
//! | `attached.rs` | higher tiers' per-loop data, [`EventLoop::attached`] |
//! | `timers.rs` / `timer.rs` | the timer heap (docs/decisions/0001) / the [`Timer`] future |
//! | `clock.rs` | real or paused (virtual) time |
//! | `reactor.rs` | `polling` registrations and event dispatch |
//! | `reactor/waiters.rs` | the waiters of an fd, each with its own id (loom-checked) |
//! | `io.rs` / `async_fd.rs` / `sock.rs` | `add_reader`… / [`Async`] / `sock_*` |
//! | `sock/datagram.rs` | `sock_sendto`, `sock_recvfrom`, `sock_recvfrom_into` |
//! | `signals.rs` | `add_signal_handler` (self-pipe) |
//! | `exception.rs` / `debug.rs` | the exception handler / slow-callback reports |
//! | `park.rs` | the park/notify protocol and the iteration's wait-and-collect order, loom-checked |
//! | `work_source.rs` | the [`WorkSource`] hook for the multi-threaded runtime |
//! | `abstract_loop.rs` | the [`AbstractEventLoop`] trait |
//! | `error.rs`, `loom.rs`, `sync.rs` | errors; the loom shim; a poison-free lock |
#![doc(test(attr(deny(warnings))))]

mod abstract_loop;
mod any_runnable;
mod async_fd;
mod attached;
mod builder;
mod callback;
mod clock;
mod close;
mod context;
mod core;
mod debug;
pub mod error;
mod event_loop;
mod exception;
mod handle;
mod io;
mod iteration;
mod loom;
mod loop_handle;
pub mod park;
mod reactor;
mod ready;
mod run;
mod signals;
mod sock;
mod timer;
mod timer_queue;
mod work_source;

pub use abstract_loop::AbstractEventLoop;
pub use any_runnable::AnyRunnable;
pub use async_fd::{Async, Readiness};
pub use builder::EventLoopBuilder;
pub use context::{get_running_loop, running_loop_debug, with_running_loop};
pub use debug::{DEFAULT_SLOW_CALLBACK_DURATION, add_poll_detail, set_poll_label};
pub use event_loop::EventLoop;
pub use exception::{ContextKind, ExceptionContext, ExceptionHandler};
pub use handle::{CallbackHandle, ThreadsafeHandle, TimerHandle};
pub use loop_handle::LoopHandle;
pub use sock::{
    SockAccept, SockConnect, SockRecv, SockRecvFrom, SockRecvFromInto, SockRecvInto, SockSendAll,
    SockSendTo,
};
pub use timer::Timer;
pub use work_source::{FILL_BUDGET, WorkSource};

/// The reactor's waiter bookkeeping, for the loom models (`tests/loom_waiters.rs`).
#[cfg(loom)]
#[doc(hidden)]
pub use reactor::waiters;

/// A task's runnable, as scheduled on the loop (re-exported from `async-task`).
pub use async_task::Runnable;
