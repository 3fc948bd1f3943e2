//! [`RawChild`]: a started child bound to no loop — its pipe ends as plain fds and an fd that
//! turns readable when it exits — for code that drives the child from loop callbacks rather
//! than futures (tier 7's `SubprocessTransport`). Reaped by its owner through
//! [`try_wait`](RawChild::try_wait), or by the orphan reaper when dropped: never a zombie.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use rustix::process::{Pid, Signal};

use crate::process::command::{Command, Spawned};
use crate::process::{pidfd, reaper};

/// How a [`RawChild`]'s exit shows on its [`exit_fd`](RawChild::exit_fd).
#[derive(Debug)]
enum ExitFd {
    /// Its pidfd (Linux ≥ 5.3): readable once the child has exited; also what signals go
    /// through, so a recycled pid is never hit.
    Pidfd(OwnedFd),
    /// The read end of a pipe whose write end a watcher thread, blocked in `waitid(WNOWAIT)`,
    /// closes when the child exits (end of file: readable).
    Watcher(OwnedFd),
}

impl ExitFd {
    /// The fd.
    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            ExitFd::Pidfd(fd) | ExitFd::Watcher(fd) => fd.as_fd(),
        }
    }
}

/// A child process that no event loop watches: the parent's ends of its pipes as plain
/// [`OwnedFd`]s (take them with [`take_stdin`](Self::take_stdin) and friends), and an
/// [`exit_fd`](Self::exit_fd) that turns readable once the child has exited, to watch with
/// `add_reader`; then [`try_wait`](Self::try_wait) reaps it without blocking. Made by
/// [`Command::spawn_raw`]; needs no running loop.
///
/// Dropped while the child runs, it hands the child to the process-wide reaper (after
/// `SIGKILL` if [`set_kill_on_drop`](Self::set_kill_on_drop)), as [`Process`](crate::Process)
/// does: never a zombie.
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use tower_exec::{Command, Stdio};
///
/// let mut child = Command::new("echo").arg("raw").stdout(Stdio::Pipe).spawn_raw().unwrap();
/// let mut out = String::new();
/// std::fs::File::from(child.take_stdout().unwrap()).read_to_string(&mut out).unwrap();
/// assert_eq!(out, "raw\n");
/// // A loop would watch `child.exit_fd()` for reading; here we poll it by hand.
/// let fd = child.exit_fd().unwrap();
/// let mut fds = [rustix::event::PollFd::new(&fd, rustix::event::PollFlags::IN)];
/// rustix::event::poll(&mut fds, None).unwrap();
/// assert_eq!(child.try_wait().unwrap(), Some(0));
/// assert!(child.exit_fd().is_none()); // closed once reaped
/// ```
pub struct RawChild {
    /// The child's pid.
    pid: Pid,
    /// The write end of its stdin, if a pipe and not taken.
    stdin: Option<OwnedFd>,
    /// The read end of its stdout (or stdout+stderr), if a pipe and not taken.
    stdout: Option<OwnedFd>,
    /// The read end of its stderr, if a pipe and not taken.
    stderr: Option<OwnedFd>,
    /// What shows its exit; `None` once reaped.
    exit: Option<ExitFd>,
    /// The returncode, once reaped.
    returncode: Option<i32>,
    /// `SIGKILL` the child if dropped while it runs.
    kill_on_drop: bool,
}

impl Command {
    /// Starts the child on the calling thread and returns it unregistered: its pipes as plain
    /// fds, its exit as an fd to watch ([`RawChild`]). No event loop is needed. For a child
    /// driven by loop callbacks (tier 7's subprocess transport); [`spawn`](Self::spawn) gives
    /// a [`Process`](crate::Process) driven by futures.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn) (except that no loop is required), or if the exit watcher
    /// cannot be made (no pidfd and no thread could be started; the child is then killed and
    /// reaped).
    pub fn spawn_raw(&self) -> io::Result<RawChild> {
        RawChild::from_spawned(self.spawn_std()?)
    }
}

impl RawChild {
    /// Takes over a started child: opens its pidfd (or starts its watcher thread).
    fn from_spawned(mut spawned: Spawned) -> io::Result<RawChild> {
        let mut child = spawned.child.take().expect("a fresh spawn has its child");
        let pid = Pid::from_child(&child);
        let mut raw = RawChild {
            pid,
            stdin: child.stdin.take().map(OwnedFd::from),
            stdout: spawned
                .merged_stdout
                .take()
                .or_else(|| child.stdout.take().map(OwnedFd::from)),
            stderr: child.stderr.take().map(OwnedFd::from),
            exit: None,
            returncode: None,
            kill_on_drop: true,
        };
        // From here on the child is ours to reap (std's `Child` neither waits nor kills on
        // drop); on an error below, dropping `raw` kills it and hands it to the reaper.
        drop(child);
        raw.exit = Some(match pidfd::open(pid) {
            Some(fd) => ExitFd::Pidfd(fd),
            None => ExitFd::Watcher(watch_exit(pid)?),
        });
        raw.kill_on_drop = spawned.kill_on_drop;
        Ok(raw)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid.as_raw_nonzero().get().unsigned_abs()
    }

