//! The per-loop task registry: the live tasks of one event loop (for `all_tasks`, the task
//! tree, and freeing every task when the loop closes), kept with the loop's task options in the
//! loop's attached data ([`LoopTasks`]).
//!
//! A task's header holds the waker of its own task (for `cancel`), so a task that nothing else
//! will ever wake would keep itself alive forever. The registry breaks that cycle when its loop
//! closes: an [`EventLoop::on_close`] hook wakes every live task before the loop drops its
//! pending work; their runnables are then scheduled on a closed loop, which drops them — and
//! with them the futures.
//!
//! A loop is per thread, so the registry is too, mostly: inserts and removes on the loop's own
//! thread (every single-thread spawn) touch a plain `RefCell`ed slab with no lock. Only the
//! multi-thread runtime inserts from, or finishes tasks on, other threads; those go through a
//! mutex-protected side (a second slab, and the removals of owner-slab slots), which the owner
//! thread reads under that mutex whenever it looks at addresses (`tasks`, `close`). That
//! protocol lives in [`slots`](super::slots), which knows nothing of tasks (and is loom-checked
//! by `tests/loom_registry.rs`).

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::task::Waker;

use tower_loop::{EventLoop, LoopHandle, get_running_loop, with_running_loop};

use super::header::Header;
use super::loop_options::LoopTaskOptions;
use super::scheduler_link::SchedulerLink;
use super::slots::Slots;
use super::task_ref::TaskRef;
use crate::loom::{AtomicBool, Ordering};

/// The live tasks of one loop.
///
/// An entry of `slots` is the address of a task's header (inside the task's allocation):
/// registering a task costs no reference count. The invariant that makes the addresses usable:
/// an entry is present only while the task's future (`TaskFuture`, which lives in the same
/// allocation) exists, because its `Drop` removes the entry — on the owner thread directly,
/// elsewhere under the slots' mutex (see [`Slots::for_each`]) — and async-task frees the
/// allocation only after the future is dropped.
pub(crate) struct Registry {
    /// The loop: done callbacks are scheduled there.
    pub(crate) handle: LoopHandle,
    /// The registered headers' addresses, owned by the loop's thread.
    slots: Slots,
    /// Set when the loop closed: no more tasks are registered.
    closed: AtomicBool,
    /// The loop has task options (a copy of `LoopTasks::options.is_some()`, written on the
    /// loop's thread): a runtime worker's spawns skip the options lookup when it is unset.
    has_options: AtomicBool,
    /// On a multi-thread scheduler's worker loop, the scheduler (set as the worker starts,
    /// before any task is registered): the scheduler's schedule function finds it here.
    pub(crate) scheduler: OnceLock<SchedulerLink>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish()
    }
}

impl Registry {
    /// An empty registry of `lp`'s tasks (not yet hooked to the loop's close: see
    /// [`LoopTasks`]).
    pub(crate) fn new(lp: &EventLoop) -> Registry {
        Registry {
            handle: lp.handle(),
            slots: Slots::new(),
            closed: AtomicBool::new(false),
            has_options: AtomicBool::new(false),
            scheduler: OnceLock::new(),
        }
    }

    /// Registers the task whose header is at `addr` (alive until its `TaskFuture` is dropped,
    /// which calls [`remove`](Self::remove) with the slot returned here).
    #[inline]
    pub(crate) fn insert(&self, addr: *const Header) -> u32 {
        // A slot is below 2^32: an index below 2^31 (`Slots` stops there) and `REMOTE_BIT`,
        // which is bit 31.
        self.slots.insert(addr as usize) as u32
    }

    /// Unregisters the task in `slot` (its future is being dropped; its header is alive).
    #[inline]
    pub(crate) fn remove(&self, slot: u32) {
        self.slots.remove(slot as usize);
    }

    /// Whether the loop has task options (see `has_options`).
    #[inline]
    pub(crate) fn has_options(&self) -> bool {
        self.has_options.load(Ordering::Relaxed)
    }

    /// Records whether the loop has task options (`set_task_factory`, on the loop's thread).
    pub(crate) fn set_has_options(&self, on: bool) {
        self.has_options.store(on, Ordering::Relaxed);
    }

