//! The per-task record ([`Header`]): the `async_task` metadata of every task, so it lives in the
//! task's own allocation (one allocation per task) and as long as it.
//!
//! Who touches what:
//! - The id, the parent's id and the registry's index are written before the task exists; the
//!   home waker's vtable (`home`, packed with that index) right after the allocation, before
//!   the task is registered (its registry slot, kept by its future, `wrapper.rs`), scheduled or
//!   handed out — every later reader got the task through something that published it (the
//!   registry's lock, a queue, a channel).
//! - Who awaits this task (a hint for the task tree, [`Header::record_awaiter`]) is written by
//!   the poll of any task awaiting this one's `Task` handle: `F_AWAITED_BY_PARENT` when that is
//!   the task that spawned it (nearly always), else the awaiter's id in `extra`; anyone reads
//!   it ([`Header::awaited_by`]).
//! - `state` has three writers. The task's own future (the wrapper in `wrapper.rs`), on the
//!   thread polling it: `ST_RUNNING` as a poll starts, then a suspended or final state. The
//!   same future's drop, when the task is dropped unfinished (its runnable dropped because its
//!   loop closed, or its runtime shut down or is gone), on whichever thread drops it:
//!   `ST_CANCELLED`. And
//!   the `Task` handle, which sets `ST_TAKEN` once the task is done (when nothing else writes
//!   it any more). `cancel` and `abort`, through any handle, do not write it: they set flags
//!   and wake the task, and the poll that follows writes the state. Anyone reads it.
//! - `flags` (`F_*`) are set from anywhere with atomic read-modify-writes. `F_CANCEL` is set by
//!   `cancel` under `extra`'s lock (together with the count), and by `abort` without it
//!   (together with `F_ABORT`, which is never cleared); it is read by the wrapper at the start
//!   of each poll and cleared, under that lock, by the poll that delivers the request or by
//!   `uncancel` ([`Header::request_cancel`], [`Header::withdraw_cancel`],
//!   [`Header::begin_delivery`]). `F_DEFER` is set by `TaskRef::cancel_deferred` after its
//!   request and cleared with `F_CANCEL`, or by a later plain `cancel`. `F_CALLBACKS` is set
//!   under `extra`'s lock; `F_DETACHED` and `F_PASSED` by the `Task` handle;
//!   `F_AWAITED_BY_PARENT` by the poll of a task awaiting the handle (set and cleared).
//! - `extra` (name, cancel message and count, done callbacks, an awaiter other than the
//!   parent) is behind a poison-free mutex that never runs user code while held.
//!
//! Every atomic and the mutex come from the crate's loom shim: the loom models
//! (`tests/loom_cancel.rs`, `tests/loom_extra.rs`) run these very methods on a real header
//! (`model`, under `cfg(loom)`).
//!
//! Sizes (`tests::sizes`, `tests/task_size.rs`): the header is four words (32 bytes) — the two
//! ids (56 bits each) and the state and flags bytes in two ([`Ids`]), `extra`, and the home
//! vtable's address (48 bits) with the 16-bit index of the task's registry in a process-wide
//! table (`registry::by_index`) in the last — so a task allocation is async-task's 32-byte
//! header, our 32, async-task's `propagate_panic` flag (padded to 8), the schedule function (0
//! bytes: neither the loop's nor the runtime's captures anything) and the future/output union
//! (at least 16 bytes: the future holds the header's address and the registry slot, and the
//! output slot is `Result<Outcome<T>, Panic>`, two words for `T = ()`: see `outcome.rs`): 88
//! bytes, a 96-byte malloc chunk, for an idle task. Each word more in the header or in the
//! union is a 112-byte chunk: what is rarely used lives in `extra`, what only the future needs
//! (the registry slot) in the future (decision 0007).

use std::mem::ManuallyDrop;
use std::ptr;
use std::sync::Arc;
use std::task::{RawWakerVTable, Waker};

use super::layout;
use super::registry::{self, Registry};
use super::state::{ST_FINISHED, ST_PENDING, TaskId, TaskState};
use super::task_ref::TaskRef;
use crate::error::Cancelled;
use crate::loom::{AtomicPtr, AtomicU8, AtomicU64, Mutex, MutexGuard, Ordering, seq_cst_handshake};

