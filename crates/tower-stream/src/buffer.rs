//! The reader's bytes and the one owner of what is lent to the transport: one contiguous
//! allocation the kernel reads into directly (the transport's `get_buffer`/`buffer_updated`,
//! one copy), read from the front by the `StreamReader`, and, in front of it, a large
//! `readexactly`'s *direct read* (a vector the kernel reads the rest of the message into
//! through `get_buffer_uninit`, returned as it is). How the buffer grows, compacts and shrinks,
//! and when a direct read starts, is in docs/decisions/0014-streams.md.
//!
//! Layout: `vec[start..end]` holds the unread bytes, `vec[end..]` is free (initialised: the
//! allocation is zeroed once when it grows); the reader's data is the direct read's bytes,
//! then `vec[start..end]`.
//!
//! Loans: [`ReadBuffer::lend`] lends the free tail as a `&mut [u8]`, [`ReadBuffer::lend_spare`]
//! the direct read's spare capacity as a `&mut [MaybeUninit<u8>]`; either lives as long as the
//! protocol's borrow that asked for it, and at most one is live (each call of the protocol
//! ends the last). While a loan may be live, nothing here touches the lent bytes, moves or
//! frees the allocation they are in: an operation that must replace that allocation (a feed
//! into a lent tail, a direct read ended while its spare capacity is lent) keeps the old one
//! in `retired`, untouched, until the loan is over, and bytes reported for the loan are then
//! taken from there (see [`Loan`]).

use std::cmp::max;
use std::mem::MaybeUninit;

/// The first allocation.
pub(crate) const INITIAL: usize = 16 * 1024;
/// Below this much free space a read first compacts or grows the buffer.
const MIN_FREE: usize = 4 * 1024;
/// Reads that fill the whole free tail double it, up to this (asyncio's selector transports
/// read at most 256 KiB at a time).
const MAX_READ: usize = 256 * 1024;

/// What may be borrowed by the transport, from a `lend*` until the protocol is called again
/// ([`filled`](ReadBuffer::filled), [`filled_spare`](ReadBuffer::filled_spare) or
/// [`loan_over`](ReadBuffer::loan_over)).
#[derive(Debug, Clone, Copy)]
enum Loan {
    /// `[from, to)` of the buffer's allocation ([`lend`](ReadBuffer::lend)). Invariant while
    /// `retired` is `None`: the allocation is `vec` and `from == end`; else it is `retired`.
    Tail { from: usize, to: usize },
    /// `room` bytes of a direct read's spare capacity, from its `len`
    /// ([`lend_spare`](ReadBuffer::lend_spare)). Invariant: the vector is `direct`'s while
    /// `retired` is `None`, else `retired` (the direct read ended during the loan); only its
    /// `[..len]` is ever read, and its length never changes while lent.
    Spare { room: usize },
}

/// A `readexactly(n)` reading straight into the vector it returns (a *direct* read,
/// docs/decisions/0014-streams.md): its bytes come first in the reader's data.
struct Direct {
    /// The bytes so far; capacity at least `want`. The transport reads into its spare
    /// capacity ([`ReadBuffer::lend_spare`]), never past `want`.
    vec: Vec<u8>,
    /// The `n` of the `readexactly`.
    want: usize,
    /// The token of the waiting read it belongs to.
    token: u64,
}

/// The reader's bytes.
#[derive(Default)]
pub(crate) struct ReadBuffer {
    /// The allocation: `[start, end)` unread, `[end, len)` free.
    vec: Vec<u8>,
    /// First unread byte.
    start: usize,
    /// One past the last unread byte.
    end: usize,
    /// The direct read in flight, if any: its bytes come before `vec[start..end]`.
    direct: Option<Direct>,
    /// What the transport may borrow now, if anything.
    loan: Option<Loan>,
    /// The allocation holding the lent memory, if it was replaced (the buffer's old `vec`, or
    /// an ended direct read's vector) during the loan: kept alive, untouched, until the loan
    /// is over.
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

    /// Whether `vec`'s free tail may be borrowed by the transport now.
    #[inline]
    fn tail_lent(&self) -> bool {
        matches!(self.loan, Some(Loan::Tail { .. })) && self.retired.is_none()
    }

    /// Whether `direct`'s spare capacity may be borrowed by the transport now.
    #[inline]
    fn spare_lent(&self) -> bool {
        matches!(self.loan, Some(Loan::Spare { .. })) && self.retired.is_none()
    }

