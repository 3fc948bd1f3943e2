//! [`TimerQueue`]: the loop's pending `call_later`/`call_at` callbacks and [`Timer`](crate::Timer)
//! wakers, by deadline — a 4-ary min-heap with lazy deletion over a slab of entries with
//! generations.
//!
//! Inserting is `O(log n)` (a slab slot and a heap push), cancelling is `O(1)` (the slot is
//! freed and its closure or waker dropped at once; the heap entry goes stale and is skipped when
//! it surfaces), and the heap is rebuilt when stale entries outnumber live ones, so 10^6
//! mostly-cancelled timeouts stay cheap. Equal deadlines pop in insertion order (each insertion
//! gets a fresh sequence number, which also serves as the slot's generation). Deadlines are kept
//! as nanoseconds since the queue's epoch (24-byte entries, one integer compare), and the heap
//! is 4-ary: half the levels of a binary heap, so popping touches half the cache lines.
//! docs/decisions/0010-timer-clock-and-cancellation.md has the figures.

use std::cell::{Cell, RefCell};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::callback::Callback;

/// Rebuild the heap once it holds more than this many entries and over half are stale.
const COMPACT_MIN: usize = 1024;

/// Children per heap node.
const ARITY: usize = 4;

/// How far before its creation the queue's epoch lies (deadlines before the epoch all count
/// as the epoch): 2^32 s, about 136 years, leaving about 448 years after it.
const EPOCH_BEFORE: Duration = Duration::from_secs(1 << 32);

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
    Callback(std::rc::Rc<dyn Callback>),
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
#[derive(Clone, Copy)]
struct Entry {
    /// When it fires, in nanoseconds since the queue's epoch.
    when: u64,
    /// Insertion order; also checked against the slot to detect stale entries.
    seq: u64,
    /// Slab slot of the payload.
    slot: u32,
}

impl Entry {
    /// Whether `self` fires before `other`.
    #[inline(always)]
    fn before(&self, other: &Entry) -> bool {
        (self.when, self.seq) < (other.when, other.seq)
    }
}

/// The loop's timers. Its state is borrowed only inside its own methods, and what an entry
/// held (a closure, a waker) is dropped after the borrow is released, so dropping it may
/// reach the loop again.
pub(crate) struct TimerQueue {
    /// Deadlines are kept as nanoseconds since this instant.
    epoch: Instant,
    /// The last instant converted by [`due_at`](Self::due_at) or
    /// [`insert_after`](Self::insert_after), and its ticks: within a batch it is the
    /// iteration's time, so a timer `delay` after it costs an add, not a conversion.
    memo: Cell<(Instant, u64)>,
    /// The heap and the slab.
    heap: RefCell<Heap>,
}

impl Default for TimerQueue {
    fn default() -> Self {
        let now = Instant::now();
        let mut q = TimerQueue {
            epoch: now.checked_sub(EPOCH_BEFORE).unwrap_or(now),
            memo: Cell::new((now, 0)),
            heap: RefCell::new(Heap::default()),
        };
        q.memo = Cell::new((now, q.ticks(now)));
        q
    }
}

impl TimerQueue {
    /// `at` as nanoseconds since the epoch (saturating at both ends).
    #[inline]
    fn ticks(&self, at: Instant) -> u64 {
        match at.checked_duration_since(self.epoch) {
            Some(d) => d
                .as_secs()
                .saturating_mul(1_000_000_000)
                .saturating_add(u64::from(d.subsec_nanos())),
            None => 0,
        }
    }

    /// `at` in ticks, through the memo.
    #[inline]
    fn memo_ticks(&self, at: Instant) -> u64 {
        let (memo_at, memo_ticks) = self.memo.get();
        if memo_at == at {
            return memo_ticks;
        }
        let ticks = self.ticks(at);
        self.memo.set((at, ticks));
        ticks
    }

