//! [`AbstractEventLoop`]: the loop's interface as an object-safe trait (asyncio's
//! `AbstractEventLoop`), for code that holds "some event loop" as `&dyn AbstractEventLoop` or
//! `Rc<dyn AbstractEventLoop>` — a test double, a wrapper that logs or counts, a loop chosen at
//! run time — rather than naming [`EventLoop`].
//!
//! The trait's methods take boxed closures and a pinned future, so that it can be a trait
//! object; the same methods with plain closures and any future are inherent methods of
//! `dyn AbstractEventLoop` (as `downcast_ref` is of `dyn Any`), so a caller writes
//! `lp.call_soon(|| ..)` either way. [`EventLoop`]'s own inherent methods stay generic: the hot
//! paths (`call_soon`, `schedule`, an iteration) never go through the trait.

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::{Pin, pin};
use std::time::{Duration, Instant};

use crate::error::{CloseError, RunError};
use crate::{
    CallbackHandle, EventLoop, ExceptionContext, LoopHandle, ThreadsafeHandle, TimerHandle,
};

/// The event loop interface, object-safe; [`EventLoop`] implements it by delegating to its
/// inherent methods (see those for the semantics).
///
/// Call it through `dyn AbstractEventLoop`, whose inherent methods take plain closures and any
/// future:
///
/// ```
/// use std::rc::Rc;
/// use tower_loop::{AbstractEventLoop, EventLoop};
///
/// fn stop_soon(lp: &dyn AbstractEventLoop) {
///     let handle = lp.handle();
///     lp.call_soon(move || handle.stop());
/// }
///
/// let lp: Rc<dyn AbstractEventLoop> = Rc::new(EventLoop::new().unwrap());
/// stop_soon(&*lp);
/// lp.run_forever().unwrap();
/// assert_eq!(lp.run_until_complete(async { 6 * 7 }).unwrap(), 42);
/// lp.close().unwrap();
/// ```
///
/// An implementation of its own (a wrapper around an [`EventLoop`], say) implements the boxed
/// methods below.
pub trait AbstractEventLoop {
    /// The loop's clock ([`EventLoop::time`]).
    fn time(&self) -> Instant;
    /// Schedules `f` for the next iteration ([`EventLoop::call_soon`]).
    fn call_soon_boxed(&self, f: Box<dyn FnOnce()>) -> CallbackHandle;
    /// Schedules `f` from any thread ([`EventLoop::call_soon_threadsafe`]).
    fn call_soon_threadsafe_boxed(&self, f: Box<dyn FnOnce() + Send>) -> ThreadsafeHandle;
    /// Schedules `f` after `delay` ([`EventLoop::call_later`]).
    fn call_later_boxed(&self, delay: Duration, f: Box<dyn FnOnce()>) -> TimerHandle;
    /// Schedules `f` at `when` ([`EventLoop::call_at`]).
    fn call_at_boxed(&self, when: Instant, f: Box<dyn FnOnce()>) -> TimerHandle;
    /// Runs until `fut` completes ([`EventLoop::run_until_complete`]).
    ///
    /// # Errors
    ///
    /// See [`EventLoop::run_until_complete`].
    fn run_until_complete_pinned(
        &self,
        fut: Pin<&mut dyn Future<Output = ()>>,
    ) -> Result<(), RunError>;
    /// Runs until stopped ([`EventLoop::run_forever`]).
    ///
    /// # Errors
    ///
    /// See [`EventLoop::run_forever`].
    fn run_forever(&self) -> Result<(), RunError>;
    /// Stops after the current iteration ([`EventLoop::stop`]).
    fn stop(&self);
    /// Closes the loop ([`EventLoop::close`]).
    ///
    /// # Errors
    ///
    /// If it is running.
    fn close(&self) -> Result<(), CloseError>;
    /// Whether it is running.
    fn is_running(&self) -> bool;
    /// Whether it is closed.
    fn is_closed(&self) -> bool;
    /// A `Send + Sync` handle ([`EventLoop::handle`]).
    fn handle(&self) -> LoopHandle;
    /// Watches `fd` for reading ([`EventLoop::add_reader`]).
    ///
    /// # Errors
    ///
    /// If the OS refuses.
    fn add_reader_boxed(&self, fd: BorrowedFd<'_>, f: Box<dyn FnMut()>) -> io::Result<()>;
    /// Stops watching `fd` for reading ([`EventLoop::remove_reader`]).
    ///
    /// # Errors
    ///
    /// If the OS refuses.
    fn remove_reader_fd(&self, fd: BorrowedFd<'_>) -> io::Result<bool>;
    /// Watches `fd` for writing ([`EventLoop::add_writer`]).
    ///
    /// # Errors
    ///
    /// If the OS refuses.
    fn add_writer_boxed(&self, fd: BorrowedFd<'_>, f: Box<dyn FnMut()>) -> io::Result<()>;
    /// Stops watching `fd` for writing ([`EventLoop::remove_writer`]).
    ///
    /// # Errors
    ///
    /// If the OS refuses.
    fn remove_writer_fd(&self, fd: BorrowedFd<'_>) -> io::Result<bool>;
    /// Reports to the exception handler ([`EventLoop::call_exception_handler`]).
    fn call_exception_handler(&self, context: &ExceptionContext);
    /// Turns debug mode on or off ([`EventLoop::set_debug`]).
    fn set_debug(&self, on: bool);
    /// Whether debug mode is on.
    fn get_debug(&self) -> bool;
}

/// The trait's methods with plain closures, any future and any fd, for `dyn AbstractEventLoop`.
impl dyn AbstractEventLoop + '_ {
    /// Schedules `f` for the next iteration ([`EventLoop::call_soon`]).
    pub fn call_soon<F: FnOnce() + 'static>(&self, f: F) -> CallbackHandle {
        self.call_soon_boxed(Box::new(f))
    }

    /// Schedules `f` from any thread ([`EventLoop::call_soon_threadsafe`]).
    pub fn call_soon_threadsafe<F: FnOnce() + Send + 'static>(&self, f: F) -> ThreadsafeHandle {
        self.call_soon_threadsafe_boxed(Box::new(f))
    }

    /// Schedules `f` after `delay` ([`EventLoop::call_later`]).
    pub fn call_later<F: FnOnce() + 'static>(&self, delay: Duration, f: F) -> TimerHandle {
        self.call_later_boxed(delay, Box::new(f))
    }

