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
//! - **subprocesses** on the event loop: [`create_subprocess_exec`], [`create_subprocess_shell`]
//!   and the [`Command`] builder ([`Stdio::Pipe`], [`Stdio::DevNull`], [`Stdio::Inherit`], stderr
//!   → [`Stdio::Stdout`]; cwd, env, process group, kill-on-drop); [`Process`] with `pid`,
//!   `returncode`, [`wait`](Process::wait), [`communicate`](Process::communicate) (feeds stdin and
//!   drains stdout and stderr together), signals; its pipes are [`PipeWriter`]/[`PipeReader`]
//!   (`futures-io` traits) on [`tower_loop::Async`]. Children are reaped through a pidfd (Linux ≥
//!   5.3) registered with the loop, with a watcher-thread fallback, and a process-wide reaper for
//!   children whose `Process` was dropped: never a zombie. [`Command::spawn_raw`] gives a
//!   [`RawChild`] instead — plain pipe fds and an exit fd to watch, bound to no loop — for
//!   code driven by loop callbacks (tier 7's subprocess transport).
//! - **debug mode** for blocking calls: [`blocking_call`] names a blocking call made on the loop
//!   thread that exceeds the loop's slow-callback threshold.
//!
//! The blocking pool needs no event loop: its futures complete through their waker, so they run
//! under `tower_loop`, [`tower_coro::block_on`] or any other executor. Subprocesses need a running
//! `tower_loop::EventLoop` to spawn on.
//!
//! The default executor is process-wide (asyncio's is per loop), so closing one loop does not
//! stop it: call [`shutdown_default_executor`] when the program is done with it, as `asyncio.run`
//! does before it closes its loop.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use tower_exec::{Command, Stdio, shutdown_default_executor, to_thread};
//! use tower_loop::EventLoop;
//!
//! let lp = EventLoop::new().unwrap();
//! let (sum, out) = lp
//!     .run_until_complete(async {
//!         // Blocking work off the loop, and a child process, at the same time.
//!         let sum = to_thread(|| (1..=100u32).sum::<u32>());
//!         let mut child = Command::new("sh")
//!             .args(["-c", "read line; echo \"got $line\""])
//!             .stdin(Stdio::Pipe)
//!             .stdout(Stdio::Pipe)
//!             .spawn()
//!             .unwrap();
//!         let (sum, out) = tower_coro::join(sum, child.communicate(Some(b"hello\n"))).await;
//!         shutdown_default_executor(Duration::from_secs(5)).await.unwrap();
//!         (sum.unwrap(), out.unwrap())
//!     })
//!     .unwrap();
//! assert_eq!(sum, 5050);
//! assert_eq!(out.stdout, b"got hello\n");
//! assert_eq!(out.returncode, 0);
//! lp.close().unwrap();
//! ```
#![doc(test(attr(deny(warnings))))]

mod cancel_token;
mod debug;
mod default;
pub mod error;
mod executor;
mod handoff;
mod loom;
mod pool;
mod process;
mod to_thread;

pub use crate::cancel_token::CancelToken;
pub use crate::debug::blocking_call;
pub use crate::default::{
    ShutdownDefaultExecutor, default_executor, set_default_executor, shutdown_default_executor,
};
pub use crate::executor::{Executor, Job};
pub use crate::pool::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_THREAD_NAME, ThreadPool, ThreadPoolBuilder, default_max_threads,
};
pub use crate::process::child::{Communicate, Output, Process, Wait};
pub use crate::process::command::{
    Command, Spawn, Stdio, create_subprocess_exec, create_subprocess_shell,
};
pub use crate::process::pipe::{PipeReader, PipeWriter, Read, ReadToEnd, Write, WriteAll};
pub use crate::process::raw::RawChild;
pub use crate::to_thread::{
    Blocking, run_in_executor, run_in_executor_cancellable, to_thread, to_thread_cancellable,
};
