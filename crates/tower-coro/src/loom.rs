//! The loom shim: std's atomics normally, loom's under `cfg(loom)`.
//!
//! Every atomic in the crate comes from here (and every lock from [`poison_free`](crate::poison_free),
//! which switches the same way), so the loom models in `tests/loom_*.rs` check the code that ships.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};
