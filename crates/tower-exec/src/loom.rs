//! The loom shim: std's synchronisation types normally, loom's under `cfg(loom)`.
//!
//! Every atomic, mutex, condition variable and thread spawn of the pool's hand-off comes from
//! here, so `tests/loom_pool.rs` checks the code that ships. The mutex is poison-free: no crate
//! code runs user closures while holding one, so a panic cannot leave guarded state half-written.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(loom)]
pub(crate) use loom::thread;
#[cfg(not(loom))]
pub(crate) use std::thread;

pub(crate) use tower_coro::poison_free::{Condvar, Mutex, MutexGuard};
