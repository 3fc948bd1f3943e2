//! The slot table behind the task registry ([`Registry`](super::registry::Registry)): a set of
//! plain `usize` addresses, owned by one thread, that any thread may insert into and remove
//! from.
//!
//! Inserts and removes on the owner thread (the thread that made the table) touch a `RefCell`ed
//! slab with no lock. Inserts from other threads go into a second slab behind a mutex (their
//! slots carry [`REMOTE_BIT`]); removals from other threads of owner-slab slots are queued under
//! that mutex (`removed`) and flagged in `has_removed`. The owner applies the queued removals
//! under the mutex before it reads owner-slab addresses ([`Slots::for_each`],
//! [`Slots::take_all`]), and on its inserts when `has_removed` is set (so their slots are
//! reused). Hence, an address whose removal returned on any thread is never handed to a reader
//! afterwards: readers run under the mutex, after the drain.
//!
//! The table knows nothing of tasks, headers or loops, so that the loom models in
//! `tests/loom_registry.rs` drive this very code; it is exported (hidden) only under
//! `cfg(loom)`, and is crate-private otherwise.
// The items are `pub` for that `cfg(loom)` export; without it the module is private.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use std::cell::RefCell;
use std::fmt;

use crate::loom::{AtomicBool, Mutex, MutexGuard, Ordering, lock};

/// Slots of addresses.
#[derive(Default)]
struct Slab {
    /// One entry per slot; `None` is free.
    entries: Vec<Option<usize>>,
    /// Free slots.
    free: Vec<usize>,
}

impl Slab {
    /// Stores `addr`, returns its slot.
    fn insert(&mut self, addr: usize) -> usize {
        match self.free.pop() {
            Some(slot) => {
                self.entries[slot] = Some(addr);
                slot
            }
            None => {
                self.entries.push(Some(addr));
                self.entries.len() - 1
            }
        }
    }

    /// Frees `slot`.
    fn remove(&mut self, slot: usize) {
        if self.entries.get_mut(slot).and_then(Option::take).is_some() {
            self.free.push(slot);
        }
    }

    /// Empties the slab, passing each address to `f`.
    fn take_all(&mut self, f: &mut impl FnMut(usize)) {
        self.entries.drain(..).flatten().for_each(&mut *f);
        self.free.clear();
    }
}

/// The high bit of a slot: the entry is in the remote slab.
pub const REMOTE_BIT: usize = 1 << (usize::BITS - 1);

/// What other threads touch, behind the mutex.
#[derive(Default)]
struct RemoteSide {
    /// Addresses inserted from other threads.
    slab: Slab,
    /// Owner-slab slots removed on other threads, not yet freed.
    removed: Vec<usize>,
}

#[cfg(not(loom))]
std::thread_local! {
    /// A per-thread byte whose address identifies the thread (cheaper than `ThreadId`).
    static MARK: u8 = const { 0 };
}

/// This thread's identity: the address of its [`MARK`] (0 during thread teardown).
#[cfg(not(loom))]
fn thread_mark() -> usize {
    MARK.try_with(|m| std::ptr::from_ref(m) as usize)
        .unwrap_or(0)
}

#[cfg(loom)]
loom::thread_local! {
    /// A per-loom-thread number (loom threads share one OS thread, so the address of a std
    /// thread-local would not tell them apart).
    static MARK: usize = {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    };
}

/// This loom thread's identity (0 during thread teardown).
#[cfg(loom)]
fn thread_mark() -> usize {
    MARK.try_with(|m| *m).unwrap_or(0)
}

/// The owner-thread slab: a `RefCell` that only the owner thread touches.
struct OwnerSlab(RefCell<Slab>);

// SAFETY: the `RefCell` is borrowed only on the thread whose mark is `Slots::owner` (every
// access goes through `Slots::local`, which checks), so it is never shared between threads;
// moving or dropping it elsewhere is fine (`Slab` is plain data).
unsafe impl Sync for OwnerSlab {}

