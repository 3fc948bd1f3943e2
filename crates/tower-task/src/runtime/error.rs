//! The runtime's errors: building it, entering it (a task's errors are `crate::error::TaskError`).

use std::fmt;
use std::io;

/// [`RuntimeBuilder::build`](super::RuntimeBuilder::build) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// `worker_threads(0)`: a runtime needs at least one worker.
    ZeroWorkers,
    /// A worker thread or its event loop could not be created (out of threads or file
    /// descriptors).
    Io(io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroWorkers => {
                f.write_str("a runtime needs at least one worker thread; ask for one or more")
            }
            BuildError::Io(e) => {
                write!(f, "could not start a worker thread or its event loop: {e}")
            }
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Io(e) => Some(e),
            BuildError::ZeroWorkers => None,
        }
    }
}

/// [`Runtime::block_on`](super::Runtime::block_on) could not run the future.
#[derive(Debug)]
#[non_exhaustive]
pub enum BlockOnError {
    /// An event loop already runs on this thread (a runtime worker, or inside another
    /// `block_on`): blocking it would stall everything it runs. Spawn the future and await
    /// its handle instead.
    LoopRunning,
    /// The event loop for the calling thread could not be created.
    Io(io::Error),
    /// The future called `stop()` on the loop running it before it completed; it was dropped.
    Stopped,
    /// Waiting for I/O failed on the loop running the future (the poller reported an error);
    /// the future was dropped.
    Poller(tower_loop::error::PollerError),
}

impl fmt::Display for BlockOnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockOnError::LoopRunning => f.write_str(
                "block_on called on a thread that already runs an event loop; spawn the future \
                 and await its Task instead",
            ),
            BlockOnError::Io(e) => write!(f, "could not create an event loop for block_on: {e}"),
            BlockOnError::Poller(e) => write!(f, "block_on's event loop failed: {e}"),
            BlockOnError::Stopped => f.write_str(
                "the loop running block_on's future was stopped before the future completed",
            ),
        }
    }
}

impl std::error::Error for BlockOnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BlockOnError::Io(e) => Some(e),
            BlockOnError::Poller(e) => Some(e),
            BlockOnError::LoopRunning | BlockOnError::Stopped => None,
        }
    }
}

/// No event loop runs on this thread ([`spawn_local`](super::spawn_local)), or no runtime is
/// entered ([`RuntimeHandle::current`](super::RuntimeHandle::current)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContextError {
    /// `spawn_local` needs a running event loop on this thread (a runtime worker, `block_on`).
    NoRunningLoop,
    /// `RuntimeHandle::current` needs to be called from a runtime worker or inside `block_on`.
    NoRuntime,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextError::NoRunningLoop => f.write_str(
                "spawn_local needs a running event loop on this thread; call it from a task",
            ),
            ContextError::NoRuntime => f.write_str(
                "no runtime is entered on this thread; call from a runtime task or block_on",
            ),
        }
    }
}

impl std::error::Error for ContextError {}
