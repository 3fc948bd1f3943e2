//! The callbacks the loop runs: `call_soon`/`call_later` closures run once, `add_reader`/
//! `add_writer` closures run each time their fd is ready, and `call_soon_threadsafe` closures
//! sent from any thread; each in a shared cell holding the closure and its cancelled flag.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use crate::loom::{AtomicBool, Ordering};
use tower_coro::poison_free::Mutex;

/// A callback owned by the loop's thread: run once (`call_soon`) or many times (`add_reader`).
pub(crate) trait Callback {
    /// Runs the callback (a once-callback runs at most once).
    fn run(&self);
    /// Marks the callback cancelled and drops a once-callback's closure.
    fn cancel(&self);
    /// Whether [`cancel`](Callback::cancel) was called.
    fn is_cancelled(&self) -> bool;
    /// What runs, for reports: the closure's type name.
    fn name(&self) -> &'static str;
}

/// A `call_soon`/`call_later` callback: an `FnOnce` and its cancelled flag.
pub(crate) struct OnceCell<F> {
    /// Set by `cancel`.
    cancelled: Cell<bool>,
    /// The closure, taken when it runs or is cancelled.
    f: Cell<Option<F>>,
}

impl<F: FnOnce() + 'static> OnceCell<F> {
    /// Wraps `f` into a shareable callback.
    pub(crate) fn new_rc(f: F) -> Rc<dyn Callback> {
        Rc::new(OnceCell {
            cancelled: Cell::new(false),
            f: Cell::new(Some(f)),
        })
    }
}

impl<F: FnOnce()> Callback for OnceCell<F> {
    fn run(&self) {
        if let Some(f) = self.f.take() {
            f();
        }
    }
    fn cancel(&self) {
        self.cancelled.set(true);
        drop(self.f.take());
    }
    fn is_cancelled(&self) -> bool {
        self.cancelled.get()
    }
    fn name(&self) -> &'static str {
        std::any::type_name::<F>()
    }
}

/// An `add_reader`/`add_writer` callback: an `FnMut` run each time the fd is ready.
pub(crate) struct RepeatCell<F> {
    /// Set when the reader/writer is removed or replaced, so a queued run is skipped.
    cancelled: Cell<bool>,
    /// The closure; borrowed while it runs.
    f: RefCell<F>,
}

impl<F: FnMut() + 'static> RepeatCell<F> {
    /// Wraps `f` into a shareable callback.
    pub(crate) fn new_rc(f: F) -> Rc<dyn Callback> {
        Rc::new(RepeatCell {
            cancelled: Cell::new(false),
            f: RefCell::new(f),
        })
    }
}

impl<F: FnMut()> Callback for RepeatCell<F> {
    fn run(&self) {
        if self.cancelled.get() {
            return;
        }
        // A callback that re-enters itself (it cannot: the loop runs one item at a time) would
        // find the cell borrowed; skipping is the only safe answer.
        if let Ok(mut f) = self.f.try_borrow_mut() {
            (f)();
        }
    }
    fn cancel(&self) {
        self.cancelled.set(true);
    }
    fn is_cancelled(&self) -> bool {
        self.cancelled.get()
    }
    fn name(&self) -> &'static str {
        std::any::type_name::<F>()
    }
}

/// A `call_soon_threadsafe` callback: `Send`, cancellable from any thread.
pub(crate) trait SendCallback: Send + Sync {
    /// Runs the callback once.
    fn run(&self);
    /// Marks it cancelled and drops the closure.
    fn cancel(&self);
    /// Whether it was cancelled.
    fn is_cancelled(&self) -> bool;
    /// The closure's type name.
    fn name(&self) -> &'static str;
}

/// The cell behind a [`ThreadsafeHandle`](crate::ThreadsafeHandle).
pub(crate) struct SendCell<F> {
    /// Set by `cancel` from any thread.
    cancelled: AtomicBool,
    /// The closure, taken by whoever runs or cancels it first.
    f: Mutex<Option<F>>,
}

impl<F: FnOnce() + Send + 'static> SendCell<F> {
    /// Wraps `f`.
    pub(crate) fn new_arc(f: F) -> Arc<dyn SendCallback> {
        Arc::new(SendCell {
            cancelled: AtomicBool::new(false),
            f: Mutex::new(Some(f)),
        })
    }
}

impl<F: FnOnce() + Send> SendCallback for SendCell<F> {
    fn run(&self) {
        let f = self.f.lock().take();
        if let Some(f) = f {
            f();
        }
    }
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        let f = self.f.lock().take();
        drop(f);
    }
    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
    fn name(&self) -> &'static str {
        std::any::type_name::<F>()
    }
}
