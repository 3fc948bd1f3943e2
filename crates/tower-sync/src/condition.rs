//! `Condition`: asyncio's condition variable, on a [`Lock`] it owns or is given. `wait` takes
//! the lock's guard, releases it while waiting, and hands it back re-acquired.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::blocking::block_on;
use crate::lock::{Acquire, Lock, LockGuard};
use crate::loom::Mutex;
use crate::waitlist::{Removed, WaitList, wake_all};

/// A condition variable (asyncio's `Condition`).
///
/// Waiters are notified in the order they started waiting. A waiter that is notified and then
/// dropped before it returns passes its notification to the next waiter, so `notify(n)` always
/// wakes `n` waiters that are still there (CPython gh-112202).
///
/// Unlike asyncio, `notify` does not require holding the lock (Rust cannot check "held by the
/// caller"); notifying while holding it, as in asyncio, gives the usual guarantees.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tower_sync::Condition;
///
/// # tower_coro::block_on(async {
/// let cond = Arc::new(Condition::new(false));
/// let mut ready = cond.lock().await;
/// *ready = true;
/// cond.notify_all();
/// drop(ready);
/// let ready = cond.wait_for(cond.lock().await, |ready| *ready).await;
/// assert!(*ready);
/// # });
/// ```
pub struct Condition<T: ?Sized = ()> {
    /// The lock whose guard `wait` releases and re-acquires.
    lock: Arc<Lock<T>>,
    /// The waiters; each grant is one notification.
    waiters: Mutex<WaitList<()>>,
}

impl<T> Condition<T> {
    /// A condition on a new lock of its own, around `value`.
    pub fn new(value: T) -> Self {
        Self::with_lock(Arc::new(Lock::new(value)))
    }
}

impl<T: ?Sized> Condition<T> {
    /// A condition on a lock shared with other code (asyncio's `Condition(lock)`).
    pub fn with_lock(lock: Arc<Lock<T>>) -> Self {
        Self {
            lock,
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// The underlying lock.
    pub fn get_lock(&self) -> &Arc<Lock<T>> {
        &self.lock
    }

    /// Acquires the underlying lock.
    ///
    /// # Cancel safety
    ///
    /// As for [`Lock::lock`].
    pub fn lock(&self) -> Acquire<'_, T> {
        self.lock.lock()
    }

    /// True if the underlying lock is held.
    pub fn locked(&self) -> bool {
        self.lock.locked()
    }

    /// Releases `guard`, waits to be notified, and returns the guard re-acquired.
    ///
    /// `guard` should be a guard of this condition's lock; the future re-acquires whichever
    /// lock the guard came from.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops the guard (the lock is not held any more)
    /// and leaves the wait queue; if it had been notified already (even if it was re-acquiring
    /// the lock), the notification passes to the next waiter.
    pub fn wait<'a>(&self, guard: LockGuard<'a, T>) -> CondWait<'a, '_, T> {
        CondWait {
            cond: self,
            state: WaitState::Start(guard),
        }
    }

    /// Waits until `predicate` returns true for the protected value, re-checking after every
    /// notification; returns the guard with the predicate true (asyncio's `wait_for`).
    ///
    /// # Cancel safety
    ///
    /// As for [`Condition::wait`].
    pub fn wait_for<'a, F>(
        &self,
        guard: LockGuard<'a, T>,
        predicate: F,
    ) -> CondWaitFor<'a, '_, T, F>
    where
        F: FnMut(&mut T) -> bool,
    {
        CondWaitFor {
            cond: self,
            predicate,
            guard: Some(guard),
            wait: None,
        }
    }

    /// [`Condition::wait`], blocking the thread (never inside a task).
    pub fn wait_blocking<'a>(&self, guard: LockGuard<'a, T>) -> LockGuard<'a, T> {
        block_on(self.wait(guard))
    }

    /// Wakes up to `n` waiters (asyncio's `notify(n)`); returns how many were woken.
    pub fn notify(&self, n: usize) -> usize {
        let mut woken = 0;
        let mut wakers = Vec::new();
        {
            let mut list = self.waiters.lock();
            while woken < n {
                match list.notify_one(()) {
                    Some(w) => {
                        wakers.push(w);
                        woken += 1;
                    }
                    None if list.is_empty() => break,
                    None => woken += 1,
                }
            }
        }
        wake_all(wakers);
        woken
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) -> usize {
        self.notify(usize::MAX)
    }

    /// Joins the wait queue.
    fn register(&self, waker: &Waker) -> usize {
        self.waiters.lock().push_back(waker.clone(), 0)
    }

    /// Checks a queued waiter: `true` once notified (consuming the notification).
    fn poll_notified(&self, key: usize, waker: &Waker) -> bool {
        let mut list = self.waiters.lock();
        if list.take_notified(key).is_some() {
            return true;
        }
        list.set_waker(key, waker);
        false
    }

    /// A queued waiter went away; pass on its notification if it had one.
    fn cancel(&self, key: usize) {
        let removed = self.waiters.lock().remove(key);
        if let Removed::Notified(()) = removed {
            self.notify(1);
        }
    }
}

