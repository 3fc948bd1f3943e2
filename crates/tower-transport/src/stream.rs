//! [`StreamTransport`]: the handle a stream protocol is given in `connection_made` — any of the
//! stream transports, behind one type, implementing the transport traits (a read pipe refuses
//! writes with [`WriteError::NotWritable`]; a write pipe never reads), or a higher tier's own
//! ([`StreamTransport::Custom`], e.g. TLS's application-side transport).

use std::rc::Rc;

use crate::custom::CustomStreamTransport;
use crate::error::{InvalidLimits, WriteError};
use crate::events::SharedStreamEvents;
use crate::extra::{ExtraKey, ExtraValue};
use crate::pipe::{ReadPipeTransport, WritePipeTransport};
use crate::socket::SocketTransport;
use crate::stream_core::StreamCore;
use crate::traits::{BaseTransport, ReadTransport, WriteTransport};

/// A stream transport: what [`StreamEvents::connection_made`](crate::StreamEvents::connection_made)
/// hands the protocol. Clones are the same transport.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StreamTransport {
    /// Over a TCP or Unix stream socket.
    Socket(SocketTransport),
    /// Over the read end of a pipe.
    ReadPipe(ReadPipeTransport),
    /// Over the write end of a pipe.
    WritePipe(WritePipeTransport),
    /// A transport a higher tier implements (TLS's application-side transport): every call
    /// goes to the trait object.
    Custom(Rc<dyn CustomStreamTransport>),
}

impl From<SocketTransport> for StreamTransport {
    fn from(t: SocketTransport) -> Self {
        StreamTransport::Socket(t)
    }
}

impl From<ReadPipeTransport> for StreamTransport {
    fn from(t: ReadPipeTransport) -> Self {
        StreamTransport::ReadPipe(t)
    }
}

impl From<WritePipeTransport> for StreamTransport {
    fn from(t: WritePipeTransport) -> Self {
        StreamTransport::WritePipe(t)
    }
}

impl StreamTransport {
    /// The socket transport, if it is one.
    pub fn as_socket(&self) -> Option<&SocketTransport> {
        match self {
            StreamTransport::Socket(t) => Some(t),
            _ => None,
        }
    }

    /// The higher tier's transport, if it is one ([`StreamTransport::Custom`]).
    pub fn as_custom(&self) -> Option<&Rc<dyn CustomStreamTransport>> {
        match self {
            StreamTransport::Custom(t) => Some(t),
            _ => None,
        }
    }

    /// The shared core of tier 7's transports, or the higher tier's transport.
    #[inline]
    fn core(&self) -> Result<&Rc<StreamCore>, &dyn CustomStreamTransport> {
        match self {
            StreamTransport::Socket(t) => Ok(&t.0),
            StreamTransport::ReadPipe(t) => Ok(&t.0),
            StreamTransport::WritePipe(t) => Ok(&t.0),
            StreamTransport::Custom(t) => Err(&**t),
        }
    }
}

impl From<Rc<dyn CustomStreamTransport>> for StreamTransport {
    fn from(t: Rc<dyn CustomStreamTransport>) -> Self {
        StreamTransport::Custom(t)
    }
}

/// `$self.core()`'s method: tier 7's core, or the higher tier's transport.
macro_rules! dispatch {
    ($self:ident . $m:ident ( $($a:expr),* )) => {
        match $self.core() {
            Ok(core) => core.$m($($a),*),
            Err(custom) => custom.$m($($a),*),
        }
    };
}

impl BaseTransport for StreamTransport {
    type Protocol = dyn crate::StreamEvents;

    fn close(&self) {
        dispatch!(self.close());
    }
    fn is_closing(&self) -> bool {
        dispatch!(self.is_closing())
    }
    fn extra_info(&self, key: ExtraKey) -> Option<ExtraValue> {
        dispatch!(self.extra_info(key))
    }
    fn set_protocol(&self, protocol: SharedStreamEvents) {
        dispatch!(self.set_protocol(protocol));
    }
    fn get_protocol(&self) -> Option<SharedStreamEvents> {
        dispatch!(self.get_protocol())
    }
}

impl ReadTransport for StreamTransport {
    fn is_reading(&self) -> bool {
        dispatch!(self.is_reading())
    }
    fn pause_reading(&self) {
        dispatch!(self.pause_reading());
    }
    fn resume_reading(&self) {
        dispatch!(self.resume_reading());
    }
}

impl WriteTransport for StreamTransport {
    fn write(&self, data: &[u8]) -> Result<(), WriteError> {
        dispatch!(self.write(data))
    }
    fn writelines(&self, data: &[&[u8]]) -> Result<(), WriteError> {
        dispatch!(self.writelines(data))
    }
    fn write_eof(&self) {
        dispatch!(self.write_eof());
    }
    fn can_write_eof(&self) -> bool {
        dispatch!(self.can_write_eof())
    }
    fn abort(&self) {
        match self.core() {
            Ok(core) => core.force_close(None),
            Err(custom) => custom.abort(),
        }
    }
    fn get_write_buffer_size(&self) -> usize {
        dispatch!(self.get_write_buffer_size())
    }
    fn get_write_buffer_limits(&self) -> (usize, usize) {
        dispatch!(self.get_write_buffer_limits())
    }
    fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> Result<(), InvalidLimits> {
        dispatch!(self.set_write_buffer_limits(high, low))
    }
}