    /// Schedules `f` at `when` ([`EventLoop::call_at`]).
    pub fn call_at<F: FnOnce() + 'static>(&self, when: Instant, f: F) -> TimerHandle {
        self.call_at_boxed(when, Box::new(f))
    }

    /// Runs until `fut` completes and returns its output ([`EventLoop::run_until_complete`]).
    ///
    /// # Errors
    ///
    /// See [`EventLoop::run_until_complete`].
    pub fn run_until_complete<F: Future>(&self, fut: F) -> Result<F::Output, RunError> {
        let mut out = None;
        {
            let main = pin!(async {
                out = Some(fut.await);
            });
            self.run_until_complete_pinned(main)?;
        }
        // `Ok` means the future completed, and it stores its output as it does.
        Ok(out.expect("run_until_complete returned Ok before its future completed"))
    }

    /// Watches `fd` for reading ([`EventLoop::add_reader`]).
    ///
    /// # Errors
    ///
    /// If the OS refuses.
    pub fn add_reader<F: FnMut() + 'static>(&self, fd: impl AsFd, f: F) -> io::Result<()> {
        self.add_reader_boxed(fd.as_fd(), Box::new(f))
    }

    /// Stops watching `fd` for reading ([`EventLoop::remove_reader`]).
    ///
    /// # Errors
    ///
    /// If the OS refuses.
    pub fn remove_reader(&self, fd: impl AsFd) -> io::Result<bool> {
        self.remove_reader_fd(fd.as_fd())
    }

    /// Watches `fd` for writing ([`EventLoop::add_writer`]).
    ///
    /// # Errors
    ///
    /// If the OS refuses.
    pub fn add_writer<F: FnMut() + 'static>(&self, fd: impl AsFd, f: F) -> io::Result<()> {
        self.add_writer_boxed(fd.as_fd(), Box::new(f))
    }

    /// Stops watching `fd` for writing ([`EventLoop::remove_writer`]).
    ///
    /// # Errors
    ///
    /// If the OS refuses.
    pub fn remove_writer(&self, fd: impl AsFd) -> io::Result<bool> {
        self.remove_writer_fd(fd.as_fd())
    }
}

impl AbstractEventLoop for EventLoop {
    fn time(&self) -> Instant {
        EventLoop::time(self)
    }
    fn call_soon_boxed(&self, f: Box<dyn FnOnce()>) -> CallbackHandle {
        EventLoop::call_soon(self, f)
    }
    fn call_soon_threadsafe_boxed(&self, f: Box<dyn FnOnce() + Send>) -> ThreadsafeHandle {
        EventLoop::call_soon_threadsafe(self, f)
    }
    fn call_later_boxed(&self, delay: Duration, f: Box<dyn FnOnce()>) -> TimerHandle {
        EventLoop::call_later(self, delay, f)
    }
    fn call_at_boxed(&self, when: Instant, f: Box<dyn FnOnce()>) -> TimerHandle {
        EventLoop::call_at(self, when, f)
    }
    fn run_until_complete_pinned(
        &self,
        fut: Pin<&mut dyn Future<Output = ()>>,
    ) -> Result<(), RunError> {
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
    fn add_reader_boxed(&self, fd: BorrowedFd<'_>, f: Box<dyn FnMut()>) -> io::Result<()> {
        EventLoop::add_reader(self, fd, f)
    }
    fn remove_reader_fd(&self, fd: BorrowedFd<'_>) -> io::Result<bool> {
        EventLoop::remove_reader(self, fd)
    }
    fn add_writer_boxed(&self, fd: BorrowedFd<'_>, f: Box<dyn FnMut()>) -> io::Result<()> {
        EventLoop::add_writer(self, fd, f)
    }
    fn remove_writer_fd(&self, fd: BorrowedFd<'_>) -> io::Result<bool> {
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
