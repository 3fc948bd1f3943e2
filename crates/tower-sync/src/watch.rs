//! A watch channel: one [`Sender`] publishes the latest value; any number of receivers read
//! it and wait for it to change. Intermediate values may be skipped — only the latest counts.
//!
//! # Examples
//!
//! ```
//! # tower_coro::block_on(async {
//! let (tx, mut rx) = tower_sync::watch::channel("idle");
//! tx.send("busy").unwrap();
//! rx.changed().await.unwrap();
//! assert_eq!(*rx.borrow_and_update(), "busy");
//! drop(tx);
//! assert!(rx.changed().await.is_err());
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

use event_listener::{Event as Listeners, EventListener};

use crate::blocking::block_on;
use crate::error::{RecvError, SendError};
use crate::loom::Arc;
use crate::loom::{AtomicBool, AtomicU64, AtomicUsize, Ordering, RwLock, RwLockReadGuard};

/// What both ends share.
struct Shared<T> {
    /// The value.
    value: RwLock<T>,
    /// Bumped (under the write lock) by every send.
    version: AtomicU64,
    /// Receivers waiting for a change.
    changed: Listeners,
    /// The sender is gone.
    closed: AtomicBool,
    /// Live receivers.
    receivers: AtomicUsize,
}

/// Creates a watch channel holding `initial`.
pub fn channel<T>(initial: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(initial),
        version: AtomicU64::new(0),
        changed: Listeners::new(),
        closed: AtomicBool::new(false),
        receivers: AtomicUsize::new(1),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            seen: 0,
            listener: None,
        },
    )
}

/// Publishes values.
pub struct Sender<T> {
    /// The channel.
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Replaces the value and notifies the receivers; fails (giving it back) if there are
    /// none.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.receivers.load(Ordering::Acquire) == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value whether or not anyone listens; returns the old one.
    pub fn send_replace(&self, value: T) -> T {
        let mut slot = self.shared.value.write();
        let old = std::mem::replace(&mut *slot, value);
        self.shared.version.fetch_add(1, Ordering::Release);
        drop(slot);
        self.shared.changed.notify(usize::MAX);
        old
    }

    /// Changes the value in place and notifies the receivers.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        let mut slot = self.shared.value.write();
        modify(&mut slot);
        self.shared.version.fetch_add(1, Ordering::Release);
        drop(slot);
        self.shared.changed.notify(usize::MAX);
    }

    /// The current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.value.read(),
        }
    }

    /// A new receiver that has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.receivers.fetch_add(1, Ordering::AcqRel);
        Receiver {
            shared: self.shared.clone(),
            seen: self.shared.version.load(Ordering::Acquire),
            listener: None,
        }
    }

    /// Live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.load(Ordering::Acquire)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.changed.notify(usize::MAX);
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("value", &*self.borrow())
            .finish()
    }
}

/// Reads the value and waits for changes; clone it for more readers.
pub struct Receiver<T> {
    /// The channel.
    shared: Arc<Shared<T>>,
    /// The version this receiver last marked seen.
    seen: u64,
    /// Registered while waiting.
    listener: Option<EventListener>,
}

impl<T> Receiver<T> {
    /// The current value, without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.value.read(),
        }
    }

    /// The current value, marking it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.value.read();
        self.seen = self.shared.version.load(Ordering::Acquire);
        Ref { guard }
    }

    /// True if a value was sent since this receiver last marked one seen; fails if the
    /// sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        if self.shared.version.load(Ordering::Acquire) != self.seen {
            return Ok(true);
        }
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(RecvError);
        }
        Ok(false)
    }

    /// Waits for a value not yet seen, and marks it seen; fails once the sender is gone
    /// (after any last change has been reported).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses nothing: the change stays unseen.
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed { rx: self }
    }

    /// [`Receiver::changed`], blocking the thread (never inside a task).
    pub fn changed_blocking(&mut self) -> Result<(), RecvError> {
        block_on(self.changed())
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.receivers.fetch_add(1, Ordering::AcqRel);
        Self {
            shared: self.shared.clone(),
            seen: self.seen,
            listener: None,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.receivers.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("value", &*self.borrow())
            .field("seen", &self.seen)
            .finish()
    }
}

/// The future of [`Receiver::changed`].
#[must_use = "futures do nothing unless awaited"]
pub struct Changed<'a, T> {
    /// The receiver.
    rx: &'a mut Receiver<T>,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let rx = &mut *self.rx;
        loop {
            let version = rx.shared.version.load(Ordering::Acquire);
            if version != rx.seen {
                rx.seen = version;
                rx.listener = None;
                return Poll::Ready(Ok(()));
            }
            if rx.shared.closed.load(Ordering::Acquire) {
                rx.listener = None;
                return Poll::Ready(Err(RecvError));
            }
            match rx.listener.as_mut() {
                None => rx.listener = Some(rx.shared.changed.listen()),
                Some(l) => {
                    if Pin::new(l).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    rx.listener = None;
                }
            }
        }
    }
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Changed").finish_non_exhaustive()
    }
}

/// A read guard on a watch channel's value. Hold it briefly: it blocks `send`.
pub struct Ref<'a, T> {
    /// The read lock.
    guard: RwLockReadGuard<'a, T>,
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Ref").field(&**self).finish()
    }
}
