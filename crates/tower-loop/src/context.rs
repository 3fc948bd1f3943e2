//! The thread-local "running loop" (asyncio's `_running_loop`), set while a loop runs.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::sync::Arc;

use crate::core::Core;
use crate::error::NoRunningLoop;
use crate::event_loop::EventLoop;
use crate::loop_handle::Shared;

thread_local! {
    /// The loop running on this thread, if any.
    static CURRENT: RefCell<Option<EventLoop>> = const { RefCell::new(None) };
    /// Every live loop created on this thread (running or not), so that work handed to a loop
    /// from its own thread while it is not running goes straight to its ready queue.
    static OWNED: RefCell<Vec<Weak<Core>>> = const { RefCell::new(Vec::new()) };
    /// The hot-path view of [`CURRENT`]: the running loop's core as a raw pointer (null: none)
    /// and whether it is in debug mode. Written only by [`set`] and [`set_debug_flag`]; the
    /// pointer is valid while it is non-null, because `CURRENT` holds an `Rc` of that core for
    /// exactly as long.
    static FAST: Fast = const {
        Fast {
            core: Cell::new(std::ptr::null()),
            debug: Cell::new(false),
        }
    };
}

/// See [`FAST`].
struct Fast {
    /// `Rc::as_ptr` of the running loop's core, or null.
    core: Cell<*const Core>,
    /// The running loop's debug mode.
    debug: Cell<bool>,
}

/// Calls `f` with the running loop's core if it is the loop whose shared half is `shared`
/// (a thread-local read and a pointer comparison); `None` otherwise (or during thread
/// teardown).
#[inline]
pub(crate) fn with_running_if<R>(shared: &Arc<Shared>, f: impl FnOnce(&Core) -> R) -> Option<R> {
    let ptr = FAST.try_with(|c| c.core.get()).ok()?;
    if ptr.is_null() {
        return None;
    }
    // SAFETY: a non-null `FAST.core` points at the core that `CURRENT` holds an `Rc` of (both
    // are written together by `set`), and `CURRENT` is not cleared while `f` runs: `set` is
    // called only by `EventLoop::enter` and `RunGuard::drop`, never from a callback or task
    // that `f` could run (`f` only pushes onto a queue).
    let core = unsafe { &*ptr };
    if Arc::ptr_eq(core.shared(), shared) {
        Some(f(core))
    } else {
        None
    }
}

/// Whether the loop running on this thread is in debug mode (a thread-local read; `false`
/// when no loop runs). What a task's wrapper checks on every poll.
///
/// ```
/// use tower_loop::{EventLoop, running_loop_debug};
///
/// assert!(!running_loop_debug());
/// let lp = EventLoop::builder().debug(true).build().unwrap();
/// lp.run_until_complete(async { assert!(running_loop_debug()) }).unwrap();
/// ```
#[inline]
pub fn running_loop_debug() -> bool {
    FAST.try_with(|c| c.debug.get()).unwrap_or(false)
}

/// Updates the cached debug flag if `core` is the running loop (from `set_debug`).
pub(crate) fn set_debug_flag(core: &Core, on: bool) {
    let _ = FAST.try_with(|c| {
        if std::ptr::eq(c.core.get(), core) {
            c.debug.set(on);
        }
    });
}

/// Records a loop created on this thread.
pub(crate) fn register_owned(core: &Rc<Core>) {
    let _ = OWNED.try_with(|o| {
        let mut o = o.borrow_mut();
        o.retain(|w| w.strong_count() > 0);
        o.push(Rc::downgrade(core));
    });
}

/// The loop of this thread whose shared half is `shared`: the running one first (no scan),
/// else one created here and not running.
#[inline]
pub(crate) fn with_loop<R>(shared: &Arc<Shared>, f: impl FnOnce(Option<&Core>) -> R) -> R {
    let mut f = Some(f);
    let r = with_current(|cur| match cur {
        Some(core) if Arc::ptr_eq(core.shared(), shared) => f.take().map(|f| f(Some(core))),
        _ => None,
    });
    if let Some(r) = r {
        return r;
    }
    let owned = OWNED
        .try_with(|o| {
            o.borrow()
                .iter()
                .filter_map(Weak::upgrade)
                .find(|c| Arc::ptr_eq(c.shared(), shared))
        })
        .ok()
        .flatten();
    let f = f.take().expect("not called yet");
    f(owned.as_deref())
}

/// Calls `f` with the running loop's core (or `None`); `None` too during thread teardown.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Rc<Core>>) -> R) -> R {
    let mut f = Some(f);
    match CURRENT.try_with(|cur| {
        let cur = cur.borrow();
        (f.take().expect("called once"))(cur.as_ref().map(EventLoop::core))
    }) {
        Ok(r) => r,
        Err(_) => (f.take().expect("not called by try_with"))(None),
    }
}

/// The running loop's core, cloned.
pub(crate) fn current() -> Option<Rc<Core>> {
    with_current(|c| c.cloned())
}

/// Installs `core` as this thread's running loop; the caller checked that none is.
pub(crate) fn set(core: Option<Rc<Core>>) -> Option<Rc<Core>> {
    let (ptr, debug) = match &core {
        Some(c) => (Rc::as_ptr(c), c.debug().is_enabled()),
        None => (std::ptr::null(), false),
    };
    let new = core.map(EventLoop::from_core);
    let prev = CURRENT.with(|cur| std::mem::replace(&mut *cur.borrow_mut(), new));
    FAST.with(|c| {
        c.core.set(ptr);
        c.debug.set(debug);
    });
    prev.map(|lp| lp.core().clone())
}

/// The event loop running on this thread (asyncio's `get_running_loop`).
///
/// ```
/// use tower_loop::{get_running_loop, EventLoop};
///
/// assert!(get_running_loop().is_err());
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     assert!(get_running_loop().is_ok());
/// })
/// .unwrap();
/// ```
pub fn get_running_loop() -> Result<EventLoop, NoRunningLoop> {
    current().map(EventLoop::from_core).ok_or(NoRunningLoop)
}

/// Calls `f` with the event loop running on this thread, borrowed: [`get_running_loop`]
/// without the clone (a reference count taken and released), for hot paths such as a spawn.
///
/// `f` may use the loop freely, spawn and run callbacks' code included; the running loop
/// cannot change while `f` runs (a loop cannot start on a thread where one runs).
///
/// # Errors
///
/// [`NoRunningLoop`] if no loop runs on this thread (`f` is not called).
///
/// ```
/// use tower_loop::{with_running_loop, EventLoop};
///
/// assert!(with_running_loop(|_| ()).is_err());
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     let running = with_running_loop(|lp| lp.is_running()).unwrap();
///     assert!(running);
/// })
/// .unwrap();
/// ```
#[inline]
pub fn with_running_loop<R>(f: impl FnOnce(&EventLoop) -> R) -> Result<R, NoRunningLoop> {
    // During thread teardown `try_with` fails and `f` is dropped uncalled, as it is when no
    // loop runs: the caller gets `NoRunningLoop` either way.
    CURRENT
        .try_with(move |cur| cur.borrow().as_ref().map(f))
        .ok()
        .flatten()
        .ok_or(NoRunningLoop)
}
