//! [`Command`], the builder of a child process (what asyncio spreads over the keyword arguments
//! of `create_subprocess_exec`), [`Stdio`], and asyncio's two entry points
//! [`create_subprocess_exec`] and [`create_subprocess_shell`].

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio as StdStdio;
use std::task::{Context, Poll};

use crate::error::{BlockingError, InvalidStdio};
use crate::process::child::Process;
use crate::process::{pidfd, reaper};
use crate::to_thread::{Blocking, to_thread_cancellable};

/// What a child's stdin, stdout or stderr is connected to (asyncio's `PIPE`, `DEVNULL`, `None`,
/// `STDOUT`).
///
/// # Examples
///
/// ```
/// use tower_exec::{Command, Stdio};
///
/// let mut cmd = Command::new("sh");
/// cmd.arg("-c").arg("echo out; echo err >&2").stdout(Stdio::Pipe).stderr(Stdio::Stdout);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stdio {
    /// The parent's own stream (asyncio's `None`, the default).
    #[default]
    Inherit,
    /// A new pipe whose parent end is on the [`Process`] (asyncio's `PIPE`).
    Pipe,
    /// `/dev/null` (asyncio's `DEVNULL`).
    DevNull,
    /// For stderr only: the same destination as stdout (asyncio's `STDOUT`).
    Stdout,
}

/// A builder for a child process, spawned onto the running event loop.
///
/// Each [`spawn`](Self::spawn) builds a fresh `std::process::Command`, so a `Command` can spawn
/// many children and keeps no pipe ends open in the parent.
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
///         let mut child = Command::new("sh")
///             .arg("-c")
///             .arg("echo \"$GREETING from $(pwd)\"; exit 3")
///             .env("GREETING", "hello")
///             .current_dir("/")
///             .stdout(Stdio::Pipe)
///             .spawn()
///             .unwrap();
///         child.communicate(None).await.unwrap()
///     })
///     .unwrap();
/// assert_eq!(out.stdout, b"hello from /\n");
/// assert_eq!(out.returncode, 3);
/// ```
#[derive(Clone)]
pub struct Command {
    /// The program.
    program: OsString,
    /// Its arguments (after argv\[0\]).
    args: Vec<OsString>,
    /// The working directory, if not the parent's.
    cwd: Option<PathBuf>,
    /// Clear the environment before applying `env`.
    env_clear: bool,
    /// Variables to set (`Some`) or remove (`None`), in order.
    env: Vec<(OsString, Option<OsString>)>,
    /// stdin.
    stdin: Stdio,
    /// stdout.
    stdout: Stdio,
    /// stderr.
    stderr: Stdio,
    /// `setpgid(0, pgid)` in the child.
    process_group: Option<i32>,
    /// Kill the child (SIGKILL) if the `Process` is dropped while it runs.
    kill_on_drop: bool,
}

