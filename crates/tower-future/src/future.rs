//! [`LoopFuture`]: asyncio's `Future`, a one-shot result cell bound to an event loop, whose
//! done callbacks are scheduled on that loop and whose awaiters are woken when it completes.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use tower_coro::poison_free::{Mutex, MutexGuard};
use tower_loop::{LoopHandle, get_running_loop};

use crate::error::{Cancelled, Exception, FutureError, InvalidStateError, NoRunningLoop};

/// A done callback: called once, on the loop, with the completed future.
type Callback<T> = Box<dyn FnOnce(&LoopFuture<T>) + Send + 'static>;

/// What the future holds.
enum Outcome<T> {
    /// Not done yet.
    Pending,
    /// `set_result`.
    Value(T),
    /// `set_exception`.
    Exception(Exception),
    /// `cancel`.
    Cancelled(Cancelled),
}

/// The state behind the lock.
struct State<T> {
    /// The outcome.
    outcome: Outcome<T>,
    /// Done callbacks in registration order, with their ids.
    callbacks: Vec<(CallbackId, Callback<T>)>,
    /// Awaiters to wake on completion (deduplicated with `will_wake`).
    wakers: Vec<Waker>,
}

/// The shared cell.
struct Inner<T> {
    /// The loop the future belongs to: callbacks run there.
    handle: LoopHandle,
    /// Everything mutable. No user code runs under this lock: callbacks are scheduled, wakers
    /// are woken after the guard is dropped.
    state: Mutex<State<T>>,
}

impl<T> Inner<T> {
    /// Locks the state, ignoring poisoning (no user code runs under the lock).
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock()
    }
}

/// Identifies a done callback, for [`LoopFuture::remove_done_callback`] (closures cannot be
/// compared, so this replaces asyncio's "remove by function"). Unique in the process: an id of
/// one future's callback removes nothing from another future.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

