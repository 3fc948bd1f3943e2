//! The per-task record ([`Header`]): the `async_task` metadata of every task, so it lives in the
//! task's own allocation (one allocation per task) and as long as it.
//!
//! Who touches what:
//! - `id`, `parent`, `registry` are written before the task exists; `slot` and the home waker
//!   (`home_data`/`home_vtable`) right after the allocation, before the task is scheduled,
//!   registered or handed out — every later reader got the task through something that
//!   published it (the registry's lock, a queue, a channel).
//! - `state` is written only by the task's own future (the wrapper in `wrapper.rs`), on the
//!   thread polling it; anyone reads it.
//! - `must_cancel`/`num_cancels` are written by `cancel`/`uncancel` from anywhere and read by
//!   the wrapper at each poll.
//! - `extra` (name, cancel message, done callbacks) is behind a poison-free mutex that never
//!   runs user code while held.

use std::mem::ManuallyDrop;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{RawWakerVTable, Waker};

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

/// The record of one task (see the module docs for who writes which field).
pub(crate) struct Header {
    /// The task's id.
    pub(crate) id: TaskId,
    /// The id of the task that spawned it (0: none).
    pub(crate) parent: u64,
    /// Id of the task last seen awaiting this one's handle (0: none).
    pub(crate) awaited_by: AtomicU64,
    /// asyncio's `_num_cancels_requested`.
    pub(crate) num_cancels: AtomicU32,
    /// `ST_*`.
    pub(crate) state: AtomicU8,
    /// A cancellation is requested: the wrapper drops the future at its next poll.
    pub(crate) must_cancel: AtomicBool,
    /// Set (under `extra`'s lock) once a done callback was added.
    pub(crate) has_callbacks: AtomicBool,
    /// Its `Task` handle was dropped before the output was taken: nobody will see a panic
    /// unless the loop's exception handler is told.
    pub(crate) detached: AtomicBool,
    /// Name, cancel message, callbacks.
    extra: ExtraSlot,
    /// The registry of the loop (or runtime) it was spawned on.
    pub(crate) registry: Arc<Registry>,
    /// Its slot in `registry`.
    pub(crate) slot: AtomicUsize,
    /// The data pointer of a waker of this task (its allocation), see [`Header::home`].
    home_data: AtomicPtr<()>,
    /// The vtable of that waker.
    home_vtable: AtomicPtr<RawWakerVTable>,
}

impl Header {
    /// A header for a task not yet allocated: `set_home` and `slot` follow at once.
    #[inline]
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
            num_cancels: AtomicU32::new(0),
            state: AtomicU8::new(ST_PENDING),
            must_cancel: AtomicBool::new(false),
            has_callbacks: AtomicBool::new(false),
            detached: AtomicBool::new(false),
            extra: ExtraSlot::new(extra),
            registry,
            slot: AtomicUsize::new(0),
            home_data: AtomicPtr::new(ptr::null_mut()),
            home_vtable: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Records `waker`, a waker of the task this header belongs to, as the task's home waker
    /// (called once, right after the allocation, before the task is shared).
    #[inline]
    pub(crate) fn set_home(&self, waker: &Waker) {
        self.home_data
            .store(waker.data().cast_mut(), Ordering::Relaxed);
        self.home_vtable
            .store(ptr::from_ref(waker.vtable()).cast_mut(), Ordering::Relaxed);
    }

    /// A waker of this task that holds no reference count: valid to use (wake by reference,
    /// clone) while the header is borrowed, because the header lives inside the task's
    /// allocation. Never to be dropped (`ManuallyDrop`); a clone is an ordinary owning waker.
    #[inline]
    pub(crate) fn home(&self) -> ManuallyDrop<Waker> {
        let data = self.home_data.load(Ordering::Relaxed);
        let vtable = self.home_vtable.load(Ordering::Relaxed);
        debug_assert!(!vtable.is_null(), "a task header used before set_home");
        // SAFETY: `set_home` stored the parts of a waker of this task before the header was
        // reachable by anyone who calls this (module docs); that waker's vtable is `'static`
        // and its data is this task's allocation, alive while `self` is borrowed. The result
        // is never dropped, so it consumes no reference count.
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
    pub(crate) fn finish(&self, state: u8) {
        self.state.store(state, Ordering::SeqCst);
        if self.has_callbacks.load(Ordering::SeqCst) {
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
}