    /// Moves every unread byte to the end of `out` (a direct read starts): not a read, so
    /// `taken` does not count them.
    fn move_all_into(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.data());
        self.start = self.end;
        if !self.tail_lent() {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Puts `front` back before the unread bytes (a direct read ends unfinished): into the
    /// consumed hole at the front if it fits (nothing lent is touched: a tail loan covers
    /// `[end, len)`), else into a new allocation (the old one, if its tail may be lent, kept in
    /// `retired` as [`feed`](Self::feed) does). Not counted in `taken`.
    fn prepend(&mut self, front: &[u8]) {
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
        let lent = self.tail_lent();
        let prev = std::mem::replace(&mut self.vec, vec);
        if lent {
            self.retired = Some(prev);
        }
        self.start = 0;
        self.end = f + old;
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
        if self.start == self.end && !self.tail_lent() {
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
        if self.tail_lent() {
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
    /// live tail loan into `vec`.
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
        self.loan = Some(Loan::Tail { from, to });
        // `as_mut_ptr` makes no reference to the vector's bytes.
        // SAFETY: `from <= vec.len()`, so the offset stays inside (or one past) the allocation.
        let ptr = unsafe { self.vec.as_mut_ptr().add(from) };
        (ptr, to - from)
    }

    /// The transport read `n` bytes into the tail loan (`buffer_updated`): they become unread
    /// data. Called by the protocol's `buffer_updated(&mut self)`: any loan is over (a count
    /// for a spare-capacity loan only comes through [`filled_spare`](Self::filled_spare), its
    /// bytes may be uninitialised: ignored here).
    pub(crate) fn filled(&mut self, n: usize) {
        let Some(Loan::Tail { from, to }) = self.loan else {
            self.loan_over();
            return;
        };
        self.loan = None;
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

    // --- the direct read ---

    /// Bytes of the direct read so far (0 without one).
    #[inline]
    pub(crate) fn direct_len(&self) -> usize {
        self.direct.as_ref().map_or(0, |d| d.vec.len())
    }

    /// The direct read's `(len, want)`, if any (for `Debug`).
    pub(crate) fn direct_progress(&self) -> Option<(usize, usize)> {
        self.direct.as_ref().map(|d| (d.vec.len(), d.want))
    }

    /// The token of the read owning the direct read, if any.
    #[inline]
    pub(crate) fn direct_owner(&self) -> Option<u64> {
        self.direct.as_ref().map(|d| d.token)
    }

    /// Whether a direct read is in flight and could take bytes from the transport now.
    #[inline]
    pub(crate) fn direct_lendable(&self) -> bool {
        self.direct.as_ref().is_some_and(|d| d.vec.len() < d.want) && self.is_empty()
    }

    /// Starts a direct read of `want` bytes for the waiting read `token` (ending any other):
    /// the unread bytes move into a vector of capacity `want` (a small copy: the caller starts
    /// one only while fewer than `want` are unread).
    #[inline(never)]
    pub(crate) fn start_direct(&mut self, token: u64, want: usize) {
        self.end_direct();
        let mut vec = Vec::with_capacity(want);
        self.move_all_into(&mut vec);
        self.direct = Some(Direct { vec, want, token });
    }

    /// Ends the direct read, if any, unfinished: its bytes go back to the front of the buffer,
    /// in order. If its spare capacity may be lent, the vector is kept in `retired`.
    #[inline(never)]
    pub(crate) fn end_direct(&mut self) {
        let Some(d) = self.direct.take() else {
            return;
        };
        // `d.vec`'s slice is `[0, len)`: the lent memory, if any, is past it.
        self.prepend(&d.vec);
        if self.spare_lent() {
            self.retired = Some(d.vec);
        }
    }

    /// The direct read's vector, if it holds its `want` bytes and none of it is lent (a take:
    /// counted in `taken`).
    #[inline(never)]
    pub(crate) fn take_direct_full(&mut self) -> Option<Vec<u8>> {
        let d = self.direct.as_ref()?;
        if d.vec.len() < d.want || self.spare_lent() {
            return None;
        }
        let d = self.direct.take()?;
        self.taken += d.vec.len() as u64;
        Some(d.vec)
    }

    /// The direct read's spare capacity for one read (the transport's `get_buffer_uninit`):
    /// `None` without a direct read (any earlier loan then stays as it is: the `get_buffer`
    /// that follows ends it), with bytes buffered after the direct read's (new ones go after
    /// them), or with nothing to read; else lends the room left to `want` (the next message's
    /// bytes stay in the kernel, for the buffer). Returns its start and length.
    ///
    /// Called by the protocol's `get_buffer_uninit(&mut self)`: any earlier loan is over.
    pub(crate) fn lend_spare(&mut self) -> Option<(*mut MaybeUninit<u8>, usize)> {
        self.direct.as_ref()?;
        self.loan_over();
        if !self.is_empty() {
            return None;
        }
        let d = self.direct.as_mut()?;
        let room = d.want - d.vec.len();
        if room == 0 || d.vec.capacity() - d.vec.len() < room {
            return None;
        }
        // `as_mut_ptr` makes no reference to the vector's bytes.
        // SAFETY: `len <= capacity`, so the offset stays inside (or one past) the allocation.
        let ptr = unsafe { d.vec.as_mut_ptr().add(d.vec.len()) };
        self.loan = Some(Loan::Spare { room });
        Some((ptr.cast::<MaybeUninit<u8>>(), room))
    }

    /// The transport read `nbytes` into the spare-capacity loan (`buffer_updated_uninit`):
    /// they join the direct read, or, if it ended during the loan, are appended to the buffer.
    /// Returns whether the reader has something new: bytes for the buffer, or a full direct
    /// read (a direct read still short of `want` has nothing for its waiting read yet).
    /// Called by the protocol: the loan is over.
    ///
    /// # Safety
    ///
    /// The caller initialised the first `nbytes` bytes of the memory [`lend_spare`] lent
    /// (capped here at its length), if that loan is the current one.
    ///
    /// [`lend_spare`]: Self::lend_spare
    pub(crate) unsafe fn filled_spare(&mut self, nbytes: usize) -> bool {
        let Some(Loan::Spare { room }) = self.loan else {
            self.loan_over();
            return false;
        };
        self.loan = None;
        let n = nbytes.min(room);
        if n == 0 {
            self.loan_over();
            return false;
        }
        if let Some(old) = self.retired.take() {
            // The direct read ended during the loan: the bytes are in its old vector, after its
            // `len` bytes; they come after everything buffered.
            // SAFETY: the loan was `room` bytes of `old`'s spare capacity from `old.len()` (the
            // `Spare` invariant: kept alive, untouched, its length unchanged), and the caller
            // initialised the first `nbytes` of them (this method's contract); `n` is at most
            // both.
            let bytes = unsafe { std::slice::from_raw_parts(old.as_ptr().add(old.len()), n) };
            self.feed(bytes);
            return true;
        }
        let Some(d) = self.direct.as_mut() else {
            return false;
        };
        // SAFETY: the loan was `d.vec`'s spare capacity `[len, len + room)` (the `Spare`
        // invariant), inside its capacity, and the caller initialised its first `nbytes`
        // (this method's contract): `[0, len + n)` is initialised.
        unsafe { d.vec.set_len(d.vec.len() + n) };
        d.vec.len() >= d.want
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

    /// Writes `data` into a spare-capacity loan and reports it.
    fn read_spare(b: &mut ReadBuffer, data: &[u8]) -> bool {
        let (ptr, room) = b.lend_spare().unwrap();
        let n = data.len().min(room);
        // SAFETY: the loan is `room` bytes at `ptr`, untouched by `b` until `filled_spare`.
        let slice = unsafe { std::slice::from_raw_parts_mut(ptr, room) };
        for (d, s) in slice.iter_mut().zip(&data[..n]) {
            d.write(*s);
        }
        // SAFETY: the first `n` bytes of the loan were just written.
        unsafe { b.filled_spare(n) }
    }

    #[test]
    fn a_direct_read_fills_through_its_spare_capacity() {
        let mut b = ReadBuffer::default();
        b.feed(b"ab");
        b.start_direct(7, 6);
        assert_eq!((b.len(), b.direct_len(), b.direct_owner()), (0, 2, Some(7)));
        assert!(
            !read_spare(&mut b, b"cd"),
            "short of want: nothing to wake for"
        );
        assert!(b.take_direct_full().is_none());
        assert!(read_spare(&mut b, b"efgh"), "only `want - len` is lent");
        assert_eq!(b.take_direct_full().unwrap(), b"abcdef");
        assert_eq!(b.taken(), 6);
    }

    #[test]
    fn a_lent_direct_read_is_never_returned_and_outlives_its_end() {
        let mut b = ReadBuffer::default();
        b.feed(b"xy");
        b.start_direct(1, 4);
        assert_eq!(b.direct_len(), 2);
        let (ptr, room) = b.lend_spare().unwrap();
        assert_eq!(room, 2);
        // Full but lent: not returned. Then ended during the loan: kept in `retired`.
        assert!(b.take_direct_full().is_none());
        b.end_direct();
        b.feed(b"z");
        // SAFETY: the loan is still live: `retired` keeps the vector, untouched.
        let slice = unsafe { std::slice::from_raw_parts_mut(ptr, room) };
        slice[0].write(b'!');
        // SAFETY: the first byte of the loan was just written.
        assert!(unsafe { b.filled_spare(1) });
        assert_eq!(b.data(), b"xyz!");
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
