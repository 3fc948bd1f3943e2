//! The per-loop task registry: the live tasks of one event loop (for `all_tasks`, the task
//! tree, and freeing every task when the loop closes), and the thread-local table that finds a
//! loop's registry and task factory from the running loop.
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
//! thread reads under that mutex whenever it looks at addresses (`tasks`, `close`).

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use tower_loop::{EventLoop, LoopHandle, get_running_loop};

use super::factory::TaskFactory;
use super::header::Header;
use super::task_ref::TaskRef;

/// Slots of live tasks.
///
/// An entry is the address of a task's header (inside the task's allocation): registering a
/// task costs no reference count. The invariant that makes the addresses usable: an entry is
/// present only while the task's future (`TaskFuture`, which lives in the same allocation)
/// exists, because its `Drop` removes the entry — on the owner thread directly, elsewhere
/// under the registry's `remote` mutex (see [`Registry::tasks`]) — and async-task frees the
/// allocation only after the future is dropped.
#[derive(Default)]
struct Slab {
    /// One entry per slot; `None` is free.
    entries: Vec<Option<usize>>,
    /// Free slots.
    free: Vec<usize>,
}

impl Slab {
    /// Stores `addr`, returns its slot.
    fn insert(&mut self, addr: usize) -> usize {
        match self.free.pop() {
            Some(slot) => {
                self.entries[slot] = Some(addr);
                slot
            }
            None => {
                self.entries.push(Some(addr));
                self.entries.len() - 1
            }
        }
    }

    /// Frees `slot`.
    fn remove(&mut self, slot: usize) {
        if self.entries.get_mut(slot).and_then(Option::take).is_some() {
            self.free.push(slot);
        }
    }
}

/// The high bit of a slot: the entry is in the remote slab.
const REMOTE_BIT: usize = 1 << (usize::BITS - 1);

/// What other threads touch, behind the mutex.
#[derive(Default)]
struct RemoteSide {
    /// Tasks registered from other threads.
    slab: Slab,
    /// Owner-slab slots whose tasks were dropped on other threads, not yet freed.
    removed: Vec<usize>,
}

thread_local! {
    /// A per-thread byte whose address identifies the thread (cheaper than `ThreadId`).
    static MARK: u8 = const { 0 };
}

/// This thread's identity: the address of its [`MARK`] (0 during thread teardown).
fn thread_mark() -> usize {
    MARK.try_with(|m| std::ptr::from_ref(m) as usize)
        .unwrap_or(0)
}

/// The owner-thread slab: a `RefCell` that only the registry's owner thread touches.
struct OwnerSlab(RefCell<Slab>);

// SAFETY: the `RefCell` is borrowed only on the thread whose mark is `Registry::owner` (every
// access goes through `Registry::local`, which checks), so it is never shared between threads;
// moving or dropping it elsewhere is fine (`Slab` is plain data).
unsafe impl Sync for OwnerSlab {}

/// The live tasks of one loop.
pub(crate) struct Registry {
    /// The loop: done callbacks are scheduled there.
    pub(crate) handle: LoopHandle,
    /// The [`thread_mark`] of the loop's thread.
    owner: usize,
    /// Tasks registered on the owner thread.
    local: OwnerSlab,
    /// Tasks registered elsewhere, and removals from elsewhere.
    remote: Mutex<RemoteSide>,
    /// Set when `remote.removed` is not empty (checked on the owner's inserts).
    has_removed: AtomicBool,
    /// Set when the loop closed: no more tasks are registered.
    closed: AtomicBool,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish()
    }
}

impl Registry {
    /// The owner-thread slab, if this is the owner thread.
    fn local(&self) -> Option<&RefCell<Slab>> {
        (thread_mark() == self.owner).then_some(&self.local.0)
    }