    /// Takes the write end of the child's stdin ([`Stdio::Pipe`](crate::Stdio::Pipe) only).
    pub fn take_stdin(&mut self) -> Option<OwnedFd> {
        self.stdin.take()
    }

    /// Takes the read end of the child's stdout (with stderr merged in for
    /// [`Stdio::Stdout`](crate::Stdio::Stdout)).
    pub fn take_stdout(&mut self) -> Option<OwnedFd> {
        self.stdout.take()
    }

    /// Takes the read end of the child's stderr.
    pub fn take_stderr(&mut self) -> Option<OwnedFd> {
        self.stderr.take()
    }

    /// An fd that is readable once the child has exited (its pidfd, or a watcher thread's
    /// pipe); `None` once the child is reaped, when it is closed — unregister it from a loop
    /// before calling [`try_wait`](Self::try_wait). Level-triggered: it stays readable.
    pub fn exit_fd(&self) -> Option<BorrowedFd<'_>> {
        self.exit.as_ref().map(ExitFd::fd)
    }

    /// Reaps the child if it has exited, without blocking: `Ok(Some(returncode))` (minus the
    /// signal number if a signal killed it, 255 if someone else reaped it, as asyncio), or
    /// `Ok(None)` while it runs. Once reaped, the exit fd is closed and the returncode kept.
    ///
    /// # Errors
    ///
    /// What `waitpid` reports, other than `ECHILD`.
    pub fn try_wait(&mut self) -> io::Result<Option<i32>> {
        if self.returncode.is_none() {
            if let Some(rc) = reaper::try_reap(self.pid)? {
                self.returncode = Some(rc);
                self.exit = None;
            }
        }
        Ok(self.returncode)
    }

    /// The returncode once [`try_wait`](Self::try_wait) reaped the child.
    pub fn returncode(&self) -> Option<i32> {
        self.returncode
    }

    /// Whether to `SIGKILL` the child if this is dropped while it runs (the
    /// [`Command`]'s [`kill_on_drop`](Command::kill_on_drop) at first).
    pub fn set_kill_on_drop(&mut self, on: bool) {
        self.kill_on_drop = on;
    }

    /// Sends signal `sig` to the child, through its pidfd when there is one.
    ///
    /// # Errors
    ///
    /// `NotFound` carrying [`ProcessLookupError`](crate::error::ProcessLookupError) once the child has been reaped;
    /// `InvalidInput` for a signal number the OS does not name; or what the OS reports.
    pub fn send_signal(&self, sig: i32) -> io::Result<()> {
        let pidfd = match &self.exit {
            Some(ExitFd::Pidfd(fd)) => Some(fd.as_fd()),
            _ => None,
        };
        pidfd::signal_child(self.pid, self.exit.is_none(), pidfd, sig)
    }

    /// Sends `SIGTERM`.
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn terminate(&self) -> io::Result<()> {
        self.send_signal(Signal::TERM.as_raw())
    }

    /// Sends `SIGKILL`.
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn kill(&self) -> io::Result<()> {
        self.send_signal(Signal::KILL.as_raw())
    }
}

/// Starts a thread that closes the write end of a new pipe once `pid` has exited (observed with
/// `waitid(WNOWAIT)`, which does not reap it); returns the read end, non-blocking.
fn watch_exit(pid: Pid) -> io::Result<OwnedFd> {
    let (read, write) = tower_loop::nonblocking_pipe()?;
    reaper::on_exit(pid, move || drop(write))?;
    Ok(read)
}

impl Drop for RawChild {
    fn drop(&mut self) {
        if self.returncode.is_some() {
            return;
        }
        if self.kill_on_drop {
            let _ = self.kill();
        }
        reaper::release(self.pid, || match self.exit.take() {
            Some(ExitFd::Pidfd(fd)) => Some(fd),
            _ => None,
        });
    }
}

impl fmt::Debug for RawChild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let raw = |fd: &Option<OwnedFd>| fd.as_ref().map(|fd| fd.as_raw_fd());
        f.debug_struct("RawChild")
            .field("pid", &self.pid())
            .field("returncode", &self.returncode)
            .field("stdin", &raw(&self.stdin))
            .field("stdout", &raw(&self.stdout))
            .field("stderr", &raw(&self.stderr))
            .field("exit", &self.exit)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}
