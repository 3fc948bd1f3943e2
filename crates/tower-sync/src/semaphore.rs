//! `Semaphore` and `BoundedSemaphore`: asyncio's counting semaphores, FIFO-fair, with RAII
//! permits (`SemaphoreGuard`) as well as asyncio's explicit `release()`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::blocking::block_on;
use crate::error::BoundedSemaphoreError;
use crate::raw_sem::RawSemaphore;

/// A FIFO-fair counting semaphore (asyncio's `Semaphore`).
///
/// `acquire` waits while no permit is free or others wait ahead; a released permit goes
/// straight to the oldest waiter. A waiter granted a permit resumes before any newcomer gets
/// one: until its future has been polled, `locked()` is true and newcomers queue, even if
/// another permit is released meanwhile (that one goes to them in order once the granted
/// waiter resumes), as in asyncio since gh-90155. Permits come back when their guard drops,
/// or by [`Semaphore::release`] (asyncio's style, after [`SemaphoreGuard::forget`]).
///
/// # Examples
///
/// ```
/// use tower_sync::Semaphore;
///
/// # tower_coro::block_on(async {
/// let sem = Semaphore::new(2);
/// let a = sem.acquire().await;
/// let _b = sem.acquire().await;
/// assert!(sem.locked());
/// drop(a);
/// assert!(sem.try_acquire().is_some());
/// # });
/// ```
pub struct Semaphore {
    /// The fair core.
    raw: RawSemaphore,
}

impl Semaphore {
    /// A semaphore with `permits` free permits (at most `usize::MAX / 2`; more is clamped).
    pub fn new(permits: usize) -> Self {
        Self {
            raw: RawSemaphore::new(permits),
        }
    }

    /// Takes a permit, waiting behind earlier waiters.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the queue; a permit already handed to it goes to the next
    /// waiter (asyncio's lost-wake-up bug, bpo-45997, cannot happen).
    pub fn acquire(&self) -> SemAcquire<'_> {
        SemAcquire {
            sem: &self.raw,
            key: None,
        }
    }

    /// Takes a permit if one is free and nobody waits (queued, or granted a permit and not
    /// resumed yet): exactly when [`Semaphore::locked`] is false.
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.raw
            .try_acquire()
            .then(|| SemaphoreGuard { sem: &self.raw })
    }

    /// Takes a permit, blocking the thread (for synchronous code, never inside a task).
    pub fn acquire_blocking(&self) -> SemaphoreGuard<'_> {
        block_on(self.acquire())
    }

    /// Takes a permit through an `Arc`, for a guard that outlives the borrow.
    ///
    /// # Cancel safety
    ///
    /// As for [`Semaphore::acquire`].
    pub fn acquire_arc(self: &Arc<Self>) -> SemAcquireArc {
        SemAcquireArc {
            sem: Some(self.clone()),
            key: None,
        }
    }

    /// [`Semaphore::try_acquire`] through an `Arc`.
    pub fn try_acquire_arc(self: &Arc<Self>) -> Option<SemaphoreGuardArc> {
        self.raw.try_acquire().then(|| SemaphoreGuardArc {
            sem: Some(self.clone()),
        })
    }

    /// [`Semaphore::acquire_arc`], blocking the thread.
    pub fn acquire_arc_blocking(self: &Arc<Self>) -> SemaphoreGuardArc {
        block_on(self.acquire_arc())
    }

    /// Adds one permit, waking the oldest waiter if any (asyncio's `release()`).
    pub fn release(&self) {
        self.raw.release();
    }

    /// True if `acquire` would wait (asyncio's `locked()`): no free permit, or waiters queued
    /// or granted ahead of a newcomer.
    pub fn locked(&self) -> bool {
        self.raw.locked()
    }

    /// Free permits now (asyncio's `_value`): zero while waiters are queued; possibly more
    /// while granted waiters have not resumed, though newcomers cannot take those yet.
    pub fn available_permits(&self) -> usize {
        self.raw.available()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.raw.available())
            .field("waiters", &self.raw.waiters())
            .finish()
    }
}

