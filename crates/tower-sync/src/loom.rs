//! The loom shim: the same synchronisation code runs on `std` normally and on `loom` under
//! `--cfg loom`, so the models in `tests/loom_*.rs` check the real state machines.
//!
//! Every atomic and every internal mutex of the crate comes from here. The mutexes are
//! poison-free: a panic while one is held cannot leave the protected state half-written in a
//! way the crate relies on, because no crate code panics while holding one.

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
/// Internal shared ownership (handles of queues and channels); public `_arc` APIs take
/// `std::sync::Arc` and are not modelled.
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};

pub(crate) use tower_coro::poison_free::{Mutex, MutexGuard, RwLock, RwLockReadGuard};
