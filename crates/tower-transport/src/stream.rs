//! [`StreamTransport`]: the handle a stream protocol is given in `connection_made` — any of the
//! stream transports, behind one type, implementing the transport traits (a read pipe refuses
//! writes with [`WriteError::NotWritable`]; a write pipe never reads).

use std::rc::Rc;

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

    /// The shared core.
    fn core(&self) -> &Rc<StreamCore> {
        match self {
            StreamTransport::Socket(t) => &t.0,
            StreamTransport::ReadPipe(t) => &t.0,
            StreamTransport::WritePipe(t) => &t.0,
        }
    }
}

impl BaseTransport for StreamTransport {
    type Protocol = dyn crate::StreamEvents;

    fn close(&self) {
        self.core().close();
    }
    fn is_closing(&self) -> bool {
        self.core().is_closing()
    }
    fn extra_info(&self, key: ExtraKey) -> Option<ExtraValue> {
        self.core().extra_info(key)
    }
    fn set_protocol(&self, protocol: SharedStreamEvents) {
        self.core().set_protocol(protocol);
    }
    fn get_protocol(&self) -> Option<SharedStreamEvents> {
        self.core().get_protocol()
    }
}

impl ReadTransport for StreamTransport {
    fn is_reading(&self) -> bool {
        self.core().is_reading()
    }
    fn pause_reading(&self) {
        self.core().pause_reading();
    }
    fn resume_reading(&self) {
        self.core().resume_reading();
    }
}

impl WriteTransport for StreamTransport {
    fn write(&self, data: &[u8]) -> Result<(), WriteError> {
        self.core().write(data)
    }
    fn writelines(&self, data: &[&[u8]]) -> Result<(), WriteError> {
        self.core().writelines(data)
    }
    fn write_eof(&self) {
        self.core().write_eof();
    }
    fn can_write_eof(&self) -> bool {
        self.core().can_write_eof()
    }
    fn abort(&self) {
        self.core().force_close(None);
    }
    fn get_write_buffer_size(&self) -> usize {
        self.core().get_write_buffer_size()
    }
    fn get_write_buffer_limits(&self) -> (usize, usize) {
        self.core().get_write_buffer_limits()
    }
    fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> Result<(), InvalidLimits> {
        self.core().set_write_buffer_limits(high, low)
    }
}
