//! asyncio's queues: [`Queue`] (FIFO), [`LifoQueue`] and [`PriorityQueue`] — bounded or not,
//! with `task_done`/`join` and 3.13's `shutdown`. Handles are cheap clones of one queue.

mod core;
mod store;

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use self::core::Shared;
pub use self::core::{Get, Join, Put};
use self::store::Store;
use crate::blocking::block_on;
use crate::error::{QueueShutDown, TaskDoneError, TryGetError, TryPutError};
use crate::loom::Arc;

/// The methods the three queue kinds share.
macro_rules! queue_methods {
    ($name:ident) => {
        impl<T> $name<T> {
            /// The bound given at creation; 0 means unbounded.
            pub fn maxsize(&self) -> usize {
                self.shared.maxsize()
            }

            /// Number of items in the queue.
            pub fn qsize(&self) -> usize {
                self.shared.qsize()
            }

            /// True if the queue holds no item.
            pub fn empty(&self) -> bool {
                self.qsize() == 0
            }

            /// True if the queue holds `maxsize` items (never for an unbounded queue).
            pub fn full(&self) -> bool {
                self.shared.full()
            }

            /// Puts `item`, waiting for room if the queue is full.
            ///
            /// Fails, giving the item back, if the queue is (or gets) shut down.
            ///
            /// # Cancel safety
            ///
            /// Dropping the future before it completes means the item was not put (it is
            /// dropped with the future); if room had been signalled to this putter, the
            /// signal passes to the next putter.
            pub fn put(&self, item: T) -> Put<'_, T> {
                Put {
                    shared: &self.shared,
                    item: Some(item),
                    key: None,
                }
            }

            /// Puts `item` without waiting (asyncio's `put_nowait`).
            pub fn put_nowait(&self, item: T) -> Result<(), TryPutError<T>> {
                self.shared.try_put(item)
            }

            /// The `try_` name of [`put_nowait`](Self::put_nowait).
            pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
                self.shared.try_put(item)
            }

            /// Puts `item`, blocking the thread while the queue is full (never inside a task).
            pub fn put_blocking(&self, item: T) -> Result<(), QueueShutDown<T>> {
                block_on(self.put(item))
            }

            /// Removes and returns the next item, waiting while the queue is empty.
            ///
            /// Fails once the queue is shut down and empty (immediately, for
            /// `shutdown(true)`).
            ///
            /// # Cancel safety
            ///
            /// Dropping the future before it completes removes nothing from the queue; if an
            /// item had been signalled to this getter, the signal passes to the next getter.
            pub fn get(&self) -> Get<'_, T> {
                Get {
                    shared: &self.shared,
                    key: None,
                }
            }

            /// Removes and returns the next item without waiting (asyncio's `get_nowait`).
            pub fn get_nowait(&self) -> Result<T, TryGetError> {
                self.shared.try_get()
            }

            /// The `try_` name of [`get_nowait`](Self::get_nowait).
            pub fn try_get(&self) -> Result<T, TryGetError> {
                self.shared.try_get()
            }

            /// Removes and returns the next item, blocking the thread while the queue is empty.
            pub fn get_blocking(&self) -> Result<T, QueueShutDown> {
                block_on(self.get())
            }

            /// Marks one item, taken earlier, as processed; fails if every item put was
            /// already marked.
            pub fn task_done(&self) -> Result<(), TaskDoneError> {
                self.shared.task_done()
            }

            /// Waits until every item put has been marked with `task_done`.
            ///
            /// # Cancel safety
            ///
            /// Dropping the future has no effect on the queue.
            pub fn join(&self) -> Join<'_, T> {
                Join {
                    shared: &self.shared,
                    listener: None,
                }
            }

            /// [`join`](Self::join), blocking the thread.
            pub fn join_blocking(&self) {
                block_on(self.join())
            }

            /// Shuts the queue down (Python 3.13): later puts fail with `QueueShutDown`; gets
            /// drain what is left, then fail. With `immediate`, the queue is emptied at once
            /// (the dropped items count as done for `join`) and gets fail straight away. All
            /// blocked putters and getters are woken.
            pub fn shutdown(&self, immediate: bool) {
                self.shared.shutdown(immediate);
            }

            /// True once [`shutdown`](Self::shutdown) was called.
            pub fn is_shutdown(&self) -> bool {
                self.shared.is_shutdown()
            }

            /// A [`Stream`] of the items, ending when the queue is shut down and drained.
            /// It does not call `task_done`.
            pub fn stream(&self) -> QueueStream<T> {
                QueueStream {
                    shared: self.shared.clone(),
                    key: None,
                }
            }
        }

        impl<T> Clone for $name<T> {
            /// Another handle to the same queue.
            fn clone(&self) -> Self {
                Self {
                    shared: self.shared.clone(),
                }
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name))
                    .field(&self.shared)
                    .finish()
            }
        }
    };
}

