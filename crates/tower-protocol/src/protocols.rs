//! asyncio's protocol classes (`protocols.py`) on tier 7's event interface.
//!
//! A transport calls an event interface of tier 7 ([`tower_transport::StreamEvents`],
//! [`tower_transport::DatagramEvents`]); those *are* asyncio's `Protocol` and
//! `DatagramProtocol`, so this tier names them so and adds nothing between the transport and
//! the protocol. [`BufferedProtocol`] is its own trait, as in asyncio, and runs on a transport
//! through the [`Buffered`] adapter. Decision: docs/decisions/0013-protocols.md.

use std::io;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};

use tower_transport::{StreamEvents, StreamTransport};

/// asyncio's `Protocol`: what a stream transport calls — `connection_made`, then
/// `data_received` any number of times, then at most one `eof_received`, then exactly one
/// `connection_lost`; `pause_writing`/`resume_writing` alternate in between. This is tier 7's
/// [`StreamEvents`] under asyncio's name: implement it and hand the protocol to a factory.
///
/// ```
/// use std::io;
/// use tower_protocol::Protocol;
/// use tower_transport::{StreamTransport, WriteTransport};
///
/// /// Echoes what it receives.
/// #[derive(Default)]
/// struct Echo(Option<StreamTransport>);
///
/// impl Protocol for Echo {
///     fn connection_made(&mut self, transport: StreamTransport) {
///         self.0 = Some(transport);
///     }
///     fn data_received(&mut self, data: &[u8]) {
///         self.0.as_ref().unwrap().write(data).unwrap();
///     }
///     fn connection_lost(&mut self, _exc: Option<io::Error>) {
///         self.0 = None;
///     }
/// }
/// # let _ = Echo::default();
/// ```
pub use tower_transport::StreamEvents as Protocol;

/// asyncio's `DatagramProtocol`: `connection_made`, then `datagram_received`/`error_received`
/// any number of times, then exactly one `connection_lost`. Tier 7's
/// [`DatagramEvents`](tower_transport::DatagramEvents) under asyncio's name.
pub use tower_transport::DatagramEvents as DatagramProtocol;

/// asyncio's `BufferedProtocol`: the transport reads straight into memory the protocol hands
/// out ([`get_buffer`](Self::get_buffer)) and says how much it wrote
/// ([`buffer_updated`](Self::buffer_updated)) — one copy, from the kernel into the protocol.
/// Wrap it in [`Buffered`] to give it to a transport or a factory.
///
/// ```
/// use tower_protocol::{Buffered, BufferedProtocol};
///
/// /// Counts the bytes it is given, in a 4 KiB buffer it reuses.
/// struct Count { buf: Vec<u8>, total: usize }
///
/// impl BufferedProtocol for Count {
///     fn get_buffer(&mut self, _size_hint: usize) -> &mut [u8] {
///         &mut self.buf
///     }
///     fn buffer_updated(&mut self, nbytes: usize) {
///         self.total += nbytes;
///     }
/// }
/// let p = Buffered(Count { buf: vec![0; 4096], total: 0 });
/// assert_eq!(p.total, 0); // `Buffered` derefs to the protocol
/// ```
#[allow(unused_variables)]
pub trait BufferedProtocol: 'static {
    /// The connection is up; `transport` is this protocol's transport (keep a clone to write).
    fn connection_made(&mut self, transport: StreamTransport) {}

    /// Memory for the next read. `size_hint` is 0 when any size will do (asyncio's -1). An
    /// empty buffer is a fatal error for the transport, as in asyncio.
    fn get_buffer(&mut self, size_hint: usize) -> &mut [u8];

    /// The last [`get_buffer`](Self::get_buffer) received `nbytes` bytes at its start.
    fn buffer_updated(&mut self, nbytes: usize);

    /// Optionally, *uninitialised* memory for the next read, asked before
    /// [`get_buffer`](Self::get_buffer) (`None`, the default: use `get_buffer`); the count
    /// comes back through [`buffer_updated_uninit`](Self::buffer_updated_uninit). An empty
    /// slice is a fatal error, as `get_buffer`'s. (Tier 7's
    /// [`StreamEvents::get_buffer_uninit`].)
    fn get_buffer_uninit(&mut self, size_hint: usize) -> Option<&mut [MaybeUninit<u8>]> {
        None
    }

    /// The last [`get_buffer_uninit`](Self::get_buffer_uninit) received `nbytes` bytes at its
    /// start. The default forwards to [`buffer_updated`](Self::buffer_updated).
    ///
    /// # Safety
    ///
    /// The caller initialised the first `nbytes` bytes of the slice the last
    /// `get_buffer_uninit` returned (`nbytes` at most its length), and called no other method
    /// of this protocol in between.
    unsafe fn buffer_updated_uninit(&mut self, nbytes: usize) {
        self.buffer_updated(nbytes);
    }

    /// The peer shut its writing half. Return `true` to keep the transport open for writing.
    fn eof_received(&mut self) -> bool {
        false
    }

    /// The write buffer went above the high-water mark.
    fn pause_writing(&mut self) {}

    /// The write buffer drained to the low-water mark or below.
    fn resume_writing(&mut self) {}

    /// The connection is gone (`None`: closed or end of stream; the error otherwise). Called
    /// exactly once.
    fn connection_lost(&mut self, exc: Option<io::Error>) {}
}

