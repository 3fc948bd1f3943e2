//! asyncio's `SubprocessProtocol` (tier 7's [`SubprocessEvents`](tower_transport::SubprocessEvents)
//! under asyncio's name) and the factories `subprocess_exec`/`subprocess_shell` of
//! `base_events.py`: a [`Subprocess`] builder that spawns the child, makes its
//! [`SubprocessTransport`] and resolves once the protocol's `connection_made` ran. Decision:
//! docs/decisions/0017-subprocess-transport.md.

use std::cell::RefCell;
use std::ffi::OsStr;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use tower_exec::{Command, Stdio};
use tower_transport::{BaseTransport, Connected, SubprocessTransport};

/// asyncio's `SubprocessProtocol`: what a [`SubprocessTransport`] calls — `connection_made`
/// first; `pipe_data_received(fd, data)`, `pipe_connection_lost(fd, exc)` and
/// `process_exited()` in between, in any order; `connection_lost` exactly once, last, after the
/// child exited and every pipe closed. Tier 7's
/// [`SubprocessEvents`](tower_transport::SubprocessEvents) under asyncio's name (as
/// [`Protocol`](crate::Protocol) is tier 7's `StreamEvents`): implement it and hand a factory
/// of it to [`subprocess_exec`] or [`subprocess_shell`].
///
/// ```
/// use tower_protocol::SubprocessProtocol;
///
/// /// Counts the bytes the child writes to stdout and stderr.
/// #[derive(Default)]
/// struct Count {
///     bytes: [usize; 3],
///     exited: bool,
/// }
///
/// impl SubprocessProtocol for Count {
///     fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
///         self.bytes[fd as usize] += data.len();
///     }
///     fn process_exited(&mut self) {
///         self.exited = true;
///     }
/// }
/// # let _ = Count::default();
/// ```
pub use tower_transport::SubprocessEvents as SubprocessProtocol;

/// A child to start with a [`SubprocessProtocol`]: made by [`subprocess_exec`] or
/// [`subprocess_shell`], set up with the builder methods, then `.await`ed (it is
/// [`IntoFuture`]) for `(transport, protocol)`.
///
/// Its streams default to [`Stdio::Pipe`] all three (asyncio's `stdin=PIPE, stdout=PIPE,
/// stderr=PIPE`); [`Stdio::DevNull`], [`Stdio::Inherit`] and, for stderr, [`Stdio::Stdout`]
/// are the others.
#[must_use = "the child starts only when this is awaited"]
pub struct Subprocess<F> {
    /// Makes the protocol (called once, before the child starts, as asyncio does).
    factory: F,
    /// The child's command.
    command: Command,
}

/// Starts `program` with `args` (asyncio's `loop.subprocess_exec(protocol_factory, program,
/// *args)`): a [`Subprocess`] builder; `.await` it for the transport and the protocol, once
/// the child runs and the protocol's `connection_made` ran. `program` is looked up in `PATH`
/// if it has no slash; no shell is involved.
///
/// asyncio's argument errors (`shell=True`, `bufsize != 0`, `universal_newlines`, `text`,
/// `encoding`, `errors`) have no counterpart: the builder has no such options, and bytes are
/// bytes. What is left is reported by the `.await` (see [`Subprocess`]'s future).
///
/// ```
/// use std::io;
/// use tower_loop::EventLoop;
/// use tower_protocol::{SubprocessProtocol, subprocess_exec};
/// use tower_transport::{SubprocessTransport, WriteTransport};
///
/// /// Sends "hello" to the child's stdin, collects its stdout, stops the loop at the end.
/// #[derive(Default)]
/// struct Cat {
///     out: Vec<u8>,
/// }
/// impl SubprocessProtocol for Cat {
///     fn connection_made(&mut self, t: SubprocessTransport) {
///         let stdin = t.get_pipe_transport(0).unwrap();
///         stdin.write(b"hello").unwrap();
///         stdin.write_eof(); // closes stdin once written: cat sees end of file
///     }
///     fn pipe_data_received(&mut self, _fd: i32, data: &[u8]) {
///         self.out.extend_from_slice(data);
///     }
///     fn connection_lost(&mut self, _exc: Option<io::Error>) {
///         tower_loop::get_running_loop().unwrap().stop();
///     }
/// }
///
/// let lp = EventLoop::new().unwrap();
/// let (transport, cat) = lp
///     .run_until_complete(async { subprocess_exec(Cat::default, "cat", [""; 0]).await })
///     .unwrap()
///     .unwrap();
/// lp.run_forever().unwrap(); // until connection_lost
/// assert_eq!(cat.borrow().out, b"hello");
/// assert_eq!(transport.get_returncode(), Some(0));
/// lp.close().unwrap();
/// ```
pub fn subprocess_exec<F, P, I, S>(
    protocol_factory: F,
    program: impl AsRef<OsStr>,
    args: I,
) -> Subprocess<F>
where
    F: FnOnce() -> P,
    P: SubprocessProtocol,
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command.args(args);
    Subprocess::new(protocol_factory, command)
}

