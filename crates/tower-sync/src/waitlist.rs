//! The FIFO list of parked waiters that the fair primitives share: a slab-backed doubly linked
//! list, always used under the owning primitive's mutex, whose entries are either waiting (with
//! the waker to call) or notified (holding what they were granted until their future takes it).
//!
//! Who may touch what: everything here runs under the owner's lock. A notified entry is
//! unlinked from the FIFO but keeps its slot until its future either consumes the grant
//! (`take_notified`) or is dropped (`remove` returns the grant so the owner can pass it on).
//! Wakers are returned to the caller, never called here, so the owner wakes after unlocking.

use std::task::Waker;

/// "No entry" in the links and the free list.
const NIL: usize = usize::MAX;

/// What a slot holds.
#[derive(Debug)]
enum Slot<N> {
    /// Free; the index of the next free slot.
    Vacant(usize),
    /// Linked in the FIFO, waiting; the waker to call when notified.
    Waiting(Option<Waker>),
    /// Unlinked; granted `N`, not yet taken by its future.
    Notified(N),
}

/// One slot of the slab.
#[derive(Debug)]
struct Entry<N> {
    /// The slot's state.
    slot: Slot<N>,
    /// A tag the owner chose at insertion (the RwLock's reader/writer kind).
    tag: u8,
    /// The previous waiting entry, towards the head.
    prev: usize,
    /// The next waiting entry, towards the tail.
    next: usize,
}

/// What [`WaitList::remove`] found in the slot.
#[derive(Debug)]
pub(crate) enum Removed<N> {
    /// The waiter was still queued.
    Waiting,
    /// The waiter had been granted `N`, which the caller must now pass on.
    Notified(N),
}

/// A FIFO of waiters; see the module docs.
#[derive(Debug)]
pub(crate) struct WaitList<N> {
    /// The slab of slots.
    entries: Vec<Entry<N>>,
    /// Head of the free list of vacant slots.
    free: usize,
    /// The oldest waiting entry.
    head: usize,
    /// The newest waiting entry.
    tail: usize,
    /// How many entries are waiting (linked).
    waiting: usize,
    /// How many entries are notified and not yet taken or removed.
    notified: usize,
}

impl<N> Default for WaitList<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N> WaitList<N> {
    /// An empty list; allocates nothing.
    pub(crate) const fn new() -> Self {
        Self {
            entries: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            waiting: 0,
            notified: 0,
        }
    }

    /// No entry is waiting.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting == 0
    }

    /// How many entries are waiting.
    pub(crate) fn len(&self) -> usize {
        self.waiting
    }

    /// No entry at all: none waiting, and none notified whose future has yet to take the
    /// grant or be dropped.
    #[inline]
    pub(crate) fn is_idle(&self) -> bool {
        self.waiting == 0 && self.notified == 0
    }

    /// Takes a vacant slot for a waiting entry.
    fn alloc(&mut self, waker: Waker, tag: u8) -> usize {
        let entry = Entry {
            slot: Slot::Waiting(Some(waker)),
            tag,
            prev: NIL,
            next: NIL,
        };
        if self.free == NIL {
            self.entries.push(entry);
            self.entries.len() - 1
        } else {
            let key = self.free;
            if let Slot::Vacant(next) = self.entries[key].slot {
                self.free = next;
            }
            self.entries[key] = entry;
            key
        }
    }

    /// Queues a waiter at the tail; returns its key.
    pub(crate) fn push_back(&mut self, waker: Waker, tag: u8) -> usize {
        let key = self.alloc(waker, tag);
        self.entries[key].prev = self.tail;
        if self.tail == NIL {
            self.head = key;
        } else {
            self.entries[self.tail].next = key;
        }
        self.tail = key;
        self.waiting += 1;
        key
    }

    /// Queues a waiter at the head (one that was woken but lost its turn); returns its key.
    pub(crate) fn push_front(&mut self, waker: Waker, tag: u8) -> usize {
        let key = self.alloc(waker, tag);
        self.entries[key].next = self.head;
        if self.head == NIL {
            self.tail = key;
        } else {
            self.entries[self.head].prev = key;
        }
        self.head = key;
        self.waiting += 1;
        key
    }

    /// Unlinks a waiting entry from the FIFO.
    fn unlink(&mut self, key: usize) {
        let (prev, next) = (self.entries[key].prev, self.entries[key].next);
        if prev == NIL {
            self.head = next;
        } else {
            self.entries[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.entries[next].prev = prev;
        }
        self.waiting -= 1;
    }

    /// Refreshes the waker of a waiting entry.
    pub(crate) fn set_waker(&mut self, key: usize, waker: &Waker) {
        if let Some(Entry {
            slot: Slot::Waiting(w),
            ..
        }) = self.entries.get_mut(key)
        {
            match w {
                Some(old) if old.will_wake(waker) => {}
                _ => *w = Some(waker.clone()),
            }
        }
    }

    /// If the entry was notified, frees it and returns the grant.
    pub(crate) fn take_notified(&mut self, key: usize) -> Option<N> {
        match self.entries.get(key) {
            Some(Entry {
                slot: Slot::Notified(_),
                ..
            }) => match self.free_slot(key) {
                Slot::Notified(n) => {
                    self.notified -= 1;
                    Some(n)
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Marks a slot vacant and returns what it held.
    fn free_slot(&mut self, key: usize) -> Slot<N> {
        let old = std::mem::replace(&mut self.entries[key].slot, Slot::Vacant(self.free));
        self.free = key;
        old
    }

    /// Frees the entry whatever its state: the waiter is gone (its future was dropped).
    pub(crate) fn remove(&mut self, key: usize) -> Removed<N> {
        match self.entries.get(key).map(|e| &e.slot) {
            Some(Slot::Waiting(_)) => {
                self.unlink(key);
                self.free_slot(key);
                Removed::Waiting
            }
            Some(Slot::Notified(_)) => match self.free_slot(key) {
                Slot::Notified(n) => {
                    self.notified -= 1;
                    Removed::Notified(n)
                }
                _ => Removed::Waiting,
            },
            _ => Removed::Waiting,
        }
    }

    /// The tag of the oldest waiting entry.
    pub(crate) fn front_tag(&self) -> Option<u8> {
        (self.head != NIL).then(|| self.entries[self.head].tag)
    }

    /// Grants `grant` to the oldest waiting entry and returns its waker (call it after
    /// unlocking); `None` if nobody waits.
    pub(crate) fn notify_one(&mut self, grant: N) -> Option<Waker> {
        let key = self.head;
        if key == NIL {
            return None;
        }
        self.unlink(key);
        self.notified += 1;
        match std::mem::replace(&mut self.entries[key].slot, Slot::Notified(grant)) {
            Slot::Waiting(w) => w,
            _ => None,
        }
    }

    /// Grants to every waiting entry, collecting their wakers into `wakers`.
    pub(crate) fn notify_all(&mut self, mut grant: impl FnMut() -> N, wakers: &mut Vec<Waker>) {
        while self.head != NIL {
            if let Some(w) = self.notify_one(grant()) {
                wakers.push(w);
            }
        }
    }
}

/// Calls every waker in `wakers`; for use after the lock that collected them is released.
pub(crate) fn wake_all(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}