/// A [`BufferedProtocol`] as a transport drives it: the transport reads into
/// [`get_buffer`](BufferedProtocol::get_buffer) instead of calling `data_received`. Derefs to
/// the protocol.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Buffered<P>(pub P);

impl<P> Buffered<P> {
    /// The protocol inside.
    pub fn into_inner(self) -> P {
        self.0
    }
}

impl<P> Deref for Buffered<P> {
    type Target = P;
    fn deref(&self) -> &P {
        &self.0
    }
}

impl<P> DerefMut for Buffered<P> {
    fn deref_mut(&mut self) -> &mut P {
        &mut self.0
    }
}

impl<P: BufferedProtocol> StreamEvents for Buffered<P> {
    fn connection_made(&mut self, transport: StreamTransport) {
        self.0.connection_made(transport);
    }
    fn buffered(&self) -> bool {
        true
    }
    fn get_buffer(&mut self, size_hint: usize) -> &mut [u8] {
        self.0.get_buffer(size_hint)
    }
    fn buffer_updated(&mut self, nbytes: usize) {
        self.0.buffer_updated(nbytes);
    }
    fn get_buffer_uninit(&mut self, size_hint: usize) -> Option<&mut [MaybeUninit<u8>]> {
        self.0.get_buffer_uninit(size_hint)
    }
    /// # Safety
    ///
    /// The trait method's contract: `nbytes` bytes of the last `get_buffer_uninit` slice are
    /// initialised.
    unsafe fn buffer_updated_uninit(&mut self, nbytes: usize) {
        // SAFETY: the caller's promise (this method's contract) is the inner one's.
        unsafe { self.0.buffer_updated_uninit(nbytes) }
    }
    fn eof_received(&mut self) -> bool {
        self.0.eof_received()
    }
    fn pause_writing(&mut self) {
        self.0.pause_writing();
    }
    fn resume_writing(&mut self) {
        self.0.resume_writing();
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.0.connection_lost(exc);
    }
}

#[cfg(test)]
mod tests {
    use std::mem::MaybeUninit;

    use super::*;

    /// Reads into a `Vec`'s spare capacity when `uninit`, else into a zeroed buffer.
    struct Vecs {
        uninit: bool,
        vec: Vec<u8>,
        plain: Vec<u8>,
        got: Vec<u8>,
    }

    impl BufferedProtocol for Vecs {
        fn get_buffer(&mut self, _size_hint: usize) -> &mut [u8] {
            &mut self.plain
        }
        fn buffer_updated(&mut self, nbytes: usize) {
            self.got.extend_from_slice(&self.plain[..nbytes]);
        }
        fn get_buffer_uninit(&mut self, _size_hint: usize) -> Option<&mut [MaybeUninit<u8>]> {
            if !self.uninit {
                return None;
            }
            self.vec.clear();
            self.vec.reserve(4);
            Some(&mut self.vec.spare_capacity_mut()[..4])
        }
        /// # Safety
        ///
        /// The trait method's contract: `nbytes` bytes of the last `get_buffer_uninit` slice are
        /// initialised.
        unsafe fn buffer_updated_uninit(&mut self, nbytes: usize) {
            // SAFETY: the caller initialised `nbytes <= 4` bytes of the spare capacity lent.
            unsafe { self.vec.set_len(nbytes) };
            self.got.extend_from_slice(&self.vec);
        }
    }

    /// What a transport does with an uninit loan: writes `data` into it, reports the count.
    fn fill(p: &mut dyn StreamEvents, data: &[u8]) -> bool {
        let Some(buf) = p.get_buffer_uninit(0) else {
            return false;
        };
        let n = data.len().min(buf.len());
        for (d, s) in buf.iter_mut().zip(&data[..n]) {
            d.write(*s);
        }
        // SAFETY: the first `n` bytes of the slice were just written.
        unsafe { p.buffer_updated_uninit(n) };
        true
    }

    #[test]
    fn buffered_forwards_the_uninit_opt_in() {
        let mut p = Buffered(Vecs {
            uninit: true,
            vec: Vec::new(),
            plain: vec![0; 4],
            got: Vec::new(),
        });
        assert!(fill(&mut p, b"abc"));
        assert!(fill(&mut p, b"defgh"));
        assert_eq!(p.got, b"abcdefg");
    }

    #[test]
    fn without_the_opt_in_get_buffer_uninit_is_none() {
        let mut p = Buffered(Vecs {
            uninit: false,
            vec: Vec::new(),
            plain: vec![0; 4],
            got: Vec::new(),
        });
        assert!(!fill(&mut p, b"abc"));
        assert!(p.got.is_empty());
    }
}
