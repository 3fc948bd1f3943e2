//! The ecosystem's I/O traits: `futures-io`'s [`AsyncRead`] and [`AsyncBufRead`] on
//! [`StreamReader`], [`AsyncWrite`] on [`StreamWriter`], so runtime-agnostic crates (codecs,
//! `futures::io::copy`, HTTP libraries) run on the tower's streams.
//!
//! `poll_read` copies straight out of the reader's buffer. `poll_fill_buf` must hand out a
//! slice that outlives the state's borrow, so it copies the front of the buffer into the
//! handle (`IoState::staged`) and `consume` takes those bytes out of the shared buffer; the
//! asyncio methods see the same bytes (nothing is taken until `consume`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};
use tower_transport::BaseTransport;

use crate::protocol::{Core, Outcome};
use crate::reader::{OpState, ReadOp, Step, StreamReader};
use crate::writer::StreamWriter;

/// Most bytes one `poll_fill_buf` copies into the handle.
const STAGE_MAX: usize = 64 * 1024;

/// Waits until a byte is buffered or the stream ended (the wait of `poll_read`).
pub(crate) struct Avail;

impl ReadOp for Avail {
    type Output = ();
    const NAME: &'static str = "read";
    fn step(&mut self, core: &mut Core) -> Step<()> {
        if core.buf.is_empty() && !core.eof {
            return Step::Wait;
        }
        Step::Done(Ok(()))
    }
}

/// A reader handle's `futures-io` state.
#[derive(Default)]
pub(crate) struct IoState {
    /// The wait in flight.
    wait: Option<OpState<Avail>>,
    /// A copy of the front of the buffer, for `poll_fill_buf`.
    staged: Vec<u8>,
    /// How much of `staged` was consumed.
    pos: usize,
    /// The buffer's taken-bytes count when `staged[pos]` was its first byte.
    at: u64,
}

impl StreamReader {
    /// Waits for a byte or the end of the stream (`Ok`), or the stream's exception.
    fn poll_avail(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let st = self.io.wait.get_or_insert_with(|| OpState::new(Avail));
        let r = std::task::ready!(st.poll(&self.core, cx));
        if let Some(mut st) = self.io.wait.take() {
            st.cancel(&self.core);
        }
        Poll::Ready(r)
    }

    /// Takes `n` bytes out and resumes the transport if the buffer fell to the limit.
    fn consume_shared(&self, n: usize) {
        let resume = {
            let mut core = self.core.borrow_mut();
            core.buf.end_direct();
            core.buf.discard(n);
            core.should_resume()
        };
        if let Some(t) = resume {
            tower_transport::ReadTransport::resume_reading(&t);
        }
    }
}

impl Drop for StreamReader {
    fn drop(&mut self) {
        if let Some(st) = &mut self.io.wait {
            st.cancel(&self.core);
        }
    }
}

impl AsyncRead for StreamReader {
    /// Reads what is buffered, up to `buf.len()`, waiting for at least one byte; `Ok(0)` at
    /// the end of the stream. The stream's exception is the error.
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        std::task::ready!(self.poll_avail(cx))?;
        let n = {
            let core = self.core.borrow();
            let data = core.buf.data();
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            n
        };
        self.consume_shared(n);
        Poll::Ready(Ok(n))
    }
}

impl AsyncBufRead for StreamReader {
    /// The buffered bytes (a copy of at most 64 KiB of them), waiting for at least one; empty
    /// at the end of the stream.
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        let valid = {
            let core = this.core.borrow();
            this.io.pos < this.io.staged.len() && core.buf.taken() == this.io.at
        };
        if !valid {
            std::task::ready!(this.poll_avail(cx))?;
            let core = this.core.borrow();
            let data = core.buf.data();
            let n = data.len().min(STAGE_MAX);
            this.io.staged.clear();
            this.io.staged.extend_from_slice(&data[..n]);
            this.io.pos = 0;
            this.io.at = core.buf.taken();
        }
        Poll::Ready(Ok(&this.io.staged[this.io.pos..]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        let amt = amt.min(this.io.staged.len() - this.io.pos);
        this.io.pos += amt;
        this.consume_shared(amt);
        this.io.at = this.core.borrow().buf.taken();
    }
}

impl AsyncWrite for StreamWriter {
    /// Waits while the transport paused writing (flow control, as [`drain`](StreamWriter::drain)),
    /// then writes all of `buf` (the transport buffers what the socket does not take).
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if let Some(exc) = this.core.borrow().exception.as_ref() {
            return Poll::Ready(Err(crate::error::raise(exc)));
        }
        let mut token = this.io_token;
        let r = this.poll_flow(&mut token, cx);
        this.io_token = token;
        std::task::ready!(r)?;
        this.write(buf)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let mut token = this.io_token;
        let r = this.poll_flow(&mut token, cx);
        this.io_token = token;
        std::task::ready!(r)?;
        let total = bufs.iter().map(|b| b.len()).sum();
        // One `writelines` (one vectored send); the slices on the stack when they are few, so
        // the common call allocates nothing.
        const ON_STACK: usize = 16;
        if bufs.len() <= ON_STACK {
            let mut slices: [&[u8]; ON_STACK] = [&[]; ON_STACK];
            for (slot, b) in slices.iter_mut().zip(bufs) {
                *slot = b;
            }
            this.writelines(&slices[..bufs.len()])?;
        } else {
            let slices: Vec<&[u8]> = bufs.iter().map(|b| &**b).collect();
            this.writelines(&slices)?;
        }
        Poll::Ready(Ok(total))
    }

    /// Waits until the transport's buffer is at or below its low-water mark (asyncio's
    /// `drain`; the transport sends the rest on its own).
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let mut token = this.io_token;
        let r = this.poll_flow(&mut token, cx);
        this.io_token = token;
        r
    }

    /// Shuts the writing half after the buffer is sent (`write_eof`) where the transport can;
    /// else closes the transport and waits for the connection's end.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.can_write_eof() {
            if !this.transport().is_closing() {
                this.write_eof();
            }
            return Poll::Ready(Ok(()));
        }
        this.close();
        let mut core = this.core.borrow_mut();
        let outcome = match &core.closed {
            Some(o) => o.clone(),
            None => {
                if this.io_close_token == 0 {
                    this.io_close_token = core.token();
                }
                core.closed_waiters.poll(this.io_close_token, cx.waker())
            }
        };
        match outcome {
            Outcome::Pending => Poll::Pending,
            Outcome::Ok => {
                core.closed_waiters.remove(this.io_close_token);
                this.io_close_token = 0;
                Poll::Ready(Ok(()))
            }
            Outcome::Err(e) => {
                core.closed_waiters.remove(this.io_close_token);
                this.io_close_token = 0;
                Poll::Ready(Err(crate::error::raise(&e)))
            }
        }
    }
}
