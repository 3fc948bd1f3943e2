//! The per-loop task registry: the live tasks of one event loop (for `all_tasks`, the task
//! tree, and freeing every task when the loop closes), and the thread-local table that finds a
//! loop's registry and task factory from the running loop.
//!
//! A task's header holds the waker of its own task (for `cancel`), so a task that nothing else
//! will ever wake would keep itself alive forever. The registry breaks that cycle when its loop
//! closes: each registry registers a never-ready reader (one end of a socket pair) with its loop,
//! whose callback owns a [`CloseHook`]; closing (or dropping) the loop drops every fd callback,
//! and the hook wakes every live task. Their runnables are then scheduled on a closed loop,
//! which drops them — and with them the futures. (tower-loop has no close hook yet; the fd
//! trick costs one socket pair and one idle registration per loop that ran a task. A
//! `EventLoop::on_close` hook in tier 2 would replace it.)

use std::cell::RefCell;
use std::fmt;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tower_loop::{EventLoop, LoopHandle, get_running_loop};

use super::factory::TaskFactory;
use super::header::{Header, TaskRef, new_header, purge_pool};

/// Slots of live tasks.
///
/// An entry is the address of a header (`Arc::as_ptr`), not an `Arc`: registering a task
/// costs no reference count. The invariant that makes the addresses usable: an entry is
/// present only while the task's future (`TaskFuture`, which owns an `Arc` of the header)
/// exists, because its `Drop` removes the entry, under the lock, before releasing that `Arc`.
/// So while the lock is held, every entry points at a live header.
#[derive(Default)]
struct Slab {
    /// One entry per slot; `None` is free.
    entries: Vec<Option<usize>>,
    /// Free slots.
    free: Vec<usize>,
}

/// The live tasks of one loop.
pub(crate) struct Registry {
    /// The loop: done callbacks are scheduled there.
    pub(crate) handle: LoopHandle,
    /// The tasks.
    slab: Mutex<Slab>,
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
    /// Locks the slab (poison-free: no user code runs under it).
    fn slab(&self) -> MutexGuard<'_, Slab> {
        self.slab.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new header built by `make(slot)`.
    pub(crate) fn insert(&self, make: impl FnOnce(usize) -> Header) -> Arc<Header> {
        let mut slab = self.slab();
        let slot = match slab.free.pop() {
            Some(s) => s,
            None => {
                slab.entries.push(None);
                slab.entries.len() - 1
            }
        };
        let header = new_header(make(slot));
        slab.entries[slot] = Some(Arc::as_ptr(&header) as usize);
        header
    }

    /// Unregisters the task in `slot` (its future was dropped).
    pub(crate) fn remove(&self, slot: usize) {
        let mut slab = self.slab();
        if slab.entries.get_mut(slot).and_then(Option::take).is_some() {
            slab.free.push(slot);
        }
    }

    /// The registered tasks, in slot order.
    pub(crate) fn tasks(&self) -> Vec<TaskRef> {
        let slab = self.slab();
        slab.entries
            .iter()
            .flatten()
            .map(|&addr| {
                let ptr = addr as *const Header;
                // SAFETY: the lock is held, so the entry's header is alive (see `Slab`); we
                // take one more reference to it, which `from_raw` then owns.
                let header = unsafe {
                    Arc::increment_strong_count(ptr);
                    Arc::from_raw(ptr)
                };
                TaskRef { header }
            })
            .collect()
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

    /// Whether the loop closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The loop closed: forget every task and wake each one, so that its runnable is scheduled
    /// on the closed loop and dropped with its future. Wakes after the lock is released.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let wakers: Vec<_> = {
            let mut slab = self.slab();
            let wakers = slab
                .entries
                .iter()
                .flatten()
                .filter_map(|&addr| {
                    // SAFETY: the lock is held, so the entry's header is alive (see `Slab`).
                    let header = unsafe { &*(addr as *const Header) };
                    header.waker.get().cloned()
                })
                .collect();
            slab.entries.clear();
            slab.free.clear();
            wakers
        };
        for w in wakers {
            w.wake();
        }
    }
}

/// Owned by the loop (inside a never-ready fd callback): frees the tasks when the loop drops
/// its fd callbacks on close.
struct CloseHook {
    /// The registry to close.
    registry: Arc<Registry>,
    /// The socket pair whose first end is registered; kept open until the hook drops.
    _fds: (UnixStream, UnixStream),
}

impl Drop for CloseHook {
    fn drop(&mut self) {
        self.registry.close();
        purge_pool(&self.registry);
        // Forget the closed loop (its handle keeps the poller's fd open).
        let _ = LOOPS.try_with(|loops| {
            if let Ok(mut loops) = loops.try_borrow_mut() {
                loops.retain(|e| !Arc::ptr_eq(&e.registry, &self.registry));
            }
        });
    }
}

/// A loop known to this thread.
pub(crate) struct LoopEntry {
    /// The loop.
    pub(crate) handle: LoopHandle,
    /// Its registry.
    pub(crate) registry: Arc<Registry>,
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
        slab: Mutex::new(Slab::default()),
        closed: AtomicBool::new(false),
    });
    if let Ok((a, b)) = UnixStream::pair() {
        let fd = a.try_clone();
        let hook = CloseHook {
            registry: registry.clone(),
            _fds: (a, b),
        };
        if let Ok(fd) = fd {
            // The callback never runs: nothing is ever written to the other end.
            let _ = lp.add_reader(&fd, move || {
                let _ = &hook;
            });
        }
    }
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
                    factory: None,
                },
            );
        }
        f(&mut loops[0])
    })
}

/// The registry of the running loop, if any task was spawned on it.
pub(crate) fn running_registry() -> Option<Arc<Registry>> {
    let lp = get_running_loop().ok()?;
    let handle = lp.handle();
    LOOPS.with(|loops| {
        loops
            .borrow()
            .iter()
            .find(|e| e.handle.same_loop(&handle))
            .map(|e| e.registry.clone())
    })
}
