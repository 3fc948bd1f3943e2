//! The extension point for the multi-threaded runtime: a source of extra runnables that the loop
//! consults once per iteration, and that can veto or prepare the loop's parking.
//!
//! Tier 4 runs one loop per worker thread; `Send` tasks live in its work-stealing queues, not in
//! the loop's ready queue. Installing a [`WorkSource`] on each worker's loop lets the worker feed
//! its loop from those queues (local queue, LIFO slot, global injector, stealing), and track which
//! workers are parked so it wakes one (through [`LoopHandle::wake`](crate::LoopHandle::wake))
//! when it publishes new work.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::AnyRunnable;
use crate::event_loop::EventLoop;

/// A source of runnables for one loop (see the module docs).
///
/// The loop calls, on its own thread, in this order within an iteration:
///
/// 1. [`before_park`](Self::before_park), only when the ready queue is empty and the loop is
///    about to block in the reactor; returning `false` makes it poll with a zero timeout instead
///    (a searching worker, or work seen at the last moment).
/// 2. [`after_unpark`](Self::after_unpark), after a blocking poll returns (only if
///    `before_park` returned `true`).
/// 3. [`fill`](Self::fill), once per iteration after I/O and timers, before the ready batch runs:
///    push at most `budget` runnables through `push`; return `true` if more work is left (the
///    loop then will not block on its next iteration).
/// 4. [`next_in_batch`](Self::next_in_batch), after each item of the ready batch.
///
/// ```
/// use std::cell::RefCell;
/// use std::collections::VecDeque;
/// use std::rc::Rc;
/// use async_task::Runnable;
/// use tower_loop::{AnyRunnable, EventLoop, WorkSource};
///
/// #[derive(Default)]
/// struct Fifo(RefCell<VecDeque<Runnable>>);
///
/// impl WorkSource for Fifo {
///     fn fill(&self, push: &mut dyn FnMut(AnyRunnable), budget: usize) -> bool {
///         let mut q = self.0.borrow_mut();
///         for _ in 0..budget {
///             match q.pop_front() {
///                 Some(r) => push(r.into()),
///                 None => break,
///             }
///         }
///         !q.is_empty()
///     }
///     fn before_park(&self) -> bool { self.0.borrow().is_empty() }
///     fn after_unpark(&self) {}
/// }
///
/// let lp = EventLoop::new().unwrap();
/// let source = Rc::new(Fifo::default());
/// lp.set_work_source(Some(source.clone()));
/// let (runnable, task) = async_task::spawn(async { 7 }, |_| {});
/// source.0.borrow_mut().push_back(runnable);
/// assert_eq!(lp.run_until_complete(task).unwrap(), 7);
/// ```
pub trait WorkSource {
    /// Pushes up to `budget` runnables; returns whether more are left.
    fn fill(&self, push: &mut dyn FnMut(AnyRunnable), budget: usize) -> bool;
    /// The loop is about to block: `true` lets it, `false` makes it poll without blocking.
    fn before_park(&self) -> bool;
    /// The loop is past the poll that followed a `before_park` returning `true` — called after
    /// every such `before_park`, whether the loop blocked or a wake-up already pending let it go
    /// on at once, so a source can always undo what `before_park` prepared.
    fn after_unpark(&self);
    /// A runnable to run at once, right after the item of the ready batch that the loop just
    /// ran: the task that item woke last (a message-passing partner, a freshly spawned child),
    /// so it runs while its data is hot instead of one iteration later. The loop asks after
    /// each item of its batch, and again after running what it got; the source bounds how many
    /// it hands out per [`fill`](Self::fill), for fairness. The default hands out nothing.
    fn next_in_batch(&self) -> Option<AnyRunnable> {
        None
    }
}

/// How many runnables the loop asks a [`WorkSource`] for per iteration.
pub const FILL_BUDGET: usize = 64;

/// The loop's installed [`WorkSource`], if any.
#[derive(Default)]
pub(crate) struct WorkSourceSlot {
    /// The source.
    source: RefCell<Option<Rc<dyn WorkSource>>>,
    /// The source said it has more: do not block on the next iteration.
    more: Cell<bool>,
}

impl WorkSourceSlot {
    /// The installed source, cloned (it may be replaced while the iteration uses it).
    #[inline(always)]
    pub(crate) fn get(&self) -> Option<Rc<dyn WorkSource>> {
        self.source.borrow().clone()
    }

    /// Installs `source`, returning the previous one (for the caller to drop).
    fn replace(&self, source: Option<Rc<dyn WorkSource>>) -> Option<Rc<dyn WorkSource>> {
        std::mem::replace(&mut *self.source.borrow_mut(), source)
    }

    /// Removes the source, returning it (for the caller to drop).
    pub(crate) fn take(&self) -> Option<Rc<dyn WorkSource>> {
        self.source.borrow_mut().take()
    }

    /// Whether the source's last [`fill`](WorkSource::fill) said it has more.
    #[inline(always)]
    pub(crate) fn has_more(&self) -> bool {
        self.more.get()
    }

    /// Records what the source's [`fill`](WorkSource::fill) returned.
    #[inline(always)]
    pub(crate) fn set_has_more(&self, more: bool) {
        self.more.set(more);
    }
}

impl EventLoop {
    /// Installs (or removes, with `None`) the loop's [`WorkSource`].
    pub fn set_work_source(&self, source: Option<Rc<dyn WorkSource>>) {
        let old = self.core().work_source().replace(source);
        drop(old);
    }
}
