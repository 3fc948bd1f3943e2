//! Calling a protocol from its transport without a `RefCell` panic: [`ProtocolSlot`] holds the
//! protocol, counts the callbacks running, and queues the events raised while one runs (or
//! while the protocol's owner holds it borrowed, or before the transport opened the slot), to
//! deliver them in order after. Every transport delivers through it: the stream and datagram
//! transports their flow-control events ([`FlowEvent`]), the subprocess transport every event
//! of its pipes and child.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use tower_loop::{ContextKind, EventLoop, ExceptionContext};

use crate::events::FlowTarget;

/// A panic's payload.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

/// Why a call did not run to its end.
pub(crate) enum CallError {
    /// No protocol (it was dropped after `connection_lost`).
    Gone,
    /// The protocol is borrowed (a callback of it is running, or its owner holds it).
    Busy,
    /// The callback panicked.
    Panicked(Payload),
}

/// An event a [`ProtocolSlot`] can queue for its protocol `P`.
pub(crate) trait SlotEvent<P: ?Sized> {
    /// What a panic in its callback is reported as (`"protocol.pause_writing() failed"`).
    fn what(&self) -> &'static str;
    /// Calls it on the protocol.
    fn deliver(self, protocol: &mut P);
}

/// An event raised by a call the protocol made (or its owner), waiting for the protocol.
#[derive(Debug)]
pub(crate) enum FlowEvent {
    /// `pause_writing`.
    Pause,
    /// `resume_writing`.
    Resume,
    /// A datagram transport's `error_received`.
    Error(std::io::Error),
}

impl<P: ?Sized + FlowTarget> SlotEvent<P> for FlowEvent {
    fn what(&self) -> &'static str {
        match self {
            FlowEvent::Pause => "protocol.pause_writing() failed",
            FlowEvent::Resume => "protocol.resume_writing() failed",
            FlowEvent::Error(_) => "protocol.error_received() failed",
        }
    }
    fn deliver(self, protocol: &mut P) {
        match self {
            FlowEvent::Pause => protocol.pause(),
            FlowEvent::Resume => protocol.resume(),
            FlowEvent::Error(e) => protocol.error(e),
        }
    }
}

/// A transport's protocol and the events (`E`) waiting for it.
pub(crate) struct ProtocolSlot<P: ?Sized, E = FlowEvent> {
    /// The protocol; `None` once the transport dropped it (after `connection_lost`).
    current: RefCell<Option<Rc<RefCell<P>>>>,
    /// Events raised while the protocol was busy (or the slot held), oldest first.
    pending: RefCell<VecDeque<E>>,
    /// Callbacks of this slot running now (a callback may cause another only through
    /// `pending`, so this is 0 or 1; a count keeps it right regardless).
    depth: Cell<u32>,
    /// Whether a `call_soon` flush is queued (the protocol was borrowed by its owner).
    flush_scheduled: Cell<bool>,
    /// Events wait, queued, until [`open`](Self::open) (a transport whose protocol must get
    /// `connection_made` before any event).
    held: Cell<bool>,
}

impl<P: ?Sized, E: fmt::Debug> fmt::Debug for ProtocolSlot<P, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtocolSlot")
            .field("present", &self.current.borrow().is_some())
            .field("pending", &*self.pending.borrow())
            .field("depth", &self.depth.get())
            .field("held", &self.held.get())
            .finish()
    }
}

impl<P: ?Sized, E: SlotEvent<P>> ProtocolSlot<P, E> {
    /// A slot holding `protocol`, delivering at once.
    pub(crate) fn new(protocol: Rc<RefCell<P>>) -> Self {
        ProtocolSlot {
            current: RefCell::new(Some(protocol)),
            pending: RefCell::new(VecDeque::new()),
            depth: Cell::new(0),
            flush_scheduled: Cell::new(false),
            held: Cell::new(false),
        }
    }

    /// A slot holding `protocol` that queues every event until [`open`](Self::open).
    pub(crate) fn new_held(protocol: Rc<RefCell<P>>) -> Self {
        let slot = Self::new(protocol);
        slot.held.set(true);
        slot
    }

    /// Lets the events through: from now on they are delivered as for [`new`](Self::new)'s
    /// slot (those waiting, by the next [`call`](Self::call) or flush).
    pub(crate) fn open(&self) {
        self.held.set(false);
    }

    /// The protocol (a clone of the `Rc`).
    pub(crate) fn get(&self) -> Option<Rc<RefCell<P>>> {
        self.current.borrow().clone()
    }

    /// Replaces the protocol, returning the old one (for the caller to drop).
    pub(crate) fn replace(&self, protocol: Option<Rc<RefCell<P>>>) -> Option<Rc<RefCell<P>>> {
        let old = std::mem::replace(&mut *self.current.borrow_mut(), protocol);
        if self.current.borrow().is_none() {
            self.pending.borrow_mut().clear();
        }
        old
    }

    /// Whether the protocol is borrowed now.
    pub(crate) fn is_busy(&self) -> bool {
        self.depth.get() > 0
            || self
                .current
                .borrow()
                .as_ref()
                .is_some_and(|p| p.try_borrow_mut().is_err())
    }

