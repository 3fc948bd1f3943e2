//! The loom shim: std's synchronisation types normally, loom's under `cfg(loom)`.
//!
//! Every atomic, mutex and shared cell in the crate that crosses threads comes from here, so the
//! models in `tests/loom_*.rs` check the same code that ships.
#![allow(unused_imports, dead_code)]

#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};

pub(crate) use tower_coro::poison_free::{Condvar, Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// `std::cell::UnsafeCell` with loom's closure-based access API, so that loom can track every
/// read and write of a shared slot.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    pub(crate) fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a shared pointer to the contents.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with an exclusive pointer to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// The pointer in `atomic`, read through `&mut` (nothing else can touch it): std's `get_mut`,
/// loom's `with_mut`.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn ptr_get_mut<T>(atomic: &mut AtomicPtr<T>) -> *mut T {
    *atomic.get_mut()
}

/// The pointer in `atomic`, read through `&mut` (nothing else can touch it): std's `get_mut`,
/// loom's `with_mut`.
#[cfg(loom)]
pub(crate) fn ptr_get_mut<T>(atomic: &mut AtomicPtr<T>) -> *mut T {
    atomic.with_mut(|p| *p)
}

/// Under loom, a value loom tracks for leaks (`loom::alloc::Track`): a structure that holds one
/// and is never dropped fails the model ("Allocation leaked"). Made with `Default`, so a
/// structure that derives `Default` can carry one in a `cfg(loom)` field.
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct LeakProbe(loom::alloc::Track<()>);

#[cfg(loom)]
impl Default for LeakProbe {
    fn default() -> Self {
        LeakProbe(loom::alloc::Track::new(()))
    }
}

/// Between a `SeqCst` access and a following `SeqCst` access to another atomic, where the code
/// relies on `SeqCst` ordering them (a store-then-load handshake: of two threads each storing to
/// one atomic and then loading the other, at least one sees the other's store): nothing in a
/// normal build, where the accesses' own `SeqCst` does it; a `SeqCst` fence under loom, which
/// treats `SeqCst` accesses as acquire/release only but models `SeqCst` fences (its README's
/// unsupported features; tokio-rs/loom#180) — so a model gets the ordering the real build has.
#[inline(always)]
pub(crate) fn seq_cst_handshake() {
    #[cfg(loom)]
    fence(Ordering::SeqCst);
}

/// Statistics counters (runtime metrics) bypass loom on purpose: they are never read to make a
/// scheduling decision, and modelling them would only multiply the interleavings loom explores.
pub(crate) use std::sync::atomic::AtomicU64 as StatU64;