/// A done callback of a task.
pub(crate) type DoneCallback = Box<dyn FnOnce(&TaskRef) + Send + 'static>;

/// The rarely used, lock-protected part of a header (allocated on first use, see
/// [`ExtraSlot`]).
#[derive(Default)]
pub(crate) struct Extra {
    /// `set_name`/`TaskBuilder::name`; `None`: the default `Task-<id>`.
    pub(crate) name: Option<Arc<str>>,
    /// The message of the latest `cancel(msg)`.
    pub(crate) cancel_msg: Option<String>,
    /// Done callbacks in registration order.
    pub(crate) callbacks: Vec<DoneCallback>,
    /// `finish` is handing the callbacks out (`Header::hand_out_callbacks`): one added now is
    /// queued behind them rather than scheduled ahead of them.
    pub(crate) handing_out: bool,
    /// The id of the task last seen awaiting this one's handle, when that is not its parent
    /// (0: none; see [`Header::record_awaiter`]).
    pub(crate) awaited_by: u64,
    /// asyncio's `_num_cancels_requested`; apart from `abort` (which sets `F_CANCEL` with
    /// `F_ABORT` and counts nothing), the header's `F_CANCEL` is set only while it is not 0
    /// (both change together, under the lock).
    pub(crate) num_cancels: u32,
    /// Under loom, fails the model if this `Extra` is never freed (a racing allocator's loser
    /// leaked, or the header's drop missed it).
    #[cfg(loom)]
    #[allow(dead_code)] // held to be dropped with the `Extra`
    pub(crate) leak_probe: crate::loom::LeakProbe,
}

/// A header's pointer to its [`Extra`]: null until a name, a cancel message or a done callback
/// needs one (most tasks never do), so the header carries one word instead of a mutex and a
/// box.
pub(crate) struct ExtraSlot(AtomicPtr<Mutex<Extra>>);

impl ExtraSlot {
    /// A slot holding `extra`, if given.
    #[inline]
    fn new(extra: Option<Box<Extra>>) -> ExtraSlot {
        let ptr = match extra {
            Some(e) => Box::into_raw(Box::new(Mutex::new(*e))),
            None => ptr::null_mut(),
        };
        ExtraSlot(AtomicPtr::new(ptr))
    }

    /// The mutex, if allocated.
    #[inline]
    fn get(&self) -> Option<&Mutex<Extra>> {
        let ptr = self.0.load(Ordering::Acquire);
        // SAFETY: a non-null pointer came from `Box::into_raw` (in `new` or `get_or_alloc`),
        // is published with release/acquire, and is freed only in `Drop`, which takes
        // `&mut self`: it outlives `&self`.
        unsafe { ptr.as_ref() }
    }

    /// The mutex, allocated on first use (racing allocators agree on one; the loser frees
    /// its own).
    fn get_or_alloc(&self) -> &Mutex<Extra> {
        if let Some(m) = self.get() {
            return m;
        }
        let fresh = Box::into_raw(Box::new(Mutex::new(Extra::default())));
        match self
            .0
            .compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            // SAFETY: we just installed `fresh` (from `Box::into_raw`); freed only in `Drop`.
            Ok(_) => unsafe { &*fresh },
            Err(theirs) => {
                // SAFETY: `fresh` was never shared: the exchange failed.
                drop(unsafe { Box::from_raw(fresh) });
                // SAFETY: as in `get`: `theirs` is the installed, non-null pointer.
                unsafe { &*theirs }
            }
        }
    }
}

impl Drop for ExtraSlot {
    #[inline(always)]
    fn drop(&mut self) {
        let ptr = crate::loom::ptr_get_mut(&mut self.0);
        if !ptr.is_null() {
            // SAFETY: the pointer came from `Box::into_raw` and nobody else can reach it now.
            drop(unsafe { Box::from_raw(ptr) });
        }
    }
}

