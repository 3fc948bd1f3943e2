//! The loop-thread fd table of the reactor: an entry per fd number, found by indexing.
//!
//! Every `sock_*` operation finds its fd's entry at least twice (before its syscall, and to
//! wait or to record what the syscall used up), and every event finds one. fd numbers are small
//! and dense (the kernel hands out the lowest free one), so numbers below [`DIRECT`] index a
//! vector of boxed entries, as the kernel's own fd table is a vector of pointers indexed by the
//! number: no hashing, no probing. The vector grows to the highest such number registered, one
//! pointer per number (at most `DIRECT` pointers, 512 KiB), never more than the kernel's table
//! for this process. Other numbers (above `DIRECT`; negative ones never come from an `AsFd`)
//! go to a hash map keyed by one multiplication.
//!
//! Measured (callgrind, TCP echo 50 connections × 200 round trips, single thread): the hashed
//! table's lookups were ~260 instructions per round trip, about 8% of the loop's user-space
//! instructions.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::os::fd::RawFd;

use super::FdEntry;

/// fd numbers below this are indexed directly; others are hashed.
const DIRECT: usize = 1 << 16;

/// Fibonacci hashing of an fd number: spreads consecutive numbers over the table's top bits,
/// which hashbrown's probing uses.
#[derive(Default)]
struct FdHasher(u64);

impl Hasher for FdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_i32(&mut self, n: i32) {
        self.0 = u64::from(n as u32).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The entries of fd numbers at or above [`DIRECT`] (or negative).
type FarMap = HashMap<RawFd, FdEntry, BuildHasherDefault<FdHasher>>;

/// Registrations keyed by fd number (see the module docs).
#[derive(Default)]
pub(crate) struct FdTable {
    /// Entries of the numbers below [`DIRECT`], indexed by the number.
    direct: Vec<Option<Box<FdEntry>>>,
    /// How many `direct` slots hold an entry.
    direct_len: usize,
    /// Entries of the other numbers.
    far: FarMap,
}

/// `fd`'s index in the direct vector, if it has one.
#[inline(always)]
fn direct_index(fd: RawFd) -> Option<usize> {
    usize::try_from(fd).ok().filter(|&i| i < DIRECT)
}

impl FdTable {
    /// Whether no fd has an entry.
    pub(crate) fn is_empty(&self) -> bool {
        self.direct_len == 0 && self.far.is_empty()
    }

    /// The entry of `fd`, if any.
    #[inline]
    pub(crate) fn get(&self, fd: RawFd) -> Option<&FdEntry> {
        match direct_index(fd) {
            Some(i) => self.direct.get(i)?.as_deref(),
            None => self.far.get(&fd),
        }
    }

    /// The entry of `fd`, if any, to change.
    #[inline]
    pub(crate) fn get_mut(&mut self, fd: RawFd) -> Option<&mut FdEntry> {
        match direct_index(fd) {
            Some(i) => self.direct.get_mut(i)?.as_deref_mut(),
            None => self.far.get_mut(&fd),
        }
    }

    /// The entry of `fd`, made empty if there was none.
    #[inline]
    pub(crate) fn get_or_default(&mut self, fd: RawFd) -> &mut FdEntry {
        if let Some(i) = direct_index(fd) {
            if let Some(Some(_)) = self.direct.get(i) {
                // Found (the common case): no allocation, no growth.
                return self.direct[i].as_deref_mut().expect("checked just above");
            }
        }
        self.insert_default(fd)
    }

    /// [`get_or_default`](Self::get_or_default) of an `fd` with no direct entry.
    #[inline(never)]
    fn insert_default(&mut self, fd: RawFd) -> &mut FdEntry {
        match direct_index(fd) {
            Some(i) => {
                if i >= self.direct.len() {
                    self.direct.resize_with(i + 1, || None);
                }
                let slot = &mut self.direct[i];
                if slot.is_none() {
                    self.direct_len += 1;
                }
                slot.get_or_insert_with(Box::default)
            }
            None => self.far.entry(fd).or_default(),
        }
    }

    /// Removes the entry of `fd` and returns it.
    pub(crate) fn remove(&mut self, fd: RawFd) -> Option<FdEntry> {
        match direct_index(fd) {
            Some(i) => {
                let entry = self.direct.get_mut(i)?.take()?;
                self.direct_len -= 1;
                Some(*entry)
            }
            None => self.far.remove(&fd),
        }
    }

    /// Removes every entry, with its fd number.
    pub(crate) fn drain(&mut self) -> Vec<(RawFd, FdEntry)> {
        let direct = std::mem::take(&mut self.direct);
        self.direct_len = 0;
        let mut out: Vec<(RawFd, FdEntry)> = direct
            .into_iter()
            .enumerate()
            .filter_map(|(i, e)| Some((RawFd::try_from(i).ok()?, *e?)))
            .collect();
        out.extend(self.far.drain());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{DIRECT, FdTable};

    // Direct and far numbers alike: made on first use, found, removed, drained; the count of
    // direct entries stays true.
    #[test]
    fn entries_by_number() {
        let mut t = FdTable::default();
        assert!(t.is_empty());
        let far = i32::try_from(DIRECT).unwrap() + 5;
        for fd in [3, 7, far, -1] {
            assert!(t.get(fd).is_none());
            t.get_or_default(fd).ready = 1;
            assert_eq!(t.get(fd).map(|e| e.ready), Some(1));
        }
        t.get_or_default(3).ready = 2;
        assert_eq!(t.get_mut(3).map(|e| e.ready), Some(2));
        assert!(t.remove(7).is_some());
        assert!(t.remove(7).is_none());
        assert!(t.get(7).is_none());
        assert!(t.remove(100).is_none());
        assert!(!t.is_empty());
        let mut fds: Vec<_> = t.drain().into_iter().map(|(fd, _)| fd).collect();
        fds.sort_unstable();
        assert_eq!(fds, vec![-1, 3, far]);
        assert!(t.is_empty());
        assert!(t.get(3).is_none());
    }
}
