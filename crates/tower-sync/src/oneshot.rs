//! A one-shot channel: one value, sent once, from one [`Sender`] to one [`Receiver`].
//!
//! # Examples
//!
//! ```
//! # tower_coro::block_on(async {
//! let (tx, rx) = tower_sync::oneshot::channel();
//! tx.send(7).unwrap();
//! assert_eq!(rx.await, Ok(7));
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::blocking::block_on;
use crate::error::{RecvError, SendError, TryRecvError};
use crate::loom::Arc;
use crate::loom::Mutex;

/// The slot both halves share.
#[derive(Debug)]
struct Slot<T> {
    /// The value, once sent and until received.
    value: Option<T>,
    /// Woken when the value arrives or the sender goes.
    rx_waker: Option<Waker>,
    /// Woken when the receiver goes (`Sender::closed`).
    tx_waker: Option<Waker>,
    /// The sender was dropped or used.
    tx_done: bool,
    /// The receiver was dropped or closed.
    rx_gone: bool,
}

/// Creates a one-shot channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(Slot {
        value: None,
        rx_waker: None,
        tx_waker: None,
        tx_done: false,
        rx_gone: false,
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// Sends the channel's one value.
pub struct Sender<T> {
    /// The slot.
    shared: Arc<Mutex<Slot<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`; gives it back if the receiver is gone.
    pub fn send(self, value: T) -> Result<(), SendError<T>> {
        let mut slot = self.shared.lock();
        if slot.rx_gone {
            return Err(SendError(value));
        }
        slot.value = Some(value);
        slot.tx_done = true;
        let waker = slot.rx_waker.take();
        drop(slot);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// True if the receiver is gone (a send would fail).
    pub fn is_closed(&self) -> bool {
        self.shared.lock().rx_gone
    }

    /// Waits until the receiver is gone (to stop work nobody will read).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future has no effect on the channel.
    pub fn closed(&mut self) -> Closed<'_, T> {
        Closed { sender: self }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut slot = self.shared.lock();
        if slot.tx_done {
            return;
        }
        slot.tx_done = true;
        let waker = slot.rx_waker.take();
        drop(slot);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future of [`Sender::closed`].
#[must_use = "futures do nothing unless awaited"]
pub struct Closed<'a, T> {
    /// The sender.
    sender: &'a mut Sender<T>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut slot = self.sender.shared.lock();
        if slot.rx_gone {
            return Poll::Ready(());
        }
        match &slot.tx_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => slot.tx_waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}

/// Receives the channel's one value; it is itself the future that waits for it.
///
/// # Cancel safety
///
/// Dropping the receiver drops the value if it had arrived, and makes `send` fail if not.
#[must_use = "futures do nothing unless awaited"]
pub struct Receiver<T> {
    /// The slot.
    shared: Arc<Mutex<Slot<T>>>,
}

impl<T> Receiver<T> {
    /// Takes the value if it has arrived.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut slot = self.shared.lock();
        match slot.value.take() {
            Some(v) => Ok(v),
            None if slot.tx_done => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Waits for the value, blocking the thread (never inside a task).
    pub fn recv_blocking(self) -> Result<T, RecvError> {
        block_on(self)
    }

    /// Refuses the value: later sends fail; a value already sent can still be taken.
    pub fn close(&mut self) {
        self.mark_gone();
    }

    /// Marks the receiver gone and wakes `Sender::closed`.
    fn mark_gone(&self) {
        let mut slot = self.shared.lock();
        slot.rx_gone = true;
        let waker = slot.tx_waker.take();
        drop(slot);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.shared.lock();
        if let Some(v) = slot.value.take() {
            return Poll::Ready(Ok(v));
        }
        if slot.tx_done {
            return Poll::Ready(Err(RecvError));
        }
        match &slot.rx_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => slot.rx_waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.mark_gone();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = self.shared.lock();
        f.debug_struct("Receiver")
            .field("ready", &slot.value.is_some())
            .field("sender_gone", &slot.tx_done)
            .finish()
    }
}