/// Header flag: a cancellation request waits to be delivered (asyncio's `_must_cancel`): set by
/// `cancel` with the count it adds to (and by `abort`, with `F_ABORT`); the wrapper clears it
/// when its next poll delivers the request (`tower_coro::cancel::deliver`), `uncancel` when the
/// count drops to 0.
pub(crate) const F_CANCEL: u8 = 1;
/// Header flag: a done callback was added (set under `extra`'s lock).
pub(crate) const F_CALLBACKS: u8 = 2;
/// Header flag: its `Task` handle was dropped before the output was taken: nobody will see a
/// panic unless the loop's exception handler is told.
pub(crate) const F_DETACHED: u8 = 4;
/// Header flag: the task awaiting this one's handle passed its own cancellation on to it; when
/// this task ends cancelled, that await raises the cancellation on out of the awaiting task
/// (set by the handle's poll, the only one that reads it).
pub(crate) const F_PASSED: u8 = 8;
/// Header flag: `abort` was called: the wrapper drops the future at its next poll without
/// delivering anything (set together with `F_CANCEL`, which sends the poll down its cold path).
pub(crate) const F_ABORT: u8 = 16;
/// Header flag: the pending request was made by a structured scope handing an outside
/// cancellation back to the task as it returns an error (`TaskRef::cancel_deferred`): it is
/// delivered at the task's next poll, but a future that completes in this poll keeps its
/// outcome (asyncio: an exception raised with `_must_cancel` set wins). `cancel` clears it.
pub(crate) const F_DEFER: u8 = 32;
/// Header flag: the task last seen awaiting this one's handle is its parent (the task that
/// spawned it); when clear, that awaiter, if any, is `extra`'s `awaited_by`. Set and cleared by
/// the awaiter's poll ([`Header::record_awaiter`]): a hint for the task tree, so relaxed.
pub(crate) const F_AWAITED_BY_PARENT: u8 = 64;

/// The largest task id (ids are 56 bits: see [`Ids`]); `make.rs` hands out no larger one.
pub(crate) const MAX_ID: u64 = (1 << 56) - 1;

/// The task's id and its parent's (56 bits each, written once, before the header is shared)
/// and two atomic bytes, the flags and the state, in two words:
///
/// | bytes | 0 | 1..8 | 8..15 | 15 |
/// |---|---|---|---|---|
/// | field | `flags` | `parent` | `id` | `state` |
///
/// The ids are plain bytes, the two bytes real `AtomicU8`s of their own, so the state's stores
/// and the flags' read-modify-writes stay single-byte atomics, as when each had a word. Each id
/// is read with one unaligned 8-byte load that covers plain bytes only (bytes 1..9 for the
/// parent, 7..15 for the id), then masked or shifted.
#[repr(C)]
struct Ids {
    /// `F_*`.
    flags: AtomicU8,
    /// The parent's id, little-endian.
    parent: [u8; 7],
    /// The id, little-endian.
    id: [u8; 7],
    /// `ST_*`.
    state: AtomicU8,
}

impl Ids {
    /// `id` and `parent` (each at most [`MAX_ID`]), with the state `state` and no flags.
    #[inline(always)]
    fn new(id: u64, parent: u64, state: u8) -> Ids {
        debug_assert!(id <= MAX_ID && parent <= MAX_ID, "a task id above 2^56");
        #[cfg(not(loom))]
        {
            const _: () = assert!(size_of::<Ids>() == 16);
            let word = u128::from(parent) << 8 | u128::from(id) << 64 | u128::from(state) << 120;
            // SAFETY: `Ids` is `repr(C)` of 16 single bytes (`AtomicU8` has `u8`'s
            // representation): no padding, every byte pattern valid; the little-endian bytes
            // of `word` are, in order, no flags, the parent's 7 bytes, the id's 7 and the state.
            unsafe { std::mem::transmute::<[u8; 16], Ids>(word.to_le_bytes()) }
        }
        #[cfg(loom)]
        {
            let (p, i) = (parent.to_le_bytes(), id.to_le_bytes());
            Ids {
                flags: AtomicU8::new(0),
                parent: [p[0], p[1], p[2], p[3], p[4], p[5], p[6]],
                id: [i[0], i[1], i[2], i[3], i[4], i[5], i[6]],
                state: AtomicU8::new(state),
            }
        }
    }