/// A semaphore whose `release` fails past its initial value (asyncio's `BoundedSemaphore`).
///
/// # Examples
///
/// ```
/// use tower_sync::BoundedSemaphore;
///
/// let sem = BoundedSemaphore::new(1);
/// let permit = sem.try_acquire().unwrap();
/// permit.forget();
/// assert!(sem.release().is_ok());
/// assert!(sem.release().is_err()); // released too many times
/// ```
pub struct BoundedSemaphore {
    /// The fair core, bounded by the initial number of permits.
    raw: RawSemaphore,
}

impl BoundedSemaphore {
    /// A semaphore with `permits` free permits, which `release` may never exceed.
    pub fn new(permits: usize) -> Self {
        let raw = RawSemaphore::with_bound(permits, permits);
        Self { raw }
    }

    /// Takes a permit, waiting behind earlier waiters.
    ///
    /// # Cancel safety
    ///
    /// As for [`Semaphore::acquire`].
    pub fn acquire(&self) -> SemAcquire<'_> {
        SemAcquire {
            sem: &self.raw,
            key: None,
        }
    }

    /// Takes a permit if one is free and nobody waits (as [`Semaphore::try_acquire`]).
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.raw
            .try_acquire()
            .then(|| SemaphoreGuard { sem: &self.raw })
    }

    /// Takes a permit, blocking the thread.
    pub fn acquire_blocking(&self) -> SemaphoreGuard<'_> {
        block_on(self.acquire())
    }

    /// Takes a permit through an `Arc`, for a guard that outlives the borrow.
    ///
    /// # Cancel safety
    ///
    /// As for [`Semaphore::acquire`].
    pub fn acquire_arc(self: &Arc<Self>) -> SemAcquireArc<Self> {
        SemAcquireArc {
            sem: Some(self.clone()),
            key: None,
        }
    }

    /// [`BoundedSemaphore::try_acquire`] through an `Arc`.
    pub fn try_acquire_arc(self: &Arc<Self>) -> Option<SemaphoreGuardArc<Self>> {
        self.raw.try_acquire().then(|| SemaphoreGuardArc {
            sem: Some(self.clone()),
        })
    }

    /// [`BoundedSemaphore::acquire_arc`], blocking the thread.
    pub fn acquire_arc_blocking(self: &Arc<Self>) -> SemaphoreGuardArc<Self> {
        block_on(self.acquire_arc())
    }

    /// Adds one permit, or fails if the free permits are already at the initial value (as
    /// asyncio's, the bound counts free permits, not those granted to waiters).
    pub fn release(&self) -> Result<(), BoundedSemaphoreError> {
        if self.raw.release() {
            Ok(())
        } else {
            Err(BoundedSemaphoreError {
                bound: self.raw.bound(),
            })
        }
    }

    /// True if `acquire` would wait (as [`Semaphore::locked`]).
    pub fn locked(&self) -> bool {
        self.raw.locked()
    }

    /// Free permits now (as [`Semaphore::available_permits`]).
    pub fn available_permits(&self) -> usize {
        self.raw.available()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("available", &self.raw.available())
            .field("bound", &self.raw.bound())
            .field("waiters", &self.raw.waiters())
            .finish()
    }
}

/// The future of [`Semaphore::acquire`] and [`BoundedSemaphore::acquire`].
#[must_use = "futures do nothing unless awaited"]
pub struct SemAcquire<'a> {
    /// The core.
    sem: &'a RawSemaphore,
    /// Our place in the queue, once queued.
    key: Option<usize>,
}

impl<'a> Future for SemAcquire<'a> {
    type Output = SemaphoreGuard<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match this.sem.poll_acquire(&mut this.key, cx) {
            Poll::Ready(()) => Poll::Ready(SemaphoreGuard { sem: this.sem }),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for SemAcquire<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.sem.cancel(key);
        }
    }
}

