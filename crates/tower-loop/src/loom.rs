//! The loom shim: std's atomics normally, loom's under `cfg(loom)`.
//!
//! Every atomic that crosses threads goes through here (and every lock through
//! `tower_coro::poison_free`, which switches the same way) so the models in
//! `tests/loom_*.rs` check the same code that ships.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
