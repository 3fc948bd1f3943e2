//! The state every queue kind shares, and the futures that wait on it.
//!
//! One mutex guards the buffer, the counters and both wait lists. A getter or putter that is
//! woken (notified) but finds its chance taken re-queues at the front; one that is woken and
//! then dropped passes its wake-up to the next waiter of its kind if the queue still has an
//! item (or room) for it — asyncio's `_wakeup_next` on cancellation.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use event_listener::{Event as Listeners, EventListener};

use super::store::Store;
use crate::error::{QueueEmpty, QueueFull, QueueShutDown, TaskDoneError, TryGetError, TryPutError};
use crate::loom::{Mutex, MutexGuard};
use crate::waitlist::{Removed, WaitList, wake_all};

/// Everything under the queue's lock.
#[derive(Debug)]
pub(crate) struct Inner<T> {
    /// The items.
    store: Store<T>,
    /// The bound; 0 for none (asyncio's `maxsize <= 0`).
    maxsize: usize,
    /// Items put and not yet marked done.
    unfinished: usize,
    /// `shutdown` was called.
    shutdown: bool,
    /// Tasks waiting for an item.
    getters: WaitList<()>,
    /// Tasks waiting for room.
    putters: WaitList<()>,
}

impl<T> Inner<T> {
    /// The queue holds `maxsize` items.
    fn full(&self) -> bool {
        self.maxsize > 0 && self.store.len() >= self.maxsize
    }
}

/// The shared half of a queue handle.
pub(crate) struct Shared<T> {
    /// Buffer, counters, waiters.
    inner: Mutex<Inner<T>>,
    /// Notified when `unfinished` drops to zero (`join`).
    finished: Listeners,
}

impl<T> Shared<T> {
    /// A queue over `store`, bounded by `maxsize` (0 = unbounded).
    pub(crate) fn new(store: Store<T>, maxsize: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                store,
                maxsize,
                unfinished: 0,
                shutdown: false,
                getters: WaitList::new(),
                putters: WaitList::new(),
            }),
            finished: Listeners::new(),
        }
    }

    /// Locks the state.
    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock()
    }

    /// The bound (0 = unbounded).
    pub(crate) fn maxsize(&self) -> usize {
        self.lock().maxsize
    }

    /// Items held.
    pub(crate) fn qsize(&self) -> usize {
        self.lock().store.len()
    }

    /// At the bound.
    pub(crate) fn full(&self) -> bool {
        self.lock().full()
    }

    /// Shut down.
    pub(crate) fn is_shutdown(&self) -> bool {
        self.lock().shutdown
    }

    /// Items not yet marked done.
    pub(crate) fn unfinished(&self) -> usize {
        self.lock().unfinished
    }

    /// Pushes `item` into a queue known to have room, waking the oldest getter.
    fn push_locked(mut inner: MutexGuard<'_, Inner<T>>, item: T) {
        inner.store.push(item);
        inner.unfinished += 1;
        // The common case (nobody waiting) stays inline.
        let waker = if inner.getters.is_empty() {
            None
        } else {
            inner.getters.notify_one(())
        };
        drop(inner);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Pops the next item, waking the oldest putter (there is room now).
    fn pop_locked(mut inner: MutexGuard<'_, Inner<T>>) -> Option<T> {
        let item = inner.store.pop()?;
        let waker = if inner.putters.is_empty() {
            None
        } else {
            inner.putters.notify_one(())
        };
        drop(inner);
        if let Some(w) = waker {
            w.wake();
        }
        Some(item)
    }

    /// `put_nowait`.
    pub(crate) fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        let inner = self.lock();
        if inner.shutdown {
            return Err(TryPutError::ShutDown(QueueShutDown(item)));
        }
        if inner.full() {
            return Err(TryPutError::Full(QueueFull(item)));
        }
        Self::push_locked(inner, item);
        Ok(())
    }

    /// `get_nowait`.
    pub(crate) fn try_get(&self) -> Result<T, TryGetError> {
        let inner = self.lock();
        let shutdown = inner.shutdown;
        Self::pop_locked(inner).ok_or(if shutdown {
            TryGetError::ShutDown(QueueShutDown(()))
        } else {
            TryGetError::Empty(QueueEmpty)
        })
    }

    /// Checks a queued waiter in `list`; `Some(notified)` to go on, `None` to keep waiting.
    fn check(list: &mut WaitList<()>, key: &mut Option<usize>, waker: &Waker) -> Option<bool> {
        match *key {
            None => Some(false),
            Some(k) => {
                if list.take_notified(k).is_some() {
                    *key = None;
                    Some(true)
                } else {
                    list.set_waker(k, waker);
                    None
                }
            }
        }
    }

    /// Polls a put of `item` whose queue entry is `key`.
    pub(crate) fn poll_put(
        &self,
        item: &mut Option<T>,
        key: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), QueueShutDown<T>>> {
        let mut inner = self.lock();
        let Some(notified) = Self::check(&mut inner.putters, key, cx.waker()) else {
            return Poll::Pending;
        };
        let Some(value) = item.take() else {
            return Poll::Pending;
        };
        if inner.shutdown {
            return Poll::Ready(Err(QueueShutDown(value)));
        }
        if !inner.full() {
            Self::push_locked(inner, value);
            return Poll::Ready(Ok(()));
        }
        *item = Some(value);
        let waker = cx.waker().clone();
        *key = Some(if notified {
            inner.putters.push_front(waker, 0)
        } else {
            inner.putters.push_back(waker, 0)
        });
        Poll::Pending
    }

    /// Polls a get whose queue entry is `key`.
    pub(crate) fn poll_get(
        &self,
        key: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, QueueShutDown>> {
        let mut inner = self.lock();
        let Some(notified) = Self::check(&mut inner.getters, key, cx.waker()) else {
            return Poll::Pending;
        };
        if inner.store.len() > 0 {
            return match Self::pop_locked(inner) {
                Some(item) => Poll::Ready(Ok(item)),
                None => Poll::Pending,
            };
        }
        if inner.shutdown {
            return Poll::Ready(Err(QueueShutDown(())));
        }
        let waker = cx.waker().clone();
        *key = Some(if notified {
            inner.getters.push_front(waker, 0)
        } else {
            inner.getters.push_back(waker, 0)
        });
        Poll::Pending
    }

    /// A queued put went away: pass its wake-up on if there is still room.
    pub(crate) fn cancel_put(&self, key: usize) {
        let mut inner = self.lock();
        if let Removed::Notified(()) = inner.putters.remove(key) {
            if !inner.full() && !inner.shutdown {
                let waker = inner.putters.notify_one(());
                drop(inner);
                if let Some(w) = waker {
                    w.wake();
                }
            }
        }
    }

    /// A queued get went away: pass its wake-up on if an item is still there.
    pub(crate) fn cancel_get(&self, key: usize) {
        let mut inner = self.lock();
        if let Removed::Notified(()) = inner.getters.remove(key) {
            if inner.store.len() > 0 {
                let waker = inner.getters.notify_one(());
                drop(inner);
                if let Some(w) = waker {
                    w.wake();
                }
            }
        }
    }

    /// `task_done`.
    pub(crate) fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut inner = self.lock();
        if inner.unfinished == 0 {
            return Err(TaskDoneError);
        }
        inner.unfinished -= 1;
        let done = inner.unfinished == 0;
        drop(inner);
        if done {
            self.finished.notify(usize::MAX);
        }
        Ok(())
    }

    /// `shutdown(immediate)`.
    pub(crate) fn shutdown(&self, immediate: bool) {
        let mut wakers = Vec::new();
        let mut inner = self.lock();
        inner.shutdown = true;
        let mut done = false;
        if immediate {
            while inner.store.pop().is_some() {
                inner.unfinished = inner.unfinished.saturating_sub(1);
            }
            done = inner.unfinished == 0;
        }
        inner.getters.notify_all(|| (), &mut wakers);
        inner.putters.notify_all(|| (), &mut wakers);
        drop(inner);
        wake_all(wakers);
        if done {
            self.finished.notify(usize::MAX);
        }
    }

    /// Registers for the `unfinished == 0` notification.
    fn listen_finished(&self) -> EventListener {
        self.finished.listen()
    }
}

