//! [`TimerQueue`]: the loop's pending `call_later`/`call_at` callbacks and [`Timer`](crate::Timer)
//! wakers, by deadline — a binary heap with lazy deletion over a slab of entries with generations.
//!
//! Inserting is `O(log n)`, cancelling is `O(1)` (the slot is freed and its closure or waker
//! dropped at once; the heap entry goes stale and is skipped when it surfaces), and the heap is
//! rebuilt when stale entries outnumber live ones, so 10^6 mostly-cancelled timeouts stay cheap.
//! Equal deadlines pop in insertion order (each insertion gets a fresh sequence number, which
//! also serves as the slot's generation). docs/decisions/0001-timers.md has the figures.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;
use std::task::Waker;
use std::time::Instant;

use crate::callback::Callback;

/// Rebuild the heap once it holds more than this many entries and over half are stale.
const COMPACT_MIN: usize = 1024;

/// Names one timer entry of one loop: its slot and the sequence number it was inserted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerId {
    /// Index in the slab.
    slot: u32,
    /// The entry's sequence number (its generation: a reused slot gets a new one).
    seq: u64,
}

/// What a timer does when it fires.
pub(crate) enum Payload {
    /// `call_later`/`call_at`: push the callback onto the ready queue.
    Callback(Rc<dyn Callback>),
    /// A [`Timer`](crate::Timer) future: wake it.
    Waker(Waker),
}

/// One slab slot.
enum Slot {
    /// In use by the entry inserted with `seq`.
    Live {
        /// The entry's sequence number.
        seq: u64,
        /// What to do when it fires.
        payload: Payload,
    },
    /// Free; the next free slot index (or `u32::MAX`).
    Vacant(u32),
}

/// A heap entry: ordered by deadline, then by sequence (scheduling order).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    /// When it fires.
    when: Instant,
    /// Insertion order; also checked against the slot to detect stale entries.
    seq: u64,
    /// Slab slot of the payload.
    slot: u32,
}

/// The loop's timers. Its state is borrowed only inside its own methods, and what an entry
/// held (a closure, a waker) is dropped after the borrow is released, so dropping it may
/// reach the loop again.
#[derive(Default)]
pub(crate) struct TimerQueue {
    /// The heap and the slab.
    heap: RefCell<Heap>,
}

impl TimerQueue {
    /// Schedules `payload` at `when`.
    #[inline]
    pub(crate) fn insert(&self, when: Instant, payload: Payload) -> TimerId {
        self.heap.borrow_mut().insert(when, payload)
    }

    /// Cancels `id` if it is still pending, dropping its payload now. Stale ids are ignored.
    #[inline]
    pub(crate) fn cancel(&self, id: TimerId) {
        let payload = self.heap.borrow_mut().cancel(id);
        drop(payload);
    }

    /// Replaces the waker of a pending waker entry if it would not wake the same task; `false`
    /// if `id` is not pending (fired, cancelled or stale).
    #[inline]
    pub(crate) fn update_waker(&self, id: TimerId, waker: &Waker) -> bool {
        self.heap.borrow_mut().update_waker(id, waker)
    }

    /// The earliest live deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.borrow_mut().next_deadline()
    }

    /// Pops one live entry due at or before `now`.
    #[inline]
    pub(crate) fn pop_due(&self, now: Instant) -> Option<Payload> {
        self.heap.borrow_mut().pop_due(now)
    }

    /// Live entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.heap.borrow().live
    }

    /// Drops every entry (loop close), after the borrow is released.
    pub(crate) fn clear(&self) {
        let payloads = self.heap.borrow_mut().clear();
        drop(payloads);
    }
}

/// The heap of entries and the slab of their payloads.
struct Heap {
    /// Min-heap of entries, live and stale.
    heap: BinaryHeap<Reverse<Entry>>,
    /// Payloads, indexed by `Entry::slot`.
    slots: Vec<Slot>,
    /// Head of the free list in `slots` (`u32::MAX`: empty).
    free: u32,
    /// Next sequence number.
    next_seq: u64,
    /// Live entries (the heap also holds `heap.len() - live` stale ones).
    live: usize,
}

