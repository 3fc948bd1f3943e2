//! Calling a protocol from its transport without a `RefCell` panic: [`ProtocolSlot`] holds the
//! protocol, counts the callbacks running, and queues the flow-control events raised while one
//! runs (or while the protocol's owner holds it borrowed), to deliver them in order after.

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

/// A transport's protocol and the events waiting for it.
pub(crate) struct ProtocolSlot<P: ?Sized> {
    /// The protocol; `None` once the transport dropped it (after `connection_lost`).
    current: RefCell<Option<Rc<RefCell<P>>>>,
    /// Flow events raised while the protocol was busy, oldest first.
    pending: RefCell<VecDeque<FlowEvent>>,
    /// Callbacks of this slot running now (a callback may cause another only through
    /// `pending`, so this is 0 or 1; a count keeps it right regardless).
    depth: Cell<u32>,
    /// Whether a `call_soon` flush is queued (the protocol was borrowed by its owner).
    flush_scheduled: Cell<bool>,
}

impl<P: ?Sized> fmt::Debug for ProtocolSlot<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtocolSlot")
            .field("present", &self.current.borrow().is_some())
            .field("pending", &*self.pending.borrow())
            .field("depth", &self.depth.get())
            .finish()
    }
}

impl<P: ?Sized + FlowTarget> ProtocolSlot<P> {
    /// A slot holding `protocol`.
    pub(crate) fn new(protocol: Rc<RefCell<P>>) -> Self {
        ProtocolSlot {
            current: RefCell::new(Some(protocol)),
            pending: RefCell::new(VecDeque::new()),
            depth: Cell::new(0),
            flush_scheduled: Cell::new(false),
        }
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

    /// Runs `f` on the protocol (catching a panic), then delivers the flow events it raised.
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
    pub(crate) fn raise(&self, lp: &EventLoop, event: FlowEvent) -> bool {
        if self.current.borrow().is_none() {
            return false;
        }
        self.pending.borrow_mut().push_back(event);
        self.flush(lp)
    }

    /// The scheduled flush ran: clears its flag and delivers; `true` if it must run again.
    pub(crate) fn scheduled_flush(&self, lp: &EventLoop) -> bool {
        self.flush_scheduled.set(false);
        self.flush(lp)
    }

    /// Delivers the pending events unless a callback runs (that callback's [`call`] delivers
    /// them when it returns). Returns `true` if a `call_soon` flush must be scheduled.
    fn flush(&self, lp: &EventLoop) -> bool {
        loop {
            if self.depth.get() > 0 {
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
            let what = match event {
                FlowEvent::Pause => "protocol.pause_writing() failed",
                FlowEvent::Resume => "protocol.resume_writing() failed",
                FlowEvent::Error(_) => "protocol.error_received() failed",
            };
            let r = catch_unwind(AssertUnwindSafe(|| match event {
                FlowEvent::Pause => guard.pause(),
                FlowEvent::Resume => guard.resume(),
                FlowEvent::Error(e) => guard.error(e),
            }));
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
