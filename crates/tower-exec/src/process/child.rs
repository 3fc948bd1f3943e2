//! [`Process`]: a running child (asyncio's `asyncio.subprocess.Process`) — its pid and
//! returncode, waiting ([`Wait`]), [`communicate`](Process::communicate), signals, and reaping
//! on drop.

use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use rustix::process::{Pid, Signal};
use tower_loop::Async;

use crate::handoff::Receiver;
use crate::process::pipe::{PipeReader, PipeWriter};
use crate::process::{pidfd, reaper};

/// How a child's exit is noticed.
enum Exit {
    /// Its pidfd, registered with the loop: readable once the child has exited.
    Pidfd(Async<OwnedFd>),
    /// No pidfd (old kernel): a watcher thread, started at the first wait that has to sleep,
    /// signals the exit.
    Watcher(Option<Receiver<()>>),
}

/// A child process spawned by [`Command::spawn`](crate::Command::spawn),
/// [`create_subprocess_exec`](crate::create_subprocess_exec) or
/// [`create_subprocess_shell`](crate::create_subprocess_shell).
///
/// Its pipes and pidfd are registered with the loop that spawned it: wait for it and use its
/// pipes while that loop runs.
///
/// Dropping a `Process` whose child still runs leaves the child running (unless
/// [`kill_on_drop`](crate::Command::kill_on_drop) was set) and hands it to a process-wide reaper,
/// so it never lingers as a zombie.
///
/// # Examples
///
/// ```
/// use tower_exec::Command;
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     let mut p = Command::new("sleep").arg("30").spawn().unwrap();
///     assert!(p.returncode().is_none());
///     p.terminate().unwrap();
///     assert_eq!(p.wait().await.unwrap(), -15); // -SIGTERM, as asyncio reports it
///     assert_eq!(p.returncode(), Some(-15));
/// })
/// .unwrap();
/// ```
pub struct Process {
    /// The write end of the child's stdin, if it was [`Stdio::Pipe`](crate::Stdio::Pipe).
    pub stdin: Option<PipeWriter>,
    /// The read end of the child's stdout, if it was [`Stdio::Pipe`](crate::Stdio::Pipe).
    pub stdout: Option<PipeReader>,
    /// The read end of the child's stderr, if it was [`Stdio::Pipe`](crate::Stdio::Pipe).
    pub stderr: Option<PipeReader>,
    /// The child's pid.
    pid: Pid,
    /// How its exit is noticed; `None` once reaped.
    exit: Option<Exit>,
    /// The returncode, once reaped.
    returncode: Option<i32>,
    /// SIGKILL the child if dropped while it runs.
    kill_on_drop: bool,
}

impl Process {
    /// Takes over a std child: registers its pipes (and pidfd) with the running loop.
    pub(crate) fn from_std(
        mut child: std::process::Child,
        merged_stdout: Option<OwnedFd>,
        kill_on_drop: bool,
    ) -> io::Result<Process> {
        let pid = Pid::from_child(&child);
        let stdin = child.stdin.take().map(OwnedFd::from);
        let stdout = merged_stdout.or_else(|| child.stdout.take().map(OwnedFd::from));
        let stderr = child.stderr.take().map(OwnedFd::from);
        // From here on the child is reaped by us (std's `Child` neither waits nor kills on drop).
        drop(child);
        let mut p = Process {
            stdin: None,
            stdout: None,
            stderr: None,
            pid,
            exit: Some(Exit::Watcher(None)),
            returncode: None,
            kill_on_drop: true,
        };
        // On any error below, dropping `p` kills and reaps the child.
        if let Some(pidfd) = pidfd::open(pid) {
            p.exit = Some(Exit::Pidfd(Async::new(pidfd)?));
        }
        p.stdin = stdin.map(PipeWriter::new).transpose()?;
        p.stdout = stdout.map(PipeReader::new).transpose()?;
        p.stderr = stderr.map(PipeReader::new).transpose()?;
        p.kill_on_drop = kill_on_drop;
        Ok(p)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid.as_raw_nonzero().get().unsigned_abs()
    }

    /// The exit code once the child has been reaped (by [`wait`](Self::wait) or
    /// [`communicate`](Self::communicate)), minus the signal number if a signal killed it (as
    /// asyncio reports), or `None` while it has not been reaped.
    pub fn returncode(&self) -> Option<i32> {
        self.returncode
    }

    /// Whether to SIGKILL the child when this `Process` is dropped while it runs.
    pub fn set_kill_on_drop(&mut self, on: bool) {
        self.kill_on_drop = on;
    }

