//! Where a queue keeps its items: FIFO (`Queue`), LIFO (`LifoQueue`) or a min-heap
//! (`PriorityQueue`, lowest first, like `heapq`).

use std::collections::VecDeque;
use std::fmt;

/// A queue's buffer, by retrieval order.
pub(crate) enum Store<T> {
    /// First in, first out.
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
    /// A min-heap for an ordered `T`.
    pub(crate) fn heap() -> Self
    where
        T: Ord,
    {
        Self::Heap {
            heap: Vec::new(),
            less: |a, b| a < b,
        }
    }

    /// Items held.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Fifo(q) => q.len(),
            Self::Lifo(v) | Self::Heap { heap: v, .. } => v.len(),
        }
    }

    /// Adds an item.
    pub(crate) fn push(&mut self, item: T) {
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
    pub(crate) fn pop(&mut self) -> Option<T> {
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
            Self::Fifo(_) => "fifo",
            Self::Lifo(_) => "lifo",
            Self::Heap { .. } => "priority",
        };
        write!(f, "{kind}({})", self.len())
    }
}
