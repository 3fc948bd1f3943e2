//! Which runtime this thread is in: the worker running on it ([`enter_worker`], for the length
//! of its loop's run), or the runtime `block_on` entered ([`enter_block_on`]). A wake-up finds
//! the current worker here to push locally; `tower_task::spawn` asks here whether to spawn
//! onto a runtime.
//!
//! All of it is thread-local: no other thread reads it.

use std::cell::{Cell, RefCell};

use super::shared::{Shared, runtime_id};
use super::worker::Worker;
use crate::loom::Arc;

/// The worker running on this thread: what [`enter_worker`] sets for the length of its call.
///
/// Two plain cells, not a `RefCell<Option<Rc<Worker>>>`: a wake-up on a worker reads the
/// runtime id and compares it (a thread-local read and a compare), and reads the pointer only
/// when the ids match, without a borrow flag or a reference count.
struct Current {
    /// The running worker, or null. Non-null only inside [`enter_worker`], which borrows the
    /// worker for its whole call (see the SAFETY argument in [`with_current_id`]).
    worker: Cell<*const Worker>,
    /// The [`runtime_id`] of the running worker's runtime, or 0 (no runtime has address 0).
    id: Cell<usize>,
}

impl Current {
    /// No worker running.
    const fn new() -> Current {
        Current {
            worker: Cell::new(std::ptr::null()),
            id: Cell::new(0),
        }
    }
}

#[cfg(not(loom))]
thread_local! {
    /// The worker running on this thread, if any (see [`Current`]).
    static CURRENT: Current = const { Current::new() };
}

#[cfg(loom)]
loom::thread_local! {
    /// The worker running on this thread, if any (see [`Current`]).
    static CURRENT: Current = Current::new();
}

/// Calls `f` with the worker of runtime `id` ([`runtime_id`]) running on this thread, or
/// `None`.
#[inline]
pub(crate) fn with_current_id<R>(id: usize, f: impl FnOnce(Option<&Worker>) -> R) -> R {
    let ptr = CURRENT
        .try_with(|c| {
            if c.id.get() == id {
                c.worker.get()
            } else {
                std::ptr::null()
            }
        })
        .unwrap_or(std::ptr::null());
    if ptr.is_null() {
        return f(None);
    }
    // Why the pointer is valid: `CURRENT` is written only by `enter_worker`, which stores
    // `worker` (a `&Worker` borrowed for the whole call), calls its closure, and restores the
    // previous value when the closure returns or unwinds (`Restore`, a guard local to
    // `enter_worker`). Those scopes nest as calls do, so a non-null value read here was stored
    // by an `enter_worker` frame still on this thread's stack (had it returned, we would read
    // the value it restored); its worker stays borrowed until that frame returns, which is
    // after `f` returns, as `f` runs deeper on the same stack. A nested `enter_worker` inside
    // `f` changes `CURRENT`, not the worker behind `ptr`. The cell is thread-local: no other
    // thread reads it.
    // SAFETY: `ptr` is non-null, so it points at a worker borrowed by an `enter_worker` frame
    // below this one on this thread's stack, alive until after `f` returns (argument above).
    let w = unsafe { &*ptr };
    f(Some(w))
}

/// Calls `f` with the worker of `shared` running on this thread, or `None`.
#[inline]
pub(crate) fn with_current<R>(shared: &Arc<Shared>, f: impl FnOnce(Option<&Worker>) -> R) -> R {
    with_current_id(runtime_id(shared), f)
}

/// The shared state of the runtime whose worker runs on this thread, if any.
#[inline]
fn current_shared() -> Option<Arc<Shared>> {
    let id = CURRENT.try_with(|c| c.id.get()).unwrap_or(0);
    if id == 0 {
        return None;
    }
    with_current_id(id, |w| w.map(|w| w.shared.clone()))
}

/// Restores the previous current worker when [`enter_worker`]'s call ends (returns or
/// unwinds).
struct Restore {
    /// The worker current before.
    worker: *const Worker,
    /// Its runtime id.
    id: usize,
}

impl Drop for Restore {
    fn drop(&mut self) {
        leave_runtime();
        let _ = CURRENT.try_with(|c| {
            c.worker.set(self.worker);
            c.id.set(self.id);
        });
    }
}

/// Runs `f` with `worker` current on this thread (local scheduling goes to it, and
/// [`with_current`] finds it), then restores what was current before, also if `f` unwinds.
pub(crate) fn enter_worker<R>(worker: &Worker, f: impl FnOnce() -> R) -> R {
    let prev = CURRENT.with(|c| Restore {
        worker: c.worker.replace(worker),
        id: c.id.replace(runtime_id(&worker.shared)),
    });
    enter_runtime();
    let out = f();
    drop(prev);
    out
}

#[cfg(not(loom))]
thread_local! {
    /// The runtime entered by `block_on` on this thread.
    static ENTERED: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}

#[cfg(loom)]
loom::thread_local! {
    /// The runtime entered by `block_on` on this thread.
    static ENTERED: RefCell<Option<Arc<Shared>>> = RefCell::new(None);
}

thread_local! {
    /// How many runtime contexts (a worker, `block_on`) are entered on this thread: the one
    /// thread-local read `tower_task::spawn` pays to know whether to spawn onto a runtime.
    static IN_RUNTIME: Cell<u32> = const { Cell::new(0) };
}

/// A worker or `block_on` entered a runtime on this thread.
fn enter_runtime() {
    let _ = IN_RUNTIME.try_with(|c| c.set(c.get() + 1));
}

/// Undoes [`enter_runtime`].
fn leave_runtime() {
    let _ = IN_RUNTIME.try_with(|c| c.set(c.get().saturating_sub(1)));
}

/// Whether a runtime context (a worker, `block_on`) is entered on this thread: one
/// thread-local read.
#[inline]
pub(crate) fn in_runtime() -> bool {
    IN_RUNTIME.try_with(Cell::get).unwrap_or(0) != 0
}

/// The runtime this thread is in: its worker's, else the one `block_on` entered, if any.
#[inline]
pub(crate) fn current() -> Option<Arc<Shared>> {
    if let Some(shared) = current_shared() {
        return Some(shared);
    }
    ENTERED.try_with(|e| e.borrow().clone()).ok().flatten()
}

/// Enters `shared` for a `block_on` on this thread, until the returned guard is dropped.
pub(crate) fn enter_block_on(shared: Arc<Shared>) -> Entered {
    let prev = ENTERED.with(|e| e.borrow_mut().replace(shared));
    enter_runtime();
    Entered { prev }
}

/// Restores the previously entered runtime on drop (see [`enter_block_on`]).
#[must_use = "the runtime is left when the guard is dropped"]
pub(crate) struct Entered {
    /// What was entered before.
    prev: Option<Arc<Shared>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        leave_runtime();
        let prev = self.prev.take();
        let mine = ENTERED.try_with(|e| std::mem::replace(&mut *e.borrow_mut(), prev));
        drop(mine);
    }
}