    /// The 8 bytes from `offset`, as a little-endian number (`offset` + 8 ≤ 15: the state byte
    /// is never read).
    #[cfg(not(loom))]
    #[inline(always)]
    fn word_at(&self, offset: usize) -> u64 {
        debug_assert!(offset >= 1 && offset + 8 <= 15);
        // SAFETY: bytes `offset..offset + 8` lie inside `self` (16 bytes) and avoid bytes 0
        // and 15, the two atomics: they are the ids' plain bytes, written before the header
        // was shared and never again, so reading them races with nothing.
        u64::from_le(unsafe {
            ptr::from_ref(self)
                .cast::<u8>()
                .add(offset)
                .cast::<u64>()
                .read_unaligned()
        })
    }

    /// The id.
    #[inline(always)]
    fn id(&self) -> u64 {
        #[cfg(not(loom))]
        return self.word_at(7) >> 8;
        #[cfg(loom)]
        {
            let i = self.id;
            u64::from_le_bytes([i[0], i[1], i[2], i[3], i[4], i[5], i[6], 0])
        }
    }

    /// The parent's id.
    #[inline(always)]
    fn parent(&self) -> u64 {
        #[cfg(not(loom))]
        return self.word_at(1) & MAX_ID;
        #[cfg(loom)]
        {
            let p = self.parent;
            u64::from_le_bytes([p[0], p[1], p[2], p[3], p[4], p[5], p[6], 0])
        }
    }
}

/// The bits of the `home` word that hold the home vtable's address.
const VTABLE_MASK: u64 = (1 << 48) - 1;
/// Where the registry's index starts in the `home` word.
const INDEX_SHIFT: u32 = 48;

/// The record of one task (see the module docs for who writes which field).
pub(crate) struct Header {
    /// The task's id, the id of the task that spawned it (0: none), its `F_*` flags and its
    /// `ST_*` state (see the module docs for the state's three writers).
    ids: Ids,
    /// Name, cancel message and count, callbacks.
    extra: ExtraSlot,
    /// The vtable of this task's wakers (bits 0..48; 0: not recorded yet), see
    /// [`Header::home`] (their data pointer is the task's allocation, found from the header's
    /// own address: `layout::task_of`), and the index of the registry of the loop it was
    /// spawned on (bits 48..64; for a runtime task, of the worker loop that spawned it, or of
    /// the first worker's, from outside), of which the header holds a reference count (released
    /// by its drop). Written whole once, by `set_home`.
    home: AtomicU64,
}

impl Header {
    /// A header for a task not yet allocated: `set_home` follows at once.
    #[inline(always)]
    pub(crate) fn new(
        id: TaskId,
        parent: u64,
        extra: Option<Box<Extra>>,
        registry: Arc<Registry>,
    ) -> Header {
        let index = u64::from(registry.index());
        // The header's count of its registry: released by `Drop`.
        let _ = Arc::into_raw(registry);
        Header {
            ids: Ids::new(id.0, parent, ST_PENDING),
            extra: ExtraSlot::new(extra),
            home: AtomicU64::new(index << INDEX_SHIFT),
        }
    }

    /// The task's id.
    #[inline]
    pub(crate) fn id(&self) -> TaskId {
        TaskId(self.ids.id())
    }

    /// The id of the task that spawned it (0: none).
    #[inline]
    pub(crate) fn parent(&self) -> u64 {
        self.ids.parent()
    }

    /// The state byte (`ST_*`).
    #[inline(always)]
    pub(crate) fn state_byte(&self) -> &AtomicU8 {
        &self.ids.state
    }

    /// The flags byte (`F_*`).
    #[inline(always)]
    pub(crate) fn flags_byte(&self) -> &AtomicU8 {
        &self.ids.flags
    }

    /// The registry of the loop it was spawned on.
    #[inline]
    pub(crate) fn registry(&self) -> &Registry {
        let index = (self.home.load(Ordering::Relaxed) >> INDEX_SHIFT) as u16;
        // SAFETY: the header holds a reference count of the registry at `index` (taken in
        // `new`, released in `Drop`), so it is alive while `self` is borrowed.
        unsafe { registry::by_index(index) }
    }

