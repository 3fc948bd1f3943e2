//! Tier 5 of the tower: the blocking pool and async subprocesses — asyncio's
//! `run_in_executor`/`to_thread` and `subprocess.py`.
//!
//! `tower-exec` owns:
//!
//! - **the blocking pool**: [`to_thread`], [`run_in_executor`] and their cancellable variants
//!   ([`to_thread_cancellable`], handing the closure a [`CancelToken`]), all resolving through the
//!   named future [`Blocking`]; a panic in the closure comes back as
//!   [`BlockingError::Panicked`](error::BlockingError::Panicked). The default executor is an
//!   adaptive [`ThreadPool`] (grows under load up to a maximum, idle threads exit after a timeout,
//!   threads named `tower-blocking-N`); the [`Executor`] trait lets you pass your own;
//!   [`shutdown_default_executor`] stops it.
//!
//! The blocking pool needs no event loop: its futures complete through their waker, so they run
//! under `tower_loop`, [`tower_coro::block_on`] or any other executor.
//!
//! # Examples
//!
//! ```
//! use tower_exec::to_thread;
//! use tower_loop::EventLoop;
//!
//! let lp = EventLoop::new().unwrap();
//! let (a, b) = lp
//!     .run_until_complete(tower_coro::join(
//!         to_thread(|| 6 * 7),
//!         to_thread(|| "blocking work, off the loop"),
//!     ))
//!     .unwrap();
//! assert_eq!(a.unwrap(), 42);
//! assert_eq!(b.unwrap(), "blocking work, off the loop");
//! lp.close().unwrap();
//! ```
#![doc(test(attr(deny(warnings))))]

mod cancel_token;
mod default;
pub mod error;
mod executor;
mod handoff;
mod loom;
mod pool;
mod process;
mod to_thread;

pub use crate::cancel_token::CancelToken;
pub use crate::default::{
    ShutdownDefaultExecutor, default_executor, set_default_executor, shutdown_default_executor,
};
pub use crate::executor::{Executor, Job};
pub use crate::pool::{
    Builder as ThreadPoolBuilder, DEFAULT_IDLE_TIMEOUT, DEFAULT_THREAD_NAME, ThreadPool,
    default_max_threads,
};
pub use crate::process::child::{Communicate, Output, Process, Wait};
pub use crate::process::command::{
    Command, Stdio, create_subprocess_exec, create_subprocess_shell,
};
pub use crate::process::pipe::{PipeReader, PipeWriter, Read, ReadToEnd, Write, WriteAll};
pub use crate::to_thread::{
    Blocking, run_in_executor, run_in_executor_cancellable, to_thread, to_thread_cancellable,
};