    /// Locks the remote side (poison-free: no user code runs under it).
    fn remote(&self) -> MutexGuard<'_, RemoteSide> {
        self.remote.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Frees the owner-slab slots removed on other threads (owner thread, `remote` locked).
    fn drain_removed(local: &mut Slab, remote: &mut RemoteSide) {
        for slot in remote.removed.drain(..) {
            local.remove(slot);
        }
    }

    /// Registers the task whose header is at `addr` (alive until its `TaskFuture` is dropped,
    /// which calls [`remove`](Self::remove) with the slot returned here).
    pub(crate) fn insert(&self, addr: *const Header) -> usize {
        let addr = addr as usize;
        if let Some(local) = self.local() {
            let mut local = local.borrow_mut();
            if self.has_removed.swap(false, Ordering::Acquire) {
                Self::drain_removed(&mut local, &mut self.remote());
            }
            local.insert(addr)
        } else {
            self.remote().slab.insert(addr) | REMOTE_BIT
        }
    }

    /// Unregisters the task in `slot` (its future is being dropped; its header is alive).
    pub(crate) fn remove(&self, slot: usize) {
        if slot & REMOTE_BIT != 0 {
            self.remote().slab.remove(slot & !REMOTE_BIT);
        } else if let Some(local) = self.local() {
            local.borrow_mut().remove(slot);
        } else {
            self.remote().removed.push(slot);
            self.has_removed.store(true, Ordering::Release);
        }
    }

    /// The registered tasks, in slot order (owner thread's first). Off the owner thread (which
    /// nothing does today) only the remote ones.
    pub(crate) fn tasks(&self) -> Vec<TaskRef> {
        let mut remote = self.remote();
        let mut out = Vec::new();
        // The lock is held while addresses are read: a task dropped on another thread removes
        // its entry under it before releasing its header, so every entry left after the drain
        // points at a live header (see `Slab`).
        if let Some(local) = self.local() {
            let mut local = local.borrow_mut();
            Self::drain_removed(&mut local, &mut remote);
            out.extend(local.entries.iter().flatten().map(|&a| task_ref(a)));
        }
        out.extend(remote.slab.entries.iter().flatten().map(|&a| task_ref(a)));
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
        let wakers: Vec<_> = {
            let mut remote = self.remote();
            let mut addrs = Vec::new();
            if let Some(local) = self.local() {
                let mut local = local.borrow_mut();
                Self::drain_removed(&mut local, &mut remote);
                addrs.extend(local.entries.drain(..).flatten());
                local.free.clear();
            }
            addrs.extend(remote.slab.entries.drain(..).flatten());
            remote.slab.free.clear();
            addrs
                .into_iter()
                .map(|addr| {
                    // SAFETY: the lock is held and removals were drained, so the entry's
                    // header is alive (see `Slab` and `tasks`).
                    let header = unsafe { &*(addr as *const Header) };
                    // An owning waker: it keeps the task alive until it is woken below.
                    Waker::clone(&header.home())
                })
                .collect()
        };
        for w in wakers {
            w.wake();
        }
    }
}

/// A [`TaskRef`] of the header at `addr`: one more reference to its task.
fn task_ref(addr: usize) -> TaskRef {
    // SAFETY: called by `tasks` with the remote lock held after draining removals, so the
    // entry's header is alive (see `Slab`); `TaskRef::new` takes its own reference count.
    let header = unsafe { &*(addr as *const Header) };
    TaskRef::new(header)
}

/// A loop known to this thread.
pub(crate) struct LoopEntry {
    /// The loop.
    pub(crate) handle: LoopHandle,
    /// Its registry: the tasks spawned on it (`spawn`, `spawn_local`); their schedule function
    /// finds the loop here (`Registry::handle`).
    pub(crate) registry: Arc<Registry>,
    /// Another registry whose tasks the loop also lists (`all_tasks`, the task tree): on a
    /// runtime worker's loop, the runtime's.
    pub(crate) also: Option<Arc<Registry>>,
    /// Its task factory, if one was set.
    pub(crate) factory: Option<TaskFactory>,
}