    /// Records the vtable of `waker`, a waker of the task this header belongs to, for the
    /// task's home waker (called once, right after the allocation and `layout::check_spawned`,
    /// before the task is registered or handed out).
    #[inline]
    pub(crate) fn set_home(&self, waker: &Waker) {
        debug_assert_eq!(waker.data(), layout::task_of(self).as_ptr().cast_const());
        let vtable = ptr::from_ref(waker.vtable()).expose_provenance() as u64;
        if vtable & !VTABLE_MASK != 0 {
            vtable_out_of_reach(vtable);
        }
        let index = self.home.load(Ordering::Relaxed) & !VTABLE_MASK;
        self.home.store(index | vtable, Ordering::Relaxed);
    }

    /// A waker of this task that holds no reference count: valid to use (wake by reference,
    /// clone) while the header is borrowed, because the header lives inside the task's
    /// allocation. Never to be dropped (`ManuallyDrop`); a clone is an ordinary owning waker.
    #[inline]
    pub(crate) fn home(&self) -> ManuallyDrop<Waker> {
        let data = layout::task_of(self).as_ptr().cast_const();
        let vtable = self.home.load(Ordering::Relaxed) & VTABLE_MASK;
        debug_assert!(vtable != 0, "a task header used before set_home");
        let vtable = ptr::with_exposed_provenance::<RawWakerVTable>(vtable as usize);
        // `data`: the task's wakers carry the task's allocation as their data (checked at
        // spawn by `layout::check_spawned`), which `task_of` finds from this header; it is
        // alive while `self` is borrowed.
        // SAFETY: `set_home` stored (and exposed) the address of the `'static` vtable of a
        // waker of this task before the header was handed to any caller (module docs); `data`
        // is that waker's data (see above). Never dropped (`ManuallyDrop`), so it consumes no
        // reference count.
        ManuallyDrop::new(unsafe { Waker::new(data, &*vtable) })
    }