impl Command {
    /// A command running `program` (looked up in `PATH` if it has no slash), with no arguments,
    /// the parent's environment, working directory and streams.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            cwd: None,
            env_clear: false,
            env: Vec::new(),
            stdin: Stdio::Inherit,
            stdout: Stdio::Inherit,
            stderr: Stdio::Inherit,
            process_group: None,
            kill_on_drop: false,
        }
    }

    /// A command running `cmd` through `/bin/sh -c` (asyncio's `create_subprocess_shell`). Quote
    /// untrusted input yourself: the shell interprets `cmd`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cmd = tower_exec::Command::shell("exit 7");
    /// assert!(format!("{cmd:?}").contains("/bin/sh"));
    /// ```
    pub fn shell(cmd: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(cmd);
        c
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.env
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes an environment variable for the child.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Starts the child with an empty environment (plus what [`env`](Self::env) adds).
    pub fn env_clear(&mut self) -> &mut Command {
        self.env_clear = true;
        self.env.clear();
        self
    }

    /// The child's working directory (asyncio's `cwd=`).
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// The child's stdin. [`Stdio::Stdout`] is invalid here (spawn fails with `InvalidInput`).
    pub fn stdin(&mut self, cfg: Stdio) -> &mut Command {
        self.stdin = cfg;
        self
    }

    /// The child's stdout. [`Stdio::Stdout`] is invalid here (spawn fails with `InvalidInput`).
    pub fn stdout(&mut self, cfg: Stdio) -> &mut Command {
        self.stdout = cfg;
        self
    }

    /// The child's stderr; [`Stdio::Stdout`] sends it wherever stdout goes.
    pub fn stderr(&mut self, cfg: Stdio) -> &mut Command {
        self.stderr = cfg;
        self
    }

    /// Puts the child in process group `pgid` (`0`: a new group led by the child, like asyncio's
    /// `process_group=0`), so signals to the parent's group do not reach it.
    pub fn process_group(&mut self, pgid: i32) -> &mut Command {
        self.process_group = Some(pgid);
        self
    }

    /// Kill the child with `SIGKILL` if its [`Process`] is dropped while it still runs (off by
    /// default: asyncio leaves such a child running). Either way the child is reaped.
    pub fn kill_on_drop(&mut self, on: bool) -> &mut Command {
        self.kill_on_drop = on;
        self
    }

    /// Starts the child on the calling thread, registering its pipes and pidfd with the running
    /// event loop. The loop thread is blocked while the OS forks and execs (as with tokio and
    /// async-process); [`spawn_off_loop`](Self::spawn_off_loop) avoids that.
    ///
    /// # Errors
    ///
    /// If no event loop runs on this thread; if a stream is misconfigured
    /// ([`InvalidStdio`], `InvalidInput`); or what `fork`/`exec` report (e.g. `NotFound` for a
    /// missing program).
    pub fn spawn(&mut self) -> io::Result<Process> {
        tower_loop::get_running_loop().map_err(io::Error::other)?;
        self.spawn_std()?.register()
    }

    /// Starts the child from a thread of the default executor, so the loop keeps running while
    /// the OS forks and execs, and many children start in parallel; resolves to the [`Process`],
    /// registered with the loop that polls the future. This is what asyncio's
    /// `create_subprocess_exec` does as a coroutine. The fork runs on the same default executor as
    /// [`to_thread`](crate::to_thread): while all its threads are busy with other work, the spawn waits its turn.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it resolves never leaks the child: a child already started is
    /// killed and reaped (asyncio kills the process when `create_subprocess_exec` is cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_exec::Command;
    /// use tower_loop::EventLoop;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let rcs = lp
    ///     .run_until_complete(async {
    ///         let spawns = (0..4).map(|i| Command::shell(format!("exit {i}")).spawn_off_loop());
    ///         let mut procs = tower_coro::try_join_all(spawns).await.unwrap();
    ///         let mut rcs = Vec::new();
    ///         for p in &mut procs {
    ///             rcs.push(p.wait().await.unwrap());
    ///         }
    ///         rcs
    ///     })
    ///     .unwrap();
    /// assert_eq!(rcs, [0, 1, 2, 3]);
    /// ```
    pub fn spawn_off_loop(&self) -> Spawn {
        let cmd = self.clone();
        Spawn {
            // A spawn dropped before the pool reaches it never forks; one dropped mid-fork is
            // killed and reaped when its abandoned result drops (`Spawned`'s `Drop`).
            spawning: to_thread_cancellable(move |token| {
                if token.is_cancelled() {
                    return Err(io::Error::new(
                        io::ErrorKind::Interrupted,
                        "the spawn was dropped before it started",
                    ));
                }
                cmd.spawn_std()
            }),
            fallback: Some(self.clone()),
        }
    }

    /// Forks and execs the child; no loop needed.
    pub(crate) fn spawn_std(&self) -> io::Result<Spawned> {
        for (stream, cfg) in [("stdin", self.stdin), ("stdout", self.stdout)] {
            if cfg == Stdio::Stdout {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    InvalidStdio { stream },
                ));
            }
        }
        let mut cmd = std::process::Command::new(&self.program);
        cmd.args(&self.args);
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        if self.env_clear {
            cmd.env_clear();
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(pgid) = self.process_group {
            cmd.process_group(pgid);
        }
        cmd.stdin(std_stdio(self.stdin));
        // stderr → stdout needs both to share one destination; for a pipe we make it ourselves.
        let mut merged_reader: Option<OwnedFd> = None;
        match (self.stdout, self.stderr) {
            (Stdio::Pipe, Stdio::Stdout) => {
                let (r, w) = tower_loop::pipe()?;
                cmd.stdout(StdStdio::from(w.try_clone()?));
                cmd.stderr(StdStdio::from(w));
                merged_reader = Some(r);
            }
            (Stdio::Inherit, Stdio::Stdout) => {
                cmd.stdout(StdStdio::inherit());
                cmd.stderr(StdStdio::from(io::stdout().as_fd().try_clone_to_owned()?));
            }
            (stdout, Stdio::Stdout) => {
                cmd.stdout(std_stdio(stdout));
                cmd.stderr(std_stdio(stdout));
            }
            (stdout, stderr) => {
                cmd.stdout(std_stdio(stdout));
                cmd.stderr(std_stdio(stderr));
            }
        }
        let child = cmd.spawn()?;
        // Dropping the std command closes the parent's copies of the child's ends.
        drop(cmd);
        Ok(Spawned {
            child: Some(child),
            merged_stdout: merged_reader,
            kill_on_drop: self.kill_on_drop,
        })
    }
}

