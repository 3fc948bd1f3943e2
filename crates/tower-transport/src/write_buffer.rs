//! The write buffer of a stream transport: chunks of bytes the kernel has not taken yet, handed
//! to one vectored send of up to [`IOV_MAX`] pieces per drain.

use std::collections::VecDeque;
use std::io::IoSlice;

/// The most pieces one vectored send takes (`IOV_MAX`: 1024 on Linux, the BSDs and macOS).
pub(crate) const IOV_MAX: usize = 1024;

/// A write this small is copied onto the end of the last chunk instead of making a new one.
const COALESCE_BELOW: usize = 4096;

/// A chunk grows by coalescing up to this size.
const CHUNK_MAX: usize = 64 * 1024;

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

    /// The waiting bytes as at most [`IOV_MAX`] slices, into `out` (cleared first).
    pub(crate) fn slices<'a>(&'a self, out: &mut Vec<IoSlice<'a>>) {
        out.clear();
        for (i, chunk) in self.chunks.iter().take(IOV_MAX).enumerate() {
            let start = if i == 0 { self.head } else { 0 };
            out.push(IoSlice::new(&chunk[start..]));
        }
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
        let mut out = Vec::new();
        b.slices(&mut out);
        assert_eq!(out.len(), 1);
        drop(out);
        b.consume(5000);
        assert!(b.is_empty());
        assert_eq!(b.chunk_count(), 0);
    }
}
