//! The loop's exception handler: what a panicking callback or task poll, or a slow callback in
//! debug mode, is reported to (asyncio's `call_exception_handler`).

use std::fmt;
use std::io::{self, Write};
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
