//! Where a task's [`Header`] sits in its `async_task` allocation, and the two conversions
//! between the allocation's address (what async-task's wakers and handles hold) and the
//! header's, so that neither the header nor a handle has to store the other.
//!
//! async-task puts its own header at the start of a task's allocation, with our header as its
//! `metadata` field. Its layout is private, so this module does not copy it: on every spawn
//! [`check_spawned`] *measures* the offset of our header from the allocation's start — the
//! distance from the task's waker data pointer (the allocation, `Waker::data`) to the header
//! (`Runnable::metadata`), both public — and checks it is [`OFFSET`], the value the pinned
//! async-task gives, before any handle is built from the header. It checks too that an
//! `async_task` handle is one word holding that same pointer (which `Task<T>`'s `Deref` to
//! [`TaskRef`](super::TaskRef) uses; its size is also asserted at compile time).
//!
//! A mismatch (an async-task release that changed any of this; the workspace pins the exact
//! version) **aborts the process** with a message: the task has been allocated with its future
//! inside by then, and unwinding through it is not sound. No memory is touched through a
//! wrong offset first.
//!
//! Provenance: a header reached through a reference (`Runnable::metadata`, `&Header`) carries
//! the provenance of the header alone. [`check_spawned`] exposes the provenance of the whole
//! allocation (from the waker's data pointer), and [`task_of`] recovers the allocation's
//! address with `with_exposed_provenance`, so the pointer handed to async-task's waker
//! functions may access the whole allocation.

use std::ptr::{self, NonNull};
use std::task::Waker;

use async_task::FallibleTask;

use super::header::Header;

/// The offset of a task's [`Header`] from the start of its allocation with the pinned
/// async-task (4.7.1, with our four-word header: after its state word, awaiter and vtable;
/// with the six-word header of before, rustc put it right after the state word, at 8). Not
/// derived from a copy of async-task's private header: it is the value [`check_spawned`]
/// measures on every task (and aborts if it differs), kept as a constant so that each
/// conversion is one addition.
const OFFSET: usize = 32;

/// The offset of a task's [`Header`] from the start of its allocation.
#[inline(always)]
pub(crate) const fn header_offset() -> usize {
    OFFSET
}

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
    // SAFETY: the header lies `header_offset()` bytes into the allocation (checked by
    // `check_spawned` for every task before any handle exists), so the offset stays inside it;
    // `task` carries the whole allocation's provenance.
    unsafe { task.byte_add(header_offset()).cast() }
}

/// The address of the allocation `header` lives in: the data pointer of the task's wakers,
/// and the word of its `async_task` handles. Only meaningful for a header inside a task
/// allocation that went through [`check_spawned`] (every [`Header`] the crate hands out).
#[inline]
pub(crate) fn task_of(header: &Header) -> NonNull<()> {
    let addr = ptr::from_ref(header).addr() - header_offset();
    // `check_spawned` exposed the provenance of the whole allocation.
    let task = ptr::with_exposed_provenance_mut::<()>(addr);
    // SAFETY: `addr` is the start of a live allocation (a header is borrowed, so its
    // allocation, which starts `header_offset()` bytes earlier, is alive), never 0.
    unsafe { NonNull::new_unchecked(task) }
}

/// Checks, on a task just allocated, everything this module assumes of async-task: `waker` (a
/// waker of the task) points at the allocation `header` is [`header_offset`] bytes into (the
/// first task measures the offset), and `handle` is that address too. Exposes the allocation's
/// provenance for [`task_of`]. Aborts the process on a mismatch (see the module docs).
#[inline]
pub(crate) fn check_spawned<T>(header: &Header, waker: &Waker, handle: &FallibleTask<T, Header>) {
    let task = waker.data();
    // Exposing makes `task_of`'s `with_exposed_provenance` able to pick this provenance up.
    let task_addr = task.expose_provenance();
    // SAFETY: `FallibleTask` is one word (asserted above), so its only non-zero-sized field,
    // async-task's raw task pointer, fills it: reading the word as a pointer reads that field.
    let handle_word = unsafe { ptr::from_ref(handle).cast::<*const ()>().read() };
    let offset = ptr::from_ref(header).addr().wrapping_sub(task_addr);
    if offset != header_offset() || handle_word != task {
        measure_or_abort(offset, handle_word == task);
    }
}

/// The spawn measured another `offset` than [`OFFSET`] (or the handle is not the task
/// pointer): async-task does not lay tasks out as this module assumes.
#[cold]
#[inline(never)]
fn measure_or_abort(offset: usize, handle_ok: bool) {
    layout_mismatch(offset, handle_ok);
}

/// async-task does not lay tasks out as this module assumes (a changed version?): abort, since
/// unwinding through the half-built task is not sound.
#[cold]
#[inline(never)]
fn layout_mismatch(offset: usize, handle_ok: bool) -> ! {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "tower_task: async-task's task layout is not the one task/layout.rs checks for \
         (header at offset {offset}, expected {OFFSET}; handle word is the task pointer: \
         {handle_ok}); update OFFSET in task/layout.rs; aborting"
    );
    std::process::abort()
}
