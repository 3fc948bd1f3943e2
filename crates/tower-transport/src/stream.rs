//! [`StreamTransport`]: the handle a stream protocol is given in `connection_made` — any of the
//! stream transports, behind one type, implementing the transport traits by delegation.

use crate::error::{InvalidLimits, WriteError};
use crate::events::SharedStreamEvents;
use crate::extra::{ExtraKey, ExtraValue};
use crate::socket::SocketTransport;
use crate::traits::{BaseTransport, ReadTransport, WriteTransport};

/// A stream transport: what [`StreamEvents::connection_made`](crate::StreamEvents::connection_made)
/// hands the protocol. Clones are the same transport.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StreamTransport {
    /// Over a TCP or Unix stream socket.
    Socket(SocketTransport),
}

impl From<SocketTransport> for StreamTransport {
    fn from(t: SocketTransport) -> Self {
        StreamTransport::Socket(t)
    }
}

impl StreamTransport {
    /// The socket transport, if it is one.
    pub fn as_socket(&self) -> Option<&SocketTransport> {
        match self {
            StreamTransport::Socket(t) => Some(t),
        }
    }
}

macro_rules! delegate {
    ($self:ident, $t:ident => $e:expr) => {
        match $self {
            StreamTransport::Socket($t) => $e,
        }
    };
}

impl BaseTransport for StreamTransport {
    type Protocol = dyn crate::StreamEvents;

    fn close(&self) {
        delegate!(self, t => t.close())
    }
    fn is_closing(&self) -> bool {
        delegate!(self, t => t.is_closing())
    }
    fn extra_info(&self, key: ExtraKey) -> Option<ExtraValue> {
        delegate!(self, t => t.extra_info(key))
    }
    fn set_protocol(&self, protocol: SharedStreamEvents) {
        delegate!(self, t => t.set_protocol(protocol))
    }
    fn get_protocol(&self) -> Option<SharedStreamEvents> {
        delegate!(self, t => t.get_protocol())
    }
}

impl ReadTransport for StreamTransport {
    fn is_reading(&self) -> bool {
        delegate!(self, t => t.is_reading())
    }
    fn pause_reading(&self) {
        delegate!(self, t => t.pause_reading())
    }
    fn resume_reading(&self) {
        delegate!(self, t => t.resume_reading())
    }
}

impl WriteTransport for StreamTransport {
    fn write(&self, data: &[u8]) -> Result<(), WriteError> {
        delegate!(self, t => t.write(data))
    }
    fn writelines(&self, data: &[&[u8]]) -> Result<(), WriteError> {
        delegate!(self, t => t.writelines(data))
    }
    fn write_eof(&self) {
        delegate!(self, t => t.write_eof())
    }
    fn can_write_eof(&self) -> bool {
        delegate!(self, t => t.can_write_eof())
    }
    fn abort(&self) {
        delegate!(self, t => t.abort())
    }
    fn get_write_buffer_size(&self) -> usize {
        delegate!(self, t => t.get_write_buffer_size())
    }
    fn get_write_buffer_limits(&self) -> (usize, usize) {
        delegate!(self, t => t.get_write_buffer_limits())
    }
    fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> Result<(), InvalidLimits> {
        delegate!(self, t => t.set_write_buffer_limits(high, low))
    }
}
