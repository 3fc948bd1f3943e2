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
use std::ptr;

use crate::loom::{AtomicBool, Mutex, MutexGuard, Ordering};

/// Entries per page of a [`Slab`] (a page is 4 KiB).
const PAGE: usize = 512;

/// The low bit of an entry: the slot is free, and the other bits hold the next free slot.
const FREE: usize = 1;

/// The end of the free list.
const NIL: usize = usize::MAX >> 1;

/// The entry of a slot handed out by [`Slots::reserve`] whose address is not stored yet
/// ([`Slots::fill`]): it reads as free (readers skip it, `remove` leaves it), but is in no free
/// list and differs from a slot `take_all` retired (`NIL << 1 | FREE`), so that a `fill` after a
/// `take_all` stores nothing.
const RESERVED: usize = (NIL - 1) << 1 | FREE;

/// Slots of addresses, in pages that are allocated as the slab grows and kept.
///
/// An entry is an address (non-zero, even) or a link of the free list (`next << 1 | FREE`), so
/// the slab needs no second table of free slots. Paging rather than one growing `Vec`: growth
/// never copies the table, and the pages, allocated among the tasks whose headers they index
/// and kept for the next ones, stay above them in the heap — a burst of tasks that all finish
/// leaves no free block at the top of the heap for the allocator to hand back to the kernel,
/// only to fault it in again on the next burst.
struct Slab {
    /// The pages.
    pages: Vec<Box<[usize; PAGE]>>,
    /// The first free slot, or [`NIL`].
    free: usize,
    /// How many addresses are stored.
    len: usize,
}

impl Default for Slab {
    fn default() -> Self {
        Slab {
            pages: Vec::new(),
            free: NIL,
            len: 0,
        }
    }
}

impl Slab {
    /// The entry of `slot`, if that page exists.
    #[inline]
    fn entry(&mut self, slot: usize) -> Option<&mut usize> {
        self.pages
            .get_mut(slot / PAGE)
            .map(|page| &mut page[slot % PAGE])
    }

    /// Stores `addr` (non-zero, even), returns its slot.
    #[inline]
    #[cfg_attr(not(test), allow(dead_code))] // the registry reserves and fills
    fn insert(&mut self, addr: usize) -> usize {
        debug_assert!(
            addr != 0 && addr & FREE == 0,
            "slots hold non-zero even addresses"
        );
        self.insert_entry(addr).0
    }

    /// Stores `addr` in `slot`, reserved (by `insert_entry(RESERVED)`), unless `take_all`
    /// retired it since.
    #[inline]
    fn fill(&mut self, slot: usize, addr: usize) {
        debug_assert!(
            addr != 0 && addr & FREE == 0,
            "slots hold non-zero even addresses"
        );
        if let Some(e) = self.entry(slot) {
            if *e == RESERVED {
                *e = addr;
            }
        }
    }

    /// Stores `entry` (an address, or [`RESERVED`]), returns its slot and the address of the
    /// slot's entry (valid while the slab lives: pages are boxed and kept).
    #[inline]
    fn insert_entry(&mut self, entry: usize) -> (usize, *mut usize) {
        if self.free == NIL {
            self.grow();
        }
        let slot = self.free;
        let (next, at) = match self.entry(slot) {
            Some(e) => (std::mem::replace(e, entry) >> 1, ptr::from_mut(e)),
            None => unreachable_free_list(),
        };
        self.free = next;
        self.len += 1;
        (slot, at)
    }

    /// Adds a page, all of it free, in front of the free list.
    fn grow(&mut self) {
        let base = self.pages.len() * PAGE;
        if base + PAGE > MAX_SLOTS {
            too_many_slots();
        }
        let rest = self.free;
        let page = Box::new(std::array::from_fn(|i| {
            let next = if i + 1 < PAGE { base + i + 1 } else { rest };
            next << 1 | FREE
        }));
        self.pages.push(page);
        self.free = base;
    }

