//! The registry of live `Send` tasks: one waker per task, so that shutdown can reach (and drop)
//! every task still pending, even one no one else will ever wake.
//!
//! `async-task` frees a pending task whose handle and wakers are all gone *without dropping its
//! future*; holding one waker per suspended task here prevents that, and lets shutdown wake them
//! all: each wake schedules the task, the schedule function sees the shutdown and drops the
//! runnable, which drops the future (async-executor keeps its `active` slab for the same reason).
//!
//! A task registers **the first time it returns `Pending`**, not at spawn: a task that completes
//! in its first poll (most spawned tasks in fan-out code) never touches the registry, and a
//! task that never ran is reachable through the queue that holds it.
//!
//! # Who may touch which field
//!
//! - Each shard (a slab of wakers, its free list, its closed flag) is touched only under its
//!   mutex. A task is registered in the shard of the worker that spawns it (shard 0..n by a
//!   counter from outside the workers), so spawns on different workers take different locks.
//! - Wakers removed from a shard are dropped or woken only after its guard is released.

use std::fmt;
use std::task::Waker;

use crate::loom::{Mutex, lock};

/// Where a task's waker is registered: shard and slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    /// Shard index.
    shard: u32,
    /// Slot in the shard.
    slot: u32,
}

/// One shard of the registry.
#[derive(Default)]
struct Shard {
    /// Wakers of live tasks; `None` for a free slot.
    slots: Vec<Option<Waker>>,
    /// Free slots.
    free: Vec<u32>,
    /// Set by [`Owned::close`]: nothing is registered any more.
    closed: bool,
}

/// The registry (see the module docs).
pub(crate) struct Owned {
    /// The shards.
    shards: Box<[Mutex<Shard>]>,
}

impl fmt::Debug for Owned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Owned")
            .field("shards", &self.shards.len())
            .finish()
    }
}

impl Owned {
    /// A registry with `n` shards (n > 0).
    pub(crate) fn new(n: usize) -> Owned {
        Owned {
            shards: (0..n.max(1))
                .map(|_| Mutex::new(Shard::default()))
                .collect(),
        }
    }

    /// Registers `waker` in shard `shard` (modulo the shard count); `None` if the registry is
    /// closed (shutdown has begun).
    pub(crate) fn insert(&self, shard: usize, waker: Waker) -> Option<Key> {
        let shard_index = shard % self.shards.len();
        let mut g = lock(&self.shards[shard_index]);
        if g.closed {
            drop(g);
            drop(waker);
            return None;
        }
        let slot = match g.free.pop() {
            Some(slot) => slot,
            None => {
                g.slots.push(None);
                (g.slots.len() - 1) as u32
            }
        };
        g.slots[slot as usize] = Some(waker);
        Some(Key {
            shard: shard_index as u32,
            slot,
        })
    }

    /// Unregisters `key`, returning its waker (for the caller to drop outside the lock).
    pub(crate) fn remove(&self, key: Key) -> Option<Waker> {
        let shard = self.shards.get(key.shard as usize)?;
        let mut g = lock(shard);
        if g.closed {
            return None;
        }
        let waker = g.slots.get_mut(key.slot as usize)?.take();
        if waker.is_some() {
            g.free.push(key.slot);
        }
        waker
    }

    /// Closes every shard and returns every registered waker (to wake after the locks).
    pub(crate) fn close(&self) -> Vec<Waker> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let mut g = lock(shard);
            g.closed = true;
            g.free.clear();
            all.extend(std::mem::take(&mut g.slots).into_iter().flatten());
        }
        all
    }

    /// Live tasks registered (locks every shard; for metrics).
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let g = lock(s);
                g.slots.len() - g.free.len()
            })
            .sum()
    }
}

pin_project_lite::pin_project! {
    /// A task's future with its registration: registers the task's waker the first time the
    /// future returns `Pending`, unregisters when the future is dropped (on completion, or when
    /// the task is cancelled).
    pub(crate) struct Tracked<F> {
        #[pin]
        pub(crate) future: F,
        pub(crate) registration: Option<Deregister>,
    }
}

impl<F> Tracked<F> {
    /// Wraps `future`, unregistered.
    pub(crate) fn new(future: F) -> Self {
        Tracked {
            future,
            registration: None,
        }
    }
}

impl<F: std::future::Future> std::future::Future for Tracked<F> {
    type Output = F::Output;

    #[inline]
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.project();
        let poll = this.future.poll(cx);
        if poll.is_pending() && this.registration.is_none() {
            *this.registration = super::worker::register_suspended(cx.waker());
        }
        poll
    }
}

/// Removes a task's waker from the registry when dropped.
pub(crate) struct Deregister {
    /// The registration.
    pub(crate) key: Key,
    /// The runtime holding the registry, through the registering worker's spawner (whose
    /// reference count that worker mostly touches alone).
    pub(crate) spawner: crate::loom::Arc<super::worker::Spawner>,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        // Dropped after the shard's lock is released.
        let waker = self.spawner.shared.owned.remove(self.key);
        drop(waker);
    }
}