/// Starts `cmd` through `/bin/sh -c` (asyncio's `loop.subprocess_shell(protocol_factory,
/// cmd)`): a [`Subprocess`] builder, as [`subprocess_exec`]. The shell interprets `cmd`: quote
/// untrusted input yourself. asyncio's "cmd must be a string" is the type of `cmd`.
///
/// ```
/// use std::io;
/// use tower_loop::EventLoop;
/// use tower_protocol::{SubprocessProtocol, subprocess_shell};
/// use tower_exec::Stdio;
///
/// /// Stops the loop when the transport is done.
/// struct Stop;
/// impl SubprocessProtocol for Stop {
///     fn connection_lost(&mut self, _exc: Option<io::Error>) {
///         tower_loop::get_running_loop().unwrap().stop();
///     }
/// }
///
/// let lp = EventLoop::new().unwrap();
/// let (transport, _) = lp
///     .run_until_complete(subprocess_shell(|| Stop, "exit 7").stdin(Stdio::DevNull).into_future())
///     .unwrap()
///     .unwrap();
/// lp.run_forever().unwrap(); // until connection_lost
/// assert_eq!(transport.get_returncode(), Some(7));
/// lp.close().unwrap();
/// # use std::future::IntoFuture;
/// ```
pub fn subprocess_shell<F, P>(protocol_factory: F, cmd: impl AsRef<OsStr>) -> Subprocess<F>
where
    F: FnOnce() -> P,
    P: SubprocessProtocol,
{
    Subprocess::new(protocol_factory, Command::shell(cmd))
}

impl<F> Subprocess<F> {
    /// The builder for `command`, all three streams piped.
    fn new(factory: F, mut command: Command) -> Subprocess<F> {
        command
            .stdin(Stdio::Pipe)
            .stdout(Stdio::Pipe)
            .stderr(Stdio::Pipe);
        Subprocess { factory, command }
    }

    /// The child's stdin ([`Stdio::Pipe`] by default; [`Stdio::Stdout`] is an error).
    pub fn stdin(mut self, cfg: Stdio) -> Self {
        self.command.stdin(cfg);
        self
    }

    /// The child's stdout ([`Stdio::Pipe`] by default; [`Stdio::Stdout`] is an error).
    pub fn stdout(mut self, cfg: Stdio) -> Self {
        self.command.stdout(cfg);
        self
    }

    /// The child's stderr ([`Stdio::Pipe`] by default; [`Stdio::Stdout`]: wherever stdout
    /// goes, asyncio's `stderr=STDOUT`).
    pub fn stderr(mut self, cfg: Stdio) -> Self {
        self.command.stderr(cfg);
        self
    }

