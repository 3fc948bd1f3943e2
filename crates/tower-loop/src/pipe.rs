//! Anonymous pipes whose ends are closed on `exec`: the loop's signal self-pipe, and the pipes
//! higher tiers make (a child's merged stdout and stderr, the reaper's wake-up).
//!
//! One `pipe2` call where the system has it, so no `fork` in another thread can inherit an end.
//! Apple's systems have no `pipe2`: there it is `pipe`, then `fcntl` on each end, and a `fork`
//! between the two may leak the ends into that child.

use std::io;
use std::os::fd::OwnedFd;

/// A pipe `(read end, write end)` whose ends are closed on `exec` and blocking.
///
/// # Errors
///
/// The system's error if the pipe cannot be made (for example `EMFILE`, out of descriptors).
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
///
/// let (read, write) = tower_loop::pipe().unwrap();
/// std::fs::File::from(write).write_all(b"hi").unwrap();
/// let mut got = String::new();
/// std::fs::File::from(read).read_to_string(&mut got).unwrap();
/// assert_eq!(got, "hi");
/// ```
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    make(false)
}

/// A pipe `(read end, write end)` whose ends are closed on `exec` and non-blocking (`O_NONBLOCK`:
/// a read of an empty pipe fails with `WouldBlock` instead of waiting).
///
/// # Errors
///
/// The system's error if the pipe cannot be made.
///
/// # Examples
///
/// ```
/// use std::io::Read;
///
/// let (read, _write) = tower_loop::nonblocking_pipe().unwrap();
/// let err = std::fs::File::from(read).read(&mut [0; 8]).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
/// ```
pub fn nonblocking_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    make(true)
}

/// One `pipe2` with `O_CLOEXEC` (and `O_NONBLOCK` if asked).
#[cfg(not(target_vendor = "apple"))]
fn make(nonblocking: bool) -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::pipe::PipeFlags;
    let mut flags = PipeFlags::CLOEXEC;
    if nonblocking {
        flags |= PipeFlags::NONBLOCK;
    }
    Ok(rustix::pipe::pipe_with(flags)?)
}

/// `pipe`, then `FD_CLOEXEC` (and `O_NONBLOCK` if asked) on each end.
#[cfg(target_vendor = "apple")]
fn make(nonblocking: bool) -> io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) = rustix::pipe::pipe()?;
    for end in [&read, &write] {
        rustix::io::fcntl_setfd(end, rustix::io::FdFlags::CLOEXEC)?;
        if nonblocking {
            rustix::fs::fcntl_setfl(end, rustix::fs::OFlags::NONBLOCK)?;
        }
    }
    Ok((read, write))
}
