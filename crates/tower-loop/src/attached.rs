//! Data a higher tier keeps per event loop ([`EventLoop::attached`]): one value per type, made
//! on first use, dropped when the loop closes (after its `on_close` hooks) or is dropped.
//!
//! asyncio keeps such state on the loop object itself (`_task_factory`, the transports'
//! bookkeeping); a Rust tier below cannot name the types of the tiers above it, so the loop
//! holds them as `Rc<dyn Any>`, found by type: a borrow, a scan of a few entries and a
//! reference count, instead of a thread-local table keyed by loop.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use crate::event_loop::EventLoop;

/// The values attached to one loop.
#[derive(Default)]
pub(crate) struct Attached {
    /// One value per type, in attachment order, with its type's id; each `Rc<dyn Any>` is an
    /// `Rc` of that type, unsized.
    values: RefCell<Vec<(TypeId, Rc<dyn Any>)>>,
}

impl fmt::Debug for Attached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attached")
            .field("values", &self.values.borrow().len())
            .finish()
    }
}

impl Attached {
    /// The value of type `T`, if one is attached: a scan comparing type ids, no virtual call.
    #[inline]
    fn find<T: Any>(&self) -> Option<Rc<T>> {
        let values = self.values.borrow();
        let (_, value) = values.iter().find(|(id, _)| *id == TypeId::of::<T>())?;
        let raw = Rc::into_raw(Rc::clone(value)).cast::<T>();
        // SAFETY: the entry's id is `T`'s, and `insert` stores with each id an `Rc` of that
        // type unsized to `Rc<dyn Any>`: `Rc::from_raw` accepts a pointer from `into_raw` of
        // an `Rc<U>` made from an `Rc<T>` by unsized coercion (what `Rc::downcast` does).
        Some(unsafe { Rc::from_raw(raw) })
    }

    /// The value of type `T`, attached by `init` if none is (`init` runs with no borrow held,
    /// so it may attach other values; if it attached a `T` itself, that one wins).
    #[inline]
    pub(crate) fn get_or_init<T: Any>(&self, init: impl FnOnce() -> T) -> Rc<T> {
        if let Some(v) = self.find::<T>() {
            return v;
        }
        self.insert(init)
    }

    /// The slow path of [`get_or_init`](Self::get_or_init).
    #[cold]
    fn insert<T: Any>(&self, init: impl FnOnce() -> T) -> Rc<T> {
        let fresh = Rc::new(init());
        if let Some(v) = self.find::<T>() {
            return v;
        }
        self.values
            .borrow_mut()
            .push((TypeId::of::<T>(), fresh.clone()));
        fresh
    }

    /// Removes every value (to be dropped by the caller, after the borrow).
    pub(crate) fn take(&self) -> Vec<(TypeId, Rc<dyn Any>)> {
        std::mem::take(&mut *self.values.borrow_mut())
    }
}

impl EventLoop {
    /// The value of type `T` attached to this loop, made by `init` on first use: the place
    /// for a higher tier's per-loop state (tier 4 keeps the loop's task registry and task
    /// factory here). One value per type; it lives until the loop closes (it is dropped after
    /// the [`on_close`](EventLoop::on_close) hooks) or is dropped. On a closed loop a new
    /// value is still made and kept until the loop is dropped.
    ///
    /// Use a type private to your crate, so that no one else attaches one of the same type.
    ///
    /// ```
    /// use std::cell::Cell;
    /// use tower_loop::EventLoop;
    ///
    /// #[derive(Default)]
    /// struct Counter(Cell<u32>);
    ///
    /// let lp = EventLoop::new().unwrap();
    /// lp.attached(Counter::default).0.set(1);
    /// assert_eq!(lp.attached(Counter::default).0.get(), 1); // the same value
    /// ```
    #[inline]
    pub fn attached<T: Any>(&self, init: impl FnOnce() -> T) -> Rc<T> {
        self.core().attached().get_or_init(init)
    }
}