impl CallbackId {
    /// A fresh id, never handed out before in this process.
    fn next() -> CallbackId {
        /// The last id handed out.
        static LAST: AtomicU64 = AtomicU64::new(0);
        CallbackId(LAST.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

/// asyncio's `Future`: a one-shot result cell bound to a loop. Cloning gives another handle to
/// the same cell; every clone can be awaited.
///
/// Awaiting gives `Ok(value)` (a clone of it), `Err(FutureError::Exception)` after
/// [`set_exception`](Self::set_exception), or `Err(FutureError::Cancelled)` after
/// [`cancel`](Self::cancel). Done callbacks are scheduled on the loop with `call_soon` (or
/// `call_soon_threadsafe` from another thread) when the future completes, in the order they were
/// added; they never run inline.
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_future::create_future;
///
/// let lp = EventLoop::new().unwrap();
/// let out = lp
///     .run_until_complete(async {
///         let fut = create_future::<u32>().unwrap();
///         let setter = fut.clone();
///         tower_loop::get_running_loop().unwrap().call_soon(move || {
///             setter.set_result(42).unwrap();
///         });
///         fut.await
///     })
///     .unwrap();
/// assert_eq!(out.unwrap(), 42);
/// ```
///
/// # Cancellation
///
/// Cancelling a task that awaits a `LoopFuture` cancels the future, as asyncio's
/// `Task.cancel` cancels the future its task waits on: every other awaiter sees
/// `FutureError::Cancelled`, and the cancellation goes on out of the task's `.await` to the
/// nearest `catch_cancel` (or ends the task). A future that is cancelled by anyone else gives
/// its awaiters `Err(FutureError::Cancelled)` as a value.
///
/// # Cancel safety
///
/// Dropping an awaiting clone mid-way changes nothing: the cell keeps its outcome for the
/// other clones (a stale waker may stay registered until the future completes).
#[must_use = "futures do nothing unless awaited"]
pub struct LoopFuture<T> {
    /// The shared cell.
    inner: Arc<Inner<T>>,
}

impl<T> Clone for LoopFuture<T> {
    fn clone(&self) -> Self {
        LoopFuture {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for LoopFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.lock();
        let state = match &st.outcome {
            Outcome::Pending => "pending",
            Outcome::Value(_) => "finished",
            Outcome::Exception(_) => "failed",
            Outcome::Cancelled(_) => "cancelled",
        };
        f.debug_struct("LoopFuture")
            .field("state", &state)
            .field("callbacks", &st.callbacks.len())
            .finish()
    }
}

/// Creates a pending [`LoopFuture`] on the running loop (asyncio's `loop.create_future()`).
///
/// ```
/// use tower_loop::EventLoop;
///
/// assert!(tower_future::create_future::<()>().is_err()); // no running loop here
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     let fut = tower_future::create_future::<()>().unwrap();
///     assert!(!fut.done());
/// })
/// .unwrap();
/// ```
///
/// # Errors
///
/// [`NoRunningLoop`] outside a running loop.
pub fn create_future<T: Send + 'static>() -> Result<LoopFuture<T>, NoRunningLoop> {
    let lp = get_running_loop()?;
    Ok(LoopFuture::new(&lp.handle()))
}

/// Schedules `f` on the loop of `handle`: `call_soon` on the loop's own thread, else
/// `call_soon_threadsafe`. On a closed loop `f` is dropped.
fn schedule_on(handle: &LoopHandle, f: impl FnOnce() + Send + 'static) {
    if handle.is_current() {
        if let Ok(lp) = get_running_loop() {
            lp.call_soon(f);
            return;
        }
    }
    handle.call_soon_threadsafe(f);
}

impl<T: Send + 'static> LoopFuture<T> {
    /// A pending future bound to the loop of `handle` (usable from any thread).
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_future::LoopFuture;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let fut = LoopFuture::<i32>::new(&lp.handle());
    /// fut.set_result(1).unwrap();
    /// assert_eq!(lp.run_until_complete(fut).unwrap().unwrap(), 1);
    /// ```
    pub fn new(handle: &LoopHandle) -> Self {
        LoopFuture {
            inner: Arc::new(Inner {
                handle: handle.clone(),
                state: Mutex::new(State {
                    outcome: Outcome::Pending,
                    callbacks: Vec::new(),
                    wakers: Vec::new(),
                }),
            }),
        }
    }

    /// The loop this future belongs to (asyncio's `get_loop()`).
    pub fn get_loop(&self) -> &LoopHandle {
        &self.inner.handle
    }

    /// Completes the future with `outcome`, wakes the awaiters and schedules the callbacks.
    fn complete(&self, outcome: Outcome<T>) -> Result<(), InvalidStateError> {
        let (wakers, callbacks) = {
            let mut st = self.inner.lock();
            if !matches!(st.outcome, Outcome::Pending) {
                return Err(InvalidStateError::AlreadyDone);
            }
            st.outcome = outcome;
            (
                std::mem::take(&mut st.wakers),
                std::mem::take(&mut st.callbacks),
            )
        };
        for w in wakers {
            w.wake();
        }
        for (_, cb) in callbacks {
            let fut = self.clone();
            schedule_on(&self.inner.handle, move || cb(&fut));
        }
        Ok(())
    }

    /// Marks the future done with `value` (asyncio's `set_result`).
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_future::{LoopFuture, error::InvalidStateError};
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let fut = LoopFuture::new(&lp.handle());
    /// assert!(fut.set_result("a").is_ok());
    /// assert_eq!(fut.set_result("b"), Err(InvalidStateError::AlreadyDone));
    /// assert_eq!(fut.result().unwrap(), "a");
    /// ```
    ///
    /// # Errors
    ///
    /// [`InvalidStateError::AlreadyDone`] if the future is already done or cancelled (`value` is
    /// dropped).
    pub fn set_result(&self, value: T) -> Result<(), InvalidStateError> {
        self.complete(Outcome::Value(value))
    }

    /// Marks the future done with an error (asyncio's `set_exception`).
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_future::{LoopFuture, error::FutureError};
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let fut = LoopFuture::<()>::new(&lp.handle());
    /// fut.set_exception(std::io::Error::other("disk on fire")).unwrap();
    /// match lp.run_until_complete(fut).unwrap() {
    ///     Err(FutureError::Exception(e)) => assert_eq!(e.to_string(), "disk on fire"),
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// [`InvalidStateError::AlreadyDone`] if the future is already done or cancelled.
    pub fn set_exception(
        &self,
        error: impl Into<Box<dyn Error + Send + Sync + 'static>>,
    ) -> Result<(), InvalidStateError> {
        self.complete(Outcome::Exception(Arc::from(error.into())))
    }

    /// Cancels the future (asyncio's `cancel()`): returns `false` if it is already done, else
    /// marks it cancelled, wakes its awaiters and schedules its callbacks. To give a message,
    /// use [`cancel_with`](Self::cancel_with).
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_future::LoopFuture;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let fut = LoopFuture::<()>::new(&lp.handle());
    /// assert!(fut.cancel());
    /// assert!(!fut.cancel());
    /// assert!(fut.cancelled());
    /// let err = lp.run_until_complete(fut).unwrap().unwrap_err();
    /// assert_eq!(err.to_string(), "cancelled");
    /// ```
    pub fn cancel(&self) -> bool {
        self.cancel_opt(None)
    }

    /// Cancels the future with a message (asyncio's `cancel(msg)`), which its awaiters see in
    /// the cancellation; otherwise as [`cancel`](Self::cancel).
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_future::LoopFuture;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let fut = LoopFuture::<()>::new(&lp.handle());
    /// assert!(fut.cancel_with("no longer needed"));
    /// assert!(!fut.cancel_with("again"));
    /// let err = lp.run_until_complete(fut).unwrap().unwrap_err();
    /// assert_eq!(err.to_string(), "cancelled: no longer needed");
    /// ```
    pub fn cancel_with(&self, msg: &str) -> bool {
        self.cancel_opt(Some(msg))
    }

    /// Cancels the future with `msg`, if any (a cancellation passed on keeps its message).
    fn cancel_opt(&self, msg: Option<&str>) -> bool {
        self.complete(Outcome::Cancelled(Cancelled::new(msg)))
            .is_ok()
    }

    /// Whether the future was cancelled.
    pub fn cancelled(&self) -> bool {
        matches!(self.inner.lock().outcome, Outcome::Cancelled(_))
    }

    /// Whether the future is done (result, exception or cancelled).
    pub fn done(&self) -> bool {
        !matches!(self.inner.lock().outcome, Outcome::Pending)
    }

    /// The result (asyncio's `result()`), cloned.
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_future::{LoopFuture, error::{FutureError, InvalidStateError}};
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let fut = LoopFuture::new(&lp.handle());
    /// assert!(matches!(fut.result(), Err(FutureError::InvalidState(InvalidStateError::NotDone))));
    /// fut.set_result(5).unwrap();
    /// assert_eq!(fut.result().unwrap(), 5);
    /// ```
    ///
    /// # Errors
    ///
    /// [`FutureError::InvalidState`] if not done, [`FutureError::Cancelled`] if cancelled,
    /// [`FutureError::Exception`] if completed with an error.
    pub fn result(&self) -> Result<T, FutureError>
    where
        T: Clone,
    {
        match &self.inner.lock().outcome {
            Outcome::Pending => Err(FutureError::InvalidState(InvalidStateError::NotDone)),
            Outcome::Value(v) => Ok(v.clone()),
            Outcome::Exception(e) => Err(FutureError::Exception(e.clone())),
            Outcome::Cancelled(c) => Err(FutureError::Cancelled(c.clone())),
        }
    }

    /// The error the future was completed with, `None` if it has a result (asyncio's
    /// `exception()`).
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_future::LoopFuture;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let fut = LoopFuture::<()>::new(&lp.handle());
    /// fut.set_result(()).unwrap();
    /// assert!(fut.exception().unwrap().is_none());
    /// ```
    ///
    /// # Errors
    ///
    /// [`FutureError::InvalidState`] if not done, [`FutureError::Cancelled`] if cancelled.
    pub fn exception(&self) -> Result<Option<Exception>, FutureError> {
        match &self.inner.lock().outcome {
            Outcome::Pending => Err(FutureError::InvalidState(InvalidStateError::NotDone)),
            Outcome::Value(_) => Ok(None),
            Outcome::Exception(e) => Ok(Some(e.clone())),
            Outcome::Cancelled(c) => Err(FutureError::Cancelled(c.clone())),
        }
    }

    /// Adds a callback run on the loop once the future is done (asyncio's
    /// `add_done_callback`). If the future is already done, the callback is scheduled now.
    /// Callbacks never run inline.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use tower_loop::EventLoop;
    /// use tower_future::LoopFuture;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let fut = LoopFuture::new(&lp.handle());
    /// let seen = Arc::new(Mutex::new(None));
    /// let s = seen.clone();
    /// fut.add_done_callback(move |f| *s.lock().unwrap() = f.result().ok());
    /// fut.set_result(3).unwrap();
    /// assert_eq!(*seen.lock().unwrap(), None); // not inline
    /// lp.run_until_complete(tower_coro::yield_now()).unwrap();
    /// assert_eq!(*seen.lock().unwrap(), Some(3));
    /// ```
    pub fn add_done_callback<F>(&self, f: F) -> CallbackId
    where
        F: FnOnce(&LoopFuture<T>) + Send + 'static,
    {
        let id = CallbackId::next();
        let mut st = self.inner.lock();
        if matches!(st.outcome, Outcome::Pending) {
            st.callbacks.push((id, Box::new(f)));
        } else {
            drop(st);
            let fut = self.clone();
            schedule_on(&self.inner.handle, move || f(&fut));
        }
        id
    }

    /// Removes a callback added by [`add_done_callback`](Self::add_done_callback) that has not
    /// been scheduled yet; returns how many were removed (0 or 1; asyncio's
    /// `remove_done_callback`).
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_future::LoopFuture;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let fut = LoopFuture::<()>::new(&lp.handle());
    /// let id = fut.add_done_callback(|_| unreachable!());
    /// assert_eq!(fut.remove_done_callback(id), 1);
    /// assert_eq!(fut.remove_done_callback(id), 0);
    /// ```
    pub fn remove_done_callback(&self, id: CallbackId) -> usize {
        let removed = {
            let mut st = self.inner.lock();
            let before = st.callbacks.len();
            let mut removed = Vec::new();
            let mut i = 0;
            while i < st.callbacks.len() {
                if st.callbacks[i].0 == id {
                    removed.push(st.callbacks.remove(i));
                } else {
                    i += 1;
                }
            }
            debug_assert_eq!(before - st.callbacks.len(), removed.len());
            removed
        };
        removed.len()
    }

    /// A `Send` completer that sets this future's result from any thread through the loop's
    /// `call_soon_threadsafe` (see [`wrap_future`]).
    pub fn completer(&self) -> Completer<T> {
        Completer {
            fut: Some(self.clone()),
        }
    }
}

impl<T: Clone + Send + 'static> Future for LoopFuture<T> {
    type Output = Result<T, FutureError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if tower_coro::cancel::requested() && self.pass_cancel_on() {
            return Poll::Pending;
        }
        let mut st = self.inner.lock();
        match &st.outcome {
            Outcome::Pending => {
                if !st.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    st.wakers.push(cx.waker().clone());
                }
                drop(st);
                tower_coro::cancel::suspended_aware();
                Poll::Pending
            }
            Outcome::Value(v) => Poll::Ready(Ok(v.clone())),
            Outcome::Exception(e) => Poll::Ready(Err(FutureError::Exception(e.clone()))),
            Outcome::Cancelled(c) => Poll::Ready(Err(FutureError::Cancelled(c.clone()))),
        }
    }
}