    /// Waits for the child to exit and reaps it; resolves to the [`returncode`](Self::returncode).
    /// Does not close or drain the pipes: a child blocked writing a full stdout pipe that nobody
    /// reads never exits (use [`communicate`](Self::communicate)).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses nothing: call `wait` again later (asyncio's
    /// `test_cancel_process_wait`).
    pub fn wait(&mut self) -> Wait<'_> {
        Wait { process: self }
    }

    /// Reaps the child if it has exited, without waiting; `Ok(None)` while it runs.
    ///
    /// # Errors
    ///
    /// What `waitpid` reports (not `ECHILD`, which gives returncode 255 as in asyncio).
    pub fn try_wait(&mut self) -> io::Result<Option<i32>> {
        if self.returncode.is_none() {
            if let Some(rc) = reaper::try_reap(self.pid)? {
                self.reaped(rc);
            }
        }
        Ok(self.returncode)
    }

    /// Writes `input` to stdin (then closes it), reads stdout and stderr to end-of-file, all at
    /// once so neither side can block the other, then waits for the child (asyncio's
    /// `communicate(input)`). Streams that are not pipes give empty output. A child that exits
    /// without reading its input is not an error: `BrokenPipe` on stdin is ignored, as asyncio
    /// ignores `BrokenPipeError` and `ConnectionResetError` there. Stdin is closed even when
    /// `input` is `None`.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future mid-way puts the pipes not yet finished back on the `Process`; bytes
    /// already read by it are lost, bytes still in the pipes are not. The child can be waited
    /// for again.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_exec::{Command, Stdio};
    /// use tower_loop::EventLoop;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let out = lp
    ///     .run_until_complete(async {
    ///         let mut p = Command::new("sh")
    ///             .args(["-c", "tr a-z A-Z; echo done >&2"])
    ///             .stdin(Stdio::Pipe)
    ///             .stdout(Stdio::Pipe)
    ///             .stderr(Stdio::Pipe)
    ///             .spawn()
    ///             .unwrap();
    ///         p.communicate(Some(b"shout")).await.unwrap()
    ///     })
    ///     .unwrap();
    /// assert_eq!(out.stdout, b"SHOUT");
    /// assert_eq!(out.stderr, b"done\n");
    /// assert_eq!(out.returncode, 0);
    /// ```
    pub fn communicate<'a>(&'a mut self, input: Option<&'a [u8]>) -> Communicate<'a> {
        let stdin = self.stdin.take();
        let stdout = self.stdout.take();
        let stderr = self.stderr.take();
        Communicate {
            input: input.unwrap_or_default(),
            stdin,
            stdout,
            stderr,
            out: Vec::new(),
            err: Vec::new(),
            process: self,
        }
    }

    /// Sends signal `sig` (e.g. `libc`'s `SIGUSR1` number) to the child (asyncio's
    /// `send_signal`). Through its pidfd when there is one, so a recycled pid is never hit.
    ///
    /// # Errors
    ///
    /// `NotFound` carrying [`ProcessLookupError`](crate::error::ProcessLookupError) once the child has been reaped;
    /// `InvalidInput` for a signal number the OS does not name; or what `kill` reports.
    pub fn send_signal(&mut self, sig: i32) -> io::Result<()> {
        let pidfd = match &self.exit {
            Some(Exit::Pidfd(fd)) => Some(fd.get_ref().as_fd()),
            _ => None,
        };
        pidfd::signal_child(self.pid, self.exit.is_none(), pidfd, sig)
    }

    /// Sends `SIGTERM` (asyncio's `terminate`).
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn terminate(&mut self) -> io::Result<()> {
        self.send_signal(Signal::TERM.as_raw())
    }

    /// Sends `SIGKILL` (asyncio's `kill`).
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn kill(&mut self) -> io::Result<()> {
        self.send_signal(Signal::KILL.as_raw())
    }

    /// Records the returncode and drops the exit watcher (closing the pidfd).
    fn reaped(&mut self, rc: i32) {
        self.returncode = Some(rc);
        self.exit = None;
    }

    /// Polls for the child's exit.
    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<i32>> {
        if let Some(rc) = self.returncode {
            return Poll::Ready(Ok(rc));
        }
        let pid = self.pid;
        let res = match &mut self.exit {
            Some(Exit::Pidfd(fd)) => {
                // Readable once the child has exited; `WouldBlock` re-arms the wait.
                let fut = fd.read_with(|_| match reaper::try_reap(pid) {
                    Ok(Some(rc)) => Ok(rc),
                    Ok(None) => Err(io::ErrorKind::WouldBlock.into()),
                    Err(e) => Err(e),
                });
                match pin!(fut).poll(cx) {
                    Poll::Ready(r) => r,
                    Poll::Pending => return Poll::Pending,
                }
            }
            Some(Exit::Watcher(watcher)) => loop {
                match reaper::try_reap(pid) {
                    Ok(Some(rc)) => break Ok(rc),
                    Ok(None) => {}
                    Err(e) => break Err(e),
                }
                let receiver = match watcher {
                    Some(r) => r,
                    None => match reaper::watch_exit(pid) {
                        Ok(r) => watcher.insert(r),
                        Err(e) => break Err(e),
                    },
                };
                match receiver.poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    // The watcher saw the exit (or died): look again, with a new watcher if
                    // the child is somehow still there.
                    Poll::Ready(_) => *watcher = None,
                }
            },
            None => reaper::try_reap(pid).map(|rc| rc.unwrap_or(255)),
        };
        if let Ok(rc) = res {
            self.reaped(rc);
        }
        Poll::Ready(res)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.returncode.is_some() {
            return;
        }
        if self.kill_on_drop {
            let _ = self.kill();
        }
        reaper::release(self.pid, || match self.exit.take() {
            Some(Exit::Pidfd(fd)) => fd.into_inner().ok(),
            _ => None,
        });
    }
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("pid", &self.pid())
            .field("returncode", &self.returncode)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}