    /// Locks `extra` (allocating it on first use), ignoring poisoning (no user code runs
    /// under it).
    pub(crate) fn extra(&self) -> MutexGuard<'_, Extra> {
        self.extra.get_or_alloc().lock()
    }

    /// Locks `extra` if it was ever allocated.
    pub(crate) fn extra_if_any(&self) -> Option<MutexGuard<'_, Extra>> {
        Some(self.extra.get()?.lock())
    }

    /// Whether flag `f` (`F_*`) is set.
    #[inline]
    pub(crate) fn flag(&self, f: u8, order: Ordering) -> bool {
        self.flags_byte().load(order) & f != 0
    }

    /// Records that the task `me` (not 0, not this task) awaits this one's handle: a flag if it
    /// is the parent (no store at all when the flag is set already), else `extra` (allocated
    /// then: the rare case, out of line).
    #[inline]
    pub(crate) fn record_awaiter(&self, me: u64) {
        if me == self.parent() {
            if !self.flag(F_AWAITED_BY_PARENT, Ordering::Relaxed) {
                self.flags_byte()
                    .fetch_or(F_AWAITED_BY_PARENT, Ordering::Relaxed);
            }
        } else {
            self.record_other_awaiter(me);
        }
    }

    /// `record_awaiter` of a task that is not the parent.
    #[cold]
    #[inline(never)]
    fn record_other_awaiter(&self, me: u64) {
        let mut extra = self.extra();
        extra.awaited_by = me;
        if self.flag(F_AWAITED_BY_PARENT, Ordering::Relaxed) {
            self.flags_byte()
                .fetch_and(!F_AWAITED_BY_PARENT, Ordering::Relaxed);
        }
    }

    /// The id of the task last seen awaiting this one's handle (0: none).
    pub(crate) fn awaited_by(&self) -> u64 {
        if self.flag(F_AWAITED_BY_PARENT, Ordering::Relaxed) {
            return self.parent();
        }
        self.extra_if_any().map_or(0, |e| e.awaited_by)
    }

    /// The state.
    pub(crate) fn state(&self) -> TaskState {
        TaskState::from_u8(self.state_byte().load(Ordering::Acquire))
    }

    /// Whether it is done.
    pub(crate) fn is_done(&self) -> bool {
        self.state_byte().load(Ordering::Acquire) >= ST_FINISHED
    }

    /// The name (the default is `Task-<id>`).
    pub(crate) fn name(&self) -> Arc<str> {
        match self.extra_if_any().and_then(|e| e.name.clone()) {
            Some(n) => n,
            None => Arc::from(format!("Task-{}", self.id().0)),
        }
    }

    /// The message of the pending cancellation.
    pub(crate) fn cancel_msg(&self) -> Option<String> {
        self.extra_if_any().and_then(|e| e.cancel_msg.clone())
    }

    /// Marks the task done with `state` and schedules its done callbacks (each with its own
    /// [`TaskRef`]).
    #[inline]
    pub(crate) fn finish(&self, state: u8) {
        if self.mark_done(state) {
            self.schedule_callbacks();
        }
    }

    /// `finish`'s first half: stores the final `state`, then whether a done callback was added
    /// (then the callbacks must be taken and scheduled). Both sequentially consistent, as
    /// `add_callback`'s flag and state accesses: of a `finish` and an `add_callback` racing,
    /// at least one sees the other, so a callback is never left behind (`seq_cst_handshake`
    /// gives loom that ordering).
    #[inline(always)]
    fn mark_done(&self, state: u8) -> bool {
        self.state_byte().store(state, Ordering::SeqCst);
        seq_cst_handshake();
        self.flag(F_CALLBACKS, Ordering::SeqCst)
    }

    /// Schedules the done callbacks (`finish`'s rare part, kept out of the task's poll).
    #[inline(never)]
    fn schedule_callbacks(&self) {
        self.hand_out_callbacks(|cb| {
            let me = TaskRef::new(self);
            self.registry().schedule_callback(move || cb(&me));
        });
    }

    /// Hands the done callbacks to `schedule` (never under the lock), in the order they were
    /// added, and then those added meanwhile: while this runs, `add_callback` queues a new one
    /// behind the ones being handed out instead of giving it back to be scheduled ahead of
    /// them (on another thread, as `finish` runs).
    fn hand_out_callbacks(&self, mut schedule: impl FnMut(DoneCallback)) {
        let Some(mut extra) = self.extra_if_any() else {
            return;
        };
        loop {
            let cbs = std::mem::take(&mut extra.callbacks);
            extra.handing_out = !cbs.is_empty();
            if cbs.is_empty() {
                return;
            }
            drop(extra);
            cbs.into_iter().for_each(&mut schedule);
            extra = self.extra();
        }
    }

    /// `add_done_callback`'s part under the lock: adds `f` to the done callbacks, or, if the
    /// task is done and its `finish` has handed every callback out (or had none), gives it
    /// back to be scheduled now by the caller (after the lock is released). If the task is
    /// done with callbacks still held, `finish` is about to hand them out (it saw the flag
    /// their adds set, see `mark_done`) or is handing them out: `f` goes behind them. The
    /// flag is set before the state is read, as `mark_done` stores the state before it reads
    /// the flag.
    pub(crate) fn add_callback<F>(&self, f: F) -> Option<F>
    where
        F: FnOnce(&TaskRef) + Send + 'static,
    {
        let mut extra = self.extra();
        self.flags_byte().fetch_or(F_CALLBACKS, Ordering::SeqCst);
        seq_cst_handshake();
        if self.state_byte().load(Ordering::SeqCst) >= ST_FINISHED
            && !extra.handing_out
            && extra.callbacks.is_empty()
        {
            return Some(f);
        }
        extra.callbacks.push(Box::new(f));
        None
    }

    /// `cancel`'s request (asyncio's `cancel(msg)` up to the wake-up): unless the task is done
    /// (then `false`), under `extra`'s lock, replaces the message if `msg` is given, counts the
    /// request and sets `F_CANCEL`, released with them (whoever sees the flag sees the
    /// message). The caller wakes the task after this returns, so after the flag: a poll that
    /// starts after the wake-up sees it.
    pub(crate) fn request_cancel(&self, msg: Option<&str>) -> bool {
        if self.is_done() {
            return false;
        }
        let mut extra = self.extra();
        let old = msg.and_then(|m| extra.cancel_msg.replace(m.to_owned()));
        extra.num_cancels = extra.num_cancels.saturating_add(1);
        self.flags_byte().fetch_or(F_CANCEL, Ordering::Release);
        // A request of its own is never deferred (`TaskRef::cancel_deferred` sets it after).
        self.flags_byte().fetch_and(!F_DEFER, Ordering::Release);
        drop(extra);
        drop(old);
        true
    }

    /// A poll that saw `F_CANCEL` starts delivering the request: clears the flag and reads the
    /// message together, under `extra`'s lock, so a concurrent `request_cancel` is either wholly
    /// before (its message is the one delivered now) or wholly after (its flag stays set for
    /// the next poll, which its wake-up schedules).
    #[cold]
    #[inline(never)]
    pub(crate) fn begin_delivery(&self) -> Cancelled {
        let extra = self.extra_if_any();
        self.flags_byte()
            .fetch_and(!(F_CANCEL | F_DEFER), Ordering::AcqRel);
        Cancelled::new(extra.as_ref().and_then(|e| e.cancel_msg.as_deref()))
    }

    /// `uncancel`'s withdrawal (asyncio's `uncancel()`): takes one request back and returns how
    /// many are left. When none is left, clears `F_CANCEL` with the count, under the lock (a
    /// concurrent `request_cancel` sets both again after this), and calls `on_cleared` there.
    pub(crate) fn withdraw_cancel(&self, on_cleared: impl FnOnce()) -> u32 {
        let Some(mut extra) = self.extra_if_any() else {
            return 0;
        };
        if extra.num_cancels == 0 {
            return 0;
        }
        extra.num_cancels -= 1;
        if extra.num_cancels == 0 {
            self.flags_byte().fetch_and(!F_CANCEL, Ordering::Release);
            on_cleared();
        }
        extra.num_cancels
    }

    /// How many cancellation requests are pending (asyncio's `cancelling()`).
    pub(crate) fn cancelling(&self) -> u32 {
        self.extra_if_any().map_or(0, |e| e.num_cancels)
    }
}

