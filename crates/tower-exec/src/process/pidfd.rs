//! Process file descriptors (Linux ≥ 5.3): open one for a child, probe once whether they work,
//! and signal a child through one. Elsewhere pidfds never exist, and the reaper's watcher
//! thread and orphan backoff (see `reaper.rs`) are the only way to learn of an exit.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::process::{Pid, Signal};

/// Whether pidfds work here (probed once). `TOWER_EXEC_NO_PIDFD=1` forces the fallback, so its
/// tests can run on a kernel that has pidfds.
#[cfg(target_os = "linux")]
pub(crate) fn available() -> bool {
    use std::sync::OnceLock;
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        if std::env::var_os("TOWER_EXEC_NO_PIDFD").is_some_and(|v| v == "1") {
            return false;
        }
        rustix::process::pidfd_open(
            rustix::process::getpid(),
            rustix::process::PidfdFlags::empty(),
        )
        .is_ok()
    })
}

/// A pidfd for `pid`, if pidfds are available (never outside Linux).
pub(crate) fn open(pid: Pid) -> Option<OwnedFd> {
    #[cfg(target_os = "linux")]
    if available() {
        return rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok();
    }
    let _ = pid;
    None
}

/// Sends `signal` to the process `pidfd` refers to (a recycled pid is never hit).
pub(crate) fn send_signal(pidfd: impl AsFd, signal: Signal) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    return Ok(rustix::process::pidfd_send_signal(pidfd, signal)?);
    #[cfg(not(target_os = "linux"))]
    {
        // `open` never makes a pidfd here, so there is none to signal through.
        let _ = (pidfd, signal);
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// A child's `send_signal` (asyncio's), for [`Process`](crate::Process) and
/// [`RawChild`](crate::RawChild): `sig` must be a signal the OS names; once the child is
/// `reaped` it is a [`ProcessLookupError`](crate::error::ProcessLookupError); through its
/// `pidfd` when there is one (a recycled pid is never hit), else `kill` (not reaped yet, so the
/// pid still names our child, a zombie at worst).
pub(crate) fn signal_child(
    pid: Pid,
    reaped: bool,
    pidfd: Option<BorrowedFd<'_>>,
    sig: i32,
) -> io::Result<()> {
    let Some(signal) = Signal::from_named_raw(sig) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{sig} is not a signal number this OS names"),
        ));
    };
    if reaped {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            crate::error::ProcessLookupError {
                pid: pid.as_raw_nonzero().get().unsigned_abs(),
            },
        ));
    }
    match pidfd {
        Some(fd) => send_signal(fd, signal),
        None => Ok(rustix::process::kill_process(pid, signal)?),
    }
}