impl<T: Default> Default for Condition<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: ?Sized> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("locked", &self.locked())
            .field("waiters", &self.waiters.lock().len())
            .finish()
    }
}

/// Where a [`CondWait`] is.
enum WaitState<'a, T: ?Sized> {
    /// Not polled yet: holding the caller's guard.
    Start(LockGuard<'a, T>),
    /// Queued on the condition, lock released.
    Waiting {
        /// Our queue entry.
        key: usize,
        /// The lock to re-acquire.
        lock: &'a Lock<T>,
    },
    /// Notified; re-acquiring the lock.
    Relock(Acquire<'a, T>),
    /// Finished.
    Done,
}

/// The future of [`Condition::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct CondWait<'a, 'c, T: ?Sized> {
    /// The condition.
    cond: &'c Condition<T>,
    /// Progress.
    state: WaitState<'a, T>,
}

impl<'a, T: ?Sized> Future for CondWait<'a, '_, T> {
    type Output = LockGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match std::mem::replace(&mut this.state, WaitState::Done) {
                WaitState::Start(guard) => {
                    // Queue first, then release: a notify after the release finds us queued.
                    let key = this.cond.register(cx.waker());
                    let lock = LockGuard::source(&guard);
                    drop(guard);
                    this.state = WaitState::Waiting { key, lock };
                    return Poll::Pending;
                }
                WaitState::Waiting { key, lock } => {
                    if this.cond.poll_notified(key, cx.waker()) {
                        this.state = WaitState::Relock(lock.lock());
                    } else {
                        this.state = WaitState::Waiting { key, lock };
                        return Poll::Pending;
                    }
                }
                WaitState::Relock(mut acquire) => match Pin::new(&mut acquire).poll(cx) {
                    Poll::Ready(guard) => return Poll::Ready(guard),
                    Poll::Pending => {
                        this.state = WaitState::Relock(acquire);
                        return Poll::Pending;
                    }
                },
                WaitState::Done => return Poll::Pending,
            }
        }
    }
}

impl<T: ?Sized> Drop for CondWait<'_, '_, T> {
    fn drop(&mut self) {
        match self.state {
            WaitState::Waiting { key, .. } => self.cond.cancel(key),
            // Notified, but dropped before it could return: the notification is passed on
            // (as asyncio 3.13 does for any cancellation after a notify; a spurious wake-up
            // is allowed by the condition variable protocol, a lost one is not).
            WaitState::Relock(_) => {
                self.cond.notify(1);
            }
            WaitState::Start(_) | WaitState::Done => {}
        }
    }
}

impl<T: ?Sized> fmt::Debug for CondWait<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            WaitState::Start(_) => "start",
            WaitState::Waiting { .. } => "waiting",
            WaitState::Relock(_) => "relocking",
            WaitState::Done => "done",
        };
        f.debug_struct("CondWait")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

/// The future of [`Condition::wait_for`].
#[must_use = "futures do nothing unless awaited"]
pub struct CondWaitFor<'a, 'c, T: ?Sized, F> {
    /// The condition.
    cond: &'c Condition<T>,
    /// Checked with the lock held.
    predicate: F,
    /// Held between checks.
    guard: Option<LockGuard<'a, T>>,
    /// The current wait, after a false check.
    wait: Option<CondWait<'a, 'c, T>>,
}

impl<'a, T: ?Sized, F: FnMut(&mut T) -> bool> Future for CondWaitFor<'a, '_, T, F> {
    type Output = LockGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            if let Some(wait) = this.wait.as_mut() {
                match Pin::new(wait).poll(cx) {
                    Poll::Ready(guard) => {
                        this.wait = None;
                        this.guard = Some(guard);
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
            let Some(mut guard) = this.guard.take() else {
                return Poll::Pending;
            };
            if (this.predicate)(&mut guard) {
                return Poll::Ready(guard);
            }
            this.wait = Some(this.cond.wait(guard));
        }
    }
}

// Nothing is pinned structurally: the predicate is only called through `&mut`, and the inner
// wait is `Unpin`.
impl<T: ?Sized, F> Unpin for CondWaitFor<'_, '_, T, F> {}

impl<T: ?Sized, F> fmt::Debug for CondWaitFor<'_, '_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CondWaitFor")
            .field("waiting", &self.wait.is_some())
            .finish_non_exhaustive()
    }
}