impl Drop for Header {
    fn drop(&mut self) {
        let registry: *const Registry = self.registry();
        // SAFETY: `new` turned one reference count of this registry into the index the header
        // holds; this gives it back, once (the header is being dropped).
        drop(unsafe { Arc::from_raw(registry) });
    }
}

/// A task waker's vtable lies above 2^48 (no platform tower runs on maps static data there):
/// the header cannot record it.
#[cold]
#[inline(never)]
fn vtable_out_of_reach(vtable: u64) -> ! {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "tower_task: a task waker's vtable at {vtable:#x} is above the 48 bits a task header \
         keeps (task/header.rs); aborting"
    );
    std::process::abort()
}

/// A real `Header` outside any task, driven through the header's own cancellation and
/// done-callback methods, for the loom models (`tests/loom_cancel.rs`, `tests/loom_extra.rs`;
/// exported hidden, under `cfg(loom)` only). A header needs a task allocation only for its
/// wakers and [`TaskRef`]s, which the models do not use: they wake their own stand-in of the
/// task, and count the callbacks the header hands out instead of running them.
#[cfg(loom)]
pub mod model {
    use std::fmt;

    use tower_loop::EventLoop;

    use super::{F_CANCEL, Header};
    use crate::error::Cancelled;
    use crate::loom::Ordering;
    use crate::task::TaskRef;
    use crate::task::registry::Registry;
    use crate::task::state::{ST_FINISHED, TaskId};

    /// A pending task's header, registered nowhere.
    pub struct ModelHeader {
        /// The header.
        header: Header,
    }

