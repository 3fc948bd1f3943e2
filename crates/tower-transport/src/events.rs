//! The event interface a transport drives (docs/decisions/0012): [`StreamEvents`] for stream
//! transports, [`DatagramEvents`] for datagram ones. Tier 8's `Protocol`, `BufferedProtocol`
//! and `DatagramProtocol` sit on these; every method has asyncio's default (do nothing).

use std::cell::RefCell;
use std::io;
use std::mem::MaybeUninit;
use std::rc::Rc;

use crate::datagram::DatagramSocketTransport;
use crate::extra::SocketAddress;
use crate::stream::StreamTransport;

/// How a transport holds its stream protocol, and what `set_protocol`/`get_protocol` exchange.
pub type SharedStreamEvents = Rc<RefCell<dyn StreamEvents>>;

/// How a datagram transport holds its protocol.
pub type SharedDatagramEvents = Rc<RefCell<dyn DatagramEvents>>;

/// What a stream transport calls on its protocol, in asyncio's order: `connection_made`, then
/// `data_received` (or `get_buffer`/`buffer_updated`) any number of times, then at most one
/// `eof_received`, then exactly one `connection_lost`; `pause_writing`/`resume_writing`
/// alternate in between.
///
/// Each call holds the protocol's `RefCell` borrowed; from inside it the protocol may call any
/// method of its transport. `pause_writing`/`resume_writing` raised by such a call are
/// delivered as soon as the running callback returns (decision 0012).
///
/// ```
/// use std::io;
/// use tower_transport::{StreamEvents, StreamTransport, WriteTransport};
///
/// /// Echoes what it receives.
/// #[derive(Default)]
/// struct Echo(Option<StreamTransport>);
///
/// impl StreamEvents for Echo {
///     fn connection_made(&mut self, transport: StreamTransport) {
///         self.0 = Some(transport);
///     }
///     fn data_received(&mut self, data: &[u8]) {
///         self.0.as_ref().unwrap().write(data).unwrap();
///     }
///     fn connection_lost(&mut self, _exc: Option<io::Error>) {
///         self.0 = None; // drop the transport: nothing keeps the pair alive
///     }
/// }
/// # let _ = Echo::default();
/// ```
#[allow(unused_variables)]
pub trait StreamEvents: 'static {
    /// The connection is up; `transport` is this protocol's transport (keep a clone to write).
    fn connection_made(&mut self, transport: StreamTransport) {}

    /// `true` for a buffered protocol (asyncio's `BufferedProtocol`): the transport reads into
    /// [`get_buffer`](Self::get_buffer) and calls [`buffer_updated`](Self::buffer_updated)
    /// instead of [`data_received`](Self::data_received). Asked before each read.
    fn buffered(&self) -> bool {
        false
    }

    /// Bytes arrived (the slice is the loop's reusable read buffer: copy what you keep).
    fn data_received(&mut self, data: &[u8]) {}

    /// Buffered protocols: memory for the next read. `size_hint` is 0 (asyncio's -1: any size).
    /// An empty buffer is a fatal error for the transport.
    fn get_buffer(&mut self, size_hint: usize) -> &mut [u8] {
        &mut []
    }

    /// Buffered protocols: the last [`get_buffer`](Self::get_buffer) got `nbytes` bytes.
    fn buffer_updated(&mut self, nbytes: usize) {}

    /// Buffered protocols, optionally: *uninitialised* memory for the next read, asked before
    /// [`get_buffer`](Self::get_buffer) (`None`, the default: use `get_buffer`). The
    /// transport reads into it and reports the count with
    /// [`buffer_updated_uninit`](Self::buffer_updated_uninit). Lets a protocol read straight
    /// into a `Vec`'s spare capacity without zeroing it first. An empty slice is a fatal error,
    /// as `get_buffer`'s.
    fn get_buffer_uninit(&mut self, size_hint: usize) -> Option<&mut [MaybeUninit<u8>]> {
        None
    }

    /// Buffered protocols: the last [`get_buffer_uninit`](Self::get_buffer_uninit) got
    /// `nbytes` bytes at its start. The default forwards to
    /// [`buffer_updated`](Self::buffer_updated).
    ///
    /// # Safety
    ///
    /// The caller initialised the first `nbytes` bytes of the slice the last
    /// `get_buffer_uninit` returned (`nbytes` at most its length), and calls no other method of
    /// this protocol in between.
    unsafe fn buffer_updated_uninit(&mut self, nbytes: usize) {
        self.buffer_updated(nbytes);
    }

    /// The peer shut its writing half. Return `true` to keep the transport open for writing
    /// (half-close); `false` closes it.
    fn eof_received(&mut self) -> bool {
        false
    }

    /// The write buffer went above the high-water mark.
    fn pause_writing(&mut self) {}

    /// The write buffer drained to the low-water mark or below.
    fn resume_writing(&mut self) {}

    /// The connection is gone: `None` after `close`/`abort`/end of stream, the error after a
    /// socket error. Called exactly once; the transport drops the protocol after it.
    fn connection_lost(&mut self, exc: Option<io::Error>) {}
}

/// What a datagram transport calls on its protocol: `connection_made`, then
/// `datagram_received`/`error_received` any number of times, then exactly one
/// `connection_lost`.
#[allow(unused_variables)]
pub trait DatagramEvents: 'static {
    /// The endpoint is up; `transport` is this protocol's transport.
    fn connection_made(&mut self, transport: DatagramSocketTransport) {}

    /// A datagram arrived from `addr` (the slice is the loop's reusable read buffer).
    fn datagram_received(&mut self, data: &[u8], addr: Option<SocketAddress>) {}

    /// A send or receive failed (for example `ECONNREFUSED` after an ICMP port unreachable);
    /// the transport stays open.
    fn error_received(&mut self, exc: io::Error) {}

    /// The send buffer went above the high-water mark.
    fn pause_writing(&mut self) {}

    /// The send buffer drained to the low-water mark or below.
    fn resume_writing(&mut self) {}

    /// The endpoint is closed; called exactly once.
    fn connection_lost(&mut self, exc: Option<io::Error>) {}
}

/// The flow-control half of both interfaces, for the delivery code ([`crate::deliver`]).
pub(crate) trait FlowTarget {
    /// `pause_writing`.
    fn pause(&mut self);
    /// `resume_writing`.
    fn resume(&mut self);
    /// `error_received` (datagram protocols; stream protocols never get one).
    fn error(&mut self, exc: io::Error);
}

impl FlowTarget for dyn StreamEvents {
    fn pause(&mut self) {
        self.pause_writing();
    }
    fn resume(&mut self) {
        self.resume_writing();
    }
    fn error(&mut self, _exc: io::Error) {}
}

impl FlowTarget for dyn DatagramEvents {
    fn pause(&mut self) {
        self.pause_writing();
    }
    fn resume(&mut self) {
        self.resume_writing();
    }
    fn error(&mut self, exc: io::Error) {
        self.error_received(exc);
    }
}
