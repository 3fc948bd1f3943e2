//! The reader's buffer: one contiguous allocation the kernel reads into directly (the
//! transport's `get_buffer`/`buffer_updated`, one copy), read from the front by the
//! `StreamReader`. How it grows, compacts and shrinks is in docs/decisions/0014-streams.md.
//!
//! Layout: `vec[start..end]` holds the unread bytes, `vec[end..]` is free (initialised: the
//! allocation is zeroed once when it grows). The free tail is *lent* to the transport by
//! [`ReadBuffer::lend`] as a `&mut [u8]` that lives as long as the protocol's borrow that asked
//! for it; while a loan may be live nothing here touches the lent bytes, moves or frees the
//! allocation (see `loan`).

use std::cmp::max;

/// The first allocation.
pub(crate) const INITIAL: usize = 16 * 1024;
/// Below this much free space a read first compacts or grows the buffer.
const MIN_FREE: usize = 4 * 1024;
/// Reads that fill the whole free tail double it, up to this (asyncio's selector transports
/// read at most 256 KiB at a time).
const MAX_READ: usize = 256 * 1024;

/// The reader's bytes.
#[derive(Default)]
pub(crate) struct ReadBuffer {
    /// The allocation: `[start, end)` unread, `[end, len)` free.
    vec: Vec<u8>,
    /// First unread byte.
    start: usize,
    /// One past the last unread byte.
    end: usize,
    /// `Some((from, to))` after [`lend`](Self::lend) until the protocol is called again
    /// ([`filled`](Self::filled) or [`loan_over`](Self::loan_over)): `vec[from..to]` may be
    /// borrowed mutably by the transport. Invariant while it is `Some` and `retired` is `None`:
    /// `from == end`, and the allocation is the one lent.
    loan: Option<(usize, usize)>,
    /// The allocation a [`feed`](Self::feed) replaced while it was lent: kept alive, untouched,
    /// until the loan is over.
    retired: Option<Vec<u8>>,
    /// The last read filled the whole free tail: offer twice as much next time.
    grow_next: bool,
    /// The size of the last offer.
    last_offer: usize,
    /// Bytes taken out since the start (tells a `poll_fill_buf` copy whether it is current).
    taken: u64,
}

impl ReadBuffer {
    /// Unread bytes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether nothing is unread.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The allocation's size (for `Debug` and the tests of the growth rule).
    pub(crate) fn capacity(&self) -> usize {
        self.vec.len()
    }

    /// The unread bytes.
    #[inline]
    pub(crate) fn data(&self) -> &[u8] {
        // SAFETY: `start <= end <= vec.len()`, so the range is inside the allocation and
        // initialised. It is disjoint from any live loan, which covers `[end, len)` of this
        // allocation (the `loan` invariant) or another allocation (`retired`). `as_ptr` makes
        // no reference to the whole vector, so the lent bytes are not reborrowed.
        unsafe { std::slice::from_raw_parts(self.vec.as_ptr().add(self.start), self.len()) }
    }

