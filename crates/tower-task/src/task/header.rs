//! The per-task record ([`Header`]): the `async_task` metadata of every task, so it lives in the
//! task's own allocation (one allocation per task) and as long as it.
//!
//! Who touches what:
//! - `id`, `parent`, `registry` are written before the task exists; `slot` and the home waker's
//!   vtable (`home_vtable`) right after the allocation, before the task is scheduled,
//!   registered or handed out — every later reader got the task through something that
//!   published it (the registry's lock, a queue, a channel).
//! - `state` is written by the task's own future (the wrapper in `wrapper.rs`), on the thread
//!   polling it, and once more by the `Task` handle, which sets `ST_TAKEN` after the task is
//!   done (when the wrapper writes it no more); anyone reads it.
//! - `flags` (`F_*`) are set from anywhere with atomic read-modify-writes: `F_CANCEL` by
//!   `cancel`/`uncancel` under `extra`'s lock (together with the count), read and cleared by
//!   the wrapper when it delivers the request; `F_CALLBACKS` under that lock; `F_DETACHED` and
//!   `F_PASSED` by the `Task` handle.
//! - `extra` (name, cancel message and count, done callbacks) is behind a poison-free mutex
//!   that never runs user code while held.
//!
//! Sizes (`tests::sizes`, `tests/task_size.rs`): the header is 56 bytes, so a task allocation
//! is async-task's 32-byte header, our 56, async-task's `propagate_panic` flag (padded to 8),
//! the schedule function (0 for loop tasks) and the future/output union (at least 24 bytes:
//! the output slot is `Result<Result<T, TaskError>, Panic>`): 120 bytes, a 128-byte malloc
//! chunk, for an idle task.

use std::mem::ManuallyDrop;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{RawWakerVTable, Waker};

use super::layout;
use super::registry::Registry;
use super::state::{ST_FINISHED, ST_PENDING, TaskId, TaskState};
use super::task_ref::TaskRef;

/// A done callback of a task.
pub(crate) type DoneCallback = Box<dyn FnOnce(&TaskRef) + Send + 'static>;

/// The rarely used, lock-protected part of a header (allocated on first use, see
/// [`ExtraSlot`]).
#[derive(Default)]
pub(crate) struct Extra {
    /// `set_name`/`Builder::name`; `None`: the default `Task-<id>`.
    pub(crate) name: Option<Arc<str>>,
    /// The message of the latest `cancel(msg)`.
    pub(crate) cancel_msg: Option<String>,
    /// Done callbacks in registration order.
    pub(crate) callbacks: Vec<DoneCallback>,
    /// asyncio's `_num_cancels_requested`; the header's `F_CANCEL` is set exactly while it is
    /// not 0 (both change together, under the lock).
    pub(crate) num_cancels: u32,
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
    #[inline]
    fn drop(&mut self) {
        let ptr = *self.0.get_mut();
        if !ptr.is_null() {
            // SAFETY: the pointer came from `Box::into_raw` and nobody else can reach it now.
            drop(unsafe { Box::from_raw(ptr) });
        }
    }
}

/// Header flag: a cancellation request waits to be delivered (asyncio's `_must_cancel`): set by
/// `cancel` with the count it adds to; the wrapper clears it when its next poll delivers the
/// request (`tower_coro::cancel::deliver`), `uncancel` when the count drops to 0.
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

/// The record of one task (see the module docs for who writes which field).
pub(crate) struct Header {
    /// The task's id.
    pub(crate) id: TaskId,
    /// The id of the task that spawned it (0: none).
    pub(crate) parent: u64,
    /// Id of the task last seen awaiting this one's handle (0: none).
    pub(crate) awaited_by: AtomicU64,
    /// Name, cancel message and count, callbacks.
    extra: ExtraSlot,
    /// The registry of the loop (or runtime) it was spawned on.
    pub(crate) registry: Arc<Registry>,
    /// The vtable of this task's wakers, see [`Header::home`] (their data pointer is the
    /// task's allocation, found from the header's own address: `layout::task_of`).
    home_vtable: AtomicPtr<RawWakerVTable>,
    /// Its slot in `registry` (`Registry::insert`).
    pub(crate) slot: AtomicU32,
    /// `ST_*`.
    pub(crate) state: AtomicU8,
    /// `F_*`.
    pub(crate) flags: AtomicU8,
}