/// A set of addresses owned by the thread that made it (see the module docs).
pub struct Slots {
    /// The [`thread_mark`] of the owner thread.
    owner: usize,
    /// Addresses inserted on the owner thread.
    local: OwnerSlab,
    /// Addresses inserted elsewhere, and removals from elsewhere.
    remote: Mutex<RemoteSide>,
    /// Set when `remote.removed` is not empty (checked on the owner's inserts).
    has_removed: AtomicBool,
}

impl fmt::Debug for Slots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slots")
            .field("owner", &self.owner)
            .field("has_removed", &self.has_removed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for Slots {
    fn default() -> Self {
        Self::new()
    }
}

impl Slots {
    /// An empty set, owned by this thread.
    pub fn new() -> Self {
        Slots {
            owner: thread_mark(),
            local: OwnerSlab(RefCell::new(Slab::default())),
            remote: Mutex::new(RemoteSide::default()),
            has_removed: AtomicBool::new(false),
        }
    }

    /// Whether this is the owner thread.
    pub fn is_owner(&self) -> bool {
        thread_mark() == self.owner
    }

    /// The owner-thread slab, if this is the owner thread.
    fn local(&self) -> Option<&RefCell<Slab>> {
        self.is_owner().then_some(&self.local.0)
    }

    /// Locks the remote side (poison-free: no user code runs under it).
    fn remote(&self) -> MutexGuard<'_, RemoteSide> {
        lock(&self.remote)
    }

    /// Frees the owner-slab slots removed on other threads (owner thread, `remote` locked).
    fn drain_removed(local: &mut Slab, remote: &mut RemoteSide) {
        for slot in remote.removed.drain(..) {
            local.remove(slot);
        }
    }

    /// Stores `addr`, returns its slot (for [`remove`](Self::remove), on any thread).
    pub fn insert(&self, addr: usize) -> usize {
        if let Some(local) = self.local() {
            let mut local = local.borrow_mut();
            // A load first: no locked instruction on the common path (nothing removed
            // elsewhere); a flag set just after the load is seen by the next insert.
            if self.has_removed.load(Ordering::Relaxed)
                && self.has_removed.swap(false, Ordering::Acquire)
            {
                Self::drain_removed(&mut local, &mut self.remote());
            }
            local.insert(addr)
        } else {
            self.remote().slab.insert(addr) | REMOTE_BIT
        }
    }

    /// Forgets the address in `slot` (returned by [`insert`](Self::insert)): once this returns,
    /// no reader is handed that address.
    pub fn remove(&self, slot: usize) {
        if slot & REMOTE_BIT != 0 {
            self.remote().slab.remove(slot & !REMOTE_BIT);
        } else if let Some(local) = self.local() {
            local.borrow_mut().remove(slot);
        } else {
            self.remote().removed.push(slot);
            self.has_removed.store(true, Ordering::Release);
        }
    }

    /// Calls `f` with each stored address, in slot order (the owner slab's first), under the
    /// mutex and after the pending removals were applied: an address passed to `f` was not
    /// removed, and is not removed (on any thread) before `f` returns. Off the owner thread,
    /// only the addresses inserted off it.
    pub fn for_each(&self, mut f: impl FnMut(usize)) {
        let mut remote = self.remote();
        if let Some(local) = self.local() {
            let mut local = local.borrow_mut();
            Self::drain_removed(&mut local, &mut remote);
            local.entries.iter().flatten().copied().for_each(&mut f);
        }
        remote.slab.entries.iter().flatten().copied().for_each(f);
    }

    /// Empties the set, calling `f` with each address as [`for_each`](Self::for_each) does.
    /// Off the owner thread, only the addresses inserted off it are taken.
    pub fn take_all(&self, mut f: impl FnMut(usize)) {
        let mut remote = self.remote();
        if let Some(local) = self.local() {
            let mut local = local.borrow_mut();
            Self::drain_removed(&mut local, &mut remote);
            local.take_all(&mut f);
        }
        remote.slab.take_all(&mut f);
    }
}