/// The future of [`Process::wait`]: resolves to the returncode.
///
/// # Cancel safety
///
/// Dropping it loses nothing; wait again later.
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<'a> {
    /// The child.
    process: &'a mut Process,
}

impl Future for Wait<'_> {
    type Output = io::Result<i32>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<i32>> {
        let this = self.get_mut();
        this.process.poll_wait(cx)
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("pid", &self.process.pid())
            .finish()
    }
}

/// What [`Process::communicate`] collects.
///
/// # Examples
///
/// ```
/// let out = tower_exec::Output { returncode: 0, stdout: b"x".to_vec(), stderr: Vec::new() };
/// assert_eq!(out.stdout, b"x");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// The child's returncode (minus the signal number if a signal killed it).
    pub returncode: i32,
    /// Everything it wrote to stdout (empty unless stdout was a pipe).
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr (empty unless stderr was a pipe).
    pub stderr: Vec<u8>,
}

/// The future of [`Process::communicate`].
///
/// # Cancel safety
///
/// Dropping it mid-way puts unfinished pipes back on the `Process`; bytes it already read are lost.
#[must_use = "futures do nothing unless awaited"]
pub struct Communicate<'a> {
    /// The child.
    process: &'a mut Process,
    /// What is left to write.
    input: &'a [u8],
    /// stdin, until all input is written (or the child closed it).
    stdin: Option<PipeWriter>,
    /// stdout, until end-of-file.
    stdout: Option<PipeReader>,
    /// stderr, until end-of-file.
    stderr: Option<PipeReader>,
    /// stdout so far.
    out: Vec<u8>,
    /// stderr so far.
    err: Vec<u8>,
}

/// Polls `pipe` to end-of-file into `buf`; clears `pipe` when done.
fn drain(pipe: &mut Option<PipeReader>, buf: &mut Vec<u8>, cx: &mut Context<'_>) -> io::Result<()> {
    if let Some(p) = pipe {
        let fut = p.read_to_end(buf);
        if let Poll::Ready(r) = pin!(fut).poll(cx) {
            r?;
            *pipe = None;
        }
    }
    Ok(())
}

impl Future for Communicate<'_> {
    type Output = io::Result<Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<Output>> {
        let this = self.get_mut();
        if let Some(w) = &this.stdin {
            while !this.input.is_empty() {
                match w.poll_write(cx, this.input) {
                    Poll::Ready(Ok(n)) => this.input = &this.input[n..],
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    // The child closed stdin without reading it all: not an error (asyncio's
                    // `_feed_stdin` ignores BrokenPipeError and ConnectionResetError).
                    Poll::Ready(Err(e))
                        if matches!(
                            e.kind(),
                            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                        ) =>
                    {
                        this.input = &[];
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => break,
                }
            }
            if this.input.is_empty() {
                // Close stdin: the child reads end-of-file.
                this.stdin = None;
            }
        }
        if let Err(e) = drain(&mut this.stdout, &mut this.out, cx) {
            return Poll::Ready(Err(e));
        }
        if let Err(e) = drain(&mut this.stderr, &mut this.err, cx) {
            return Poll::Ready(Err(e));
        }
        if this.stdin.is_some() || this.stdout.is_some() || this.stderr.is_some() {
            return Poll::Pending;
        }
        let returncode = match this.process.poll_wait(cx) {
            Poll::Ready(Ok(rc)) => rc,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        Poll::Ready(Ok(Output {
            returncode,
            stdout: std::mem::take(&mut this.out),
            stderr: std::mem::take(&mut this.err),
        }))
    }
}

impl Drop for Communicate<'_> {
    fn drop(&mut self) {
        // Put back what was not finished, so the caller can still read or close it.
        if let Some(w) = self.stdin.take() {
            self.process.stdin = Some(w);
        }
        if let Some(r) = self.stdout.take() {
            self.process.stdout = Some(r);
        }
        if let Some(r) = self.stderr.take() {
            self.process.stderr = Some(r);
        }
    }
}

impl fmt::Debug for Communicate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Communicate")
            .field("pid", &self.process.pid())
            .field("input_left", &self.input.len())
            .field("stdout_read", &self.out.len())
            .field("stderr_read", &self.err.len())
            .finish()
    }
}