    impl fmt::Debug for ModelHeader {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("ModelHeader")
                .field("id", &self.header.id())
                .finish_non_exhaustive()
        }
    }

    impl ModelHeader {
        /// A header whose registry is a fresh one of `lp` (only its handle is kept; nothing is
        /// scheduled on it).
        pub fn new(lp: &EventLoop) -> ModelHeader {
            let registry = Registry::new_arc(lp);
            ModelHeader {
                header: Header::new(TaskId(1), 0, None, registry),
            }
        }

        /// `Header::request_cancel`: `TaskRef::cancel` without its wake-up (the caller's
        /// to do, after this returns).
        pub fn request_cancel(&self, msg: Option<&str>) -> bool {
            self.header.request_cancel(msg)
        }

        /// The wrapper's check at the start of each poll: a request waits to be delivered.
        pub fn cancel_pending(&self) -> bool {
            self.header.flag(F_CANCEL, Ordering::Acquire)
        }

        /// `Header::begin_delivery`: what the wrapper's poll delivers.
        pub fn begin_delivery(&self) -> Cancelled {
            self.header.begin_delivery()
        }

        /// `Header::withdraw_cancel`: `TaskRef::uncancel`, with `on_cleared` in place of its
        /// withdrawal of the request its own poll is delivering.
        pub fn withdraw_cancel(&self, on_cleared: impl FnOnce()) -> u32 {
            self.header.withdraw_cancel(on_cleared)
        }

        /// `Header::cancelling`.
        pub fn cancelling(&self) -> u32 {
            self.header.cancelling()
        }

        /// The address of the header's `Extra` mutex, allocated if it was not yet (the
        /// `get_or_alloc` every locker goes through).
        pub fn extra_addr(&self) -> usize {
            std::ptr::from_ref(self.header.extra.get_or_alloc()).addr()
        }

        /// `TaskRef::add_done_callback` of a callback that holds `token`: `true` if the
        /// header gave it back to be scheduled at once (the task is done). A callback the
        /// header hands out is dropped here, unrun, in place of being scheduled (dropping
        /// `token`).
        pub fn add_done_callback<T: Send + 'static>(&self, token: T) -> bool {
            let cb = move |_: &TaskRef| drop(token);
            match self.header.add_callback(cb) {
                Some(cb) => {
                    drop(cb);
                    true
                }
                None => false,
            }
        }

        /// `Header::finish(ST_FINISHED)`, with each callback it schedules dropped unrun
        /// instead, in order (dropping its token): how many there were.
        pub fn finish(&self) -> usize {
            let mut n = 0;
            if self.header.mark_done(ST_FINISHED) {
                self.header.hand_out_callbacks(|cb| {
                    n += 1;
                    drop(cb);
                });
            }
            n
        }

        /// How many done callbacks the header still holds.
        pub fn held_callbacks(&self) -> usize {
            self.header.extra_if_any().map_or(0, |e| e.callbacks.len())
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{Header, Ids, MAX_ID};
    use crate::loom::Ordering;

    // The ids read back whole, at their largest too, whatever the two atomic bytes next to
    // them hold.
    #[test]
    fn ids_read_back_past_the_atomic_bytes() {
        for (id, parent) in [
            (1, 0),
            (MAX_ID, MAX_ID - 1),
            (0x00AB_CDEF_0123_4567, 1 << 55),
        ] {
            let ids = Ids::new(id, parent, 0xFE);
            assert_eq!((ids.id(), ids.parent()), (id, parent));
            assert_eq!(ids.state.load(Ordering::Relaxed), 0xFE);
            assert_eq!(ids.flags.load(Ordering::Relaxed), 0);
            ids.flags.store(0xFF, Ordering::Relaxed);
            ids.state.store(0xFF, Ordering::Relaxed);
            assert_eq!((ids.id(), ids.parent()), (id, parent));
        }
    }
    use crate::task::layout::header_offset;

    /// The sizes bytes per task are made of (64-bit targets): the header is four words (the
    /// id and the state, the parent and the flags, `extra`, the home vtable and the registry's
    /// index), put inside async-task's 32-byte header, which has a `propagate_panic` flag after
    /// it (padded to a word); the registry slot lives in the future (`TaskFuture`), in what is
    /// padding for a future of at most 3 bytes.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn sizes() {
        assert_eq!(size_of::<Header>(), 32);
        assert_eq!(
            size_of::<crate::task::wrapper::TaskFuture<std::future::Pending<()>>>(),
            16
        );
        // Where async-task puts it, as measured by the first spawn (32 with 4.7.1: after its
        // state word, awaiter and vtable).
        let lp = tower_loop::EventLoop::new().unwrap();
        lp.run_until_complete(async { crate::spawn(async {}).await })
            .unwrap()
            .unwrap();
        let offset = header_offset();
        assert_eq!(offset, 32, "header at {offset}");
    }
}
