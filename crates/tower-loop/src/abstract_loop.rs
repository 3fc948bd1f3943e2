//! [`AbstractEventLoop`]: the loop's interface as a trait (asyncio's `AbstractEventLoop`), so
//! higher tiers and tests can name the interface rather than the struct.

use std::future::Future;
use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use crate::error::{CloseError, RunError};
use crate::{
    CallbackHandle, EventLoop, ExceptionContext, LoopHandle, ThreadsafeHandle, TimerHandle,
};

/// The event loop interface; [`EventLoop`] implements it by delegating to its inherent methods
/// (see those for the semantics).
///
/// ```
/// use tower_loop::{AbstractEventLoop, EventLoop};
///
/// fn stop_soon(lp: &impl AbstractEventLoop) {
///     lp.call_soon_threadsafe(|| tower_loop::get_running_loop().unwrap().stop());
/// }
/// let lp = EventLoop::new().unwrap();
/// stop_soon(&lp);
/// lp.run_forever().unwrap();
/// ```
pub trait AbstractEventLoop {
    /// The loop's clock.
    fn time(&self) -> Instant;
    /// Schedule `f` for the next iteration.
    fn call_soon<F: FnOnce() + 'static>(&self, f: F) -> CallbackHandle;
    /// Schedule `f` from any thread.
    fn call_soon_threadsafe<F: FnOnce() + Send + 'static>(&self, f: F) -> ThreadsafeHandle;
    /// Schedule `f` after `delay`.
    fn call_later<F: FnOnce() + 'static>(&self, delay: Duration, f: F) -> TimerHandle;
    /// Schedule `f` at `when`.
    fn call_at<F: FnOnce() + 'static>(&self, when: Instant, f: F) -> TimerHandle;
    /// Run until `fut` completes.
    ///
    /// # Errors
    ///
    /// See [`EventLoop::run_until_complete`].
    fn run_until_complete<F: Future>(&self, fut: F) -> Result<F::Output, RunError>;
    /// Run until stopped.
    ///
    /// # Errors
    ///
    /// See [`EventLoop::run_forever`].
    fn run_forever(&self) -> Result<(), RunError>;
    /// Stop after the current iteration.
    fn stop(&self);
    /// Close the loop.
    ///
    /// # Errors
    ///
    /// If it is running.
    fn close(&self) -> Result<(), CloseError>;
    /// Whether it is running.
    fn is_running(&self) -> bool;
    /// Whether it is closed.
    fn is_closed(&self) -> bool;
    /// A `Send + Sync` handle.
    fn handle(&self) -> LoopHandle;
    /// Watch `fd` for reading.
    ///
    /// # Errors
    ///
    /// If the OS refuses.
    fn add_reader<F: FnMut() + 'static>(&self, fd: impl AsFd, f: F) -> io::Result<()>;
    /// Stop watching `fd` for reading.
    ///
    /// # Errors
    ///
    /// If the OS refuses.
    fn remove_reader(&self, fd: impl AsFd) -> io::Result<bool>;
    /// Watch `fd` for writing.
    ///
    /// # Errors
    ///
    /// If the OS refuses.
    fn add_writer<F: FnMut() + 'static>(&self, fd: impl AsFd, f: F) -> io::Result<()>;
    /// Stop watching `fd` for writing.
    ///
    /// # Errors
    ///
    /// If the OS refuses.
    fn remove_writer(&self, fd: impl AsFd) -> io::Result<bool>;
    /// Report to the exception handler.
    fn call_exception_handler(&self, context: &ExceptionContext);
    /// Turn debug mode on or off.
    fn set_debug(&self, on: bool);
    /// Whether debug mode is on.
    fn get_debug(&self) -> bool;
}

impl AbstractEventLoop for EventLoop {
    fn time(&self) -> Instant {
        EventLoop::time(self)
    }
    fn call_soon<F: FnOnce() + 'static>(&self, f: F) -> CallbackHandle {
        EventLoop::call_soon(self, f)
    }
    fn call_soon_threadsafe<F: FnOnce() + Send + 'static>(&self, f: F) -> ThreadsafeHandle {
        EventLoop::call_soon_threadsafe(self, f)
    }
    fn call_later<F: FnOnce() + 'static>(&self, delay: Duration, f: F) -> TimerHandle {
        EventLoop::call_later(self, delay, f)
    }
    fn call_at<F: FnOnce() + 'static>(&self, when: Instant, f: F) -> TimerHandle {
        EventLoop::call_at(self, when, f)
    }
    fn run_until_complete<F: Future>(&self, fut: F) -> Result<F::Output, RunError> {
        EventLoop::run_until_complete(self, fut)
    }
    fn run_forever(&self) -> Result<(), RunError> {
        EventLoop::run_forever(self)
    }
    fn stop(&self) {
        EventLoop::stop(self)
    }
    fn close(&self) -> Result<(), CloseError> {
        EventLoop::close(self)
    }
    fn is_running(&self) -> bool {
        EventLoop::is_running(self)
    }
    fn is_closed(&self) -> bool {
        EventLoop::is_closed(self)
    }
    fn handle(&self) -> LoopHandle {
        EventLoop::handle(self)
    }
    fn add_reader<F: FnMut() + 'static>(&self, fd: impl AsFd, f: F) -> io::Result<()> {
        EventLoop::add_reader(self, fd, f)
    }
    fn remove_reader(&self, fd: impl AsFd) -> io::Result<bool> {
        EventLoop::remove_reader(self, fd)
    }
    fn add_writer<F: FnMut() + 'static>(&self, fd: impl AsFd, f: F) -> io::Result<()> {
        EventLoop::add_writer(self, fd, f)
    }
    fn remove_writer(&self, fd: impl AsFd) -> io::Result<bool> {
        EventLoop::remove_writer(self, fd)
    }
    fn call_exception_handler(&self, context: &ExceptionContext) {
        EventLoop::call_exception_handler(self, context)
    }
    fn set_debug(&self, on: bool) {
        EventLoop::set_debug(self, on)
    }
    fn get_debug(&self) -> bool {
        EventLoop::get_debug(self)
    }
}