    /// Takes the first `n` unread bytes (`n <= len`) out as a vector.
    pub(crate) fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.len());
        let out = self.data()[..n].to_vec();
        self.discard(n);
        out
    }

    /// Moves every unread byte to the end of `out` (a direct read starts, protocol.rs): not a
    /// read, so `taken` does not count them.
    pub(crate) fn move_all_into(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.data());
        self.start = self.end;
        if self.loan.is_none() {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Puts `front` back before the unread bytes (a direct read ends unfinished, protocol.rs):
    /// into the consumed hole at the front if it fits (nothing lent is touched: a loan covers
    /// `[end, len)`), else into a new allocation (the old one, if it may be lent, kept in
    /// `retired` as [`feed`](Self::feed) does). Not counted in `taken`.
    pub(crate) fn prepend(&mut self, front: &[u8]) {
        let f = front.len();
        if f == 0 {
            return;
        }
        if self.start >= f {
            self.start -= f;
            // SAFETY: `[start, start + f)` is inside the allocation (`start + f` is the old
            // `start`, at most `end`), disjoint from `front` (a caller's slice, not this
            // buffer's) and from any loan (`[end, len)`, or another allocation). Written
            // through the raw pointer, so the lent bytes are not reborrowed.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    front.as_ptr(),
                    self.vec.as_mut_ptr().add(self.start),
                    f,
                );
            }
            return;
        }
        let old = self.len();
        let mut vec = vec![0; max(INITIAL, (f + old).next_power_of_two())];
        vec[..f].copy_from_slice(front);
        vec[f..f + old].copy_from_slice(self.data());
        let prev = std::mem::replace(&mut self.vec, vec);
        if self.loan.is_some() && self.retired.is_none() {
            self.retired = Some(prev);
        }
        self.start = 0;
        self.end = f + old;
    }

    /// Counts `n` bytes read outside the buffer (a direct read's) as taken.
    pub(crate) fn count_taken(&mut self, n: usize) {
        self.taken += n as u64;
    }

    /// Bytes taken out since the start.
    pub(crate) fn taken(&self) -> u64 {
        self.taken
    }

    /// Drops the first `n` unread bytes (`n <= len`).
    #[inline]
    pub(crate) fn discard(&mut self, n: usize) {
        let n = n.min(self.len());
        self.taken += n as u64;
        self.start += n;
        if self.start == self.end && self.loan.is_none() {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Drops every unread byte.
    pub(crate) fn clear(&mut self) {
        self.discard(self.len());
    }

    /// Appends `data` (asyncio's `feed_data`: a copy).
    pub(crate) fn feed(&mut self, data: &[u8]) {
        if self.loan.is_some() && self.retired.is_none() {
            // The tail may be lent: move to a new allocation and keep this one alive, as is,
            // until the loan is over.
            let mut vec = vec![0; max(INITIAL, (self.len() + data.len()).next_power_of_two())];
            let old = self.len();
            vec[..old].copy_from_slice(self.data());
            vec[old..old + data.len()].copy_from_slice(data);
            self.retired = Some(std::mem::replace(&mut self.vec, vec));
            self.start = 0;
            self.end = old + data.len();
            return;
        }
        self.make_room(data.len());
        self.vec[self.end..self.end + data.len()].copy_from_slice(data);
        self.end += data.len();
    }

    /// At least `want` free bytes at the end: compacts when the hole at the front is at least
    /// as large as the data (a copy of at most half the buffer), else doubles. Only with no
    /// live loan into `vec`.
    fn make_room(&mut self, want: usize) {
        if self.vec.len() - self.end >= want {
            return;
        }
        let len = self.len();
        if self.start > 0 && self.start >= len && self.vec.len() - len >= want {
            self.vec.copy_within(self.start..self.end, 0);
            self.start = 0;
            self.end = len;
            return;
        }
        let need = self.end + want;
        let new_len = max(max(INITIAL, self.vec.len() * 2), need.next_power_of_two());
        self.vec.resize(new_len, 0);
    }

    /// The free tail for one read (the transport's `get_buffer`): resets an empty buffer to
    /// its start, gives back an empty allocation larger than 2 × [`MAX_READ`] (after a burst),
    /// makes at least [`MIN_FREE`] bytes free (twice the last offer, up to [`MAX_READ`], if the
    /// last read filled it), then lends `vec[end..]`. Returns its start and length.
    ///
    /// Called by the protocol's `get_buffer(&mut self)`: any earlier loan is over.
    pub(crate) fn lend(&mut self) -> (*mut u8, usize) {
        self.loan_over();
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.vec.len() > 2 * MAX_READ {
                self.vec = Vec::new();
            }
        }
        let free = self.vec.len() - self.end;
        let want = if self.grow_next {
            self.grow_next = false;
            (2 * self.last_offer).clamp(MIN_FREE, MAX_READ)
        } else {
            MIN_FREE
        };
        if free < want {
            self.make_room(want.max(if self.vec.is_empty() { INITIAL } else { 0 }));
        }
        let from = self.end;
        let to = self.vec.len();
        self.loan = Some((from, to));
        // `as_mut_ptr` makes no reference to the vector's bytes.
        // SAFETY: `from <= vec.len()`, so the offset stays inside (or one past) the allocation.
        let ptr = unsafe { self.vec.as_mut_ptr().add(from) };
        (ptr, to - from)
    }

    /// The transport read `n` bytes into the loan (`buffer_updated`): they become unread data.
    /// Called by the protocol's `buffer_updated(&mut self)`: the loan is over.
    pub(crate) fn filled(&mut self, n: usize) {
        let Some((from, to)) = self.loan.take() else {
            return;
        };
        let n = n.min(to - from);
        match self.retired.take() {
            // A feed moved the data meanwhile: the bytes are in the old allocation.
            Some(old) => self.feed(&old[from..from + n]),
            None => {
                self.end += n;
                self.grow_next = n == to - from && to - from < MAX_READ;
                self.last_offer = to - from;
            }
        }
    }

    /// The loan is over without a read (the protocol is called again for something else).
    pub(crate) fn loan_over(&mut self) {
        self.loan = None;
        self.retired = None;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Simulates one read of `data` through a loan.
    fn read(b: &mut ReadBuffer, data: &[u8]) -> usize {
        let (ptr, len) = b.lend();
        let n = data.len().min(len);
        // SAFETY: the loan is `len` bytes at `ptr`, untouched by `b` until `filled`.
        let slice = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
        slice[..n].copy_from_slice(&data[..n]);
        b.filled(n);
        n
    }

    #[test]
    fn reads_append_and_take_consumes() {
        let mut b = ReadBuffer::default();
        assert_eq!(read(&mut b, b"hello "), 6);
        assert_eq!(b.capacity(), INITIAL);
        assert_eq!(read(&mut b, b"world"), 5);
        assert_eq!(b.data(), b"hello world");
        assert_eq!(b.take(6), b"hello ");
        assert_eq!(b.data(), b"world");
        b.clear();
        assert!(b.is_empty());
    }

    #[test]
    fn full_reads_double_the_offer_up_to_max_read() {
        let mut b = ReadBuffer::default();
        let big = vec![7u8; 1 << 20];
        let mut sizes = Vec::new();
        for _ in 0..8 {
            let n = read(&mut b, &big);
            sizes.push(n);
            b.clear();
        }
        assert_eq!(sizes[0], INITIAL);
        assert!(sizes.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*sizes.last().unwrap(), MAX_READ);
    }

    #[test]
    fn feed_during_a_loan_moves_and_keeps_the_lent_bytes() {
        let mut b = ReadBuffer::default();
        b.feed(b"ab");
        let (ptr, len) = b.lend();
        b.feed(b"cd"); // the tail is lent: a new allocation
        // SAFETY: the old allocation is kept alive, untouched, until the loan is over.
        let slice = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
        slice[..2].copy_from_slice(b"ef");
        b.filled(2);
        assert_eq!(b.data(), b"abcdef");
    }

    #[test]
    fn compacts_when_the_front_hole_is_large() {
        let mut b = ReadBuffer::default();
        b.feed(&vec![1u8; INITIAL - 100]);
        b.discard(INITIAL - 200);
        let cap = b.capacity();
        b.feed(&[2u8; 1000]);
        assert_eq!(b.capacity(), cap);
        assert_eq!(b.len(), 1100);
    }
}