    /// The child's working directory (asyncio's `cwd=`).
    #[doc(alias = "cwd")]
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Sets an environment variable for the child (asyncio's `env=` adds to a copy of
    /// `os.environ`; here the parent's environment is inherited and changed).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Removes an environment variable for the child.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.command.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what [`env`](Self::env) adds after).
    pub fn env_clear(mut self) -> Self {
        self.command.env_clear();
        self
    }

    /// Puts the child in process group `pgid` (`0`: a new group, asyncio's `process_group=0`).
    pub fn process_group(mut self, pgid: i32) -> Self {
        self.command.process_group(pgid);
        self
    }
}

impl<F, P> IntoFuture for Subprocess<F>
where
    F: FnOnce() -> P,
    P: SubprocessProtocol,
{
    type Output = io::Result<(SubprocessTransport, Rc<RefCell<P>>)>;
    type IntoFuture = SpawnSubprocess<F, P>;

    fn into_future(self) -> SpawnSubprocess<F, P> {
        SpawnSubprocess {
            start: Some((self.factory, self.command)),
            connecting: None,
        }
    }
}

/// The future of a [`Subprocess`]: at its first poll it calls the protocol factory, starts the
/// child on the loop's thread (asyncio's `Popen` in `_start` does too) and makes the
/// [`SubprocessTransport`]; it resolves once the protocol's `connection_made` ran.
///
/// # Errors
///
/// It resolves to an error, having left no child and no fd behind, when: no event loop runs on
/// this thread; a stream is misconfigured ([`Stdio::Stdout`] for stdin or stdout:
/// `InvalidInput`); an argument, the program or a variable holds a NUL byte (`InvalidInput`);
/// the program or the working directory does not exist (`NotFound`), or `exec` fails otherwise.
///
/// # Cancel safety
///
/// Dropped after the child started and before it resolved, it closes the transport: the child
/// is killed and reaped by the loop (asyncio closes the transport when
/// `subprocess_exec` is cancelled). The protocol may still see `connection_made` and then
/// its end.
#[must_use = "futures do nothing unless awaited"]
pub struct SpawnSubprocess<F, P> {
    /// The factory and the command, until the first poll.
    start: Option<(F, Command)>,
    /// Waiting for `connection_made`.
    connecting: Option<(Connected, SubprocessTransport, Rc<RefCell<P>>)>,
}

// The factory is moved out at the first poll and never pinned; nothing else is pinned either.
impl<F, P> Unpin for SpawnSubprocess<F, P> {}

impl<F, P> Future for SpawnSubprocess<F, P>
where
    F: FnOnce() -> P,
    P: SubprocessProtocol,
{
    type Output = io::Result<(SubprocessTransport, Rc<RefCell<P>>)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some((factory, command)) = this.start.take() {
            let lp = tower_loop::get_running_loop().map_err(io::Error::other)?;
            let protocol = Rc::new(RefCell::new(factory()));
            let child = command.spawn_raw()?;
            let transport = SubprocessTransport::new(&lp, child, protocol.clone())?;
            this.connecting = Some((transport.connected(), transport, protocol));
        }
        let Some((connected, _, _)) = this.connecting.as_mut() else {
            panic!("SpawnSubprocess polled after it resolved");
        };
        match Pin::new(connected).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                let (_, transport, protocol) = this.connecting.take().expect("connecting");
                Poll::Ready(Ok((transport, protocol)))
            }
        }
    }
}

impl<F, P> Drop for SpawnSubprocess<F, P> {
    fn drop(&mut self) {
        if let Some((_, transport, _)) = self.connecting.take() {
            transport.close();
        }
    }
}

impl<F> fmt::Debug for Subprocess<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subprocess")
            .field("command", &self.command)
            .finish_non_exhaustive()
    }
}

impl<F, P> fmt::Debug for SpawnSubprocess<F, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnSubprocess")
            .field("command", &self.start.as_ref().map(|(_, c)| c))
            .field("transport", &self.connecting.as_ref().map(|(_, t, _)| t))
            .finish()
    }
}
