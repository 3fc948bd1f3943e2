//! Closing a loop: [`EventLoop::close`], the [`on_close`](EventLoop::on_close) hooks
//! ([`CloseHooks`]), and what the loop releases when it closes or is dropped.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::core::Core;
use crate::error::CloseError;
use crate::event_loop::EventLoop;
use crate::exception::{ContextKind, ExceptionContext, default_handler};

/// The hooks registered with [`EventLoop::on_close`].
#[derive(Default)]
pub(crate) struct CloseHooks {
    /// Not yet run, in registration order.
    hooks: RefCell<Vec<Box<dyn FnOnce()>>>,
}

impl CloseHooks {
    /// Registers `hook`.
    fn push(&self, hook: Box<dyn FnOnce()>) {
        self.hooks.borrow_mut().push(hook);
    }

    /// Runs the hooks (each once; a hook may register another, which runs too), with no
    /// borrow held. A hook that panics is reported to the default exception handler and the
    /// rest still run.
    fn run(&self) {
        loop {
            let hooks = std::mem::take(&mut *self.hooks.borrow_mut());
            if hooks.is_empty() {
                return;
            }
            for hook in hooks {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(hook)) {
                    let mut ctx = ExceptionContext::new("an on_close hook panicked");
                    ctx.kind = ContextKind::Panic;
                    ctx.payload = Some(payload);
                    default_handler(&ctx);
                }
            }
        }
    }
}

impl Core {
    /// Releases everything the loop holds (close and drop): the close hooks run, then remote
    /// work, ready work, timers, registrations, the work source, the exception handler and
    /// attached data are dropped, each after its owner's borrow is released.
    pub(crate) fn release(&self) {
        self.close_hooks().run();
        let shared = self.shared();
        let remote = shared.close();
        drop(remote);
        self.ready().clear();
        self.timers().clear();
        let regs = self.reactor().clear(shared.poller());
        drop(regs);
        let ws = self.work_source().take();
        drop(ws);
        let handler = self.handler().take();
        drop(handler);
        let attached = self.attached().take();
        drop(attached);
    }
}

impl EventLoop {
    /// Registers `hook` to run when the loop closes (by [`close`](Self::close), or when the last
    /// `EventLoop` clone is dropped unclosed), before its pending work is dropped — the place for
    /// a higher tier to release what it keeps per loop (tasks, executors). Hooks run once, in
    /// registration order; on an already closed loop, `hook` runs at once.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use tower_loop::EventLoop;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let ran = Rc::new(Cell::new(false));
    /// let flag = ran.clone();
    /// lp.on_close(move || flag.set(true));
    /// lp.close().unwrap();
    /// assert!(ran.get());
    /// ```
    pub fn on_close<F: FnOnce() + 'static>(&self, hook: F) {
        if self.core().is_closed() {
            hook();
        } else {
            self.core().close_hooks().push(Box::new(hook));
        }
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.core().is_closed()
    }

    /// Closes the loop: drops pending callbacks, timers, tasks scheduled on it and fd
    /// registrations, removes signal handlers. Idempotent. The OS poller is freed when the last
    /// [`LoopHandle`](crate::LoopHandle) is dropped.
    ///
    /// # Errors
    ///
    /// [`CloseError`] if the loop is running.
    pub fn close(&self) -> Result<(), CloseError> {
        let core = self.core();
        if core.run_state().is_running() {
            return Err(CloseError);
        }
        if core.ready().close() {
            return Ok(());
        }
        crate::signals::close(core);
        core.release();
        Ok(())
    }
}