/// A first-in, first-out queue (asyncio's `Queue`).
///
/// Getters and putters wait in arrival order. Clones are handles to the same queue.
///
/// # Examples
///
/// ```
/// use tower_sync::Queue;
///
/// # tower_coro::block_on(async {
/// let queue = Queue::new(1);
/// queue.put("a").await.unwrap();
/// assert!(queue.full());
/// assert!(queue.put_nowait("b").is_err());
/// assert_eq!(queue.get().await, Ok("a"));
/// queue.shutdown(false);
/// assert!(queue.get().await.is_err());
/// # });
/// ```
pub struct Queue<T> {
    /// The queue.
    shared: Arc<Shared<T>>,
}

impl<T> Queue<T> {
    /// A queue holding at most `maxsize` items; 0 means unbounded (as in asyncio).
    pub fn new(maxsize: usize) -> Self {
        Self {
            shared: Arc::new(Shared::new(Store::fifo(maxsize), maxsize)),
        }
    }

    /// An unbounded queue.
    pub fn unbounded() -> Self {
        Self::new(0)
    }
}

queue_methods!(Queue);

/// A last-in, first-out queue (asyncio's `LifoQueue`).
///
/// # Examples
///
/// ```
/// use tower_sync::LifoQueue;
///
/// let queue = LifoQueue::new(0);
/// queue.put_nowait(1).unwrap();
/// queue.put_nowait(2).unwrap();
/// assert_eq!(queue.get_nowait(), Ok(2));
/// ```
pub struct LifoQueue<T> {
    /// The queue.
    shared: Arc<Shared<T>>,
}

impl<T> LifoQueue<T> {
    /// A queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        Self {
            shared: Arc::new(Shared::new(Store::lifo(maxsize), maxsize)),
        }
    }
}

queue_methods!(LifoQueue);

/// A queue that returns its smallest item first (asyncio's `PriorityQueue`; put `(priority,
/// value)` tuples as in Python).
///
/// # Examples
///
/// ```
/// use tower_sync::PriorityQueue;
///
/// let queue = PriorityQueue::new(0);
/// queue.put_nowait((2, "later")).unwrap();
/// queue.put_nowait((1, "first")).unwrap();
/// assert_eq!(queue.get_nowait(), Ok((1, "first")));
/// ```
pub struct PriorityQueue<T> {
    /// The queue.
    shared: Arc<Shared<T>>,
}

impl<T: Ord> PriorityQueue<T> {
    /// A queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        Self {
            shared: Arc::new(Shared::new(Store::heap(maxsize), maxsize)),
        }
    }
}

queue_methods!(PriorityQueue);

/// A [`Stream`] of a queue's items (see `Queue::stream`).
#[must_use = "streams do nothing unless polled"]
pub struct QueueStream<T> {
    /// The queue.
    shared: Arc<Shared<T>>,
    /// Our entry among the getters.
    key: Option<usize>,
}

impl<T> Stream for QueueStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        match this.shared.poll_get(&mut this.key, cx) {
            Poll::Ready(Ok(item)) => Poll::Ready(Some(item)),
            Poll::Ready(Err(_)) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for QueueStream<T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.shared.cancel_get(key);
        }
    }
}

impl<T> fmt::Debug for QueueStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueStream")
            .field("queue", &self.shared)
            .finish_non_exhaustive()
    }
}
