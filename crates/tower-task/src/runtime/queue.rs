//! The bounded lock-free local run queue of one worker: a ring buffer that only its owner pushes
//! to and pops from, and that any other worker can steal half of at once.
//!
//! # Who may touch which field
//!
//! - `tail` (the index of the next free slot): **written only by the owner** ([`Local`]), with
//!   `Release` after the slot is written; read by stealers with `Acquire`, so a stealer that sees
//!   a tail also sees the task written below it.
//! - `head`: two 32-bit indices packed in one atomic word, `(steal, real)`. `real` is the next
//!   task to pop; `steal` trails it while a stealer is copying tasks out, and equals `real`
//!   otherwise. Both the owner (pop, overflow) and stealers (steal) change it, **only by
//!   compare-and-swap of the whole word**, so every change sees the latest value.
//! - `buffer[i]`: a slot is owned by whoever the indices say. Slots in `[real, tail)` hold queued
//!   tasks and belong to the queue; the owner writes a slot only at `tail`, and only when
//!   `tail - steal < CAPACITY`, so it never overwrites a slot a stealer is still copying (those lie
//!   in `[steal, real)`). A pop or a steal first claims its slots by moving `real` with a CAS, and
//!   only then reads them, so each task is read (moved out) exactly once.
//!
//! # Stealing
//!
//! A stealer claims half of the queued tasks with one CAS that advances `real` but leaves `steal`
//! behind (at most one steal per queue is in flight: a stealer that sees `steal != real` gives
//! up), copies them into its own queue, then closes the gap with a second CAS that sets
//! `steal = real`. The owner can keep popping meanwhile (it moves only `real`).
//!
//! # Overflow
//!
//! When the ring is full, the owner moves half of it plus the new task to the global injector
//! (one CAS to claim the half, one lock to push the batch); if a steal is in flight instead, only
//! the new task goes to the injector.
//!
//! The indices are `u32` and wrap; only differences are meaningful.
// The items are `pub` for the loom models, which reach the module under `cfg(loom)`; without
// it the module is private.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

use super::inject::Inject;
use crate::loom::{Arc, AtomicU32, AtomicU64, Ordering, UnsafeCell};

/// Slots per local queue (a power of two).
#[cfg(not(loom))]
pub const CAPACITY: usize = 256;
/// Slots per local queue (a power of two; small under loom to reach the full and overflow
/// states in few steps).
#[cfg(loom)]
pub const CAPACITY: usize = 4;

/// `index & MASK` is the slot of `index`.
const MASK: usize = CAPACITY - 1;

/// Packs `(steal, real)` into the head word.
fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

/// Unpacks the head word into `(steal, real)`.
fn unpack(word: u64) -> (u32, u32) {
    ((word >> 32) as u32, word as u32)
}

/// The queue shared by its owner and its stealers (see the module docs for the field rules).
struct Inner<T> {
    /// `(steal, real)`, packed; changed only by CAS.
    head: AtomicU64,
    /// Next free slot; written only by the owner.
    tail: AtomicU32,
    /// `CAPACITY` slots.
    buffer: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: the slots are accessed under the index protocol of the module docs: a task is written
// only by the owner into a slot no one else reads, and read (moved out) only by the one thread
// whose CAS claimed it. The tasks themselves move between threads, hence `T: Send`.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above; shared access never touches a slot another thread may write concurrently.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Inner<T> {
    /// Number of tasks in `[real, tail)`.
    fn len(&self) -> usize {
        let (_, real) = unpack(self.head.load(Ordering::Acquire));
        let tail = self.tail.load(Ordering::Acquire);
        tail.wrapping_sub(real) as usize
    }

    /// Moves the task out of the slot of `index`.
    ///
    /// # Safety
    ///
    /// The caller claimed `index` (by a CAS of `head`, or as the owner writing at `tail`) and the
    /// slot holds an initialised task that nobody else will read.
    unsafe fn take(&self, index: u32) -> T {
        self.buffer[index as usize & MASK].with(|ptr| {
            // SAFETY: the caller claimed the slot and it is initialised (see `# Safety`).
            unsafe { (*ptr).assume_init_read() }
        })
    }

