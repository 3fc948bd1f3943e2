//! The crate's errors: asyncio's exceptions as types (`QueueFull`, `QueueEmpty`,
//! `QueueShutDown`, `BrokenBarrierError`, ...) and the channels' send/receive errors.
//!
//! Errors that refuse a value (a full queue, a closed channel) give it back in the error.

use std::error::Error;
use std::fmt;

/// Implements `Display` (with `$msg`) and `Error` for a type, generic or not.
macro_rules! error_impls {
    ($ty:ident $(<$t:ident>)?, $msg:expr) => {
        impl$(<$t>)? fmt::Display for $ty$(<$t>)? {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($msg)
            }
        }
        impl$(<$t: fmt::Debug>)? Error for $ty$(<$t>)? {}
    };
}

/// `put_nowait` on a full queue; the item is given back (asyncio's `QueueFull`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QueueFull<T>(pub T);
error_impls!(
    QueueFull<T>,
    "the queue is full (maxsize reached); wait with put() or retry later"
);

/// `get_nowait` on an empty queue (asyncio's `QueueEmpty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueEmpty;
error_impls!(
    QueueEmpty,
    "the queue is empty; wait with get() or retry later"
);

/// The queue was shut down: puts fail (giving the item back), gets fail once it is empty
/// (asyncio 3.13's `QueueShutDown`).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueShutDown<T = ()>(pub T);
error_impls!(QueueShutDown<T>, "the queue was shut down");

/// The error of `put_nowait` / `try_put`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// The queue is full.
    Full(QueueFull<T>),
    /// The queue was shut down.
    ShutDown(QueueShutDown<T>),
}

impl<T> TryPutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(QueueFull(v)) | Self::ShutDown(QueueShutDown(v)) => v,
        }
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(e) => e.fmt(f),
            Self::ShutDown(e) => e.fmt(f),
        }
    }
}
impl<T: fmt::Debug> Error for TryPutError<T> {}

/// The error of `get_nowait` / `try_get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryGetError {
    /// The queue is empty.
    Empty(QueueEmpty),
    /// The queue was shut down and is empty.
    ShutDown(QueueShutDown),
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty(e) => e.fmt(f),
            Self::ShutDown(e) => e.fmt(f),
        }
    }
}
impl Error for TryGetError {}

/// `task_done` was called more times than items were put (asyncio's `ValueError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError;
error_impls!(
    TaskDoneError,
    "task_done() called too many times: no unfinished item is left"
);

/// `BoundedSemaphore::release` past the initial value (asyncio's `ValueError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundedSemaphoreError {
    /// The semaphore's bound.
    pub bound: usize,
}

impl fmt::Display for BoundedSemaphoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BoundedSemaphore released too many times: already at its bound of {}",
            self.bound
        )
    }
}
impl Error for BoundedSemaphoreError {}

/// The barrier was aborted or reset while this party waited, or is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenBarrierError;
error_impls!(
    BrokenBarrierError,
    "the barrier is broken (aborted, or reset while waiting); reset() it to use it again"
);

/// A send found the channel closed (no receiver left); the value is given back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);
error_impls!(
    SendError<T>,
    "sending on a closed channel: every receiver is gone"
);

/// The error of `try_send`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full.
    Full(T),
    /// Every receiver is gone.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(v) | Self::Closed(v) => v,
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("the channel is full; wait with send() or retry later"),
            Self::Closed(_) => f.write_str("sending on a closed channel: every receiver is gone"),
        }
    }
}
impl<T: fmt::Debug> Error for TrySendError<T> {}

/// A receive found the channel empty and closed (every sender is gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;
error_impls!(
    RecvError,
    "receiving on a closed channel: every sender is gone and nothing is left"
);

/// The error of `try_recv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing to receive yet.
    Empty,
    /// Nothing to receive, and every sender is gone.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the channel is empty; wait with recv() or retry later"),
            Self::Closed => RecvError.fmt(f),
        }
    }
}
impl Error for TryRecvError {}

/// The error of a broadcast receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastRecvError {
    /// Every sender is gone and this receiver has seen everything.
    Closed,
    /// This receiver fell behind: that many values were overwritten before it read them.
    /// The next receive returns the oldest value still held.
    Lagged(u64),
}

impl fmt::Display for BroadcastRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => RecvError.fmt(f),
            Self::Lagged(n) => write!(f, "receiver lagged behind and missed {n} values"),
        }
    }
}
impl Error for BroadcastRecvError {}

/// The error of a broadcast `try_recv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastTryRecvError {
    /// Nothing new yet.
    Empty,
    /// Every sender is gone and this receiver has seen everything.
    Closed,
    /// This receiver missed that many values (see [`BroadcastRecvError::Lagged`]).
    Lagged(u64),
}

impl fmt::Display for BroadcastTryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("nothing new on the channel yet"),
            Self::Closed => BroadcastRecvError::Closed.fmt(f),
            Self::Lagged(n) => BroadcastRecvError::Lagged(*n).fmt(f),
        }
    }
}
impl Error for BroadcastTryRecvError {}

/// Implements `Debug` without requiring `T: Debug` (the value is elided).
macro_rules! debug_elided {
    ($($ty:ident),*) => {$(
        impl<T> fmt::Debug for $ty<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($ty), "(..)"))
            }
        }
    )*};
}
debug_elided!(QueueFull, QueueShutDown, SendError);

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::ShutDown(_) => f.write_str("ShutDown(..)"),
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}