impl Default for Heap {
    fn default() -> Self {
        Heap {
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            free: u32::MAX,
            next_seq: 0,
            live: 0,
        }
    }
}

impl Heap {
    /// Schedules `payload` at `when`.
    fn insert(&mut self, when: Instant, payload: Payload) -> TimerId {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = if self.free != u32::MAX {
            let slot = self.free;
            if let Slot::Vacant(next) = self.slots[slot as usize] {
                self.free = next;
            }
            self.slots[slot as usize] = Slot::Live { seq, payload };
            slot
        } else {
            self.slots.push(Slot::Live { seq, payload });
            (self.slots.len() - 1) as u32
        };
        self.heap.push(Reverse(Entry { when, seq, slot }));
        self.live += 1;
        TimerId { slot, seq }
    }

    /// Cancels `id` if it is still pending, returning its payload (for the caller to drop
    /// outside any borrow). Stale ids are ignored.
    fn cancel(&mut self, id: TimerId) -> Option<Payload> {
        let payload = self.take(id.slot, id.seq)?;
        if self.heap.len() > COMPACT_MIN && self.heap.len() > 2 * self.live {
            self.compact();
        }
        Some(payload)
    }

    /// Replaces the waker of a pending waker entry if it would not wake the same task.
    fn update_waker(&mut self, id: TimerId, waker: &Waker) -> bool {
        match self.slots.get_mut(id.slot as usize) {
            Some(Slot::Live {
                seq,
                payload: Payload::Waker(w),
            }) if *seq == id.seq => {
                if !w.will_wake(waker) {
                    w.clone_from(waker);
                }
                true
            }
            _ => false,
        }
    }

    /// The earliest live deadline, dropping stale entries from the top.
    fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse(top)) = self.heap.peek() {
            if self.is_live(top.slot, top.seq) {
                return Some(top.when);
            }
            self.heap.pop();
        }
        None
    }

    /// Pops one live entry due at or before `now`.
    fn pop_due(&mut self, now: Instant) -> Option<Payload> {
        loop {
            let Reverse(top) = self.heap.peek()?;
            if !self.is_live(top.slot, top.seq) {
                self.heap.pop();
                continue;
            }
            if top.when > now {
                return None;
            }
            let Reverse(top) = self.heap.pop()?;
            return self.take(top.slot, top.seq);
        }
    }

    /// Drops everything (loop close), returning the payloads to drop outside any borrow.
    fn clear(&mut self) -> Vec<Payload> {
        self.heap.clear();
        self.live = 0;
        self.free = u32::MAX;
        std::mem::take(&mut self.slots)
            .into_iter()
            .filter_map(|slot| match slot {
                Slot::Live { payload, .. } => Some(payload),
                Slot::Vacant(_) => None,
            })
            .collect()
    }

    /// Whether `slot` holds the entry inserted with `seq`.
    fn is_live(&self, slot: u32, seq: u64) -> bool {
        matches!(self.slots.get(slot as usize), Some(Slot::Live { seq: s, .. }) if *s == seq)
    }

    /// Frees `slot` if it holds `seq`, returning the payload.
    fn take(&mut self, slot: u32, seq: u64) -> Option<Payload> {
        if !self.is_live(slot, seq) {
            return None;
        }
        let old = std::mem::replace(&mut self.slots[slot as usize], Slot::Vacant(self.free));
        self.free = slot;
        self.live -= 1;
        match old {
            Slot::Live { payload, .. } => Some(payload),
            Slot::Vacant(_) => None,
        }
    }

    /// Rebuilds the heap without stale entries (`O(n)`).
    fn compact(&mut self) {
        let slots = &self.slots;
        self.heap.retain(|Reverse(e)| {
            matches!(slots.get(e.slot as usize), Some(Slot::Live { seq, .. }) if *seq == e.seq)
        });
    }
}
