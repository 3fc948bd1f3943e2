//! The loop's exception handler: what a panicking callback or task poll, or a slow callback in
//! debug mode, is reported to (asyncio's `call_exception_handler`).

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use tower_coro::{PanicPayload, panic_message};

use crate::EventLoop;

/// What kind of event an [`ExceptionContext`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContextKind {
    /// A callback or task poll panicked; [`ExceptionContext::payload`] holds the panic.
    Panic,
    /// Debug mode: a callback or task poll ran longer than `slow_callback_duration`.
    SlowCallback {
        /// How long it ran (by the loop's clock).
        elapsed: Duration,
    },
    /// Anything else a caller of `call_exception_handler` reports.
    Other,
}

/// What happened, for the exception handler (asyncio's context dict).
pub struct ExceptionContext {
    /// A human-readable description.
    pub message: String,
    /// What kind of event this is.
    pub kind: ContextKind,
    /// The panic payload, if a panic is reported (tier 1's `PanicPayload`).
    pub payload: Option<PanicPayload>,
    /// What was running: a callback's closure type name, or `"a task poll"`.
    pub source: Option<&'static str>,
}

impl ExceptionContext {
    /// A context of kind [`ContextKind::Other`] with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        ExceptionContext {
            message: message.into(),
            kind: ContextKind::Other,
            payload: None,
            source: None,
        }
    }

    /// The panic message, if the payload is a `&str` or a `String`.
    pub fn panic_message(&self) -> Option<&str> {
        let payload = self.payload.as_ref()?;
        payload
            .downcast_ref::<&'static str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
    }
}

impl fmt::Debug for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExceptionContext")
            .field("message", &self.message)
            .field("kind", &self.kind)
            .field("panic", &self.panic_message())
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = self.source {
            write!(f, " (while running {source})")?;
        }
        if let Some(payload) = &self.payload {
            write!(f, ": {}", panic_message(payload))?;
        }
        Ok(())
    }
}

/// An exception handler: called on the loop's thread with the loop and the context.
pub type ExceptionHandler = dyn Fn(&EventLoop, &ExceptionContext);

/// The default handler: one line on stderr (asyncio logs at error level). A stderr that
/// cannot be written (a closed pipe, a full device) loses the line: a report never panics, so
/// the loop survives it (`eprintln!` would panic).
pub(crate) fn default_handler(ctx: &ExceptionContext) {
    write_report(&mut io::stderr().lock(), ctx);
}

/// Writes `ctx` as the default handler's line to `out`, ignoring write errors.
fn write_report(out: &mut impl Write, ctx: &ExceptionContext) {
    let _ = writeln!(out, "tower-loop: {ctx}");
}

/// The loop's installed exception handler, if any.
#[derive(Default)]
pub(crate) struct HandlerSlot {
    /// `set_exception_handler`'s handler; `None`: the default one.
    handler: RefCell<Option<Rc<ExceptionHandler>>>,
}

impl HandlerSlot {
    /// The installed handler, cloned (so it may be replaced while it runs).
    pub(crate) fn get(&self) -> Option<Rc<ExceptionHandler>> {
        self.handler.borrow().clone()
    }

    /// Installs `handler`, returning the previous one (for the caller to drop).
    fn replace(&self, handler: Option<Rc<ExceptionHandler>>) -> Option<Rc<ExceptionHandler>> {
        std::mem::replace(&mut *self.handler.borrow_mut(), handler)
    }

    /// Removes the handler, returning it (for the caller to drop).
    pub(crate) fn take(&self) -> Option<Rc<ExceptionHandler>> {
        self.handler.borrow_mut().take()
    }
}

impl EventLoop {
    /// Installs `handler` as the loop's exception handler (asyncio's `set_exception_handler`).
    pub fn set_exception_handler<F>(&self, handler: F)
    where
        F: Fn(&EventLoop, &ExceptionContext) + 'static,
    {
        let old = self.core().handler().replace(Some(Rc::new(handler)));
        drop(old);
    }

    /// Goes back to the default exception handler (asyncio's `set_exception_handler(None)`).
    pub fn reset_exception_handler(&self) {
        let old = self.core().handler().take();
        drop(old);
    }

    /// The installed exception handler, if any.
    pub fn get_exception_handler(&self) -> Option<Rc<ExceptionHandler>> {
        self.core().handler().get()
    }

    /// The default exception handler: writes the context to stderr.
    pub fn default_exception_handler(&self, context: &ExceptionContext) {
        default_handler(context);
    }

    /// Reports `context` to the installed handler, or the default one. A handler that panics
    /// is reported, with the original context, to the default handler.
    pub fn call_exception_handler(&self, context: &ExceptionContext) {
        let handler = self.core().handler().get();
        match handler {
            None => default_handler(context),
            Some(h) => {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| h(self, context))) {
                    let mut ctx = ExceptionContext::new("unhandled panic in the exception handler");
                    ctx.kind = ContextKind::Panic;
                    ctx.payload = Some(payload);
                    default_handler(&ctx);
                    default_handler(context);
                }
            }
        }
    }
}
