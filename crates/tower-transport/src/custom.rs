//! [`CustomStreamTransport`]: the hook that lets a higher tier supply a stream transport of its
//! own — TLS's application-side transport (tier 8, docs/decisions/0015-tls.md), asyncio's
//! `_SSLProtocolTransport` — behind tier 7's [`StreamTransport`](crate::StreamTransport), so a
//! protocol gets it in `connection_made` like any other. Tier 7's own transports never go
//! through it: their calls stay direct.

use std::any::Any;
use std::fmt;

use crate::error::{InvalidLimits, WriteError};
use crate::events::SharedStreamEvents;
use crate::extra::{ExtraKey, ExtraValue};

/// The methods of a stream transport, object-safe, for a transport a higher tier implements;
/// wrap it as `StreamTransport::Custom(Rc<dyn CustomStreamTransport>)`. Each method means what
/// its namesake in [`BaseTransport`](crate::BaseTransport), [`ReadTransport`](crate::ReadTransport)
/// and [`WriteTransport`](crate::WriteTransport) means.
pub trait CustomStreamTransport: fmt::Debug + 'static {
    /// [`BaseTransport::close`](crate::BaseTransport::close).
    fn close(&self);
    /// [`BaseTransport::is_closing`](crate::BaseTransport::is_closing).
    fn is_closing(&self) -> bool;
    /// [`BaseTransport::extra_info`](crate::BaseTransport::extra_info).
    fn extra_info(&self, key: ExtraKey) -> Option<ExtraValue>;
    /// [`BaseTransport::set_protocol`](crate::BaseTransport::set_protocol).
    fn set_protocol(&self, protocol: SharedStreamEvents);
    /// [`BaseTransport::get_protocol`](crate::BaseTransport::get_protocol).
    fn get_protocol(&self) -> Option<SharedStreamEvents>;
    /// [`ReadTransport::is_reading`](crate::ReadTransport::is_reading).
    fn is_reading(&self) -> bool;
    /// [`ReadTransport::pause_reading`](crate::ReadTransport::pause_reading).
    fn pause_reading(&self);
    /// [`ReadTransport::resume_reading`](crate::ReadTransport::resume_reading).
    fn resume_reading(&self);
    /// [`WriteTransport::write`](crate::WriteTransport::write).
    ///
    /// # Errors
    ///
    /// As [`WriteTransport::write`](crate::WriteTransport::write).
    fn write(&self, data: &[u8]) -> Result<(), WriteError>;
    /// [`WriteTransport::writelines`](crate::WriteTransport::writelines).
    ///
    /// # Errors
    ///
    /// As [`WriteTransport::write`](crate::WriteTransport::write).
    fn writelines(&self, data: &[&[u8]]) -> Result<(), WriteError>;
    /// [`WriteTransport::write_eof`](crate::WriteTransport::write_eof).
    fn write_eof(&self);
    /// [`WriteTransport::can_write_eof`](crate::WriteTransport::can_write_eof).
    fn can_write_eof(&self) -> bool;
    /// [`WriteTransport::abort`](crate::WriteTransport::abort).
    fn abort(&self);
    /// [`WriteTransport::get_write_buffer_size`](crate::WriteTransport::get_write_buffer_size).
    fn get_write_buffer_size(&self) -> usize;
    /// [`WriteTransport::get_write_buffer_limits`](crate::WriteTransport::get_write_buffer_limits).
    fn get_write_buffer_limits(&self) -> (usize, usize);
    /// [`WriteTransport::set_write_buffer_limits`](crate::WriteTransport::set_write_buffer_limits).
    ///
    /// # Errors
    ///
    /// [`InvalidLimits`] unless high ≥ low.
    fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> Result<(), InvalidLimits>;
    /// The transport as `Any`, for its tier to reach its own type
    /// ([`StreamTransport::as_custom`](crate::StreamTransport::as_custom), then `downcast_ref`).
    fn as_any(&self) -> &dyn Any;
}
