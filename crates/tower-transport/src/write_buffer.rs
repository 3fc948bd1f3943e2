//! The write buffer of a stream transport: chunks of bytes the kernel has not taken yet, handed
//! to one vectored send of up to [`IOV_MAX`] pieces per drain; [`gather`] makes the `IoSlice`s
//! (on the stack for a few pieces) for the drain and for `writelines`.

use std::collections::VecDeque;
use std::io::IoSlice;

/// The most pieces one vectored send takes (`IOV_MAX`: 1024 on Linux, the BSDs and macOS).
pub(crate) const IOV_MAX: usize = 1024;

/// A write this small is copied onto the end of the last chunk instead of making a new one.
const COALESCE_BELOW: usize = 4096;

/// A chunk grows by coalescing up to this size.
const CHUNK_MAX: usize = 64 * 1024;

/// Pieces gathered on the stack; more go to the heap.
const STACK_PIECES: usize = 16;

/// Runs `f` on the first [`IOV_MAX`] non-empty `pieces` as `IoSlice`s: on the stack for up to
/// 16 (no allocation on the common paths: a `writelines` of a few pieces, a short buffer).
pub(crate) fn gather<'a, R>(
    pieces: impl Iterator<Item = &'a [u8]>,
    f: impl FnOnce(&[IoSlice<'_>]) -> R,
) -> R {
    let mut pieces = pieces.filter(|p| !p.is_empty()).take(IOV_MAX);
    let mut stack = [IoSlice::new(&[]); STACK_PIECES];
    let mut n = 0;
    for p in pieces.by_ref() {
        stack[n] = IoSlice::new(p);
        n += 1;
        if n == STACK_PIECES {
            break;
        }
    }
    if n < STACK_PIECES {
        return f(&stack[..n]);
    }
    let mut heap: Vec<IoSlice<'_>> = stack.to_vec();
    heap.extend(pieces.map(IoSlice::new));
    f(&heap)
}

/// Bytes waiting to be sent, in order.
#[derive(Debug, Default)]
pub(crate) struct WriteBuffer {
    /// The chunks; the first has `head` bytes already sent.
    chunks: VecDeque<Vec<u8>>,
    /// Bytes of the first chunk already sent.
    head: usize,
    /// Bytes waiting in all (what `get_write_buffer_size` reports).
    len: usize,
}

impl WriteBuffer {
    /// Bytes waiting.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a copy of `data`.
    pub(crate) fn push(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.len += data.len();
        if data.len() < COALESCE_BELOW {
            if let Some(back) = self.chunks.back_mut() {
                if back.len() + data.len() <= CHUNK_MAX {
                    back.extend_from_slice(data);
                    return;
                }
            }
        }
        self.chunks.push_back(data.to_vec());
    }

    /// The waiting bytes, chunk by chunk (for [`gather`]).
    pub(crate) fn pieces(&self) -> impl Iterator<Item = &[u8]> {
        self.chunks
            .iter()
            .enumerate()
            .map(|(i, c)| if i == 0 { &c[self.head..] } else { &c[..] })
    }

    /// The first waiting piece (for a single `send` when there is one chunk).
    pub(crate) fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// The waiting bytes of the first chunk.
    pub(crate) fn first(&self) -> &[u8] {
        self.chunks.front().map_or(&[], |c| &c[self.head..])
    }

    /// Drops the first `n` waiting bytes (the kernel took them).
    pub(crate) fn consume(&mut self, mut n: usize) {
        debug_assert!(n <= self.len);
        self.len -= n;
        while n > 0 {
            let Some(front) = self.chunks.front() else {
                break;
            };
            let rest = front.len() - self.head;
            if n >= rest {
                n -= rest;
                self.chunks.pop_front();
                self.head = 0;
            } else {
                self.head += n;
                n = 0;
            }
        }
    }

    /// Drops everything.
    pub(crate) fn clear(&mut self) {
        self.chunks.clear();
        self.head = 0;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_skips_empty_pieces_and_stops_at_iov_max() {
        let data: Vec<Vec<u8>> = (0..2000).map(|i| vec![i as u8; i % 3]).collect();
        let want: Vec<&[u8]> = data
            .iter()
            .map(|v| &v[..])
            .filter(|p| !p.is_empty())
            .take(IOV_MAX)
            .collect();
        gather(data.iter().map(|v| &v[..]), |iov| {
            assert_eq!(iov.len(), IOV_MAX);
            assert!(iov.iter().zip(&want).all(|(a, b)| **a == **b));
        });
        gather(data[..10].iter().map(|v| &v[..]), |iov| {
            assert_eq!(iov.len(), 6)
        });
        gather(std::iter::empty(), |iov| assert!(iov.is_empty()));
    }

    #[test]
    fn consume_across_chunks_keeps_order() {
        let mut b = WriteBuffer::default();
        b.push(&[1; 5000]);
        b.push(&[2; 10]);
        b.push(&[3; 5000]);
        assert_eq!(b.len(), 10010);
        assert_eq!(b.chunk_count(), 2); // the 10 bytes coalesced onto the first chunk
        b.consume(4999);
        assert_eq!(
            b.first(),
            &{
                let mut v = vec![1];
                v.extend([2; 10]);
                v
            }[..]
        );
        b.consume(11);
        assert_eq!(b.first(), &[3; 5000][..]);
        assert_eq!(gather(b.pieces(), |iov| iov.len()), 1);
        b.consume(5000);
        assert!(b.is_empty());
        assert_eq!(b.chunk_count(), 0);
    }
}
