//! What the transports keep per loop ([`EventLoop::attached`]): the reusable read buffer, and
//! the open transports, closed by an `on_close` hook when the loop closes with them open.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};

use tower_loop::EventLoop;

/// asyncio's `max_size`: the most one read takes (and the read buffer's size).
pub(crate) const MAX_READ: usize = 256 * 1024;

/// The read buffer's alignment: a page.
const PAGE: usize = 4096;

/// The loop's read buffer: [`MAX_READ`] bytes starting on a page boundary ([`area`](Self::area)).
///
/// Why aligned: the kernel's copy into it (`recv`) runs `rep movsb`, which on the AMD machines
/// this was measured on is 15–100× slower when the destination is 1–63 bytes ahead of the source
/// modulo 4 KiB. A 256 KiB allocation comes from `mmap` with a 16-byte header, so its bytes
/// start 16 bytes into a page, while a TCP stream's bytes sit in the kernel's pages at offsets
/// of the stream position: every read of a stream of 4 KiB multiples hit the slow case
/// (`perf` of the 100 KiB echo server: `_copy_to_iter` 54% of samples, 16% page-aligned;
/// docs/decisions/0013-protocols.md).
pub(crate) struct ReadBuf(Box<[u8]>);

impl ReadBuf {
    /// A zeroed buffer with room for a page-aligned window of [`MAX_READ`] bytes.
    fn new() -> ReadBuf {
        ReadBuf(vec![0u8; MAX_READ + PAGE].into_boxed_slice())
    }

    /// The [`MAX_READ`] bytes a read goes into, starting on a page boundary.
    pub(crate) fn area(&mut self) -> &mut [u8] {
        let off = self.0.as_ptr().align_offset(PAGE).min(PAGE);
        &mut self.0[off..off + MAX_READ]
    }
}

/// A transport the loop's close must finish.
pub(crate) trait OnLoopClose {
    /// The loop is closing: drop buffers and registrations, call `connection_lost` now.
    fn loop_closed(self: Rc<Self>);
}

/// The per-loop state.
#[derive(Default)]
pub(crate) struct PerLoop {
    /// The read buffer, out of its slot while a read uses it.
    read_buf: Cell<Option<ReadBuf>>,
    /// Open transports by slot index; `None` is a free slot.
    open: RefCell<Vec<Option<Weak<dyn OnLoopClose>>>>,
    /// Free slot indices.
    free: RefCell<Vec<usize>>,
    /// The loop's `on_close` hook is registered.
    hooked: Cell<bool>,
}

impl fmt::Debug for PerLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open = self.open.borrow().iter().filter(|s| s.is_some()).count();
        f.debug_struct("PerLoop").field("open", &open).finish()
    }
}

/// The per-loop state of `lp`, made (with its close hook) on first use. Looked up once per
/// transport, where it is made: each keeps the `Rc` (`Life::per_loop`), so no event looks it
/// up again.
pub(crate) fn per_loop(lp: &EventLoop) -> Rc<PerLoop> {
    let pl = lp.attached(PerLoop::default);
    if !pl.hooked.replace(true) {
        let hook = pl.clone();
        lp.on_close(move || hook.close_all());
    }
    pl
}

impl PerLoop {
    /// Registers an open transport; returns its slot index.
    pub(crate) fn register(&self, t: Weak<dyn OnLoopClose>) -> usize {
        if let Some(i) = self.free.borrow_mut().pop() {
            self.open.borrow_mut()[i] = Some(t);
            return i;
        }
        let mut open = self.open.borrow_mut();
        open.push(Some(t));
        open.len() - 1
    }

    /// Frees slot `index`.
    pub(crate) fn unregister(&self, index: usize) {
        if let Some(slot) = self.open.borrow_mut().get_mut(index) {
            if slot.take().is_some() {
                self.free.borrow_mut().push(index);
            }
        }
    }

    /// Takes the read buffer (a fresh one if it is out or not made yet).
    pub(crate) fn take_read_buf(&self) -> ReadBuf {
        self.read_buf.take().unwrap_or_else(ReadBuf::new)
    }

    /// Puts the read buffer back.
    pub(crate) fn put_read_buf(&self, buf: ReadBuf) {
        self.read_buf.set(Some(buf));
    }

    /// The loop closes: finishes every open transport.
    fn close_all(&self) {
        let open = std::mem::take(&mut *self.open.borrow_mut());
        self.free.borrow_mut().clear();
        for t in open.into_iter().flatten() {
            if let Some(t) = t.upgrade() {
                t.loop_closed();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_READ, PAGE, ReadBuf};

    #[test]
    fn the_read_area_is_max_read_bytes_on_a_page_boundary() {
        for _ in 0..4 {
            let mut buf = ReadBuf::new();
            let area = buf.area();
            assert_eq!(area.len(), MAX_READ);
            assert_eq!(area.as_ptr() as usize % PAGE, 0);
        }
    }
}