impl<T> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("Queue")
            .field("store", &inner.store)
            .field("maxsize", &inner.maxsize)
            .field("unfinished", &inner.unfinished)
            .field("shutdown", &inner.shutdown)
            .field("getters", &inner.getters.len())
            .field("putters", &inner.putters.len())
            .finish()
    }
}

/// The future of `put` on a queue.
#[must_use = "futures do nothing unless awaited"]
pub struct Put<'a, T> {
    /// The queue.
    pub(super) shared: &'a Shared<T>,
    /// The item, until it is put (or given back).
    pub(super) item: Option<T>,
    /// Our entry among the putters.
    pub(super) key: Option<usize>,
}

impl<T> Future for Put<'_, T> {
    type Output = Result<(), QueueShutDown<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.shared.poll_put(&mut this.item, &mut this.key, cx)
    }
}

impl<T> Unpin for Put<'_, T> {}

impl<T> Drop for Put<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.shared.cancel_put(key);
        }
    }
}

impl<T> fmt::Debug for Put<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// The future of `get` on a queue.
#[must_use = "futures do nothing unless awaited"]
pub struct Get<'a, T> {
    /// The queue.
    pub(super) shared: &'a Shared<T>,
    /// Our entry among the getters.
    pub(super) key: Option<usize>,
}

impl<T> Future for Get<'_, T> {
    type Output = Result<T, QueueShutDown>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.shared.poll_get(&mut this.key, cx)
    }
}

impl<T> Drop for Get<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.shared.cancel_get(key);
        }
    }
}

impl<T> fmt::Debug for Get<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get")
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// The future of `join` on a queue.
#[must_use = "futures do nothing unless awaited"]
pub struct Join<'a, T> {
    /// The queue.
    pub(super) shared: &'a Shared<T>,
    /// Registered before `unfinished` is re-checked.
    pub(super) listener: Option<EventListener>,
}

impl<T> Future for Join<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            match this.listener.as_mut() {
                // Woken by the count reaching zero: done, even if new items came since (as
                // asyncio's `join` returns once its `_finished` event fired).
                Some(listener) => {
                    if Pin::new(listener).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.listener = None;
                    return Poll::Ready(());
                }
                None => {
                    if this.shared.unfinished() == 0 {
                        return Poll::Ready(());
                    }
                    this.listener = Some(this.shared.listen_finished());
                    if this.shared.unfinished() == 0 {
                        this.listener = None;
                        return Poll::Ready(());
                    }
                }
            }
        }
    }
}

impl<T> fmt::Debug for Join<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").finish_non_exhaustive()
    }
}