impl Header {
    /// A header for a task not yet allocated: `set_home` and `slot` follow at once.
    #[inline(always)]
    pub(crate) fn new(
        id: TaskId,
        parent: u64,
        extra: Option<Box<Extra>>,
        registry: Arc<Registry>,
    ) -> Header {
        Header {
            id,
            parent,
            awaited_by: AtomicU64::new(0),
            extra: ExtraSlot::new(extra),
            registry,
            home_vtable: AtomicPtr::new(ptr::null_mut()),
            slot: AtomicU32::new(0),
            state: AtomicU8::new(ST_PENDING),
            flags: AtomicU8::new(0),
        }
    }

    /// Records the vtable of `waker`, a waker of the task this header belongs to, for the
    /// task's home waker (called once, right after the allocation and `layout::check_spawned`,
    /// before the task is shared).
    #[inline]
    pub(crate) fn set_home(&self, waker: &Waker) {
        debug_assert_eq!(waker.data(), layout::task_of(self).as_ptr().cast_const());
        self.home_vtable
            .store(ptr::from_ref(waker.vtable()).cast_mut(), Ordering::Relaxed);
    }

    /// A waker of this task that holds no reference count: valid to use (wake by reference,
    /// clone) while the header is borrowed, because the header lives inside the task's
    /// allocation. Never to be dropped (`ManuallyDrop`); a clone is an ordinary owning waker.
    #[inline]
    pub(crate) fn home(&self) -> ManuallyDrop<Waker> {
        let data = layout::task_of(self).as_ptr().cast_const();
        let vtable = self.home_vtable.load(Ordering::Relaxed);
        debug_assert!(!vtable.is_null(), "a task header used before set_home");
        // `data`: the task's wakers carry the task's allocation as their data (checked at
        // spawn by `layout::check_spawned`), which `task_of` finds from this header; it is
        // alive while `self` is borrowed.
        // SAFETY: `set_home` stored the `'static` vtable of a waker of this task before the
        // header was reachable by any caller (module docs); `data` is that waker's data (see
        // above). Never dropped (`ManuallyDrop`), so it consumes no reference count.
        ManuallyDrop::new(unsafe { Waker::new(data, &*vtable) })
    }

    /// Locks `extra` (allocating it on first use), ignoring poisoning (no user code runs
    /// under it).
    pub(crate) fn extra(&self) -> MutexGuard<'_, Extra> {
        let m = self.extra.get_or_alloc();
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks `extra` if it was ever allocated.
    pub(crate) fn extra_if_any(&self) -> Option<MutexGuard<'_, Extra>> {
        let m = self.extra.get()?;
        Some(m.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether flag `f` (`F_*`) is set.
    #[inline]
    pub(crate) fn flag(&self, f: u8, order: Ordering) -> bool {
        self.flags.load(order) & f != 0
    }

    /// The state.
    pub(crate) fn state(&self) -> TaskState {
        TaskState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Whether it is done.
    pub(crate) fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) >= ST_FINISHED
    }

    /// The name (the default is `Task-<id>`).
    pub(crate) fn name(&self) -> Arc<str> {
        match self.extra_if_any().and_then(|e| e.name.clone()) {
            Some(n) => n,
            None => Arc::from(format!("Task-{}", self.id.0)),
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
        self.state.store(state, Ordering::SeqCst);
        if self.flag(F_CALLBACKS, Ordering::SeqCst) {
            self.schedule_callbacks();
        }
    }

    /// Schedules the done callbacks (`finish`'s rare part, kept out of the task's poll).
    #[inline(never)]
    fn schedule_callbacks(&self) {
        let cbs = self
            .extra_if_any()
            .map(|mut e| std::mem::take(&mut e.callbacks));
        let Some(cbs) = cbs else { return };
        for cb in cbs {
            let me = TaskRef::new(self);
            self.registry.schedule_callback(move || cb(&me));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Header;
    use crate::task::layout::header_offset;

    /// The sizes bytes per task are made of (64-bit targets): the header is seven words
    /// (`id`, `parent`, `awaited_by`, `extra`, `registry`, `home_vtable`, then the slot, the
    /// state and the flags in one), put inside async-task's 32-byte header, which has a
    /// `propagate_panic` flag after it (padded to a word).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn sizes() {
        assert_eq!(size_of::<Header>(), 56);
        // Where async-task puts it, as measured by the first spawn (8 with 4.7.1: right
        // after its state word).
        let lp = tower_loop::EventLoop::new().unwrap();
        lp.run_until_complete(async { crate::spawn(async {}).await })
            .unwrap()
            .unwrap();
        let offset = header_offset();
        assert!(offset > 0 && offset <= 32 + 8, "header at {offset}");
    }
}
