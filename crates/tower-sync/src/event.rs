//! `Event`: asyncio's settable flag that wakes every waiter when set.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use event_listener::{Event as Listeners, EventListener};

use crate::blocking::block_on;
use crate::loom::{AtomicBool, Ordering};

/// A flag that tasks can wait on (asyncio's `Event`).
///
/// `set` wakes every current waiter; a waiter that was woken returns even if the flag is
/// cleared again before it runs (as in asyncio).
///
/// # Examples
///
/// ```
/// use tower_sync::Event;
///
/// # tower_coro::block_on(async {
/// let event = Event::new();
/// assert!(!event.is_set());
/// event.set();
/// event.wait().await; // returns at once
/// event.clear();
/// assert!(!event.is_set());
/// # });
/// ```
pub struct Event {
    /// The flag.
    flag: AtomicBool,
    /// The waiters.
    listeners: Listeners,
}

impl Event {
    /// A new, cleared event.
    pub fn new() -> Self {
        Self {
            flag: AtomicBool::new(false),
            listeners: Listeners::new(),
        }
    }

    /// True once set, until cleared.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        if !self.flag.swap(true, Ordering::AcqRel) {
            self.listeners.notify(usize::MAX);
        }
    }

    /// Clears the flag; later `wait`s block until the next `set`.
    pub fn clear(&self) {
        self.flag.store(false, Ordering::Release);
    }

    /// Waits until the flag is set.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future has no effect on the event or on other waiters (every waiter is
    /// woken by `set`, so there is no wake-up to pass on).
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            listener: None,
        }
    }

    /// True if the flag is set; never waits (the `try_` form of [`Event::wait`]).
    pub fn try_wait(&self) -> bool {
        self.is_set()
    }

    /// Waits until the flag is set, blocking the thread (never inside a task).
    pub fn wait_blocking(&self) {
        block_on(self.wait());
    }
}

impl Default for Event {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish_non_exhaustive()
    }
}

/// The future of [`Event::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct EventWait<'a> {
    /// The event.
    event: &'a Event,
    /// Registered before the flag is re-checked, so a `set` in between is not missed.
    listener: Option<EventListener>,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match self.listener.as_mut() {
                Some(listener) => {
                    if Pin::new(listener).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    self.listener = None;
                    return Poll::Ready(());
                }
                None => {
                    if self.event.is_set() {
                        return Poll::Ready(());
                    }
                    self.listener = Some(self.event.listeners.listen());
                    if self.event.is_set() {
                        self.listener = None;
                        return Poll::Ready(());
                    }
                }
            }
        }
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("event", self.event)
            .finish_non_exhaustive()
    }
}
