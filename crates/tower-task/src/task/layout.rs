//! Where a task's [`Header`] sits in its `async_task` allocation, and the two conversions
//! between the allocation's address (what async-task's wakers and handles hold) and the
//! header's, so that neither the header nor a handle has to store the other.
//!
//! async-task puts its own `Header<M>` at the start of a task's allocation, with our header as
//! its `metadata` field. That field is private, but its offset is a constant for our `M`:
//! [`HEADER_OFFSET`] is computed from [`AsyncTaskHeader`], a copy of async-task 4.7's
//! `Header<M>` with the same field types in the same order (rustc lays out the same fields the
//! same way). Two more facts about async-task are relied on: an `async_task::Task` (and
//! `FallibleTask`) is exactly one word, the allocation's address (which `Task<T>`'s `Deref` to
//! [`TaskRef`](super::TaskRef) uses); and a task's wakers carry that address as their data.
//!
//! None of this is taken on trust: [`check_spawned`] verifies all of it on every spawn, on the
//! task just allocated, before any handle is built from the header (a mismatch — a future
//! async-task that changed its layout — panics in a `#[cold]` function instead of corrupting
//! memory).
//!
//! Provenance: a header reached through a reference (`Runnable::metadata`, `&Header`) carries
//! the provenance of the header alone. [`check_spawned`] exposes the provenance of the whole
//! allocation (from the waker's data pointer), and [`task_of`] recovers the allocation's
//! address with `with_exposed_provenance`, so the pointer handed to async-task's waker
//! functions may access the whole allocation.

use std::cell::UnsafeCell;
use std::ptr::{self, NonNull};
use std::sync::atomic::AtomicUsize;
use std::task::Waker;

use async_task::FallibleTask;

use super::header::Header;

/// async-task 4.7's `Header<Header>` (src/header.rs), field for field: the types that matter
/// for layout are the same (its `vtable` is a `&'static TaskVTable`, a thin 8-aligned
/// reference like the stand-in here; `propagate_panic` exists with its `std` feature, which is
/// its default and which tower-loop uses). Never built: only its layout is read.
#[allow(dead_code)]
pub(super) struct AsyncTaskHeader {
    /// `state: AtomicUsize`.
    state: AtomicUsize,
    /// `awaiter: UnsafeCell<Option<Waker>>`.
    awaiter: UnsafeCell<Option<Waker>>,
    /// `vtable: &'static TaskVTable`.
    vtable: &'static usize,
    /// `metadata: M`.
    metadata: Header,
    /// `propagate_panic: bool`.
    propagate_panic: bool,
}

/// The offset of a task's [`Header`] from the start of its allocation.
pub(crate) const HEADER_OFFSET: usize = std::mem::offset_of!(AsyncTaskHeader, metadata);

const _: () = assert!(
    size_of::<FallibleTask<(), Header>>() == size_of::<usize>(),
    "an async_task::FallibleTask is one word"
);

/// The header of the task whose allocation is at `task`.
///
/// # Safety
///
/// `task` must be the address of a live task allocation made with a [`Header`] as metadata
/// (an async-task handle's or waker's pointer); the result is valid while the allocation is.
#[inline]
pub(crate) unsafe fn header_of(task: NonNull<()>) -> NonNull<Header> {
    // SAFETY: the header lies `HEADER_OFFSET` bytes into the allocation (checked by
    // `check_spawned` for every task), so the offset stays inside it; `task` carries the whole
    // allocation's provenance.
    unsafe { task.byte_add(HEADER_OFFSET).cast() }
}

/// The address of the allocation `header` lives in: the data pointer of the task's wakers,
/// and the word of its `async_task` handles. Only meaningful for a header inside a task
/// allocation that went through [`check_spawned`] (every [`Header`] the crate hands out).
#[inline]
pub(crate) fn task_of(header: &Header) -> NonNull<()> {
    let addr = ptr::from_ref(header).addr() - HEADER_OFFSET;
    // `check_spawned` exposed the provenance of the whole allocation.
    let task = ptr::with_exposed_provenance_mut::<()>(addr);
    // SAFETY: `addr` is the start of a live allocation (a header is borrowed, so its
    // allocation, which starts `HEADER_OFFSET` bytes earlier, is alive), never 0.
    unsafe { NonNull::new_unchecked(task) }
}

/// Checks, on a task just allocated, everything this module assumes of async-task: `waker` (a
/// waker of the task) points at the allocation `header` is `HEADER_OFFSET` bytes into, and
/// `handle` is that address too. Exposes the allocation's provenance for [`task_of`].
#[inline]
pub(crate) fn check_spawned<T>(header: &Header, waker: &Waker, handle: &FallibleTask<T, Header>) {
    let task = waker.data();
    // Exposing makes `task_of`'s `with_exposed_provenance` able to pick this provenance up.
    let task_addr = task.expose_provenance();
    // SAFETY: `FallibleTask` is one word (asserted above), so its only non-zero-sized field,
    // async-task's raw task pointer, fills it: reading the word as a pointer reads that field.
    let handle_word = unsafe { ptr::from_ref(handle).cast::<*const ()>().read() };
    if ptr::from_ref(header).addr() != task_addr + HEADER_OFFSET || handle_word != task {
        layout_mismatch();
    }
}

/// async-task does not lay tasks out as this module assumes (a changed version?).
#[cold]
#[inline(never)]
fn layout_mismatch() -> ! {
    panic!(
        "tower_task: async-task's task layout is not the one task/layout.rs assumes \
         (header offset {HEADER_OFFSET}); update AsyncTaskHeader"
    )
}