    /// Writes `task` into the slot of `index`.
    ///
    /// # Safety
    ///
    /// Only the owner of the slot may call it, and nobody may be reading the slot: either the
    /// owner writing at `tail` with `tail - steal < CAPACITY`, or a stealer writing below its own
    /// tail into room it checked.
    unsafe fn put(&self, index: u32, task: T) {
        self.buffer[index as usize & MASK].with_mut(|ptr| {
            // SAFETY: exclusive access to the slot (see `# Safety`); the old content, if any, was
            // moved out before, so overwriting leaks nothing.
            unsafe { (*ptr).write(task) };
        });
    }
}

/// The owner's end of a local queue: push and pop. `Send` (it moves to its worker thread) but not
/// `Sync`: only one thread may push.
///
/// Its use, as a unit test: `tests::push_steal_pop`.
pub struct Local<T> {
    /// The shared queue.
    inner: Arc<Inner<T>>,
    /// Makes `Local` `!Sync`: the single-producer rule is enforced by the type.
    _not_sync: PhantomData<Cell<()>>,
}

/// A stealer's handle to another worker's local queue: `Send + Sync + Clone`.
pub struct Stealer<T>(Arc<Inner<T>>);

/// A new empty local queue: its owner's end and a stealer handle.
pub fn local<T>() -> (Local<T>, Stealer<T>) {
    let buffer = (0..CAPACITY)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect::<Vec<_>>()
        .into_boxed_slice();
    let inner = Arc::new(Inner {
        head: AtomicU64::new(0),
        tail: AtomicU32::new(0),
        buffer,
    });
    (
        Local {
            inner: inner.clone(),
            _not_sync: PhantomData,
        },
        Stealer(inner),
    )
}

impl<T> fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Local").field("len", &self.len()).finish()
    }
}

impl<T> fmt::Debug for Stealer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stealer").field("len", &self.len()).finish()
    }
}

impl<T> Clone for Stealer<T> {
    fn clone(&self) -> Self {
        Stealer(self.0.clone())
    }
}

impl<T> Local<T> {
    /// The number of queued tasks.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        let (_, real) = unpack(self.inner.head.load(Ordering::Acquire));
        // Only the owner writes `tail`.
        real == self.inner.tail.load(Ordering::Relaxed)
    }

    /// Appends `task`; if the queue is full, moves half of it and `task` to `inject` instead.
    /// Returns whether it overflowed. Never blocks on a stealer.
    pub fn push_back_or_overflow(&self, mut task: T, inject: &Inject<T>) -> bool {
        let tail = loop {
            let (steal, real) = unpack(self.inner.head.load(Ordering::Acquire));
            // Only the owner (us) writes `tail`.
            let tail = self.inner.tail.load(Ordering::Relaxed);
            if tail.wrapping_sub(steal) < CAPACITY as u32 {
                break tail;
            }
            if steal != real {
                // Full, and a stealer is copying out of it (it will make room): this one task
                // goes to the injector.
                inject.push_batch(Some(task));
                return true;
            }
            match self.push_overflow(task, real, tail, inject) {
                Ok(()) => return true,
                // A stealer took some tasks meanwhile: there is room now.
                Err(t) => task = t,
            }
        };
        // SAFETY: we are the owner and `tail - steal < CAPACITY`: the slot at `tail` is not
        // queued and no stealer is copying it (module docs).
        unsafe { self.inner.put(tail, task) };
        self.inner
            .tail
            .store(tail.wrapping_add(1), Ordering::Release);
        false
    }

    /// Moves the oldest half of a full queue and `task` to `inject`; gives `task` back if a
    /// stealer changed `head` first.
    fn push_overflow(&self, task: T, head: u32, tail: u32, inject: &Inject<T>) -> Result<(), T> {
        const HALF: u32 = (CAPACITY / 2) as u32;
        debug_assert_eq!(tail.wrapping_sub(head) as usize, CAPACITY);
        let prev = pack(head, head);
        let next = pack(head.wrapping_add(HALF), head.wrapping_add(HALF));
        if self
            .inner
            .head
            .compare_exchange(prev, next, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            return Err(task);
        }
        let inner = &*self.inner;
        let batch = (0..HALF)
            .map(|i| {
                // SAFETY: the CAS above claimed `[head, head + HALF)`; those slots hold tasks we
                // pushed, and no stealer can claim them any more.
                unsafe { inner.take(head.wrapping_add(i)) }
            })
            .chain(Some(task));
        inject.push_batch(batch);
        Ok(())
    }

    /// Removes the oldest task.
    pub fn pop(&self) -> Option<T> {
        let mut head = self.inner.head.load(Ordering::Acquire);
        let index = loop {
            let (steal, real) = unpack(head);
            // Only the owner (us) writes `tail`.
            let tail = self.inner.tail.load(Ordering::Relaxed);
            if real == tail {
                return None;
            }
            let next_real = real.wrapping_add(1);
            // While a steal is in flight, leave `steal` where the stealer put it.
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                pack(steal, next_real)
            };
            match self
                .inner
                .head
                .compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break real,
                Err(actual) => head = actual,
            }
        };
        // SAFETY: the CAS claimed `index` (it was `real`, below `tail`): the slot holds a task
        // and no one else will read it.
        Some(unsafe { self.inner.take(index) })
    }
}

