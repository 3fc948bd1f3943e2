//! The result hand-off between a blocking closure on a pool thread and the future awaiting it:
//! a one-shot cell with a waker slot and an "abandoned" flag the closure's token can read.
//!
//! Rules: the [`Completer`] (owned by the job) writes the result once; the receiving future
//! takes it once. Whoever leaves second frees the cell (it is an `Arc`). Results are dropped
//! outside the lock.
//!
//! The waker belongs to the receiving side: the completer wakes it *by reference, under the
//! lock*, and never clones, takes or drops it; the receiver takes it out (under the lock, so
//! after any wake in progress has returned) when it gets the result or is dropped, and drops
//! it on its own thread. So once the awaiting future is done with the cell, the pool thread
//! holds nothing of its waker, nor of what the waker keeps alive: a tower task's waker holds
//! its loop's handle, and the last handle closes the loop's epoll and eventfd. Waking after
//! the lock (the waker taken out first) left the pool thread holding it, or the loop handle
//! its wake cloned, for a moment after the result was visible — long enough, on a loaded
//! machine, for the loop to finish, close and be dropped, and its fds to be closed by the pool
//! thread after `close()` returned (docs/decisions/0004-blocking-pool-and-child-reaping.md).

use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::error::BlockingError;
use crate::loom::{AtomicBool, Mutex, Ordering};

/// What the lock guards.
#[derive(Debug)]
struct State<T> {
    /// The result, once the closure finished (or was rejected / dropped) and until taken.
    result: Option<Result<T, BlockingError>>,
    /// The waker of the last poll that found no result: the receiver's, woken by reference
    /// by the completer, taken out and dropped only by the receiver.
    waker: Option<Waker>,
    /// The receiver is gone: the result is dropped as soon as it arrives.
    closed: bool,
}

/// The shared cell.
#[derive(Debug)]
pub(crate) struct Handoff<T> {
    /// Set when the receiving future is dropped before it got the result; read lock-free by
    /// [`CancelToken`](crate::CancelToken).
    abandoned: AtomicBool,
    /// The result and the waker.
    state: Mutex<State<T>>,
}

/// Read access to the "abandoned" flag without knowing `T` (what a cancel token holds).
pub(crate) trait AbandonFlag: Send + Sync {
    /// Whether the receiver has been dropped.
    fn is_abandoned(&self) -> bool;
}

impl<T: Send> AbandonFlag for Handoff<T> {
    fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }
}

/// A new cell, as its writing and reading halves.
pub(crate) fn handoff<T>() -> (Completer<T>, Receiver<T>) {
    let shared = Arc::new(Handoff {
        abandoned: AtomicBool::new(false),
        state: Mutex::new(State {
            result: None,
            waker: None,
            closed: false,
        }),
    });
    (
        Completer {
            shared: Some(shared.clone()),
        },
        Receiver {
            shared: Some(shared),
        },
    )
}

/// The writing half: completes the cell once; completes it with [`BlockingError::Dropped`] if
/// dropped unused.
#[derive(Debug)]
pub(crate) struct Completer<T> {
    /// `None` once completed.
    shared: Option<Arc<Handoff<T>>>,
}

impl<T> Completer<T> {
    /// The cell, for a cancel token.
    pub(crate) fn shared(&self) -> Option<&Arc<Handoff<T>>> {
        self.shared.as_ref()
    }

    /// Stores `result` and wakes the receiver (or drops `result` if the receiver is gone).
    /// The wake is by reference and under the lock (see the module doc): the receiver's
    /// waker is neither cloned nor dropped here.
    pub(crate) fn complete(mut self, result: Result<T, BlockingError>) {
        self.finish(result);
    }

    /// The body of `complete` and of `drop`.
    fn finish(&mut self, result: Result<T, BlockingError>) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        let mut st = shared.state.lock();
        if st.closed {
            drop(st);
            drop(result);
            return;
        }
        st.result = Some(result);
        if let Some(w) = &st.waker {
            w.wake_by_ref();
        }
        drop(st);
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        if self.shared.is_some() {
            self.finish(Err(BlockingError::Dropped));
        }
    }
}

/// The reading half, polled by the public futures.
#[derive(Debug)]
pub(crate) struct Receiver<T> {
    /// `None` once the result was taken.
    shared: Option<Arc<Handoff<T>>>,
}

impl<T> Receiver<T> {
    /// Ready with the result once the completer stored it.
    ///
    /// # Panics
    ///
    /// If polled again after it returned `Ready` (the `Future` contract).
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, BlockingError>> {
        let shared = self
            .shared
            .as_ref()
            .expect("blocking future polled after completion");
        let mut st = shared.state.lock();
        if let Some(result) = st.result.take() {
            let waker = st.waker.take();
            drop(st);
            drop(waker);
            self.shared = None;
            return Poll::Ready(result);
        }
        match &mut st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => {
                let old = slot.replace(cx.waker().clone());
                drop(st);
                drop(old);
            }
        }
        Poll::Pending
    }

    /// Whether the result has been taken.
    pub(crate) fn is_terminated(&self) -> bool {
        self.shared.is_none()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        shared.abandoned.store(true, Ordering::Release);
        let mut st = shared.state.lock();
        st.closed = true;
        let result = st.result.take();
        let waker = st.waker.take();
        drop(st);
        drop(result);
        drop(waker);
    }
}
