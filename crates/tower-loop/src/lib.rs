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
//! - the **reactor**, straight on `epoll` on Linux and on `polling` elsewhere
//!   ([`EventLoop::add_reader`], [`Async`]), and the low-level socket methods;
//! - cross-thread wake-ups ([`LoopHandle::call_soon_threadsafe`]) that cost a syscall only when
//!   the loop is parked ([`park`]);
//! - the exception handler, debug mode, virtual time ([`EventLoopBuilder::paused_clock`]) and the
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
//! The loop's state is [`EventLoop`]'s `Core`: one field per owner below, each changed only
//! through its owner's methods.
//!
//! | file | idea |
//! |---|---|
//! | `event_loop.rs` | [`EventLoop`]: creating it, its clock, `call_soon`/`call_later`/`call_at`/`schedule` |
//! | `builder.rs` | [`EventLoopBuilder`]: a paused clock, debug mode |
//! | `core.rs` | `Core`, the loop-thread state: one field per owner, and the pushes that need two of them |
//! | `run.rs` | `run_until_complete`, `run_forever`, `stop`; the run state (running, stopping) |
//! | `iteration.rs` | one iteration (asyncio's `_run_once`): collect, wait, fire timers, run the ready batch |
//! | `close.rs` | `close`, `on_close` hooks, what a closing loop releases |
//! | `ready.rs` | the ready queue: its entries, the one-FIFO push, the closed check, remote collection |
//! | `callback.rs` | the callback cells: run once, run on each readiness, sent from any thread |
//! | `handle.rs` | [`CallbackHandle`], [`TimerHandle`], [`ThreadsafeHandle`]: cancelling what `call_*` scheduled |
//! | `loop_handle.rs` | [`LoopHandle`] and the loop's shared half (injector, park word, poller, `IoDriver` membership) |
//! | `context.rs` | the thread-local running loop, [`get_running_loop`], [`with_running_loop`] |
//! | `attached.rs` | higher tiers' per-loop data, [`EventLoop::attached`] |
//! | `timer_queue.rs` | the timer queue: a 4-ary heap with lazy deletion (docs/decisions/0001, 0010) |
//! | `timer.rs` | the [`Timer`] future |
//! | `clock.rs` | real or paused (virtual) time; the time cached for one iteration (docs/decisions/0010) |
//! | `reactor.rs` | fd registrations (edge-triggered for `sock_*`, level for callbacks), cached readiness, the batched probe of TCP reads that filled their buffers, event dispatch, when to poll for fairness |
//! | `reactor/backend.rs` | the OS poller: `epoll` through `rustix` on Linux, `polling` elsewhere |
//! | `reactor/fd_table.rs` | the loop-thread fd table: entries indexed by fd number (hashed above 2^16) |
//! | `reactor/waiters.rs` | the waiters of an fd, each with its own id (loom-checked) |
//! | `reactor/driver.rs` | [`IoDriver`]: a multi-thread runtime's shared poller for its loops' [`Async`] sources, polled by the member that blocks (docs/decisions/0011; its role word loom-checked) |
//! | `io.rs` | `add_reader`, `add_writer`, `remove_reader`, `remove_writer` |
//! | `async_fd.rs` | [`Async`]: `Send` fd readiness |
//! | `async_io_traits.rs` | `futures-io`'s `AsyncRead`/`AsyncWrite` on `Async<T>` and `&Async<T>` |
//! | `connect.rs` | [`Async::<TcpStream>::connect`](Async::connect), `Async::<UnixStream>::connect`: a `Send` async connect; starting a connect, `EAGAIN` retried after a pause (shared with `sock_connect`) |
//! | `sock.rs` | `sock_recv`, `sock_sendall`, `sock_accept`, `sock_connect`… |
//! | `sock/datagram.rs` | `sock_sendto`, `sock_recvfrom`, `sock_recvfrom_into` |
//! | `signals.rs` | `add_signal_handler` (self-pipe), restoring a signal's disposition |
//! | `pipe.rs` | [`pipe`], [`nonblocking_pipe`]: pipes closed on `exec`, one `pipe2` where there is one |
//! | `exception.rs` | the exception handler and its context |
//! | `debug.rs` | debug mode: settings, slow-callback reports, the timed run of an item |
//! | `park.rs` | the park/notify protocol, the iteration's wait-and-collect order and the probe before a blocking poll, loom-checked |
//! | `work_source.rs` | the [`WorkSource`] hook for the multi-threaded runtime |
//! | `abstract_loop.rs` | the object-safe [`AbstractEventLoop`] trait |
//! | `any_runnable.rs` | [`AnyRunnable`]: a runnable of any metadata type |
//! | `error.rs`, `loom.rs` | errors; the loom shim |
#![doc(test(attr(deny(warnings))))]

mod abstract_loop;
mod any_runnable;
mod async_fd;
mod async_io_traits;
mod async_recv;
mod attached;
mod builder;
mod callback;
mod clock;
mod close;
mod connect;
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
mod pipe;
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
pub use async_recv::RecvSocket;
pub use builder::EventLoopBuilder;
pub use context::{get_running_loop, running_loop_debug, with_running_loop};
pub use debug::{DEFAULT_SLOW_CALLBACK_DURATION, add_poll_detail, set_poll_label};
pub use event_loop::EventLoop;
pub use exception::{ContextKind, ExceptionContext, ExceptionHandler};
pub use handle::{CallbackHandle, ThreadsafeHandle, TimerHandle};
pub use loop_handle::LoopHandle;
pub use pipe::{nonblocking_pipe, pipe};
/// The shared poller of a multi-thread runtime's loops ([`IoDriver`]) and its role word
/// ([`DriverRole`](io_driver::DriverRole), public for the loom model `tests/loom_driver.rs`).
pub use reactor::driver as io_driver;
pub use reactor::driver::IoDriver;
pub use sock::{
    SockAccept, SockConnect, SockRecv, SockRecvFrom, SockRecvFromInto, SockRecvInto, SockSendAll,
    SockSendTo, accept_nonblocking, nonblocking_socket,
};
pub use timer::Timer;
pub use work_source::{FILL_BUDGET, WorkSource};

/// The reactor's waiter bookkeeping, for the loom models (`tests/loom_waiters.rs`).
#[cfg(loom)]
#[doc(hidden)]
pub use reactor::waiters;

/// A task's runnable, as scheduled on the loop (re-exported from `async-task`).
pub use async_task::Runnable;