    /// Frees `slot` (nothing if it is free already or was never handed out).
    #[inline]
    fn remove(&mut self, slot: usize) {
        let free = self.free;
        if let Some(e) = self.entry(slot) {
            if *e & FREE == 0 {
                *e = free << 1 | FREE;
                self.free = slot;
                self.len -= 1;
            }
        }
    }

    /// The stored addresses, in slot order.
    fn addresses(&self) -> impl Iterator<Item = usize> + '_ {
        self.pages
            .iter()
            .flat_map(|page| page.iter())
            .copied()
            .filter(|&e| e & FREE == 0)
    }

    /// Empties the slab, passing each address to `f`. The emptied slots are retired, not
    /// freed: a removal of one of them that lands later (a task whose drop was under way on
    /// another thread) finds it free and does nothing, instead of freeing a slot that an insert
    /// made after this call was given. Later inserts use new pages.
    fn take_all(&mut self, f: &mut impl FnMut(usize)) {
        self.addresses().for_each(&mut *f);
        for page in &mut self.pages {
            page.fill(NIL << 1 | FREE);
        }
        self.free = NIL;
        self.len = 0;
    }
}

/// The free list pointed past the last page: it only links slots of existing pages.
#[cold]
fn unreachable_free_list() -> ! {
    unreachable!("tower_task: the registry's free list points past its pages")
}

/// The high bit of a slot: the entry is in the remote slab. Bit 31, so that a slot fits in a
/// `u32` (the task header stores it in one).
pub const REMOTE_BIT: usize = 1 << 31;

/// How many slots a slab holds at most: slot numbers stay below [`REMOTE_BIT`] (2^31 live
/// tasks of one loop would be hundreds of GiB of task allocations).
const MAX_SLOTS: usize = REMOTE_BIT;

/// A slab asked to hold more than [`MAX_SLOTS`] addresses.
#[cold]
#[inline(never)]
fn too_many_slots() -> ! {
    panic!("tower_task: more than 2^31 live tasks on one event loop")
}

/// A slot taken by [`Slots::reserve`], to be given an address by [`Slots::fill`].
#[derive(Debug, Clone, Copy)]
pub struct Reserved {
    /// The slot (with [`REMOTE_BIT`] in the remote slab).
    pub slot: usize,
    /// The owner slab's entry of the slot; null in the remote slab (filled under the mutex).
    entry: *mut usize,
}

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
    /// This thread's number (0: not assigned yet), unique in the process and never reused, as
    /// `ThreadId` is, but one plain load to read. (The address of a thread-local is not an
    /// identity: a thread started after another ended may get the same address.)
    static MARK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// This thread's identity: its [`MARK`], assigned on first use (never 0).
#[cfg(not(loom))]
#[inline]
fn thread_mark() -> usize {
    let mark = MARK.get();
    if mark != 0 { mark } else { assign_mark() }
}

