//! A multi-producer, single-consumer channel, bounded or unbounded, on `concurrent-queue`
//! (the buffer) and `event-listener` (the waiting senders and receiver).
//!
//! # Examples
//!
//! ```
//! # tower_coro::block_on(async {
//! let (tx, mut rx) = tower_sync::mpsc::channel(8);
//! let tx2 = tx.clone();
//! tx.send(1).await.unwrap();
//! tx2.send(2).await.unwrap();
//! drop((tx, tx2));
//! assert_eq!(rx.recv().await, Ok(1));
//! assert_eq!(rx.recv().await, Ok(2));
//! assert!(rx.recv().await.is_err()); // every sender is gone
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use concurrent_queue::{ConcurrentQueue, PopError, PushError};
use event_listener::{Event as Listeners, EventListener, IntoNotification};
use futures_core::Stream;

use crate::blocking::block_on;
use crate::error::{RecvError, SendError, TryRecvError, TrySendError};
use crate::loom::Arc;
use crate::loom::{AtomicUsize, Ordering};

/// What both ends share.
struct Chan<T> {
    /// The buffer; closed when either side is gone for good.
    queue: ConcurrentQueue<T>,
    /// Senders waiting for room.
    send_ops: Listeners,
    /// The receiver waiting for a value.
    recv_ops: Listeners,
    /// Live senders.
    senders: AtomicUsize,
}

/// Creates a channel holding at most `capacity` values (0 is taken as 1).
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    with_queue(ConcurrentQueue::bounded(capacity.max(1)))
}

/// Creates a channel with no bound: `send` never waits.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    with_queue(ConcurrentQueue::unbounded())
}

/// The two ends over `queue`.
fn with_queue<T>(queue: ConcurrentQueue<T>) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan {
        queue,
        send_ops: Listeners::new(),
        recv_ops: Listeners::new(),
        senders: AtomicUsize::new(1),
    });
    (
        Sender { chan: chan.clone() },
        Receiver {
            chan,
            listener: None,
        },
    )
}

/// The sending end; clone it for more producers.
pub struct Sender<T> {
    /// The channel.
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for room if the channel is full.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes means the value was not sent (it is dropped
    /// with the future); a wake-up it had been given passes to the next waiting sender.
    pub fn send(&self, value: T) -> Send<'_, T> {
        Send {
            chan: &self.chan,
            value: Some(value),
            listener: None,
        }
    }

    /// Sends `value` if there is room now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.chan.queue.push(value) {
            Ok(()) => {
                // One receiver: "at least one notified" suffices, and is a no-op while it
                // already is (the push's SeqCst CAS orders it before the listener check).
                self.chan.recv_ops.notify(1.relaxed());
                Ok(())
            }
            Err(PushError::Full(v)) => Err(TrySendError::Full(v)),
            Err(PushError::Closed(v)) => Err(TrySendError::Closed(v)),
        }
    }

    /// Sends `value`, blocking the thread while the channel is full (never inside a task).
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        block_on(self.send(value))
    }

    /// True if the receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.chan.queue.is_closed()
    }

    /// Values waiting in the channel.
    pub fn len(&self) -> usize {
        self.chan.queue.len()
    }

    /// True if no value is waiting.
    pub fn is_empty(&self) -> bool {
        self.chan.queue.is_empty()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.senders.fetch_add(1, Ordering::Relaxed);
        Self {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.queue.close();
            self.chan.recv_ops.notify(usize::MAX);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future of [`Sender::send`].
#[must_use = "futures do nothing unless awaited"]
pub struct Send<'a, T> {
    /// The channel.
    chan: &'a Chan<T>,
    /// The value, until sent.
    value: Option<T>,
    /// Waiting for room.
    listener: Option<EventListener>,
}

impl<T> Unpin for Send<'_, T> {}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            let Some(value) = this.value.take() else {
                return Poll::Pending;
            };
            match this.chan.queue.push(value) {
                Ok(()) => {
                    this.chan.recv_ops.notify(1.relaxed());
                    return Poll::Ready(Ok(()));
                }
                Err(PushError::Closed(v)) => return Poll::Ready(Err(SendError(v))),
                Err(PushError::Full(v)) => this.value = Some(v),
            }
            match this.listener.as_mut() {
                None => this.listener = Some(this.chan.send_ops.listen()),
                Some(l) => {
                    if Pin::new(l).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.listener = None;
                }
            }
        }
    }
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send")
            .field("waiting", &self.listener.is_some())
            .finish_non_exhaustive()
    }
}

/// The receiving end.
pub struct Receiver<T> {
    /// The channel.
    chan: Arc<Chan<T>>,
    /// Registered while a `recv` or the stream waits; kept here so a dropped `Recv` and the
    /// next one share it (there is one receiver, so nobody else could use its wake-up).
    listener: Option<EventListener>,
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting while the channel is empty; fails once it is empty
    /// and every sender is gone.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes loses no value: a value is only taken from
    /// the buffer in the poll that returns it.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { rx: self }
    }

    /// Receives a value if one is waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.chan.queue.pop() {
            Ok(v) => {
                self.chan.send_ops.notify(1.additional().relaxed());
                Ok(v)
            }
            Err(PopError::Empty) => Err(TryRecvError::Empty),
            Err(PopError::Closed) => Err(TryRecvError::Closed),
        }
    }

    /// Receives, blocking the thread while the channel is empty (never inside a task).
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        block_on(self.recv())
    }

    /// Closes the channel: sends fail from now on; values already sent can still be received.
    pub fn close(&mut self) {
        if self.chan.queue.close() {
            self.chan.send_ops.notify(usize::MAX);
        }
    }

    /// Values waiting in the channel.
    pub fn len(&self) -> usize {
        self.chan.queue.len()
    }

    /// True if no value is waiting.
    pub fn is_empty(&self) -> bool {
        self.chan.queue.is_empty()
    }

    /// Polls for the next value (the `Stream` and `Recv` share this).
    fn poll_recv(
        chan: &Chan<T>,
        listener: &mut Option<EventListener>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, RecvError>> {
        loop {
            match chan.queue.pop() {
                Ok(v) => {
                    // Unregister, or every later send would notify a listener nobody polls.
                    *listener = None;
                    chan.send_ops.notify(1.additional().relaxed());
                    return Poll::Ready(Ok(v));
                }
                Err(PopError::Closed) => {
                    *listener = None;
                    return Poll::Ready(Err(RecvError));
                }
                Err(PopError::Empty) => {}
            }
            match listener.as_mut() {
                None => *listener = Some(chan.recv_ops.listen()),
                Some(l) => {
                    if Pin::new(l).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    *listener = None;
                }
            }
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        Self::poll_recv(&this.chan, &mut this.listener, cx).map(Result::ok)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("closed", &self.chan.queue.is_closed())
            .finish()
    }
}

/// The future of [`Receiver::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    /// The receiver.
    rx: &'a mut Receiver<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let rx = &mut *self.rx;
        Receiver::poll_recv(&rx.chan, &mut rx.listener, cx)
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv")
            .field("waiting", &self.rx.listener.is_some())
            .finish_non_exhaustive()
    }
}