    /// Schedules `payload` `delay` after `now` (the iteration's time: its conversion is
    /// memoised), that is at `now + delay`.
    #[inline]
    pub(crate) fn insert_after(&self, now: Instant, delay: Duration, payload: Payload) -> TimerId {
        let delay = delay
            .as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(delay.subsec_nanos()));
        let when = self.memo_ticks(now).saturating_add(delay);
        self.heap.borrow_mut().insert(when, payload)
    }

    /// Schedules `payload` at `when`.
    #[inline]
    pub(crate) fn insert(&self, when: Instant, payload: Payload) -> TimerId {
        let when = self.ticks(when);
        self.heap.borrow_mut().insert(when, payload)
    }

    /// Cancels `id` if it is still pending, dropping its payload now. Stale ids are ignored.
    #[inline]
    pub(crate) fn cancel(&self, id: TimerId) {
        let payload = self.heap.borrow_mut().cancel(id);
        drop(payload);
    }

    /// [`cancel`](Self::cancel) for an entry due at `when` whose deadline has passed (a
    /// [`Timer`](crate::Timer) that saw it): if the heap already gave up an entry due after it
    /// since it was inserted, it has fired, and the slab is not touched.
    #[inline]
    pub(crate) fn cancel_expired(&self, id: TimerId, when: Instant) {
        let when = self.ticks(when);
        let payload = {
            let mut heap = self.heap.borrow_mut();
            if heap.has_left(id, when) {
                return;
            }
            heap.cancel(id)
        };
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
        let when = self.heap.borrow_mut().next_deadline()?;
        Some(self.epoch + Duration::from_nanos(when))
    }

    /// `now` for [`pop_due`](Self::pop_due).
    #[inline]
    pub(crate) fn due_at(&self, now: Instant) -> Due {
        Due(self.memo_ticks(now))
    }

    /// Pops one live entry due at or before `now`.
    #[inline]
    pub(crate) fn pop_due(&self, now: Due) -> Option<Payload> {
        self.heap.borrow_mut().pop_due(now.0)
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

/// An instant as the queue keeps deadlines ([`TimerQueue::due_at`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Due(u64);

/// The heap of entries and the slab of their payloads.
struct Heap {
    /// 4-ary min-heap of entries, live and stale: the children of `i` are `4i + 1 ..= 4i + 4`.
    heap: Vec<Entry>,
    /// Payloads, indexed by `Entry::slot`.
    slots: Vec<Slot>,
    /// Head of the free list in `slots` (`u32::MAX`: empty).
    free: u32,
    /// Next sequence number.
    next_seq: u64,
    /// Live entries (the heap also holds `heap.len() - live` stale ones).
    live: usize,
    /// `(when, seq)` of the entry last taken off the top of the heap (live or stale).
    last_top: (u64, u64),
    /// `next_seq` when it was taken: entries with a lower `seq` were in the heap then, or had
    /// left it.
    last_top_bound: u64,
}

impl Default for Heap {
    fn default() -> Self {
        Heap {
            heap: Vec::new(),
            slots: Vec::new(),
            free: u32::MAX,
            next_seq: 0,
            live: 0,
            last_top: (0, 0),
            last_top_bound: 0,
        }
    }
}

impl Heap {
    /// Schedules `payload` at `when`.
    fn insert(&mut self, when: u64, payload: Payload) -> TimerId {
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
        self.push(Entry { when, seq, slot });
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

    /// Whether the entry `id`, due at `when`, has certainly left the heap: an entry due after
    /// it was taken off the top since it was inserted, which could not have happened while it
    /// was there (the top is the minimum).
    #[inline]
    fn has_left(&self, id: TimerId, when: u64) -> bool {
        id.seq < self.last_top_bound && (when, id.seq) < self.last_top
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
    fn next_deadline(&mut self) -> Option<u64> {
        while let Some(top) = self.heap.first() {
            if self.is_live(top.slot, top.seq) {
                return Some(top.when);
            }
            self.pop_top();
        }
        None
    }

    /// Pops one live entry due at or before `now`.
    fn pop_due(&mut self, now: u64) -> Option<Payload> {
        loop {
            let top = *self.heap.first()?;
            if !self.is_live(top.slot, top.seq) {
                self.pop_top();
                continue;
            }
            if top.when > now {
                return None;
            }
            self.pop_top();
            return self.take(top.slot, top.seq);
        }
    }

    /// Drops everything (loop close), returning the payloads to drop outside any borrow.
    fn clear(&mut self) -> Vec<Payload> {
        self.heap.clear();
        self.live = 0;
        self.free = u32::MAX;
        // Conservative again: nothing is known to have left.
        self.last_top = (0, 0);
        self.last_top_bound = 0;
        std::mem::take(&mut self.slots)
            .into_iter()
            .filter_map(|slot| match slot {
                Slot::Live { payload, .. } => Some(payload),
                Slot::Vacant(_) => None,
            })
            .collect()
    }

    /// Whether `slot` holds the entry inserted with `seq`.
    #[inline]
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
        self.heap.retain(
            |e| matches!(slots.get(e.slot as usize), Some(Slot::Live { seq, .. }) if *seq == e.seq),
        );
        let n = self.heap.len();
        if n > 1 {
            for i in (0..=(n - 2) / ARITY).rev() {
                self.sift_down(i);
            }
        }
    }

    /// Adds `e` to the heap.
    #[inline]
    fn push(&mut self, e: Entry) {
        self.heap.push(e);
        self.sift_up(self.heap.len() - 1, e);
    }

    /// Moves `e`, in a hole at `i`, up to its place.
    #[inline]
    fn sift_up(&mut self, mut i: usize, e: Entry) {
        while i > 0 {
            let parent = (i - 1) / ARITY;
            let p = self.heap[parent];
            if !e.before(&p) {
                break;
            }
            self.heap[i] = p;
            i = parent;
        }
        self.heap[i] = e;
    }

    /// The index of the earliest child of `i` (there is at least one, the first at `first`).
    #[inline(always)]
    fn min_child(&self, first: usize) -> usize {
        let h = &self.heap;
        if let Some(c) = h.get(first..first + ARITY) {
            // All four: a tournament, three compares.
            let a = if c[1].before(&c[0]) { 1 } else { 0 };
            let b = if c[3].before(&c[2]) { 3 } else { 2 };
            first + if c[b].before(&c[a]) { b } else { a }
        } else {
            let mut m = first;
            for j in first + 1..h.len() {
                if h[j].before(&h[m]) {
                    m = j;
                }
            }
            m
        }
    }

    /// Moves the entry at `i` down to its place (heap construction).
    fn sift_down(&mut self, mut i: usize) {
        let e = self.heap[i];
        let n = self.heap.len();
        loop {
            let first = ARITY * i + 1;
            if first >= n {
                break;
            }
            let m = self.min_child(first);
            if !self.heap[m].before(&e) {
                break;
            }
            self.heap[i] = self.heap[m];
            i = m;
        }
        self.heap[i] = e;
    }

    /// Removes the top entry (the heap is not empty), remembering its key for
    /// [`has_left`](Self::has_left). The hole at the top goes down to a leaf along the earliest
    /// children, then the last entry is sifted up from there (it usually belongs near the
    /// bottom: fewer compares than sifting it down from the top).
    fn pop_top(&mut self) {
        let Some(last) = self.heap.pop() else {
            return;
        };
        let top = match self.heap.first_mut() {
            Some(top) => std::mem::replace(top, last),
            None => last,
        };
        self.last_top = (top.when, top.seq);
        self.last_top_bound = self.next_seq;
        let n = self.heap.len();
        if n <= 1 {
            return;
        }
        let mut hole = 0;
        loop {
            let first = ARITY * hole + 1;
            if first >= n {
                break;
            }
            let m = self.min_child(first);
            self.heap[hole] = self.heap[m];
            hole = m;
        }
        self.sift_up(hole, last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    /// A waker that does nothing.
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    fn payload() -> Payload {
        Payload::Waker(Waker::from(Arc::new(Noop)))
    }

    /// Pseudo-random deadlines (xorshift), with many ties.
    fn deadlines(n: usize) -> Vec<u64> {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % 500
            })
            .collect()
    }

    /// Pops everything due by `now` and returns the `(when, seq)` of each, in popping order.
    fn drain(h: &mut Heap, now: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        while h.pop_due(now).is_some() {
            out.push(h.last_top);
        }
        out
    }

    #[test]
    fn pops_in_deadline_then_insertion_order() {
        let mut h = Heap::default();
        let ds = deadlines(5000);
        for &d in &ds {
            h.insert(d, payload());
        }
        let popped = drain(&mut h, u64::MAX);
        assert_eq!(popped.len(), ds.len());
        assert!(popped.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(h.live, 0);
    }

    #[test]
    fn cancelled_entries_are_skipped_and_compacted() {
        let mut h = Heap::default();
        let ds = deadlines(5000);
        let ids: Vec<_> = ds.iter().map(|&d| h.insert(d, payload())).collect();
        for (i, id) in ids.iter().enumerate() {
            if i % 3 != 0 {
                assert!(h.cancel(*id).is_some());
                assert!(h.cancel(*id).is_none(), "a second cancel is a no-op");
            }
        }
        // Compaction kept the heap within twice the live entries (above the minimum).
        assert!(h.heap.len() <= (2 * h.live).max(COMPACT_MIN) + 1);
        let popped = drain(&mut h, u64::MAX);
        let mut want: Vec<_> = ds
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == 0)
            .map(|(i, &d)| (d, i as u64))
            .collect();
        want.sort();
        assert_eq!(popped, want);
    }

    #[test]
    fn has_left_only_for_entries_that_left() {
        let mut h = Heap::default();
        let a = h.insert(10, payload());
        let b = h.insert(20, payload());
        assert!(!h.has_left(a, 10));
        assert!(h.pop_due(15).is_some());
        // `a` was the top, not after itself: not proven gone by its own removal.
        assert!(!h.has_left(b, 20));
        let c = h.insert(5, payload()); // inserted after the last removal
        assert!(h.pop_due(25).is_some()); // c
        assert!(!h.has_left(b, 20), "b is still pending");
        assert!(h.pop_due(25).is_some()); // b
        assert!(h.has_left(c, 5), "c left before b, due after it, was taken");
        assert!(!h.has_left(b, 20));
        assert!(h.take(b.slot, b.seq).is_none());
    }
}
