//! A thread parker with a waker: the blocking half of `block_on`.
//!
//! [`Parker::park`] blocks the thread that owns the parker until an [`Unparker`] (or the
//! [`Waker`] made from one) calls [`Unparker::unpark`]. A notification sent before `park` is
//! kept, so a wake-up is never lost between "poll returned `Pending`" and "park".

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use crate::loom::{AtomicUsize, Ordering::SeqCst};
use crate::poison_free::{Condvar, Mutex};

/// Nobody is parked and no notification is pending.
const EMPTY: usize = 0;
/// The owning thread is blocked (or about to block) on the condition variable.
const PARKED: usize = 1;
/// A notification is pending; the next `park` consumes it and returns at once.
const NOTIFIED: usize = 2;

/// Blocks the current thread until woken by its [`Unparker`].
///
/// A `Parker` is owned by the one thread that parks on it (it is `Send` but not `Sync`); any
/// number of [`Unparker`]s, on any threads, may wake it. Notifications do not accumulate: many
/// `unpark` calls before a `park` let exactly one `park` return at once.
///
/// # Examples
///
/// ```
/// use tower_coro::Parker;
///
/// let parker = Parker::new();
/// let unparker = parker.unparker();
/// let t = std::thread::spawn(move || unparker.unpark());
/// parker.park(); // returns once the other thread has called `unpark`
/// t.join().unwrap();
/// ```
pub struct Parker {
    /// The state shared with every `Unparker`.
    inner: Arc<Inner>,
    /// Makes `Parker: !Sync`: only the owning thread may park, so `PARKED` has one waiter.
    _not_sync: PhantomData<Cell<()>>,
}

/// Wakes the thread blocked on a [`Parker`]. Cheap to clone; `Send + Sync`.
///
/// It converts into a [`Waker`] (`Waker::from(unparker)`), which is how `block_on` wakes itself.
///
/// # Examples
///
/// ```
/// use std::task::Waker;
/// use tower_coro::Parker;
///
/// let parker = Parker::new();
/// let waker = Waker::from(parker.unparker());
/// waker.wake_by_ref();
/// parker.park(); // the notification was kept, so this returns at once
/// ```
#[derive(Clone)]
pub struct Unparker {
    /// The state shared with the `Parker`.
    inner: Arc<Inner>,
}

/// The state shared by a parker and its unparkers.
struct Inner {
    /// `EMPTY`, `PARKED` or `NOTIFIED`. Changed only with atomic operations; the transition to
    /// `PARKED` happens with `lock` held, so an unparker that takes `lock` after seeing `PARKED`
    /// cannot notify before the parker waits.
    state: AtomicUsize,
    /// Orders the parker's "about to wait" against an unparker's notify. Guards no data.
    lock: Mutex<()>,
    /// Where the parked thread waits.
    cvar: Condvar,
}

impl Parker {
    /// Creates a parker with no pending notification.
    ///
    /// # Examples
    ///
    /// ```
    /// let parker = tower_coro::Parker::new();
    /// assert!(!parker.park_timeout(std::time::Duration::ZERO)); // nothing pending
    /// ```
    pub fn new() -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                lock: Mutex::new(()),
                cvar: Condvar::new(),
            }),
            _not_sync: PhantomData,
        }
    }

    /// Returns a handle that wakes this parker.
    ///
    /// # Examples
    ///
    /// ```
    /// let parker = tower_coro::Parker::new();
    /// parker.unparker().unpark();
    /// parker.park();
    /// ```
    pub fn unparker(&self) -> Unparker {
        Unparker {
            inner: Arc::clone(&self.inner),
        }
    }

    /// Blocks until a notification arrives, then consumes it. Returns at once if one is pending.
    ///
    /// # Examples
    ///
    /// ```
    /// let parker = tower_coro::Parker::new();
    /// parker.unparker().unpark();
    /// parker.park();
    /// ```
    pub fn park(&self) {
        self.inner.park(None);
    }

    /// Blocks until a notification arrives or `timeout` passes. Returns `true` if it consumed a
    /// notification, `false` on time-out. `Duration::ZERO` only checks for a pending one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let parker = tower_coro::Parker::new();
    /// assert!(!parker.park_timeout(Duration::from_millis(1)));
    /// parker.unparker().unpark();
    /// assert!(parker.park_timeout(Duration::from_secs(60)));
    /// ```
    pub fn park_timeout(&self, timeout: Duration) -> bool {
        // A timeout too large to add to now is treated as no timeout.
        let deadline = Instant::now().checked_add(timeout);
        match deadline {
            Some(deadline) => self.inner.park(Some(deadline)),
            None => {
                self.inner.park(None);
                true
            }
        }
    }

    /// Blocks until a notification arrives or `deadline` is reached. Returns `true` if it
    /// consumed a notification, `false` on time-out.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Instant;
    /// let parker = tower_coro::Parker::new();
    /// assert!(!parker.park_deadline(Instant::now()));
    /// ```
    pub fn park_deadline(&self, deadline: Instant) -> bool {
        self.inner.park(Some(deadline))
    }
}