impl fmt::Debug for SemAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemAcquire")
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// The semaphores an `Arc`-owning permit can come from: [`Semaphore`] and
/// [`BoundedSemaphore`]. Sealed.
pub trait SemaphoreKind: sealed::Sealed {}

/// Seals [`SemaphoreKind`] and carries what the `_arc` forms need. The trait is nameable only
/// inside the crate, so exposing the crate-private core through it is intended.
#[allow(private_interfaces)]
mod sealed {
    use crate::raw_sem::RawSemaphore;

    /// Access to the core and the bound.
    pub trait Sealed {
        /// The fair core.
        fn raw(&self) -> &RawSemaphore;
        /// Releases one permit the way this kind does.
        fn give_back(&self);
    }
}

#[allow(private_interfaces)]
impl sealed::Sealed for Semaphore {
    fn raw(&self) -> &RawSemaphore {
        &self.raw
    }

    fn give_back(&self) {
        self.raw.release();
    }
}
impl SemaphoreKind for Semaphore {}

#[allow(private_interfaces)]
impl sealed::Sealed for BoundedSemaphore {
    fn raw(&self) -> &RawSemaphore {
        &self.raw
    }

    fn give_back(&self) {
        self.raw.release();
    }
}
impl SemaphoreKind for BoundedSemaphore {}

/// The future of [`Semaphore::acquire_arc`] and [`BoundedSemaphore::acquire_arc`].
#[must_use = "futures do nothing unless awaited"]
pub struct SemAcquireArc<S: SemaphoreKind = Semaphore> {
    /// The semaphore; moved into the guard.
    sem: Option<Arc<S>>,
    /// Our place in the queue, once queued.
    key: Option<usize>,
}

impl<S: SemaphoreKind> Future for SemAcquireArc<S> {
    type Output = SemaphoreGuardArc<S>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(sem) = this.sem.as_ref() else {
            return Poll::Pending;
        };
        match sem.raw().poll_acquire(&mut this.key, cx) {
            Poll::Ready(()) => match this.sem.take() {
                Some(sem) => Poll::Ready(SemaphoreGuardArc { sem: Some(sem) }),
                None => Poll::Pending,
            },
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: SemaphoreKind> Drop for SemAcquireArc<S> {
    fn drop(&mut self) {
        if let (Some(key), Some(sem)) = (self.key.take(), self.sem.as_ref()) {
            sem.raw().cancel(key);
        }
    }
}

impl<S: SemaphoreKind> fmt::Debug for SemAcquireArc<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemAcquireArc")
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// One permit of a semaphore; given back when dropped.
#[must_use = "the permit is released as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    /// The core.
    sem: &'a RawSemaphore,
}

impl SemaphoreGuard<'_> {
    /// Keeps the permit taken: dropping the guard will not give it back.
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        // For a bounded semaphore this cannot exceed the bound unless an explicit `release`
        // already refilled it; then the permit is simply not added.
        self.sem.release();
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}

/// One permit of an `Arc`-held semaphore; given back when dropped.
#[must_use = "the permit is released as soon as the guard is dropped"]
pub struct SemaphoreGuardArc<S: SemaphoreKind = Semaphore> {
    /// The semaphore; `None` once forgotten.
    sem: Option<Arc<S>>,
}

impl<S: SemaphoreKind> SemaphoreGuardArc<S> {
    /// Keeps the permit taken: dropping the guard will not give it back.
    pub fn forget(mut self) {
        self.sem = None;
    }
}

impl<S: SemaphoreKind> Drop for SemaphoreGuardArc<S> {
    fn drop(&mut self) {
        if let Some(sem) = self.sem.take() {
            sem.give_back();
        }
    }
}

impl<S: SemaphoreKind> fmt::Debug for SemaphoreGuardArc<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuardArc").finish_non_exhaustive()
    }
}
