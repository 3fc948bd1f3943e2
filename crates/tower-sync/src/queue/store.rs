//! Where a queue keeps its items: a lock-free ring for `Queue` (FIFO) when its bound is modest
//! or absent, and a small mutex around a `VecDeque` (a very large FIFO bound), a `Vec` (LIFO,
//! `LifoQueue`) or a min-heap (`PriorityQueue`, lowest first, like `heapq`).
//!
//! Every kind answers the same four questions the queue's waiting protocol needs — push (or
//! say full / closed), pop (or say empty / closed), close, and how many — each one atomic, so
//! [`super::core`] runs one protocol over all of them. Closing is the queue's `shutdown`:
//! pushes then fail, pops drain what is left.

use std::collections::VecDeque;
use std::fmt;

use concurrent_queue::ConcurrentQueue;
pub(crate) use concurrent_queue::{PopError, PushError};

use crate::loom::Mutex;

/// The largest ring, in bytes of slots, allocated up front for a bounded FIFO queue; a larger
/// bound (asyncio allows any) keeps its items in a `VecDeque` that grows as needed instead.
const MAX_RING_BYTES: usize = 1 << 20;

/// A queue's buffer, by retrieval order.
// One per queue, inside its `Arc`: the ring's padded ends are kept inline, not boxed, to spare
// every put and get an indirection.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Store<T> {
    /// First in, first out, lock-free: a ring of `maxsize` slots, or linked blocks when
    /// unbounded. Producers and the consumer touch different ends (different cache lines).
    Ring(ConcurrentQueue<T>),
    /// Any order, under a mutex.
    Locked(Mutex<Locked<T>>),
}

/// The mutex-guarded kinds.
pub(crate) struct Locked<T> {
    /// The items.
    buf: Buf<T>,
    /// The bound; 0 for none.
    maxsize: usize,
    /// Shut down: pushes fail.
    closed: bool,
}

/// The buffer of a [`Locked`] store.
enum Buf<T> {
    /// First in, first out (a bound too large for a ring).
    Fifo(VecDeque<T>),
    /// Last in, first out.
    Lifo(Vec<T>),
    /// Smallest first; `less` is `T`'s `Ord`, captured where `T: Ord` was known.
    Heap {
        /// The binary min-heap.
        heap: Vec<T>,
        /// `a < b`.
        less: fn(&T, &T) -> bool,
    },
}

impl<T> Store<T> {
    /// A FIFO store bounded by `maxsize` (0 = unbounded).
    pub(crate) fn fifo(maxsize: usize) -> Self {
        let slot = std::mem::size_of::<T>() + std::mem::size_of::<usize>();
        if maxsize == 0 {
            Self::Ring(ConcurrentQueue::unbounded())
        } else if maxsize.saturating_mul(slot) <= MAX_RING_BYTES {
            Self::Ring(ConcurrentQueue::bounded(maxsize))
        } else {
            Self::locked(Buf::Fifo(VecDeque::new()), maxsize)
        }
    }

    /// A LIFO store bounded by `maxsize` (0 = unbounded).
    pub(crate) fn lifo(maxsize: usize) -> Self {
        Self::locked(Buf::Lifo(Vec::new()), maxsize)
    }

    /// A min-heap for an ordered `T`, bounded by `maxsize` (0 = unbounded).
    pub(crate) fn heap(maxsize: usize) -> Self
    where
        T: Ord,
    {
        Self::locked(
            Buf::Heap {
                heap: Vec::new(),
                less: |a, b| a < b,
            },
            maxsize,
        )
    }

    /// A mutex-guarded store.
    fn locked(buf: Buf<T>, maxsize: usize) -> Self {
        Self::Locked(Mutex::new(Locked {
            buf,
            maxsize,
            closed: false,
        }))
    }

    /// Items held.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Ring(q) => q.len(),
            Self::Locked(m) => m.lock().buf.len(),
        }
    }

    /// Adds an item unless the store is closed or full (checked in that order, as asyncio's
    /// `put_nowait` does).
    #[inline]
    pub(crate) fn push(&self, item: T) -> Result<(), PushError<T>> {
        match self {
            Self::Ring(q) => q.push(item),
            Self::Locked(m) => {
                let mut s = m.lock();
                if s.closed {
                    Err(PushError::Closed(item))
                } else if s.maxsize > 0 && s.buf.len() >= s.maxsize {
                    Err(PushError::Full(item))
                } else {
                    s.buf.push(item);
                    Ok(())
                }
            }
        }
    }

    /// Removes the next item in retrieval order; `Closed` only once closed and empty.
    #[inline]
    pub(crate) fn pop(&self) -> Result<T, PopError> {
        match self {
            Self::Ring(q) => q.pop(),
            Self::Locked(m) => {
                let mut s = m.lock();
                match s.buf.pop() {
                    Some(item) => Ok(item),
                    None if s.closed => Err(PopError::Closed),
                    None => Err(PopError::Empty),
                }
            }
        }
    }

    /// Closes the store (pushes fail from now on).
    pub(crate) fn close(&self) {
        match self {
            Self::Ring(q) => {
                q.close();
            }
            Self::Locked(m) => m.lock().closed = true,
        }
    }

    /// Closed.
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Self::Ring(q) => q.is_closed(),
            Self::Locked(m) => m.lock().closed,
        }
    }
}

impl<T> Buf<T> {
    /// Items held.
    fn len(&self) -> usize {
        match self {
            Self::Fifo(q) => q.len(),
            Self::Lifo(v) | Self::Heap { heap: v, .. } => v.len(),
        }
    }

    /// Adds an item.
    fn push(&mut self, item: T) {
        match self {
            Self::Fifo(q) => q.push_back(item),
            Self::Lifo(v) => v.push(item),
            Self::Heap { heap, less } => {
                heap.push(item);
                let mut i = heap.len() - 1;
                while i > 0 {
                    let parent = (i - 1) / 2;
                    if !less(&heap[i], &heap[parent]) {
                        break;
                    }
                    heap.swap(i, parent);
                    i = parent;
                }
            }
        }
    }

    /// Removes the next item in retrieval order.
    fn pop(&mut self) -> Option<T> {
        match self {
            Self::Fifo(q) => q.pop_front(),
            Self::Lifo(v) => v.pop(),
            Self::Heap { heap, less } => {
                if heap.is_empty() {
                    return None;
                }
                let item = heap.swap_remove(0);
                let len = heap.len();
                let mut i = 0;
                loop {
                    let (l, r) = (2 * i + 1, 2 * i + 2);
                    let mut smallest = i;
                    if l < len && less(&heap[l], &heap[smallest]) {
                        smallest = l;
                    }
                    if r < len && less(&heap[r], &heap[smallest]) {
                        smallest = r;
                    }
                    if smallest == i {
                        break;
                    }
                    heap.swap(i, smallest);
                    i = smallest;
                }
                Some(item)
            }
        }
    }
}

impl<T> fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Self::Ring(_) => "fifo",
            Self::Locked(m) => match m.lock().buf {
                Buf::Fifo(_) => "fifo",
                Buf::Lifo(_) => "lifo",
                Buf::Heap { .. } => "priority",
            },
        };
        write!(f, "{kind}({})", self.len())
    }
}
