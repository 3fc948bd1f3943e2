//! The state every queue kind shares, and the futures that wait on it.
//!
//! The items live in a [`Store`] whose push and pop are each atomic on their own (lock-free
//! for `Queue`); a separate mutex guards only the two wait lists. A put or get that does not
//! have to wait touches neither that mutex nor the other side's cache lines: after its push
//! (pop) it reads how many getters (putters) are queued, and takes the wait-list lock only if
//! some are, to wake the oldest — one wake-up per item put or taken, as asyncio's
//! `_wakeup_next` does.
//!
//! # The waiting protocol (why no wake-up is lost)
//!
//! A getter that finds the store empty links itself into `getters` under the lock, publishes
//! the list's length in `getters_waiting`, and then — after a `SeqCst` fence — pops once more.
//! A putter pushes, then — after a `SeqCst` fence — reads `getters_waiting`. The two fences
//! order the two threads: either the putter sees the getter counted (and wakes the oldest
//! getter), or the getter's second pop sees the item. Putters waiting for room mirror this
//! with `putters_waiting` and the getters' pops. A getter that wins its second pop, or a
//! putter its second push, leaves the list again; if it had been notified meanwhile it passes
//! the notification on exactly as a cancelled waiter does.
//!
//! A waiter that is notified but finds its chance taken (a `get_nowait` or a fresh `put` got
//! there first, as asyncio allows) re-queues at the front; one that is notified and then
//! dropped passes its wake-up to the next waiter of its kind if the queue still has an item
//! (or room) for it — asyncio's `_wakeup_next` on cancellation. `shutdown` closes the store
//! first and then wakes every waiter, so a waiter queued after it sees the store closed on its
//! second try.
//!
//! `unfinished` is raised before an item is pushed (so a `get` + `task_done` of that item can
//! never find it at zero) and lowered again if the push fails.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use event_listener::{Event as Listeners, EventListener};

use super::store::{PopError, PushError, Store};
use crate::error::{QueueEmpty, QueueFull, QueueShutDown, TaskDoneError, TryGetError, TryPutError};
use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering, fence};
use crate::waitlist::{Removed, WaitList, wake_all};

/// The wait lists, under the queue's lock.
#[derive(Debug)]
struct Waiters {
    /// Tasks waiting for an item.
    getters: WaitList<()>,
    /// Tasks waiting for room.
    putters: WaitList<()>,
}

/// A value on a cache line of its own, so that the producers' counter does not slow down the
/// consumer's reads of its neighbours.
#[derive(Debug)]
#[repr(align(128))]
struct Padded<T>(T);

/// The shared half of a queue handle.
pub(crate) struct Shared<T> {
    /// The items; closed by `shutdown`.
    store: Store<T>,
    /// The bound; 0 for none (asyncio's `maxsize <= 0`).
    maxsize: usize,
    /// Items put (or being put) and not yet marked done.
    unfinished: Padded<AtomicUsize>,
    /// `waiters.getters.len()`, readable without the lock (see the module docs).
    getters_waiting: AtomicUsize,
    /// `waiters.putters.len()`, readable without the lock.
    putters_waiting: AtomicUsize,
    /// Who waits.
    waiters: Mutex<Waiters>,
    /// Notified when `unfinished` drops to zero (`join`).
    finished: Listeners,
}

/// Which wait list.
#[derive(Clone, Copy, Debug)]
enum Side {
    /// `getters`.
    Get,
    /// `putters`.
    Put,
}