impl<T> Drop for Local<T> {
    fn drop(&mut self) {
        while let Some(task) = self.pop() {
            drop(task);
        }
    }
}

impl<T> Stealer<T> {
    /// The number of queued tasks (a hint).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the queue looks empty (a hint).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Steals half of this queue into `dst` (the caller's own queue): returns one of the stolen
    /// tasks and queues the rest in `dst`. `None` if there was nothing to steal, another steal
    /// from this queue was in flight, or `dst` has less than half its room free.
    pub fn steal_into(&self, dst: &Local<T>) -> Option<T> {
        // Only `dst`'s owner (the caller) writes its tail.
        let dst_tail = dst.inner.tail.load(Ordering::Relaxed);
        let (dst_steal, _) = unpack(dst.inner.head.load(Ordering::Acquire));
        if dst_tail.wrapping_sub(dst_steal) > (CAPACITY / 2) as u32 {
            return None;
        }
        let n = self.steal_into2(dst, dst_tail);
        if n == 0 {
            return None;
        }
        let n = n - 1;
        // SAFETY: `steal_into2` wrote `n + 1` tasks at `[dst_tail, dst_tail + n]` of our own
        // queue, above its published tail, so no one else can read them.
        let ret = unsafe { dst.inner.take(dst_tail.wrapping_add(n)) };
        if n > 0 {
            dst.inner
                .tail
                .store(dst_tail.wrapping_add(n), Ordering::Release);
        }
        Some(ret)
    }

    /// Claims half of this queue, copies it to `dst` from `dst_tail` on, and releases the claim.
    /// Returns how many tasks were copied.
    fn steal_into2(&self, dst: &Local<T>, dst_tail: u32) -> u32 {
        let src = &*self.0;
        let mut prev = src.head.load(Ordering::Acquire);
        let (first, n) = loop {
            let (steal, real) = unpack(prev);
            if steal != real {
                // Another steal from this queue is in flight.
                return 0;
            }
            let tail = src.tail.load(Ordering::Acquire);
            let available = tail.wrapping_sub(real);
            let n = available - available / 2;
            if n == 0 {
                return 0;
            }
            let next = pack(steal, real.wrapping_add(n));
            match src
                .head
                .compare_exchange_weak(prev, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break (real, n),
                Err(actual) => prev = actual,
            }
        };
        debug_assert!(n as usize <= CAPACITY / 2);
        for i in 0..n {
            // SAFETY: the CAS claimed `[first, first + n)` of the source (the owner cannot
            // overwrite them while `steal` trails, and no other stealer can start), and the
            // destination slots lie above `dst`'s tail in room checked by `steal_into`.
            unsafe {
                let task = src.take(first.wrapping_add(i));
                dst.inner.put(dst_tail.wrapping_add(i), task);
            }
        }
        // Release the claim: `steal = real` (the owner may have popped meanwhile).
        let mut prev = pack(first, first.wrapping_add(n));
        loop {
            let (_, real) = unpack(prev);
            match src.head.compare_exchange_weak(
                prev,
                pack(real, real),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return n,
                Err(actual) => {
                    debug_assert_eq!(unpack(actual).0, first);
                    prev = actual;
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::runtime::inject::Inject;
    use crate::runtime::queue;

    /// The example of the type's docs (an internal type: no doctest).
    #[test]
    fn push_steal_pop() {
        let inject = Inject::new();
        let (mine, my_stealer) = queue::local();
        let (theirs, _their_stealer) = queue::local();
        for i in 0..4 {
            mine.push_back_or_overflow(i, &inject);
        }
        // Another worker steals half (the oldest two), returning one and queueing the other.
        assert_eq!(my_stealer.steal_into(&theirs), Some(1));
        assert_eq!(theirs.pop(), Some(0));
        assert_eq!(mine.pop(), Some(2));
        assert!(inject.is_empty());
    }
}
