//! The datagram transport's send queue ([`DatagramQueue`]): datagrams not yet sent, with their
//! destinations, in one contiguous byte buffer with offsets, so that queueing a datagram (every
//! `sendto` when batching is on, a refused one otherwise) allocates nothing once the buffer
//! has grown (a `Vec` per datagram did: `tests/datagram_queue_allocs.rs`).

use std::collections::VecDeque;

use crate::datagram::DATAGRAM_HEADER_SIZE;
use crate::extra::SocketAddress;

/// Sent bytes at the front of the buffer that are moved out (with the rest shifted down)
/// once they are also more than half of it: the buffer does not grow without bound under a
/// queue that never empties, and each byte moves at most about once.
const COMPACT_AT: usize = 64 * 1024;

/// One queued datagram: where its bytes are in the buffer, and its destination.
#[derive(Debug)]
struct Entry {
    /// Offset of its first byte in `bytes`.
    start: usize,
    /// Its length.
    len: usize,
    /// Its destination (`None`: the connected peer).
    addr: Option<SocketAddress>,
}

/// Datagrams not yet sent, in order, in one byte buffer.
#[derive(Debug, Default)]
pub(crate) struct DatagramQueue {
    /// The datagrams' bytes, one after another; those before `head` are sent.
    bytes: Vec<u8>,
    /// Where the first unsent datagram starts.
    head: usize,
    /// The datagrams, oldest first.
    entries: VecDeque<Entry>,
    /// asyncio's `_buffer_size`: the datagrams' bytes plus [`DATAGRAM_HEADER_SIZE`] each.
    size: usize,
}

impl DatagramQueue {
    /// Whether no datagram is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many datagrams are queued.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// asyncio's `_buffer_size`: bytes plus a header per datagram.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Queues `data` for `addr`.
    pub(crate) fn push(&mut self, data: &[u8], addr: Option<&SocketAddress>) {
        if self.head >= COMPACT_AT && self.head * 2 >= self.bytes.len() {
            self.bytes.drain(..self.head);
            for e in &mut self.entries {
                e.start -= self.head;
            }
            self.head = 0;
        }
        self.entries.push_back(Entry {
            start: self.bytes.len(),
            len: data.len(),
            addr: addr.cloned(),
        });
        self.bytes.extend_from_slice(data);
        self.size += data.len() + DATAGRAM_HEADER_SIZE;
    }

    /// The oldest datagram and its destination.
    pub(crate) fn front(&self) -> Option<(&[u8], Option<&SocketAddress>)> {
        self.entries.front().map(|e| self.view(e))
    }

    /// The datagrams and their destinations, oldest first (the batched sends of Linux and the
    /// tests read it).
    #[cfg(any(target_os = "linux", test))]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], Option<&SocketAddress>)> {
        self.entries.iter().map(|e| self.view(e))
    }

    /// Drops the `n` oldest datagrams (sent, or refused by the kernel).
    pub(crate) fn consume(&mut self, n: usize) {
        for e in self.entries.drain(..n) {
            self.head = e.start + e.len;
            self.size -= e.len + DATAGRAM_HEADER_SIZE;
        }
        if self.entries.is_empty() {
            self.bytes.clear();
            self.head = 0;
        }
    }

    /// Drops every datagram (the capacity stays).
    pub(crate) fn clear(&mut self) {
        self.consume(self.entries.len());
    }

    /// An entry's bytes and destination.
    fn view<'a>(&'a self, e: &'a Entry) -> (&'a [u8], Option<&'a SocketAddress>) {
        (&self.bytes[e.start..e.start + e.len], e.addr.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_sizes_and_compaction() {
        let a = SocketAddress::Inet(([127, 0, 0, 1], 9).into());
        let mut q = DatagramQueue::default();
        q.push(b"one", None);
        q.push(b"", Some(&a));
        q.push(b"three", Some(&a));
        assert_eq!(q.len(), 3);
        assert_eq!(q.size(), 3 + 5 + 3 * DATAGRAM_HEADER_SIZE);
        assert_eq!(q.front(), Some((&b"one"[..], None)));
        q.consume(2);
        assert_eq!(q.iter().collect::<Vec<_>>(), [(&b"three"[..], Some(&a))]);
        assert_eq!(q.size(), 5 + DATAGRAM_HEADER_SIZE);
        // A queue that never empties: the sent front is moved out, the bytes stay right.
        let big = vec![7u8; 1000];
        for i in 0..1000 {
            q.push(&big[..i % 1000], None);
            q.consume(1);
            assert!(q.bytes.len() <= 2 * COMPACT_AT + 2000, "bounded");
        }
        assert_eq!(q.len(), 1);
        assert_eq!(q.front().unwrap().0, &big[..999]);
        q.clear();
        assert!(q.is_empty() && q.size() == 0 && q.bytes.is_empty());
    }
}
