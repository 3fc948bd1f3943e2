//! A broadcast channel: every receiver sees every value sent after it subscribed, from a ring
//! of the last `capacity` values; a receiver that falls further behind is told how many it
//! missed (`Lagged(n)`) and resumes at the oldest value still held.
//!
//! # Examples
//!
//! ```
//! use tower_sync::error::BroadcastRecvError;
//!
//! # tower_coro::block_on(async {
//! let (tx, mut a) = tower_sync::broadcast::channel(2);
//! let mut b = tx.subscribe();
//! for i in 0..3 {
//!     tx.send(i).unwrap();
//! }
//! assert_eq!(a.recv().await, Err(BroadcastRecvError::Lagged(1)));
//! assert_eq!(a.recv().await, Ok(1));
//! assert_eq!(b.try_recv().unwrap_err(), tower_sync::error::BroadcastTryRecvError::Lagged(1));
//! # });
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use event_listener::{Event as Listeners, EventListener};

use crate::blocking::block_on;
use crate::error::{BroadcastRecvError, BroadcastTryRecvError, SendError};
use crate::loom::Arc;
use crate::loom::Mutex;

/// The ring and the counts, under one lock.
#[derive(Debug)]
struct Ring<T> {
    /// The last `capacity` values.
    values: VecDeque<T>,
    /// Sequence number of `values[0]`.
    head: u64,
    /// The most values kept.
    capacity: usize,
    /// Live senders.
    senders: usize,
    /// Live receivers.
    receivers: usize,
}

impl<T> Ring<T> {
    /// Sequence number the next sent value gets.
    fn tail(&self) -> u64 {
        self.head + self.values.len() as u64
    }
}

/// What every handle shares.
struct Shared<T> {
    /// The ring.
    ring: Mutex<Ring<T>>,
    /// Receivers waiting for a value.
    recv_ops: Listeners,
}

/// Creates a broadcast channel keeping the last `capacity` values (0 is taken as 1).
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        ring: Mutex::new(Ring {
            values: VecDeque::with_capacity(capacity.max(1)),
            head: 0,
            capacity: capacity.max(1),
            senders: 1,
            receivers: 1,
        }),
        recv_ops: Listeners::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            next: 0,
            listener: None,
        },
    )
}

/// The sending end; clone it for more senders.
pub struct Sender<T> {
    /// The channel.
    shared: Arc<Shared<T>>,
}

impl<T: Clone> Sender<T> {
    /// Sends `value` to every receiver, overwriting the oldest value if the ring is full;
    /// returns how many receivers there are. Never waits. Fails if there is no receiver.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut ring = self.shared.ring.lock();
        if ring.receivers == 0 {
            return Err(SendError(value));
        }
        if ring.values.len() == ring.capacity {
            ring.values.pop_front();
            ring.head += 1;
        }
        ring.values.push_back(value);
        let receivers = ring.receivers;
        drop(ring);
        self.shared.recv_ops.notify(usize::MAX);
        Ok(receivers)
    }

    /// A new receiver, which will see values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut ring = self.shared.ring.lock();
        ring.receivers += 1;
        let next = ring.tail();
        drop(ring);
        Receiver {
            shared: self.shared.clone(),
            next,
            listener: None,
        }
    }

    /// Live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.ring.lock().receivers
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.ring.lock().senders += 1;
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut ring = self.shared.ring.lock();
        ring.senders -= 1;
        let last = ring.senders == 0;
        drop(ring);
        if last {
            self.shared.recv_ops.notify(usize::MAX);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ring = self.shared.ring.lock();
        f.debug_struct("Sender")
            .field("receivers", &ring.receivers)
            .field("held", &ring.values.len())
            .finish()
    }
}

/// A receiving end; each receiver has its own position.
pub struct Receiver<T> {
    /// The channel.
    shared: Arc<Shared<T>>,
    /// Sequence number of the next value this receiver reads.
    next: u64,
    /// Registered while waiting.
    listener: Option<EventListener>,
}

impl<T: Clone> Receiver<T> {
    /// Receives the next value, waiting if there is none yet.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses nothing: the position only advances in the poll that
    /// returns a value (or a `Lagged` count).
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { rx: self }
    }

    /// Receives the next value if there is one.
    pub fn try_recv(&mut self) -> Result<T, BroadcastTryRecvError> {
        let ring = self.shared.ring.lock();
        if self.next < ring.head {
            let missed = ring.head - self.next;
            self.next = ring.head;
            return Err(BroadcastTryRecvError::Lagged(missed));
        }
        if self.next < ring.tail() {
            let i = (self.next - ring.head) as usize;
            self.next += 1;
            return Ok(ring.values[i].clone());
        }
        if ring.senders == 0 {
            Err(BroadcastTryRecvError::Closed)
        } else {
            Err(BroadcastTryRecvError::Empty)
        }
    }

    /// [`Receiver::recv`], blocking the thread (never inside a task).
    pub fn recv_blocking(&mut self) -> Result<T, BroadcastRecvError> {
        block_on(self.recv())
    }

    /// A new receiver at this receiver's position.
    pub fn resubscribe(&self) -> Self {
        self.shared.ring.lock().receivers += 1;
        Self {
            shared: self.shared.clone(),
            next: self.next,
            listener: None,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.ring.lock().receivers -= 1;
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// The future of [`Receiver::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    /// The receiver.
    rx: &'a mut Receiver<T>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, BroadcastRecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let rx = &mut *self.rx;
        loop {
            let r = rx.try_recv();
            if !matches!(r, Err(BroadcastTryRecvError::Empty)) {
                // Unregister, or every later send would wake a receiver that is not waiting.
                rx.listener = None;
            }
            match r {
                Ok(v) => return Poll::Ready(Ok(v)),
                Err(BroadcastTryRecvError::Lagged(n)) => {
                    return Poll::Ready(Err(BroadcastRecvError::Lagged(n)));
                }
                Err(BroadcastTryRecvError::Closed) => {
                    return Poll::Ready(Err(BroadcastRecvError::Closed));
                }
                Err(BroadcastTryRecvError::Empty) => {}
            }
            match rx.listener.as_mut() {
                None => rx.listener = Some(rx.shared.recv_ops.listen()),
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

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}
