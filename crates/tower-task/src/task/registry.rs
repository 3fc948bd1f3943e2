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
//!
//! A header does not hold its registry's address: it holds the registry's *index*, 16 bits
//! packed with the home waker's vtable address ([`Header`]'s `home` word), and finds the
//! registry in a process-wide table ([`by_index`]), so that an idle task's allocation is a word
//! smaller (`header.rs`, "Sizes"; decision 0007). A registry takes a free index as it is made
//! ([`Registry::new_arc`]) and gives it back as it is dropped — after the last header that holds
//! one of its reference counts.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::AtomicPtr;
use std::sync::{Arc, Mutex as StdMutex, OnceLock};
use std::task::Waker;

use tower_loop::{EventLoop, LoopHandle, get_running_loop, with_running_loop};

use super::header::Header;
use super::loop_options::LoopTaskOptions;
use super::scheduler_link::SchedulerLink;
use super::slots::{Reserved, Slots};
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
    /// Its index in the table of registries ([`by_index`]), which its tasks' headers hold.
    index: u16,
}

/// How many registries can be alive at once (a header keeps 16 bits of index).
const MAX_REGISTRIES: usize = 1 << 16;

/// The registries alive, by index: set as a registry is made (before any task of it exists),
/// cleared as it is dropped (after the last one). Zeroed static memory: only the pages of the
/// indices in use are ever touched. Plain `std` atomics even under loom: an entry is written
/// before any model thread can see the registry, and read only through a header that holds a
/// reference count of it.
static REGISTRIES: [AtomicPtr<Registry>; MAX_REGISTRIES] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; MAX_REGISTRIES];

/// The table's free indices, and the first index never handed out.
static FREE_INDICES: StdMutex<(Vec<u16>, usize)> = StdMutex::new((Vec::new(), 0));

/// A free index of the table (a freed one first, so the table stays dense).
fn take_index() -> u16 {
    let mut free = FREE_INDICES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(i) = free.0.pop() {
        return i;
    }
    let i = free.1;
    if i >= MAX_REGISTRIES {
        drop(free);
        too_many_registries();
    }
    free.1 += 1;
    i as u16
}

/// More than [`MAX_REGISTRIES`] event loops with tasks are alive at once.
#[cold]
#[inline(never)]
fn too_many_registries() -> ! {
    panic!("tower_task: more than {MAX_REGISTRIES} event loops with tasks alive at once")
}

/// The registry at `index` of the table.
///
/// # Safety
///
/// A registry must be alive at `index` for as long as the result is used: the caller holds a
/// reference count of it (a task header's, see [`Header`]).
#[inline(always)]
pub(crate) unsafe fn by_index<'a>(index: u16) -> &'a Registry {
    let ptr = REGISTRIES[usize::from(index)].load(std::sync::atomic::Ordering::Relaxed);
    // The entry was set (with the registry's address, from its `Arc`) before the registry was
    // handed to anyone, so before any header holding its index existed; the reader got the
    // header through something that published it after that, and the entry is cleared only by
    // the registry's drop, after the caller's count is gone (the caller's contract).
    // SAFETY: so `ptr` points to a live registry for as long as the caller uses the result.
    unsafe { &*ptr }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish()
    }
}

impl Registry {
    /// An empty registry of `lp`'s tasks, entered in the table of registries (not yet hooked
    /// to the loop's close: see [`LoopTasks`]).
    pub(crate) fn new_arc(lp: &EventLoop) -> Arc<Registry> {
        let index = take_index();
        let registry = Arc::new(Registry {
            handle: lp.handle(),
            slots: Slots::new(),
            closed: AtomicBool::new(false),
            has_options: AtomicBool::new(false),
            scheduler: OnceLock::new(),
            index,
        });
        REGISTRIES[usize::from(index)].store(
            Arc::as_ptr(&registry).cast_mut(),
            std::sync::atomic::Ordering::Release,
        );
        registry
    }

    /// Its index in the table of registries ([`by_index`]).
    #[inline]
    pub(crate) fn index(&self) -> u16 {
        self.index
    }

    /// Takes a slot for a task about to be allocated (its future stores the slot); the task
    /// is registered — listed by [`tasks`](Self::tasks), woken by the loop's close — once
    /// [`fill`](Self::fill) stores its header's address there, and stays so until its
    /// `TaskFuture` is dropped, which calls [`remove`](Self::remove) with the slot. A slot is
    /// below 2^32: an index below 2^31 (`Slots` stops there) and `REMOTE_BIT`, bit 31.
    #[inline(always)]
    pub(crate) fn reserve(&self) -> Reserved {
        self.slots.reserve()
    }

    /// Registers the task whose header is at `addr` in the slot `reserved` holds (the task's
    /// home is recorded: `Header::set_home`).
    ///
    /// # Safety
    ///
    /// As [`Slots::fill`]: `reserved` is from [`reserve`](Self::reserve) on this thread, and
    /// nothing touched this registry on this thread since.
    #[inline(always)]
    pub(crate) unsafe fn fill(&self, reserved: Reserved, addr: *const Header) {
        // SAFETY: the caller's contract.
        unsafe { self.slots.fill(reserved, addr as usize) };
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

impl Drop for Registry {
    fn drop(&mut self) {
        // No header holds a count of it any more: nothing reads the entry again.
        REGISTRIES[usize::from(self.index)]
            .store(std::ptr::null_mut(), std::sync::atomic::Ordering::Relaxed);
        FREE_INDICES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .push(self.index);
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
        let registry = Registry::new_arc(lp);
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{MAX_REGISTRIES, Registry, by_index};

    // A registry is found by its index while it lives, and gives the index back as it is
    // dropped: more registries than the table holds, made and dropped one after another, all
    // fit (without the reuse, the 65537th would panic).
    #[test]
    fn registry_indices_are_reused() {
        let lp = tower_loop::EventLoop::new().unwrap();
        for _ in 0..MAX_REGISTRIES + 10 {
            let r = Registry::new_arc(&lp);
            // SAFETY: `r` is alive while the reference is used.
            let found = unsafe { by_index(r.index()) };
            assert!(std::ptr::eq(found, &*r));
        }
    }
}
