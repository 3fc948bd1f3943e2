//! The loom shim: std's atomics and mutex normally, loom's under `cfg(loom)`.
//!
//! Every atomic and mutex that crosses threads goes through here so the models in
//! `tests/loom_*.rs` check the same code that ships.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};
