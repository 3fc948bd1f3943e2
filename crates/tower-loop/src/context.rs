//! The thread-local "running loop" (asyncio's `_running_loop`), set while a loop runs.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use crate::error::NoRunningLoop;
use crate::event_loop::{Core, EventLoop};
use crate::handle::Shared;

thread_local! {
    /// The loop running on this thread, if any.
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
    /// Every live loop created on this thread (running or not), so that work handed to a loop
    /// from its own thread while it is not running goes straight to its ready queue.
    static OWNED: RefCell<Vec<Weak<Core>>> = const { RefCell::new(Vec::new()) };
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
        Some(core) if Arc::ptr_eq(&core.shared, shared) => f.take().map(|f| f(Some(core))),
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
                .find(|c| Arc::ptr_eq(&c.shared, shared))
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
        (f.take().expect("called once"))(cur.as_ref())
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
    CURRENT.with(|cur| std::mem::replace(&mut *cur.borrow_mut(), core))
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