/// Gives this thread its number (the first call on a thread).
#[cfg(not(loom))]
#[cold]
#[inline(never)]
fn assign_mark() -> usize {
    /// The last number given to a thread.
    static LAST: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let mark = LAST.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    MARK.set(mark);
    mark
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
    /// A copy of the owner slab's `len`, stored by the owner after each change (a plain store:
    /// only the owner writes it), for [`len`](Slots::len) on other threads. A statistic, so a
    /// std atomic even under loom (never read to decide anything).
    owner_len: std::sync::atomic::AtomicUsize,
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
            owner_len: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Whether this is the owner thread.
    #[inline]
    pub fn is_owner(&self) -> bool {
        thread_mark() == self.owner
    }

    /// The owner-thread slab, if this is the owner thread.
    #[inline]
    fn local(&self) -> Option<&RefCell<Slab>> {
        self.is_owner().then_some(&self.local.0)
    }

    /// Locks the remote side (poison-free: no user code runs under it).
    fn remote(&self) -> MutexGuard<'_, RemoteSide> {
        self.remote.lock()
    }

    /// Frees the owner-slab slots removed on other threads (owner thread, `remote` locked).
    fn drain_removed(&self, local: &mut Slab, remote: &mut RemoteSide) {
        for slot in remote.removed.drain(..) {
            local.remove(slot);
        }
        self.publish_len(local);
    }

    /// Publishes the owner slab's length for [`len`](Self::len) (owner thread).
    #[inline]
    fn publish_len(&self, local: &Slab) {
        self.owner_len
            .store(local.len, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many addresses are stored, on any thread: a snapshot, exact when nothing is
    /// inserted or removed meanwhile (for metrics).
    // `Slots` is public only for the loom models, which need no `is_empty`.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        let remote = self.remote();
        // Read under the mutex, which the owner holds when it applies the queued removals:
        // those are counted once, either in `removed` or no longer in `owner_len`.
        let owner = self.owner_len.load(std::sync::atomic::Ordering::Relaxed);
        (owner + remote.slab.len).saturating_sub(remote.removed.len())
    }

    /// Stores `addr` (non-zero and even: an aligned address), returns its slot (for
    /// [`remove`](Self::remove), on any thread).
    #[inline(always)]
    #[cfg_attr(not(any(test, loom)), allow(dead_code))] // the registry reserves and fills
    pub fn insert(&self, addr: usize) -> usize {
        debug_assert!(
            addr != 0 && addr & FREE == 0,
            "slots hold non-zero even addresses"
        );
        self.insert_entry(addr)
    }

    /// Takes a slot whose address is stored later, by [`fill`](Self::fill) on the same
    /// thread: until then readers do not see it, and [`remove`](Self::remove) of it does
    /// nothing. (The task registry takes a task's slot before the task is allocated, so that
    /// the slot can be stored in the task's future.)
    #[inline(always)]
    pub fn reserve(&self) -> Reserved {
        if let Some(local) = self.local() {
            let mut local = local.borrow_mut();
            if self.has_removed.load(Ordering::Relaxed)
                && self.has_removed.swap(false, Ordering::Acquire)
            {
                self.drain_removed(&mut local, &mut self.remote());
            }
            let (slot, entry) = local.insert_entry(RESERVED);
            self.publish_len(&local);
            Reserved { slot, entry }
        } else {
            Reserved {
                slot: self.remote().slab.insert_entry(RESERVED).0 | REMOTE_BIT,
                entry: ptr::null_mut(),
            }
        }
    }

    /// Stores `addr` (non-zero and even) in the slot `reserved` holds — unless
    /// [`take_all`](Self::take_all) emptied the set since (then the address is not stored: the
    /// slot is retired).
    ///
    /// # Safety
    ///
    /// `reserved` comes from [`reserve`](Self::reserve) on this set, and is filled once. A slot
    /// of the owner slab (reserved on the owner thread) is filled on that thread, with nothing
    /// having touched the set there since the reservation: it is filled with one store through
    /// the entry's address, outside the `RefCell` (no borrow of the slab may be alive, nor have
    /// been used since). A slot of the remote slab is filled under the mutex, on any thread.
    #[inline(always)]
    pub unsafe fn fill(&self, reserved: Reserved, addr: usize) {
        debug_assert!(
            addr != 0 && addr & FREE == 0,
            "slots hold non-zero even addresses"
        );
        if reserved.entry.is_null() {
            self.fill_remote(reserved.slot, addr);
        } else {
            // `entry` points into a page of the owner slab (pages are boxed, never moved nor
            // freed while the set lives), at the slot `reserve` took on this thread, the
            // owner's; nothing touched the slab since (the caller's contract), so the slot is
            // still reserved (only the owner's `take_all` could retire it).
            // SAFETY: so `entry` is valid for a write, and no borrow of the slab is alive.
            unsafe { reserved.entry.write(addr) };
        }
    }

    /// [`fill`](Self::fill) of a slot of the remote slab (out of line: the owner's own
    /// spawns are the common case).
    #[inline(never)]
    fn fill_remote(&self, slot: usize, addr: usize) {
        debug_assert!(slot & REMOTE_BIT != 0, "a remote slot");
        self.remote().slab.fill(slot & !REMOTE_BIT, addr);
    }

    /// [`insert`](Self::insert) of an address or of [`RESERVED`].
    #[inline(always)]
    fn insert_entry(&self, entry: usize) -> usize {
        if let Some(local) = self.local() {
            let mut local = local.borrow_mut();
            // A load first: no locked instruction on the common path (nothing removed
            // elsewhere); a flag set just after the load is seen by the next insert.
            if self.has_removed.load(Ordering::Relaxed)
                && self.has_removed.swap(false, Ordering::Acquire)
            {
                self.drain_removed(&mut local, &mut self.remote());
            }
            let slot = local.insert_entry(entry).0;
            self.publish_len(&local);
            slot
        } else {
            self.remote().slab.insert_entry(entry).0 | REMOTE_BIT
        }
    }

    /// Forgets the address in `slot` (returned by [`insert`](Self::insert)): once this returns,
    /// no reader is handed that address.
    #[inline(always)]
    pub fn remove(&self, slot: usize) {
        if slot & REMOTE_BIT != 0 {
            self.remote().slab.remove(slot & !REMOTE_BIT);
        } else if let Some(local) = self.local() {
            let mut local = local.borrow_mut();
            local.remove(slot);
            self.publish_len(&local);
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
            self.drain_removed(&mut local, &mut remote);
            local.addresses().for_each(&mut f);
        }
        remote.slab.addresses().for_each(f);
    }

    /// Empties the set, calling `f` with each address as [`for_each`](Self::for_each) does.
    /// Off the owner thread, only the addresses inserted off it are taken.
    pub fn take_all(&self, mut f: impl FnMut(usize)) {
        let mut remote = self.remote();
        if let Some(local) = self.local() {
            let mut local = local.borrow_mut();
            self.drain_removed(&mut local, &mut remote);
            local.take_all(&mut f);
            self.publish_len(&local);
        }
        remote.slab.take_all(&mut f);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{PAGE, REMOTE_BIT, Reserved, Slab, Slots};

    // A thread started after the owner ended is not the owner, even where it gets the ended
    // thread's thread-local block (as glibc's cached thread stacks make likely): 50 rounds,
    // each a fresh owner thread and a fresh other thread. Failed with the address of a
    // thread-local as the identity.
    #[test]
    fn a_later_thread_is_never_the_owner() {
        for _ in 0..50 {
            let slots = std::thread::spawn(|| {
                let s = Slots::new();
                assert!(s.is_owner());
                s
            })
            .join()
            .unwrap();
            let owner_elsewhere = std::thread::spawn(move || slots.is_owner()).join().unwrap();
            assert!(!owner_elsewhere);
        }
    }

    fn addr(i: usize) -> usize {
        (i + 1) * 8
    }

    #[test]
    fn a_slab_grows_by_pages_and_reuses_freed_slots() {
        let mut slab = Slab::default();
        let n = 2 * PAGE + 3;
        let slots: Vec<usize> = (0..n).map(|i| slab.insert(addr(i))).collect();
        assert_eq!(slab.pages.len(), 3);
        let mut sorted = slots.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), n, "every live slot is distinct");
        slab.remove(slots[7]);
        slab.remove(slots[7]); // twice: the second is a no-op
        slab.remove(usize::MAX >> 2); // never handed out: ignored
        assert_eq!(slab.addresses().count(), n - 1);
        assert!(!slab.addresses().any(|a| a == addr(7)));
        assert_eq!(
            slab.insert(addr(10_000)),
            slots[7],
            "the freed slot is reused first"
        );
        assert_eq!(slab.pages.len(), 3, "no page added while one is free");
    }

    #[test]
    fn take_all_empties_and_retires_the_slots() {
        let mut slab = Slab::default();
        let old: Vec<usize> = (0..PAGE + 1).map(|i| slab.insert(addr(i))).collect();
        let mut taken = Vec::new();
        slab.take_all(&mut |a| taken.push(a));
        assert_eq!(taken.len(), PAGE + 1);
        assert_eq!(slab.addresses().count(), 0);
        let new = slab.insert(addr(9_999));
        assert!(
            !old.contains(&new),
            "a slot emptied by take_all is not handed out again"
        );
        // A late removal of an old slot leaves the new entry alone.
        slab.remove(old[0]);
        slab.remove(old[PAGE]);
        assert_eq!(slab.addresses().collect::<Vec<_>>(), [addr(9_999)]);
    }

    #[test]
    fn len_counts_owner_and_remote_entries_on_any_thread() {
        let slots = std::sync::Arc::new(Slots::new());
        let a = slots.insert(addr(0));
        let _b = slots.insert(addr(1));
        let s = slots.clone();
        let (remote, len_elsewhere) = std::thread::spawn(move || {
            let r = s.insert(addr(2));
            // Removed off the owner thread: queued until the owner applies it.
            s.remove(a);
            (r, s.len())
        })
        .join()
        .unwrap();
        assert_eq!(len_elsewhere, 2);
        assert_eq!(slots.len(), 2);
        slots.remove(remote);
        assert_eq!(slots.len(), 1);
        slots.take_all(|_| {});
        assert_eq!(slots.len(), 0);
    }

    // A reserved slot is listed once filled, not before; a fill after `take_all` stores
    // nothing (the slot is retired). On the owner slab nothing may touch the slab between the
    // reservation and the fill, so the "not before" is checked on the remote slab.
    #[test]
    fn a_reserved_slot_is_listed_once_filled() {
        let slots = std::sync::Arc::new(Slots::new());
        let listed = |s: &Slots| {
            let mut seen = Vec::new();
            s.for_each(|x| seen.push(x));
            seen
        };
        let r = slots.reserve();
        assert_eq!(slots.len(), 1);
        // SAFETY: reserved on this thread just above; nothing touched the slab since (`len`
        // reads a copy of its length).
        unsafe { slots.fill(r, addr(0)) };
        assert_eq!(listed(&slots), [addr(0)]);
        slots.remove(r.slot);
        assert!(listed(&slots).is_empty());

        // Off the owner thread: the remote slab, filled under the mutex, on any thread.
        let remote_fill = |slot: usize, a: usize| {
            let s = slots.clone();
            std::thread::spawn(move || {
                let r = Reserved {
                    slot,
                    entry: std::ptr::null_mut(),
                };
                // SAFETY: a slot of the remote slab, filled once.
                unsafe { s.fill(r, a) };
            })
            .join()
            .unwrap();
        };
        let s = slots.clone();
        let (early, late) = std::thread::spawn(move || (s.reserve().slot, s.reserve().slot))
            .join()
            .unwrap();
        assert!(early & REMOTE_BIT != 0 && late & REMOTE_BIT != 0);
        assert_eq!(slots.len(), 2);
        assert!(
            listed(&slots).is_empty(),
            "reserved, not filled: not listed"
        );
        remote_fill(early, addr(1));
        assert_eq!(listed(&slots), [addr(1)]);
        // The loop closes between a reservation and its fill.
        let mut taken = Vec::new();
        slots.take_all(|x| taken.push(x));
        assert_eq!(taken, [addr(1)]);
        remote_fill(late, addr(2));
        assert!(listed(&slots).is_empty(), "a retired slot is not filled");
        slots.remove(early);
        slots.remove(late);
        assert_eq!(slots.len(), 0);
    }

    #[test]
    fn slots_list_what_the_owner_inserted() {
        let slots = Slots::new();
        let a = slots.insert(addr(0));
        let b = slots.insert(addr(1));
        slots.remove(a);
        let mut seen = Vec::new();
        slots.for_each(|x| seen.push(x));
        assert_eq!(seen, [addr(1)]);
        slots.remove(b);
        let mut seen = Vec::new();
        slots.take_all(|x| seen.push(x));
        assert!(seen.is_empty());
    }
}