impl<T> Shared<T> {
    /// A queue over `store`, bounded by `maxsize` (0 = unbounded; the store enforces it).
    pub(crate) fn new(store: Store<T>, maxsize: usize) -> Self {
        Self {
            store,
            maxsize,
            unfinished: Padded(AtomicUsize::new(0)),
            getters_waiting: AtomicUsize::new(0),
            putters_waiting: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters {
                getters: WaitList::new(),
                putters: WaitList::new(),
            }),
            finished: Listeners::new(),
        }
    }

    /// Locks the wait lists.
    fn lock(&self) -> MutexGuard<'_, Waiters> {
        self.waiters.lock()
    }

    /// The bound (0 = unbounded).
    pub(crate) fn maxsize(&self) -> usize {
        self.maxsize
    }

    /// Items held.
    pub(crate) fn qsize(&self) -> usize {
        self.store.len()
    }

    /// At the bound.
    pub(crate) fn full(&self) -> bool {
        self.maxsize > 0 && self.store.len() >= self.maxsize
    }

    /// Shut down.
    pub(crate) fn is_shutdown(&self) -> bool {
        self.store.is_closed()
    }

    /// Items not yet marked done.
    pub(crate) fn unfinished(&self) -> usize {
        self.unfinished.0.load(Ordering::SeqCst)
    }

    /// The list of `side` and its published length.
    fn list<'a>(
        &'a self,
        w: &'a mut Waiters,
        side: Side,
    ) -> (&'a mut WaitList<()>, &'a AtomicUsize) {
        match side {
            Side::Get => (&mut w.getters, &self.getters_waiting),
            Side::Put => (&mut w.putters, &self.putters_waiting),
        }
    }

    /// After a push (`Side::Get`) or pop (`Side::Put`): wakes the oldest waiter of `side`, if
    /// any is queued.
    #[inline]
    fn notify(&self, side: Side) {
        fence(Ordering::SeqCst);
        let count = match side {
            Side::Get => &self.getters_waiting,
            Side::Put => &self.putters_waiting,
        };
        if count.load(Ordering::Relaxed) != 0 {
            self.wake_oldest(side);
        }
    }

    /// Wakes the oldest waiter of `side`, if any is still queued.
    #[cold]
    fn wake_oldest(&self, side: Side) {
        let mut w = self.lock();
        let (list, count) = self.list(&mut w, side);
        let waker = list.notify_one(());
        count.store(list.len(), Ordering::Relaxed);
        drop(w);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Lowers `unfinished` by one unless it is zero; true if it reached zero.
    fn unfinished_down(&self) -> Result<bool, TaskDoneError> {
        let mut cur = self.unfinished.0.load(Ordering::SeqCst);
        loop {
            if cur == 0 {
                return Err(TaskDoneError);
            }
            match self.unfinished.0.compare_exchange_weak(
                cur,
                cur - 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Ok(cur == 1),
                Err(now) => cur = now,
            }
        }
    }

    /// Pushes `item` (counting it unfinished) and wakes the oldest getter.
    #[inline]
    fn push(&self, item: T) -> Result<(), PushError<T>> {
        self.unfinished.0.fetch_add(1, Ordering::SeqCst);
        match self.store.push(item) {
            Ok(()) => {
                self.notify(Side::Get);
                Ok(())
            }
            Err(e) => {
                // Not put after all. (A `task_done` racing this, with no item left to mark,
                // may have taken the count first; then there is nothing to give back.)
                if let Ok(true) = self.unfinished_down() {
                    self.finished.notify(usize::MAX);
                }
                Err(e)
            }
        }
    }

    /// Pops the next item and wakes the oldest putter (there is room now).
    #[inline]
    fn pop(&self) -> Result<T, PopError> {
        let item = self.store.pop()?;
        self.notify(Side::Put);
        Ok(item)
    }

    /// `put_nowait`.
    pub(crate) fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        self.push(item).map_err(|e| match e {
            PushError::Closed(v) => TryPutError::ShutDown(QueueShutDown(v)),
            PushError::Full(v) => TryPutError::Full(QueueFull(v)),
        })
    }

    /// `get_nowait`.
    pub(crate) fn try_get(&self) -> Result<T, TryGetError> {
        self.pop().map_err(|e| match e {
            PopError::Closed => TryGetError::ShutDown(QueueShutDown(())),
            PopError::Empty => TryGetError::Empty(QueueEmpty),
        })
    }

    /// For a queued waiter of `side` (entry `key`): `Some(true)` if it was notified (its entry
    /// is gone), `None` if it is still waiting (its waker refreshed); `Some(false)` if it was
    /// not queued at all.
    #[inline]
    fn check(&self, side: Side, key: &mut Option<usize>, waker: &Waker) -> Option<bool> {
        match *key {
            None => Some(false),
            Some(k) => self.check_queued(side, key, k, waker),
        }
    }

    /// [`check`](Self::check) for a waiter queued as `k`.
    #[cold]
    fn check_queued(
        &self,
        side: Side,
        key: &mut Option<usize>,
        k: usize,
        waker: &Waker,
    ) -> Option<bool> {
        let mut w = self.lock();
        let (list, _) = self.list(&mut w, side);
        if list.take_notified(k).is_some() {
            *key = None;
            Some(true)
        } else {
            list.set_waker(k, waker);
            None
        }
    }

    /// Queues a waiter of `side` (at the front if it had been notified and lost its chance)
    /// and publishes the new count; the caller then retries once (see the module docs).
    fn enqueue(&self, side: Side, front: bool, waker: &Waker) -> usize {
        let mut w = self.lock();
        let (list, count) = self.list(&mut w, side);
        let key = if front {
            list.push_front(waker.clone(), 0)
        } else {
            list.push_back(waker.clone(), 0)
        };
        count.store(list.len(), Ordering::Relaxed);
        drop(w);
        fence(Ordering::SeqCst);
        key
    }

    /// Polls a put of `item` whose queue entry is `key`.
    pub(crate) fn poll_put(
        &self,
        item: &mut Option<T>,
        key: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), QueueShutDown<T>>> {
        let Some(notified) = self.check(Side::Put, key, cx.waker()) else {
            return Poll::Pending;
        };
        let Some(value) = item.take() else {
            return Poll::Pending;
        };
        let value = match self.push(value) {
            Ok(()) => return Poll::Ready(Ok(())),
            Err(PushError::Closed(v)) => return Poll::Ready(Err(QueueShutDown(v))),
            Err(PushError::Full(v)) => v,
        };
        let k = self.enqueue(Side::Put, notified, cx.waker());
        // The second try: room may have appeared before we were counted.
        match self.push(value) {
            Err(PushError::Full(v)) => {
                *item = Some(v);
                *key = Some(k);
                Poll::Pending
            }
            done => {
                self.cancel(Side::Put, k);
                Poll::Ready(done.map_err(|e| QueueShutDown(e.into_inner())))
            }
        }
    }

    /// Polls a get whose queue entry is `key`.
    pub(crate) fn poll_get(
        &self,
        key: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, QueueShutDown>> {
        let Some(notified) = self.check(Side::Get, key, cx.waker()) else {
            return Poll::Pending;
        };
        match self.pop() {
            Ok(item) => return Poll::Ready(Ok(item)),
            Err(PopError::Closed) => return Poll::Ready(Err(QueueShutDown(()))),
            Err(PopError::Empty) => {}
        }
        let k = self.enqueue(Side::Get, notified, cx.waker());
        // The second try: an item may have come before we were counted.
        match self.pop() {
            Err(PopError::Empty) => {
                *key = Some(k);
                Poll::Pending
            }
            done => {
                self.cancel(Side::Get, k);
                Poll::Ready(done.map_err(|_| QueueShutDown(())))
            }
        }
    }

    /// A queued waiter of `side` went away (or no longer needs its place): pass its wake-up on
    /// if there is still an item (getters) or room (putters) for the next one.
    fn cancel(&self, side: Side, key: usize) {
        let mut w = self.lock();
        let (list, count) = self.list(&mut w, side);
        let waker = match list.remove(key) {
            Removed::Waiting => {
                count.store(list.len(), Ordering::Relaxed);
                None
            }
            Removed::Notified(()) => {
                let pass_on = match side {
                    Side::Get => self.store.len() > 0,
                    Side::Put => !self.full() && !self.store.is_closed(),
                };
                if pass_on {
                    let waker = list.notify_one(());
                    count.store(list.len(), Ordering::Relaxed);
                    waker
                } else {
                    None
                }
            }
        };
        drop(w);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// A queued put went away.
    pub(crate) fn cancel_put(&self, key: usize) {
        self.cancel(Side::Put, key);
    }

    /// A queued get went away.
    pub(crate) fn cancel_get(&self, key: usize) {
        self.cancel(Side::Get, key);
    }

    /// `task_done`.
    pub(crate) fn task_done(&self) -> Result<(), TaskDoneError> {
        if self.unfinished_down()? {
            self.finished.notify(usize::MAX);
        }
        Ok(())
    }

    /// `shutdown(immediate)`.
    pub(crate) fn shutdown(&self, immediate: bool) {
        self.store.close();
        if immediate {
            // The dropped items count as done (asyncio lowers the count while it is positive).
            while self.store.pop().is_ok() {
                let _ = self.unfinished_down();
            }
            if self.unfinished() == 0 {
                self.finished.notify(usize::MAX);
            }
        }
        let mut wakers = Vec::new();
        let mut w = self.lock();
        w.getters.notify_all(|| (), &mut wakers);
        w.putters.notify_all(|| (), &mut wakers);
        self.getters_waiting.store(0, Ordering::Relaxed);
        self.putters_waiting.store(0, Ordering::Relaxed);
        drop(w);
        wake_all(wakers);
    }

    /// Registers for the `unfinished == 0` notification.
    fn listen_finished(&self) -> EventListener {
        self.finished.listen()
    }
}

impl<T> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.lock();
        f.debug_struct("Queue")
            .field("store", &self.store)
            .field("maxsize", &self.maxsize)
            .field("unfinished", &self.unfinished())
            .field("shutdown", &self.is_shutdown())
            .field("getters", &w.getters.len())
            .field("putters", &w.putters.len())
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