impl<T: Clone + Send + 'static> LoopFuture<T> {
    /// The task awaiting this future is being cancelled and this await is where it is
    /// suspended (`tower_coro::cancel`): as asyncio's `Task.cancel` cancels the future its task
    /// waits on, cancel it, then raise the cancellation on out of the await — also if the
    /// future already had a value, which is then not returned (asyncio raises at that await
    /// too). A future that failed keeps its error: it is returned and the request goes on to
    /// the next aware await. Returns whether the cancellation was raised (rare: out of line).
    #[cold]
    #[inline(never)]
    fn pass_cancel_on(&self) -> bool {
        if matches!(self.inner.lock().outcome, Outcome::Exception(_)) {
            return false;
        }
        let Some(c) = tower_coro::cancel::take() else {
            return false;
        };
        self.cancel_opt(c.message());
        tower_coro::cancel::raise(c);
        true
    }
}

/// The thread side of [`wrap_future`]: completes its [`LoopFuture`] on the loop's thread
/// through `call_soon_threadsafe`. Dropping it unused cancels the future (with the message
/// `"the completer was dropped"`), so an awaiter never hangs on a dead producer.
#[must_use = "dropping a Completer cancels its future"]
pub struct Completer<T: Send + 'static> {
    /// The future; taken when completed.
    fut: Option<LoopFuture<T>>,
}