thread_local! {
    /// The loops that ran tasks on this thread (closed ones are pruned).
    static LOOPS: RefCell<Vec<LoopEntry>> = const { RefCell::new(Vec::new()) };
}

/// Creates the registry of `lp` and its close hook.
fn new_registry(lp: &EventLoop, handle: &LoopHandle) -> Arc<Registry> {
    let registry = Arc::new(Registry {
        handle: handle.clone(),
        owner: thread_mark(),
        local: OwnerSlab(RefCell::new(Slab::default())),
        remote: Mutex::new(RemoteSide::default()),
        has_removed: AtomicBool::new(false),
        closed: AtomicBool::new(false),
    });
    let reg = registry.clone();
    lp.on_close(move || {
        reg.close();
        // Forget the closed loop (its handle keeps the poller's fd open).
        let _ = LOOPS.try_with(|loops| {
            if let Ok(mut loops) = loops.try_borrow_mut() {
                loops.retain(|e| !Arc::ptr_eq(&e.registry, &reg));
            }
        });
    });
    registry
}

/// Calls `f` with the entry of `lp` (whose handle is `handle`), creating it if needed.
pub(crate) fn with_loop<R>(
    lp: &EventLoop,
    handle: &LoopHandle,
    f: impl FnOnce(&mut LoopEntry) -> R,
) -> R {
    LOOPS.with(|loops| {
        let mut loops = loops.borrow_mut();
        if let Some(i) = loops.iter().position(|e| e.handle.same_loop(handle)) {
            if i != 0 {
                loops.swap(0, i);
            }
        } else {
            loops.retain(|e| !e.handle.is_closed());
            let registry = new_registry(lp, handle);
            loops.insert(
                0,
                LoopEntry {
                    handle: handle.clone(),
                    registry,
                    also: None,
                    factory: None,
                },
            );
        }
        f(&mut loops[0])
    })
}

/// The registered tasks of a loop: those of its own registry, then of `also`.
fn tasks_of(own: &Registry, also: Option<&Registry>) -> Vec<TaskRef> {
    let mut out = own.tasks();
    if let Some(also) = also {
        out.extend(also.tasks());
    }
    out
}

/// The registered tasks of `lp` (creating its entry if needed).
pub(crate) fn loop_tasks(lp: &EventLoop) -> Vec<TaskRef> {
    let handle = lp.handle();
    let (own, also) = with_loop(lp, &handle, |e| (e.registry.clone(), e.also.clone()));
    tasks_of(&own, also.as_deref())
}

/// The registered tasks of the running loop (none if no loop runs or none was spawned).
pub(crate) fn running_tasks() -> Vec<TaskRef> {
    let Ok(lp) = get_running_loop() else {
        return Vec::new();
    };
    let handle = lp.handle();
    let found = LOOPS.with(|loops| {
        loops
            .borrow()
            .iter()
            .find(|e| e.handle.same_loop(&handle))
            .map(|e| (e.registry.clone(), e.also.clone()))
    });
    match found {
        Some((own, also)) => tasks_of(&own, also.as_deref()),
        None => Vec::new(),
    }
}

/// A registry on `lp`'s thread, freed when `lp` closes, that is not `lp`'s own: the
/// multi-thread runtime's (its tasks are scheduled by the runtime, not through the registry's
/// loop; done callbacks run on `lp`).
pub(crate) fn shared_registry(lp: &EventLoop) -> Arc<Registry> {
    new_registry(lp, &lp.handle())
}

/// Makes the loop `lp` also list the tasks of `registry` (a runtime worker's loop lists the
/// runtime's tasks).
pub(crate) fn also_list(lp: &EventLoop, registry: Arc<Registry>) {
    let handle = lp.handle();
    let old = with_loop(lp, &handle, |e| e.also.replace(registry));
    drop(old);
}
