//! Reaping children: `waitpid` on a child known to have exited, learnt from its pidfd
//! (`pidfd.rs`, registered with the loop) or, where pidfds are missing, from a watcher thread
//! blocked in `waitid(WNOWAIT)` (asyncio's `ThreadedChildWatcher`, which observes the exit
//! without reaping it, then wakes the waiting future); and the process-wide orphan reaper, a
//! thread that reaps children whose [`Process`](crate::Process) was dropped while they ran, so
//! no child is ever left a zombie.
//!
//! The orphan thread starts on the first orphan and then lives as long as the process. It
//! blocks in `poll(2)` on a wake-up pipe and the orphans' pidfds (or, without pidfds, with a
//! timeout that backs off from 1 ms to 100 ms).

use std::io;
use std::os::fd::OwnedFd;
use std::sync::OnceLock;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;
use rustix::process::{Pid, WaitId, WaitIdOptions, WaitOptions, waitid, waitpid};

use crate::handoff::{Receiver, handoff};
use crate::loom::Mutex;

/// What a reaped child's `waitpid` status means, as asyncio reports it: the exit code, or minus
/// the signal that killed it; 255 when the status was lost (someone else reaped the child).
pub(crate) fn returncode(status: rustix::process::WaitStatus) -> i32 {
    if let Some(code) = status.exit_status() {
        code
    } else if let Some(sig) = status.terminating_signal() {
        -sig
    } else {
        255
    }
}

/// `waitpid(pid, WNOHANG)`: `Ok(Some(returncode))` if the child was reaped now, `Ok(None)` if it
/// is still running. A child already reaped by someone else (`ECHILD`) reports 255, as asyncio
/// does ("Unknown child process pid %d, will report returncode 255").
pub(crate) fn try_reap(pid: Pid) -> io::Result<Option<i32>> {
    loop {
        match waitpid(Some(pid), WaitOptions::NOHANG) {
            Ok(Some((_, status))) => return Ok(Some(returncode(status))),
            Ok(None) => return Ok(None),
            Err(Errno::INTR) => {}
            Err(Errno::CHILD) => return Ok(Some(255)),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Starts a thread that blocks until `pid` has exited — without reaping it — and then completes
/// the returned cell (the no-pidfd way to learn of an exit without polling).
///
/// # Errors
///
/// If the thread cannot be started.
pub(crate) fn watch_exit(pid: Pid) -> io::Result<Receiver<()>> {
    let (completer, receiver) = handoff();
    on_exit(pid, move || completer.complete(Ok(())))?;
    Ok(receiver)
}

/// Starts a thread that blocks in `waitid(WNOWAIT)` until `pid` has exited — without reaping
/// it — and then calls `f`.
///
/// # Errors
///
/// If the thread cannot be started.
pub(crate) fn on_exit(pid: Pid, f: impl FnOnce() + Send + 'static) -> io::Result<()> {
    std::thread::Builder::new()
        .name("tower-waitid".to_owned())
        .spawn(move || {
            // Returns once exited (or already reaped by someone else: nothing left to wait for);
            // retried only when interrupted.
            while let Err(Errno::INTR) = waitid(
                WaitId::Pid(pid),
                WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
            ) {}
            f();
        })?;
    Ok(())
}

/// A dropped child's exit nobody waits for: reaps it if it has exited, else hands it (and its
/// pidfd, taken only then) to the orphan reaper.
pub(crate) fn release(pid: Pid, pidfd: impl FnOnce() -> Option<OwnedFd>) {
    if let Ok(Some(_)) = try_reap(pid) {
        return;
    }
    adopt(pid, pidfd());
}

/// A child nobody waits for any more.
#[derive(Debug)]
struct Orphan {
    /// Its pid.
    pid: Pid,
    /// Its pidfd, if pidfds are available.
    pidfd: Option<OwnedFd>,
}

/// The process-wide orphan reaper.
#[derive(Debug)]
struct Orphanage {
    /// Orphans handed over and not yet seen by the thread.
    inbox: Mutex<Vec<Orphan>>,
    /// The write end of the wake-up pipe (non-blocking).
    wake: OwnedFd,
}

/// The orphanage, started on first use; `None` if its thread could not be started.
fn orphanage() -> Option<&'static Orphanage> {
    static ORPHANAGE: OnceLock<Option<Orphanage>> = OnceLock::new();
    ORPHANAGE
        .get_or_init(|| {
            let (read, write) = tower_loop::nonblocking_pipe().ok()?;
            std::thread::Builder::new()
                .name("tower-reaper".to_owned())
                .spawn(move || reaper_thread(read))
                .ok()?;
            Some(Orphanage {
                inbox: Mutex::new(Vec::new()),
                wake: write,
            })
        })
        .as_ref()
}

/// Hands a still-running child to the orphan reaper. If even that is impossible (no thread
/// could ever be started), blocks until the child exits rather than leave a zombie.
pub(crate) fn adopt(pid: Pid, pidfd: Option<OwnedFd>) {
    match orphanage() {
        Some(o) => {
            o.inbox.lock().push(Orphan { pid, pidfd });
            // A full pipe already means "wake up"; nothing else can fail meaningfully.
            let _ = rustix::io::write(&o.wake, &[1]);
        }
        None => {
            let _ = waitpid(Some(pid), WaitOptions::empty());
        }
    }
}

/// The body of the orphan thread: reap what has exited, then sleep until a pidfd fires, a new
/// orphan arrives, or (for orphans without a pidfd) the backoff timeout passes.
fn reaper_thread(wake: OwnedFd) {
    let mut orphans: Vec<Orphan> = Vec::new();
    let mut backoff = Duration::from_millis(1);
    loop {
        if let Some(o) = orphanage() {
            orphans.append(&mut o.inbox.lock());
        }
        orphans.retain(|o| !matches!(try_reap(o.pid), Ok(Some(_)) | Err(_)));
        let polling = orphans.iter().any(|o| o.pidfd.is_none());
        if !polling {
            backoff = Duration::from_millis(1);
        }
        let mut fds = Vec::with_capacity(orphans.len() + 1);
        fds.push(PollFd::new(&wake, PollFlags::IN));
        fds.extend(
            orphans
                .iter()
                .filter_map(|o| o.pidfd.as_ref())
                .map(|fd| PollFd::new(fd, PollFlags::IN)),
        );
        let timeout = polling.then(|| Timespec {
            tv_sec: 0,
            tv_nsec: i64::from(backoff.subsec_nanos()),
        });
        let _ = poll(&mut fds, timeout.as_ref());
        drop(fds);
        if polling {
            backoff = (backoff * 2).min(Duration::from_millis(100));
        }
        // Drain the wake-up pipe.
        let mut buf = [0u8; 64];
        while matches!(rustix::io::read(&wake, &mut buf), Ok(n) if n > 0) {}
    }
}