    /// How many events wait.
    pub(crate) fn pending_len(&self) -> usize {
        self.pending.borrow().len()
    }

    /// Drops the events waiting.
    pub(crate) fn clear(&self) {
        self.pending.borrow_mut().clear();
    }

    /// Runs `f` on the protocol (catching a panic), then delivers the events it raised.
    /// Returns `true` in the second place if a `call_soon` flush must be scheduled.
    pub(crate) fn call<R>(
        &self,
        lp: &EventLoop,
        f: impl FnOnce(&mut P) -> R,
    ) -> (Result<R, CallError>, bool) {
        let Some(p) = self.get() else {
            return (Err(CallError::Gone), false);
        };
        let Ok(mut guard) = p.try_borrow_mut() else {
            return (Err(CallError::Busy), false);
        };
        self.depth.set(self.depth.get() + 1);
        let r = catch_unwind(AssertUnwindSafe(|| f(&mut guard)));
        drop(guard);
        self.depth.set(self.depth.get() - 1);
        let schedule = !self.pending.borrow().is_empty() && self.flush(lp);
        (r.map_err(CallError::Panicked), schedule)
    }

    /// Queues `event` and delivers it now if the protocol is free. Returns `true` if a
    /// `call_soon` flush must be scheduled (the protocol's owner holds it borrowed).
    pub(crate) fn raise(&self, lp: &EventLoop, event: E) -> bool {
        if self.current.borrow().is_none() {
            return false;
        }
        self.pending.borrow_mut().push_back(event);
        self.flush(lp)
    }

    /// [`raise`](Self::raise) for an event that borrows what it carries: if it can be
    /// delivered now (the slot open, nothing waiting before it, the protocol there and free),
    /// `now` runs on the protocol (a panic reported as `what`) and `later` is never called;
    /// otherwise `later()` makes the event to queue (copying what `now` borrows). Returns
    /// `true` if a `call_soon` flush must be scheduled.
    pub(crate) fn raise_with(
        &self,
        lp: &EventLoop,
        what: &str,
        later: impl FnOnce() -> E,
        now: impl FnOnce(&mut P),
    ) -> bool {
        if self.held.get() || self.depth.get() > 0 || !self.pending.borrow().is_empty() {
            return self.raise(lp, later());
        }
        match self.call(lp, now) {
            // Its owner holds it: queued, as `raise` does.
            (Err(CallError::Busy), _) => self.raise(lp, later()),
            (Err(CallError::Panicked(payload)), schedule) => {
                report_panic(lp, what, payload);
                schedule
            }
            // Delivered, or no protocol to deliver to (`raise` would drop it too).
            (Ok(()) | Err(CallError::Gone), schedule) => schedule,
        }
    }

    /// Queues `event` without delivering it (its cause may not call the protocol: a
    /// destructor). Returns `true` if a `call_soon` flush must be scheduled to deliver it.
    pub(crate) fn queue(&self, event: E) -> bool {
        if self.current.borrow().is_none() {
            return false;
        }
        self.pending.borrow_mut().push_back(event);
        !self.flush_scheduled.replace(true)
    }

    /// The scheduled flush ran: clears its flag and delivers; `true` if it must run again.
    pub(crate) fn scheduled_flush(&self, lp: &EventLoop) -> bool {
        self.flush_scheduled.set(false);
        self.flush(lp)
    }

    /// Delivers the pending events now if it can (as a flush does). Returns `true` if a
    /// `call_soon` flush must be scheduled.
    pub(crate) fn deliver_pending(&self, lp: &EventLoop) -> bool {
        self.flush(lp)
    }

    /// Delivers the pending events unless the slot is held or a callback runs (that callback's
    /// [`call`] delivers them when it returns). Returns `true` if a `call_soon` flush must be
    /// scheduled.
    fn flush(&self, lp: &EventLoop) -> bool {
        loop {
            if self.depth.get() > 0 || self.held.get() {
                return false;
            }
            let Some(event) = self.pending.borrow_mut().pop_front() else {
                return false;
            };
            let Some(p) = self.get() else {
                self.pending.borrow_mut().clear();
                return false;
            };
            let Ok(mut guard) = p.try_borrow_mut() else {
                self.pending.borrow_mut().push_front(event);
                return !self.flush_scheduled.replace(true);
            };
            self.depth.set(self.depth.get() + 1);
            let what = event.what();
            let r = catch_unwind(AssertUnwindSafe(|| event.deliver(&mut guard)));
            drop(guard);
            self.depth.set(self.depth.get() - 1);
            if let Err(payload) = r {
                report_panic(lp, what, payload);
            }
        }
    }
}

/// Reports a protocol callback's panic to the loop's exception handler.
pub(crate) fn report_panic(lp: &EventLoop, message: &str, payload: Payload) {
    let mut ctx = ExceptionContext::new(message);
    ctx.kind = ContextKind::Panic;
    ctx.payload = Some(payload);
    lp.call_exception_handler(&ctx);
}

/// Reports something that is not a panic (asyncio's `logger.warning`).
pub(crate) fn report(lp: &EventLoop, message: &str) {
    lp.call_exception_handler(&ExceptionContext::new(message));
}
