//! What the transports keep per loop ([`EventLoop::attached`]): the reusable read buffer, and
//! the open transports, closed by an `on_close` hook when the loop closes with them open.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};

use tower_loop::EventLoop;

/// asyncio's `max_size`: the most one read takes (and the read buffer's size).
pub(crate) const MAX_READ: usize = 256 * 1024;

/// A transport the loop's close must finish.
pub(crate) trait OnLoopClose {
    /// The loop is closing: drop buffers and registrations, call `connection_lost` now.
    fn loop_closed(self: Rc<Self>);
}

/// The per-loop state.
#[derive(Default)]
pub(crate) struct PerLoop {
    /// The read buffer, out of its slot while a read uses it.
    read_buf: Cell<Option<Box<[u8]>>>,
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
    pub(crate) fn take_read_buf(&self) -> Box<[u8]> {
        self.read_buf
            .take()
            .unwrap_or_else(|| vec![0u8; MAX_READ].into_boxed_slice())
    }

    /// Puts the read buffer back.
    pub(crate) fn put_read_buf(&self, buf: Box<[u8]>) {
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