/// A started child not yet registered with a loop. Dropped unregistered (its `Spawn` future was
/// cancelled), it kills the child and hands it to the orphan reaper.
#[derive(Debug)]
pub(crate) struct Spawned {
    /// The child; `None` once registered.
    pub(crate) child: Option<std::process::Child>,
    /// The read end of a stdout+stderr pipe, when stderr goes to a stdout pipe.
    pub(crate) merged_stdout: Option<OwnedFd>,
    /// The `Command`'s setting.
    pub(crate) kill_on_drop: bool,
}

impl Spawned {
    /// Registers the child with the running loop.
    fn register(mut self) -> io::Result<Process> {
        let child = self.child.take().expect("registered once");
        Process::from_std(child, self.merged_stdout.take(), self.kill_on_drop)
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            let pid = rustix::process::Pid::from_child(&child);
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            reaper::adopt(pid, pidfd::open(pid));
        }
    }
}

/// The future of [`Command::spawn_off_loop`], [`create_subprocess_exec`] and
/// [`create_subprocess_shell`]: resolves to the started [`Process`].
///
/// # Cancel safety
///
/// Dropping it kills and reaps a child that was already started; nothing leaks.
#[must_use = "the child may start anyway, but is killed if the future is dropped"]
pub struct Spawn {
    /// The fork/exec on the blocking pool.
    spawning: Blocking<io::Result<Spawned>>,
    /// The command, to spawn on the loop thread if the pool refuses the job.
    fallback: Option<Command>,
}

impl Future for Spawn {
    type Output = io::Result<Process>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<Process>> {
        let this = self.get_mut();
        let spawned = match Pin::new(&mut this.spawning).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(spawned)) => spawned,
            Poll::Ready(Err(BlockingError::Panicked(payload))) => {
                std::panic::resume_unwind(payload)
            }
            // The default executor was shut down: start the child here instead.
            Poll::Ready(Err(BlockingError::Shutdown | BlockingError::Dropped)) => {
                match this.fallback.take() {
                    Some(cmd) => cmd.spawn_std(),
                    None => Err(io::Error::other(BlockingError::Dropped.to_string())),
                }
            }
        };
        Poll::Ready(spawned.and_then(Spawned::register))
    }
}

impl fmt::Debug for Spawn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawn")
            .field("spawning", &self.spawning)
            .finish()
    }
}

/// The std equivalent of a non-`Stdout` setting.
fn std_stdio(cfg: Stdio) -> StdStdio {
    match cfg {
        Stdio::Inherit | Stdio::Stdout => StdStdio::inherit(),
        Stdio::Pipe => StdStdio::piped(),
        Stdio::DevNull => StdStdio::null(),
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("cwd", &self.cwd)
            .field("env_clear", &self.env_clear)
            .field("env", &self.env)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("process_group", &self.process_group)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}

/// Starts `program` with `args`, its streams inherited (asyncio's
/// `await create_subprocess_exec(program, *args)`); use [`Command`] for pipes and the other
/// options. The fork/exec runs on the blocking pool ([`Command::spawn_off_loop`]).
///
/// # Cancel safety
///
/// Dropping the future kills and reaps a child already started.
///
/// # Examples
///
/// ```
/// use tower_exec::create_subprocess_exec;
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// let rc = lp
///     .run_until_complete(async {
///         let mut p = create_subprocess_exec("sh", ["-c", "exit 4"]).await.unwrap();
///         p.wait().await.unwrap()
///     })
///     .unwrap();
/// assert_eq!(rc, 4);
/// ```
pub fn create_subprocess_exec<I, S>(program: impl AsRef<OsStr>, args: I) -> Spawn
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(program).args(args).spawn_off_loop()
}

/// Starts `cmd` through `/bin/sh -c`, its streams inherited (asyncio's
/// `await create_subprocess_shell(cmd)`). The fork/exec runs on the blocking pool.
///
/// # Cancel safety
///
/// Dropping the future kills and reaps a child already started.
///
/// # Examples
///
/// ```
/// use tower_exec::create_subprocess_shell;
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// let rc = lp
///     .run_until_complete(async { create_subprocess_shell("exit 9").await.unwrap().wait().await.unwrap() })
///     .unwrap();
/// assert_eq!(rc, 9);
/// ```
pub fn create_subprocess_shell(cmd: impl AsRef<OsStr>) -> Spawn {
    Command::shell(cmd).spawn_off_loop()
}
