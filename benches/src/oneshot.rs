//! The one-shot channel every runtime uses in the ping-pong and chained benches, so the
//! workload is the same code on tower, tokio and smol: the value and the receiver's waker behind
//! an uncontended mutex, the waker woken after the lock is released.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// The value and the waiting receiver's waker.
struct Slot<T> {
    state: Mutex<(Option<T>, Option<Waker>)>,
}

/// The sending half.
pub struct Tx<T>(Arc<Slot<T>>);

/// The receiving half: a future of the value.
pub struct Rx<T>(Arc<Slot<T>>);

/// A new one-shot channel.
pub fn oneshot<T>() -> (Tx<T>, Rx<T>) {
    let s = Arc::new(Slot {
        state: Mutex::new((None, None)),
    });
    (Tx(s.clone()), Rx(s))
}

impl<T> Tx<T> {
    /// Stores the value and wakes the receiver (after unlocking).
    pub fn send(self, v: T) {
        let waker = {
            let mut g = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
            g.0 = Some(v);
            g.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Future for Rx<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut g = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        match g.0.take() {
            Some(v) => Poll::Ready(v),
            None => {
                g.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> std::fmt::Debug for Tx<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("oneshot::Tx")
    }
}

impl<T> std::fmt::Debug for Rx<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("oneshot::Rx")
    }
}