impl Default for Parker {
    fn default() -> Parker {
        Parker::new()
    }
}

impl fmt::Debug for Parker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parker")
            .field("notified", &self.inner.notified())
            .finish()
    }
}

impl Unparker {
    /// Wakes the parker: its current or next `park` returns. Returns `true` if this call set the
    /// notification, `false` if one was already pending.
    ///
    /// # Examples
    ///
    /// ```
    /// let parker = tower_coro::Parker::new();
    /// let unparker = parker.unparker();
    /// assert!(unparker.unpark());
    /// assert!(!unparker.unpark()); // already pending; notifications do not accumulate
    /// ```
    pub fn unpark(&self) -> bool {
        self.inner.unpark()
    }
}

impl fmt::Debug for Unparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unparker")
            .field("notified", &self.inner.notified())
            .finish()
    }
}

impl From<Unparker> for Waker {
    /// A waker whose `wake` calls [`Unparker::unpark`]. Cloning and waking it never allocate.
    fn from(unparker: Unparker) -> Waker {
        Waker::from(unparker.inner)
    }
}

impl Wake for Inner {
    fn wake(self: Arc<Self>) {
        self.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.unpark();
    }
}

impl Inner {
    /// Whether a notification is pending (for `Debug` only; racy by nature).
    fn notified(&self) -> bool {
        self.state.load(SeqCst) == NOTIFIED
    }

    /// Parks until notified or until `deadline`; returns whether a notification was consumed.
    fn park(&self, deadline: Option<Instant>) -> bool {
        // Fast path: a notification is already pending.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return true;
        }
        if let Some(deadline) = deadline {
            if deadline <= Instant::now() {
                return false;
            }
        }

        let mut guard = self.lock.lock();
        // Announce that we are about to wait. An unparker that now swaps in `NOTIFIED` sees
        // `PARKED`, and takes `lock` before notifying, so it cannot notify before we wait.
        if let Err(actual) = self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            // Only `NOTIFIED` is possible here: the parker is `!Sync`, so nobody else parks.
            debug_assert_eq!(actual, NOTIFIED);
            self.state.store(EMPTY, SeqCst);
            return true;
        }

        loop {
            guard = match deadline {
                None => self.cvar.wait(guard),
                Some(deadline) => {
                    let now = Instant::now();
                    if deadline <= now {
                        // Time is up: leave `PARKED`, unless a notification raced in.
                        return self.state.swap(EMPTY, SeqCst) == NOTIFIED;
                    }
                    self.cvar.wait_timeout(guard, deadline - now).0
                }
            };
            // Spurious wake-ups leave the state at `PARKED`; only a real notification ends the wait.
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return true;
            }
        }
    }

    /// Sets the notification and wakes the parked thread if there is one.
    fn unpark(&self) -> bool {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY => true,
            NOTIFIED => false,
            _parked => {
                // Take the lock so the parker is either before its `PARKED` transition (and
                // will see `NOTIFIED`) or already waiting (and will get this notify). The guard is
                // dropped before notifying: never wake under a lock.
                drop(self.lock.lock());
                self.cvar.notify_one();
                true
            }
        }
    }
}