    /// How many tasks are registered (a snapshot, on any thread).
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The registered tasks, in slot order (owner thread's first). Off the owner thread (which
    /// nothing does today) only the remote ones.
    pub(crate) fn tasks(&self) -> Vec<TaskRef> {
        let mut out = Vec::new();
        // `for_each` holds the slots' mutex while it hands out addresses, after draining the
        // removals from other threads: a task dropped on another thread removes its entry
        // under it before releasing its header, so every address points at a live header.
        self.slots.for_each(|a| out.push(task_ref(a)));
        out
    }

    /// Schedules `f` on this registry's loop: `call_soon` on its thread, else
    /// `call_soon_threadsafe` (dropped if the loop is closed).
    pub(crate) fn schedule_callback(&self, f: impl FnOnce() + Send + 'static) {
        if self.handle.is_current() {
            if let Ok(lp) = get_running_loop() {
                lp.call_soon(f);
                return;
            }
        }
        self.handle.call_soon_threadsafe(f);
    }

    /// The loop closed (its `on_close` hook, on the owner thread): forget every task and wake
    /// each one, so that its runnable is scheduled on the closed loop and dropped with its
    /// future. Wakes after the lock is released.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let mut wakers = Vec::new();
        self.slots.take_all(|addr| {
            // SAFETY: `take_all` holds the slots' mutex and drained the removals, so the
            // entry's header is alive (see `Registry`).
            let header = unsafe { &*(addr as *const Header) };
            // An owning waker: it keeps the task alive until it is woken below.
            wakers.push(Waker::clone(&header.home()));
        });
        for w in wakers {
            w.wake();
        }
    }
}

/// A [`TaskRef`] of the header at `addr`: one more reference to its task.
fn task_ref(addr: usize) -> TaskRef {
    // SAFETY: called by `tasks` from `Slots::for_each` (mutex held, removals drained), so the
    // entry's header is alive (see `Registry`); `TaskRef::new` takes its own reference count.
    let header = unsafe { &*(addr as *const Header) };
    TaskRef::new(header)
}

/// What tier 4 keeps per event loop ([`EventLoop::attached`]).
pub(crate) struct LoopTasks {
    /// Its registry: the tasks spawned on it (`spawn`, `spawn_local`); their schedule function
    /// finds the loop here (`Registry::handle`).
    pub(crate) registry: Arc<Registry>,
    /// Other registries whose tasks the loop also lists (`all_tasks`, the task tree): on a
    /// runtime worker's loop, every worker's.
    pub(crate) also: RefCell<Option<RegistrySet>>,
    /// Its task options, if some were set (`set_task_factory`).
    pub(crate) options: RefCell<Option<LoopTaskOptions>>,
}

impl LoopTasks {
    /// The tasks of `lp`: a fresh registry, closed by an `on_close` hook of `lp`.
    fn new(lp: &EventLoop) -> LoopTasks {
        let registry = Arc::new(Registry::new(lp));
        let reg = registry.clone();
        lp.on_close(move || reg.close());
        LoopTasks {
            registry,
            also: RefCell::new(None),
            options: RefCell::new(None),
        }
    }
}

/// The tasks of `lp` (made on first use).
#[inline]
pub(crate) fn loop_tasks_of(lp: &EventLoop) -> Rc<LoopTasks> {
    lp.attached(|| LoopTasks::new(lp))
}

/// The registries of a multi-thread runtime's worker loops, one slot per worker (set as each
/// worker starts): every worker loop lists them all.
pub(crate) type RegistrySet = Arc<[OnceLock<Arc<Registry>>]>;

/// The registered tasks of a loop: those of its own registry, then of the other registries in
/// `also`.
fn tasks_of(own: &Arc<Registry>, also: Option<&RegistrySet>) -> Vec<TaskRef> {
    let mut out = own.tasks();
    for other in also
        .iter()
        .flat_map(|set| set.iter())
        .filter_map(OnceLock::get)
    {
        if !Arc::ptr_eq(other, own) {
            out.extend(other.tasks());
        }
    }
    out
}

/// The registered tasks of `lp` (creating its entry if needed).
pub(crate) fn loop_tasks(lp: &EventLoop) -> Vec<TaskRef> {
    let tasks = loop_tasks_of(lp);
    let also = tasks.also.borrow().clone();
    tasks_of(&tasks.registry, also.as_ref())
}

/// The registered tasks of the running loop (none if no loop runs).
pub(crate) fn running_tasks() -> Vec<TaskRef> {
    with_running_loop(loop_tasks).unwrap_or_default()
}

/// The registry of `lp` (created on first use): where tasks spawned on it are registered.
pub(crate) fn own_registry(lp: &EventLoop) -> Arc<Registry> {
    loop_tasks_of(lp).registry.clone()
}

/// Makes the loop `lp` also list the tasks of the registries in `set` (a runtime worker's loop
/// lists every worker's).
pub(crate) fn also_list(lp: &EventLoop, set: RegistrySet) {
    let old = loop_tasks_of(lp).also.replace(Some(set));
    drop(old);
}
