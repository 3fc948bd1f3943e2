//! Async subprocesses (asyncio's `subprocess.py`): the [`Command`] builder, [`Process`], its
//! pipes, and the reaper that leaves no zombie behind.

pub(crate) mod child;
pub(crate) mod command;
pub(crate) mod pidfd;
pub(crate) mod pipe;
pub(crate) mod raw;
pub(crate) mod reaper;
