//! The transports' errors: what a caller did that asyncio answers with an exception.

use std::fmt;

use crate::extra::SocketAddress;

/// `write`/`writelines` refused (asyncio raises `RuntimeError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteError {
    /// `write_eof` was called: the writing half is shut (or will be once the buffer drains).
    AfterWriteEof,
    /// The transport has no writing half (a read pipe).
    NotWritable,
    /// A [`sendfile`](crate::SocketTransport::sendfile) is running on the transport (asyncio's
    /// "unable to write; sendfile is in progress").
    SendfileInProgress,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::AfterWriteEof => {
                f.write_str("cannot call write() after write_eof(): the writing half is closed")
            }
            WriteError::NotWritable => {
                f.write_str("this transport cannot write: it is a read pipe's")
            }
            WriteError::SendfileInProgress => f.write_str(
                "unable to write: sendfile is in progress; write once its future completes",
            ),
        }
    }
}

impl std::error::Error for WriteError {}

/// `set_write_buffer_limits` with `high < low` (asyncio's `ValueError`: "high must be >= low
/// must be >= 0"; `usize` is never negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidLimits {
    /// The high-water mark asked for (after defaults were applied).
    pub high: usize,
    /// The low-water mark asked for (after defaults were applied).
    pub low: usize,
}

impl fmt::Display for InvalidLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "high ({}) must be >= low ({}) must be >= 0: raise high or lower low",
            self.high, self.low
        )
    }
}

impl std::error::Error for InvalidLimits {}

/// `sendto` refused (asyncio's `ValueError`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendToError {
    /// The transport is connected to `connected` (or has it as its default destination:
    /// [`DatagramSocketTransport::with_default_address`](crate::DatagramSocketTransport::with_default_address)),
    /// and another address was given.
    InvalidAddress {
        /// The address the transport is connected to, or its default destination (the only
        /// one `sendto` accepts).
        connected: SocketAddress,
    },
    /// The transport is not connected and no address was given (or an unnamed Unix address,
    /// which nothing can be sent to).
    NoAddress,
}

impl fmt::Display for SendToError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendToError::InvalidAddress { connected } => {
                write!(f, "invalid address: must be None or {connected}")
            }
            SendToError::NoAddress => f.write_str(
                "no address to send to: the transport is not connected, pass the destination",
            ),
        }
    }
}

impl std::error::Error for SendToError {}