impl<T: Send + 'static> fmt::Debug for Completer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completer")
            .field("used", &self.fut.is_none())
            .finish()
    }
}

impl<T: Send + 'static> Completer<T> {
    /// Whether the loop side cancelled the future (asyncio's `wrap_future` cancels the
    /// concurrent future when the asyncio one is cancelled): the thread doing the work may
    /// stop early; a result set now is dropped.
    ///
    /// ```
    /// use tower_loop::EventLoop;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// lp.run_until_complete(async {
    ///     let (fut, completer) = tower_future::wrap_future::<u64>().unwrap();
    ///     assert!(!completer.is_cancelled());
    ///     fut.cancel_with("not needed");
    ///     let worker = std::thread::spawn(move || completer.is_cancelled());
    ///     assert!(worker.join().unwrap());
    /// })
    /// .unwrap();
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.fut.as_ref().is_some_and(LoopFuture::cancelled)
    }

    /// Sets the result on the loop's thread (in a later loop iteration).
    pub fn set_result(mut self, value: T) {
        if let Some(fut) = self.fut.take() {
            let handle = fut.inner.handle.clone();
            handle.call_soon_threadsafe(move || {
                let _ = fut.set_result(value);
            });
        }
    }

    /// Sets an error on the loop's thread (in a later loop iteration).
    pub fn set_exception(mut self, error: impl Into<Box<dyn Error + Send + Sync + 'static>>) {
        if let Some(fut) = self.fut.take() {
            let handle = fut.inner.handle.clone();
            let error = error.into();
            handle.call_soon_threadsafe(move || {
                let _ = fut.set_exception(error);
            });
        }
    }
}

impl<T: Send + 'static> Drop for Completer<T> {
    fn drop(&mut self) {
        if let Some(fut) = self.fut.take() {
            let handle = fut.inner.handle.clone();
            handle.call_soon_threadsafe(move || {
                fut.cancel_with("the completer was dropped");
            });
        }
    }
}

/// A future on the running loop and the [`Completer`] another thread uses to complete it
/// (the Rust shape of asyncio's `wrap_future`: the result of work done on a std thread
/// completes a loop future via `call_soon_threadsafe`).
///
/// ```
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// let out = lp
///     .run_until_complete(async {
///         let (fut, completer) = tower_future::wrap_future::<u64>().unwrap();
///         std::thread::spawn(move || completer.set_result((1..=10).sum()));
///         fut.await
///     })
///     .unwrap();
/// assert_eq!(out.unwrap(), 55);
/// ```
///
/// # Errors
///
/// [`NoRunningLoop`] outside a running loop.
pub fn wrap_future<T: Send + 'static>() -> Result<(LoopFuture<T>, Completer<T>), NoRunningLoop> {
    let fut = create_future()?;
    let completer = fut.completer();
    Ok((fut, completer))
}
