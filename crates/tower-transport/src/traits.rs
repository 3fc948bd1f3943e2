//! asyncio's transport classes as traits (`transports.py`): [`BaseTransport`],
//! [`ReadTransport`], [`WriteTransport`], [`DatagramTransport`]. Every method takes `&self`: a
//! transport is a handle, and a protocol calls these from inside its callbacks.

use std::cell::RefCell;
use std::rc::Rc;

use crate::error::{InvalidLimits, SendToError, WriteError};
use crate::extra::{ExtraInfoKey, ExtraKey, ExtraValue, SocketAddress};

/// What every transport has (asyncio's `BaseTransport`).
pub trait BaseTransport {
    /// The protocol type it drives (`dyn StreamEvents` or `dyn DatagramEvents`).
    type Protocol: ?Sized;

    /// Closes the transport: stops reading at once; buffered data is still sent, then the
    /// protocol's `connection_lost(None)` is called. Idempotent.
    fn close(&self);

    /// Whether the transport is closing or closed.
    fn is_closing(&self) -> bool;

    /// The object-safe form of [`get_extra_info`](Self::get_extra_info).
    fn extra_info(&self, key: ExtraKey) -> Option<ExtraValue>;

    /// asyncio's `get_extra_info`, typed by its key:
    /// `transport.get_extra_info(extra::Peername)` is an `Option<SocketAddress>`.
    fn get_extra_info<K: ExtraInfoKey>(&self, key: K) -> Option<K::Value>
    where
        Self: Sized,
    {
        let _ = key;
        K::from_value(self.extra_info(K::KEY)?)
    }

    /// Replaces the protocol: later events go to `protocol` (an event raised inside a running
    /// callback is delivered to the new one once that callback returns).
    fn set_protocol(&self, protocol: Rc<RefCell<Self::Protocol>>);

    /// The current protocol (`None` after `connection_lost`, when the transport dropped it).
    fn get_protocol(&self) -> Option<Rc<RefCell<Self::Protocol>>>;
}

/// The reading half (asyncio's `ReadTransport`).
pub trait ReadTransport: BaseTransport {
    /// Whether the transport is receiving (not paused, not closing).
    fn is_reading(&self) -> bool;

    /// Stops reading until [`resume_reading`](Self::resume_reading); no protocol callback on
    /// data until then. No effect if not reading.
    fn pause_reading(&self);

    /// Reads again after [`pause_reading`](Self::pause_reading). No effect if not paused or if
    /// closing.
    fn resume_reading(&self);
}

/// The writing half (asyncio's `WriteTransport`, with its `_FlowControlMixin`).
pub trait WriteTransport: BaseTransport {
    /// Sends `data`: at once if nothing is buffered, what the kernel does not take is buffered.
    ///
    /// Once `connection_lost` is due (after `close` with the buffer empty or drained, `abort`,
    /// a fatal error), non-empty writes are dropped and counted, as asyncio's; the fifth
    /// (asyncio's `LOG_THRESHOLD_FOR_CONNLOST_WRITES`) is reported once to the loop's exception
    /// handler, the others are silent (asyncio logs the fifth and every later one: here each
    /// report is a call of the user's handler, and one shows the bug). `writelines` counts
    /// alike. After `close` with data still buffered, writes are buffered and sent (asyncio's).
    ///
    /// # Errors
    ///
    /// [`WriteError::AfterWriteEof`] after [`write_eof`](Self::write_eof).
    fn write(&self, data: &[u8]) -> Result<(), WriteError>;

    /// Sends the pieces in order, as one vectored write.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    fn writelines(&self, data: &[&[u8]]) -> Result<(), WriteError>;

    /// Shuts the writing half once the buffer drains; reading goes on. No effect if closing.
    fn write_eof(&self);

    /// Whether [`write_eof`](Self::write_eof) is supported.
    fn can_write_eof(&self) -> bool;

    /// Closes at once: buffered data is dropped, `connection_lost(None)` is scheduled.
    fn abort(&self);

    /// Bytes buffered, not yet taken by the kernel.
    fn get_write_buffer_size(&self) -> usize;

    /// `(low, high)`, the water marks.
    fn get_write_buffer_limits(&self) -> (usize, usize);

    /// Sets the water marks: `high` defaults to 64 KiB (or 4 × `low` if only `low` is given),
    /// `low` to `high / 4`. May pause the protocol at once.
    ///
    /// # Errors
    ///
    /// [`InvalidLimits`] unless high ≥ low.
    fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> Result<(), InvalidLimits>;
}

/// A datagram endpoint (asyncio's `DatagramTransport`).
pub trait DatagramTransport: BaseTransport {
    /// Sends one datagram to `addr` (or to the connected peer): at once if nothing is buffered.
    /// Send errors go to the protocol's `error_received`. Once `connection_lost` is due,
    /// datagrams are dropped and counted as [`WriteTransport::write`]'s writes are (the fifth
    /// reported once).
    ///
    /// # Errors
    ///
    /// [`SendToError`] for an address the transport cannot send to.
    fn sendto(&self, data: &[u8], addr: Option<&SocketAddress>) -> Result<(), SendToError>;

    /// Closes at once: buffered datagrams are dropped, `connection_lost(None)` is scheduled.
    fn abort(&self);
}
