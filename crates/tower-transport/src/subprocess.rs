//! [`SubprocessTransport`]: a child process and its pipes as one transport (asyncio's
//! `base_subprocess.BaseSubprocessTransport` with `unix_events._UnixSubprocessTransport`). The
//! pipes are tier-7 pipe transports driving a small internal protocol each ([`PipeProto`],
//! asyncio's `ReadSubprocessPipeProto`/`WriteSubprocessPipeProto`) that forwards to the
//! [`SubprocessEvents`] protocol with the child's fd number; the exit is seen through the loop
//! (the child's pidfd, or a watcher thread's pipe, registered as a reader) and reaped there
//! without blocking. Decision: docs/decisions/0017-subprocess-transport.md.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use tower_exec::RawChild;
use tower_exec::error::ProcessLookupError;
use tower_loop::EventLoop;

use crate::deliver::{CallError, ProtocolSlot, SlotEvent, report, report_panic};
use crate::events::StreamEvents;
use crate::extra::{ExtraKey, ExtraValue};
use crate::per_loop::{OnLoopClose, PerLoop, per_loop};
use crate::pipe::{ReadPipeTransport, WritePipeTransport};
use crate::stream::StreamTransport;
use crate::subprocess_events::{SharedSubprocessEvents, SubprocessEvents};
use crate::traits::BaseTransport;

/// A child process as a transport (asyncio's `SubprocessTransport`): its pid and returncode,
/// its pipes as pipe transports ([`get_pipe_transport`](Self::get_pipe_transport)), signals,
/// and the events of all of them sent to one [`SubprocessEvents`] protocol. A cheap `Clone`
/// handle, `!Send`, bound to the loop it was made on.
///
/// [`close`](BaseTransport::close) closes the pipes and kills the child if it still runs (as
/// asyncio); the protocol's `connection_lost` comes once the child has exited and every pipe
/// has closed. The child is never left a zombie: its exit is watched by the loop and reaped
/// without blocking; if the loop closes first, the child is killed and handed to
/// `tower-exec`'s orphan reaper.
///
/// Tier 8's `subprocess_exec`/`subprocess_shell` spawn the child and make this transport; by
/// hand it takes a [`RawChild`]:
///
/// ```
/// use std::cell::RefCell;
/// use std::io;
/// use std::rc::Rc;
/// use tower_exec::{Command, Stdio};
/// use tower_loop::EventLoop;
/// use tower_transport::{SubprocessEvents, SubprocessTransport, WriteTransport};
///
/// /// Writes to the child's stdin, collects its stdout, stops the loop at the end.
/// #[derive(Default)]
/// struct Cat {
///     out: Vec<u8>,
///     exited: bool,
/// }
/// impl SubprocessEvents for Cat {
///     fn connection_made(&mut self, t: SubprocessTransport) {
///         let stdin = t.get_pipe_transport(0).unwrap();
///         stdin.write(b"meow").unwrap();
///         stdin.write_eof(); // closes the pipe once written: cat sees end of file
///     }
///     fn pipe_data_received(&mut self, _fd: i32, data: &[u8]) {
///         self.out.extend_from_slice(data);
///     }
///     fn process_exited(&mut self) {
///         self.exited = true;
///     }
///     fn connection_lost(&mut self, _exc: Option<io::Error>) {
///         tower_loop::get_running_loop().unwrap().stop();
///     }
/// }
///
/// let lp = EventLoop::new().unwrap();
/// let child = Command::new("cat").stdin(Stdio::Pipe).stdout(Stdio::Pipe).spawn_raw().unwrap();
/// let proto = Rc::new(RefCell::new(Cat::default()));
/// let t = SubprocessTransport::new(&lp, child, proto.clone()).unwrap();
/// lp.run_forever().unwrap();
/// assert_eq!(proto.borrow().out, b"meow");
/// assert!(proto.borrow().exited);
/// assert_eq!(t.get_returncode(), Some(0));
/// lp.close().unwrap();
/// ```
#[derive(Clone)]
pub struct SubprocessTransport(Rc<SubprocessCore>);

/// An event waiting for the protocol (it was busy, or `connection_made` has not run yet).
/// `connection_lost` is not one: it is scheduled on its own once every event before it is
/// delivered ([`SubprocessCore::deliver_lost`]).
#[derive(Debug)]
enum Event {
    /// `pipe_data_received(fd, data)`.
    Data(i32, Vec<u8>),
    /// `pipe_connection_lost(fd, exc)`.
    PipeLost(i32, Option<io::Error>),
    /// `process_exited()`.
    Exited,
    /// `pause_writing()`.
    Pause,
    /// `resume_writing()`.
    Resume,
}

impl SlotEvent<dyn SubprocessEvents> for Event {
    fn what(&self) -> &'static str {
        match self {
            Event::Data(..) => "protocol.pipe_data_received() failed",
            Event::PipeLost(..) => "protocol.pipe_connection_lost() failed",
            Event::Exited => "protocol.process_exited() failed",
            Event::Pause => "protocol.pause_writing() failed",
            Event::Resume => "protocol.resume_writing() failed",
        }
    }

    fn deliver(self, p: &mut dyn SubprocessEvents) {
        match self {
            Event::Data(fd, data) => p.pipe_data_received(fd, &data),
            Event::PipeLost(fd, exc) => p.pipe_connection_lost(fd, exc),
            Event::Exited => p.process_exited(),
            Event::Pause => p.pause_writing(),
            Event::Resume => p.resume_writing(),
        }
    }
}

/// The transport's state. Every field is a `Cell` or a `RefCell` borrowed only for a
/// statement, never across a protocol call: the protocol may call back into the transport
/// from any callback.
struct SubprocessCore {
    /// The loop it runs on.
    lp: EventLoop,
    /// The loop's transport state (open transports).
    per_loop: Rc<PerLoop>,
    /// This transport's slot in the per-loop registry.
    index: Cell<usize>,
    /// The child's pid (kept after the child is reaped, as asyncio's `get_pid`).
    pid: u32,
    /// The child: its exit fd and signals; `None` once the transport is finished (or the
    /// loop closed, which hands a running child to the orphan reaper).
    child: RefCell<Option<RawChild>>,
    /// Whether the child's exit fd is registered as a reader.
    exit_watched: Cell<bool>,
    /// The returncode, once the child is reaped (asyncio's `_returncode`).
    returncode: Cell<Option<i32>>,
    /// The pipe transports by the child's fd (0 stdin, 1 stdout, 2 stderr); set once, right
    /// after construction.
    pipes: RefCell<[Option<StreamTransport>; 3]>,
    /// Which pipes have had their `connection_lost` (asyncio's `proto.disconnected`).
    disconnected: [Cell<bool>; 3],
    /// The protocol (`None` once `connection_lost` ran) and the events waiting for it: held
    /// until `connection_made` (asyncio's `_pending_calls`).
    slot: ProtocolSlot<dyn SubprocessEvents, Event>,
    /// `connection_made` was delivered (asyncio's `_pending_calls is None`).
    made: Cell<bool>,
    /// Who waits for `connection_made` ([`SubprocessTransport::connected`]).
    made_waker: RefCell<Option<Waker>>,
    /// `close` was called (asyncio's `_closed`).
    closed: Cell<bool>,
    /// `connection_lost` is due (asyncio's `_finished`).
    finished: Cell<bool>,
    /// A [`deliver_lost`](SubprocessCore::deliver_lost) is queued with `call_soon`.
    lost_scheduled: Cell<bool>,
    /// `connection_lost` was delivered (or given up on): the transport is done.
    lost: Cell<bool>,
}

/// The protocol of one of the child's pipe transports (asyncio's `ReadSubprocessPipeProto`,
/// `WriteSubprocessPipeProto`): forwards its events to the subprocess transport with the fd.
/// It holds the transport alive until its pipe's `connection_lost`, as asyncio's does.
struct PipeProto {
    /// The subprocess transport; `None` after `connection_lost`.
    core: Option<Rc<SubprocessCore>>,
    /// The child's fd this pipe is.
    fd: i32,
}

impl StreamEvents for PipeProto {
    fn data_received(&mut self, data: &[u8]) {
        if let Some(core) = &self.core {
            core.event_with(
                || Event::Data(self.fd, data.to_vec()),
                |p| p.pipe_data_received(self.fd, data),
            );
        }
    }
    fn pause_writing(&mut self) {
        if let Some(core) = &self.core {
            core.event(Event::Pause);
        }
    }
    fn resume_writing(&mut self) {
        if let Some(core) = &self.core {
            core.event(Event::Resume);
        }
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        if let Some(core) = self.core.take() {
            core.pipe_lost(self.fd, exc);
        }
    }
}

impl Drop for PipeProto {
    /// A pipe transport finished without `connection_made` (closed before the loop ran it)
    /// drops its protocol without `connection_lost`: the pipe counts as closed all the same.
    fn drop(&mut self) {
        if let Some(core) = self.core.take() {
            core.pipe_lost_quietly(self.fd);
        }
    }
}

impl SubprocessTransport {
    /// A transport for `child` on `lp`: its pipes (those [`Stdio::Pipe`](tower_exec::Stdio::Pipe)
    /// made and not taken) become pipe transports, its exit is watched by the loop, and
    /// `connection_made` is scheduled after the pipes' (asyncio's order). The child is killed
    /// when the transport closes or is dropped while it runs.
    ///
    /// # Errors
    ///
    /// If `lp` is closed or a pipe cannot be set up; the child is then killed and reaped.
    pub fn new(
        lp: &EventLoop,
        mut child: RawChild,
        protocol: SharedSubprocessEvents,
    ) -> io::Result<SubprocessTransport> {
        child.set_kill_on_drop(true);
        if lp.is_closed() {
            return Err(io::Error::other("the event loop is closed"));
        }
        let per_loop = per_loop(lp);
        let fds = [child.take_stdin(), child.take_stdout(), child.take_stderr()];
        let core = Rc::new(SubprocessCore {
            lp: lp.clone(),
            per_loop: per_loop.clone(),
            index: Cell::new(usize::MAX),
            pid: child.pid(),
            child: RefCell::new(Some(child)),
            exit_watched: Cell::new(false),
            returncode: Cell::new(None),
            pipes: RefCell::new([None, None, None]),
            disconnected: Default::default(),
            slot: ProtocolSlot::new_held(protocol),
            made: Cell::new(false),
            made_waker: RefCell::new(None),
            closed: Cell::new(false),
            finished: Cell::new(false),
            lost_scheduled: Cell::new(false),
            lost: Cell::new(false),
        });
        let weak: Weak<dyn OnLoopClose> = Rc::downgrade(&core) as Weak<SubprocessCore>;
        core.index.set(per_loop.register(weak));
        let made = (|| -> io::Result<()> {
            for (fd, pipe) in (0i32..).zip(fds) {
                let Some(pipe) = pipe else { continue };
                let proto = Rc::new(RefCell::new(PipeProto {
                    core: Some(core.clone()),
                    fd,
                }));
                let t: StreamTransport = if fd == 0 {
                    WritePipeTransport::new(lp, pipe, proto)?.into()
                } else {
                    ReadPipeTransport::new(lp, pipe, proto)?.into()
                };
                core.pipes.borrow_mut()[fd as usize] = Some(t);
            }
            core.watch_exit()
        })();
        if let Err(e) = made {
            core.abandon();
            return Err(e);
        }
        let t = core.clone();
        lp.call_soon(move || t.connection_made());
        Ok(SubprocessTransport(core))
    }

    /// The child's process id (asyncio's `get_pid`); still answers after the child is reaped.
    pub fn get_pid(&self) -> u32 {
        self.0.pid
    }

    /// The child's returncode once it exited and was reaped (minus the signal number if a
    /// signal killed it, as asyncio); `None` while it runs. Set before `process_exited`.
    pub fn get_returncode(&self) -> Option<i32> {
        self.0.returncode.get()
    }

    /// The transport of the pipe to the child's fd `fd` (0 stdin: a
    /// [`WritePipeTransport`]; 1 stdout, 2 stderr: [`ReadPipeTransport`]s), or `None` if that
    /// stream is not a pipe. Still returned (closed) after the pipe closes, as asyncio's.
    pub fn get_pipe_transport(&self, fd: i32) -> Option<StreamTransport> {
        let i = usize::try_from(fd).ok()?;
        self.0.pipes.borrow().get(i)?.clone()
    }

    /// Sends signal `sig` to the child (asyncio's `send_signal`); through its pidfd where
    /// there is one, so a recycled pid is never hit. Once the child has been reaped (its
    /// returncode known) this does nothing, as asyncio's `Popen.send_signal`.
    ///
    /// # Errors
    ///
    /// `NotFound` carrying [`ProcessLookupError`] once the transport is done
    /// (`connection_lost` ran: asyncio's `_check_proc`); `InvalidInput` for a signal number the
    /// OS does not name; or what the OS reports.
    pub fn send_signal(&self, sig: i32) -> io::Result<()> {
        let child = self.0.child.borrow();
        let Some(child) = child.as_ref() else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                ProcessLookupError { pid: self.0.pid },
            ));
        };
        if child.returncode().is_some() {
            return Ok(());
        }
        child.send_signal(sig)
    }

    /// Sends `SIGTERM` (asyncio's `terminate`).
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn terminate(&self) -> io::Result<()> {
        self.send_signal(rustix::process::Signal::TERM.as_raw())
    }

    /// Sends `SIGKILL` (asyncio's `kill`).
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn kill(&self) -> io::Result<()> {
        self.send_signal(rustix::process::Signal::KILL.as_raw())
    }

    /// Resolves once the protocol's `connection_made` has run (asyncio's `waiter` of
    /// `_make_subprocess_transport`; tier 8's `subprocess_exec` awaits it). Resolves at once if
    /// it has; never if the loop closes before it runs.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future changes nothing.
    pub fn connected(&self) -> Connected {
        Connected(self.0.clone())
    }

    /// Whether `self` and `other` are handles to the same transport.
    pub fn ptr_eq(&self, other: &SubprocessTransport) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// The future of [`SubprocessTransport::connected`].
///
/// # Cancel safety
///
/// Dropping it changes nothing.
#[must_use = "futures do nothing unless awaited"]
pub struct Connected(Rc<SubprocessCore>);

impl Future for Connected {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.made.get() {
            return Poll::Ready(());
        }
        *self.0.made_waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl fmt::Debug for Connected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connected")
            .field("pid", &self.0.pid)
            .field("made", &self.0.made.get())
            .finish()
    }
}

impl SubprocessCore {
    /// Registers the child's exit fd as a reader.
    fn watch_exit(self: &Rc<Self>) -> io::Result<()> {
        let child = self.child.borrow();
        let Some(fd) = child.as_ref().and_then(RawChild::exit_fd) else {
            return Ok(());
        };
        let t = self.clone();
        self.lp.add_reader(fd, move || t.exit_ready())?;
        self.exit_watched.set(true);
        Ok(())
    }

    /// Unregisters the exit fd (before the child is reaped: reaping closes it).
    fn unwatch_exit(&self) {
        if self.exit_watched.replace(false) {
            if let Some(fd) = self.child.borrow().as_ref().and_then(RawChild::exit_fd) {
                let _ = self.lp.remove_reader(fd);
            }
        }
    }

    /// The exit fd is readable: reap the child (it has exited, so this does not block).
    fn exit_ready(self: &Rc<Self>) {
        self.unwatch_exit();
        let reaped = match self.child.borrow_mut().as_mut().map(RawChild::try_wait) {
            Some(Ok(rc)) => rc,
            Some(Err(e)) => {
                report(&self.lp, &format!("waitpid({}) failed: {e}", self.pid));
                Some(255)
            }
            None => return,
        };
        match reaped {
            Some(rc) => self.process_exited(rc),
            // Not exited after all: watch again.
            None => {
                if let Err(e) = self.watch_exit() {
                    report(&self.lp, &format!("cannot watch child {}: {e}", self.pid));
                }
            }
        }
    }

    /// asyncio's `_process_exited`: the returncode first, then `process_exited`.
    fn process_exited(self: &Rc<Self>, rc: i32) {
        if self.returncode.get().is_some() {
            return;
        }
        self.returncode.set(Some(rc));
        self.event(Event::Exited);
        self.try_finish();
    }

    /// asyncio's `_pipe_connection_lost`.
    fn pipe_lost(self: &Rc<Self>, fd: i32, exc: Option<io::Error>) {
        if let Some(d) = usize::try_from(fd)
            .ok()
            .and_then(|i| self.disconnected.get(i))
        {
            d.set(true);
        }
        self.event(Event::PipeLost(fd, exc));
        self.try_finish();
    }

    /// A pipe dropped its protocol without `connection_lost` ([`PipeProto`]'s `Drop`): its
    /// `pipe_connection_lost(fd, None)` waits for a scheduled flush (no protocol call from a
    /// destructor).
    fn pipe_lost_quietly(self: &Rc<Self>, fd: i32) {
        if let Some(d) = usize::try_from(fd)
            .ok()
            .and_then(|i| self.disconnected.get(i))
        {
            d.set(true);
        }
        if self.lost.get() {
            return;
        }
        if self.slot.queue(Event::PipeLost(fd, None)) {
            self.schedule_flush();
        }
        self.try_finish();
    }

    /// asyncio's `_try_finish`: once the child exited and every pipe closed, `connection_lost`
    /// is scheduled (it waits for the events already queued, so it is the last).
    fn try_finish(self: &Rc<Self>) {
        if self.returncode.get().is_none() || self.finished.get() {
            return;
        }
        let pipes = self.pipes.borrow();
        let all_closed = pipes
            .iter()
            .zip(&self.disconnected)
            .all(|(p, d)| p.is_none() || d.get());
        drop(pipes);
        if all_closed {
            self.finished.set(true);
            self.schedule_lost();
        }
    }

    /// Queues a [`deliver_lost`](Self::deliver_lost) with `call_soon` (asyncio's
    /// `call_soon(self._call_connection_lost, None)`).
    fn schedule_lost(self: &Rc<Self>) {
        self.lost_scheduled.set(true);
        let t = self.clone();
        self.lp.call_soon(move || t.deliver_lost());
    }

    /// The scheduled `connection_lost`: after every event queued before it (delivered now if the
    /// protocol is free; if its owner holds it, tried again next iteration). Before
    /// `connection_made`, left to it.
    fn deliver_lost(self: &Rc<Self>) {
        self.lost_scheduled.set(false);
        if self.lost.get() || !self.made.get() {
            return;
        }
        if self.slot.deliver_pending(&self.lp) {
            self.schedule_flush();
        }
        if self.slot.pending_len() > 0 || self.slot.is_busy() {
            self.schedule_lost();
            return;
        }
        self.call_connection_lost();
    }

    /// The scheduled `connection_made`, then the events that waited for it (and
    /// `connection_lost`, if it came due meanwhile and is not scheduled).
    fn connection_made(self: &Rc<Self>) {
        if self.lost.get() || self.made.get() {
            return;
        }
        if self.slot.is_busy() {
            // The protocol's owner holds it borrowed: try again next iteration.
            let t = self.clone();
            self.lp.call_soon(move || t.connection_made());
            return;
        }
        self.made.set(true);
        self.slot.open();
        let t = SubprocessTransport(self.clone());
        self.call("protocol.connection_made() failed", |p| {
            p.connection_made(t)
        });
        if let Some(w) = self.made_waker.borrow_mut().take() {
            w.wake();
        }
        if self.finished.get() && !self.lost_scheduled.get() {
            self.deliver_lost();
        }
    }

    /// Delivers `ev` now if the protocol is free, else queues it.
    fn event(self: &Rc<Self>, ev: Event) {
        if !self.lost.get() && self.slot.raise(&self.lp, ev) {
            self.schedule_flush();
        }
    }

    /// [`event`](Self::event) for a `pipe_data_received`, which calls `now` on the
    /// protocol without copying the bytes when it can, and queues `queued()` otherwise.
    fn event_with(
        self: &Rc<Self>,
        queued: impl FnOnce() -> Event,
        now: impl FnOnce(&mut dyn SubprocessEvents),
    ) {
        let what = "protocol.pipe_data_received() failed";
        if !self.lost.get() && self.slot.raise_with(&self.lp, what, queued, now) {
            self.schedule_flush();
        }
    }

    /// Calls `f` on the protocol (catching a panic, reported as `what`), then delivers what it
    /// raised meanwhile.
    fn call(self: &Rc<Self>, what: &str, f: impl FnOnce(&mut dyn SubprocessEvents)) {
        let (r, schedule) = self.slot.call(&self.lp, f);
        if schedule {
            self.schedule_flush();
        }
        if let Err(CallError::Panicked(payload)) = r {
            report_panic(&self.lp, what, payload);
        }
    }

    /// Schedules a flush of the waiting events with `call_soon` (the slot asked for one: the
    /// protocol's owner holds it); again while it stays borrowed.
    fn schedule_flush(self: &Rc<Self>) {
        let t = self.clone();
        self.lp.call_soon(move || {
            if t.slot.scheduled_flush(&t.lp) {
                t.schedule_flush();
            }
        });
    }

    /// asyncio's `_call_connection_lost`: the protocol's last call, then the transport lets go
    /// of the protocol and the child.
    fn call_connection_lost(self: &Rc<Self>) {
        if self.lost.get() {
            return;
        }
        if self.made.get() {
            self.call("protocol.connection_lost() failed", |p| {
                p.connection_lost(None)
            });
        }
        self.finish();
    }

    /// After `connection_lost`: releases the protocol, the child (reaped by now, or handed to
    /// the orphan reaper) and the registry slot.
    fn finish(&self) {
        self.lost.set(true);
        self.unwatch_exit();
        let protocol = self.slot.replace(None);
        drop(protocol);
        let child = self.child.borrow_mut().take();
        drop(child);
        self.per_loop.unregister(self.index.replace(usize::MAX));
    }

    /// A failed construction: closes what was made, kills the child, delivers nothing.
    fn abandon(self: &Rc<Self>) {
        self.lost.set(true);
        let pipes = self.pipes.borrow_mut().clone();
        for p in pipes.into_iter().flatten() {
            crate::WriteTransport::abort(&p);
        }
        self.finish();
    }

    /// `close`: closes the pipes and kills a running child (asyncio's).
    fn close(self: &Rc<Self>) {
        if self.closed.replace(true) {
            return;
        }
        let pipes = self.pipes.borrow().clone();
        for p in pipes.into_iter().flatten() {
            p.close();
        }
        if self.returncode.get().is_none() {
            if let Some(child) = self.child.borrow().as_ref() {
                if child.returncode().is_none() {
                    let _ = child.kill();
                }
            }
        }
    }

    /// The `Debug` output.
    fn fmt_fields(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pipes = self.pipes.borrow();
        let pipe_fds: Vec<i32> = (0i32..)
            .zip(pipes.iter())
            .filter_map(|(fd, p)| p.as_ref().map(|_| fd))
            .collect();
        f.debug_struct("SubprocessTransport")
            .field("pid", &self.pid)
            .field("returncode", &self.returncode.get())
            .field("pipes", &pipe_fds)
            .field("closed", &self.closed.get())
            .field("connected", &self.made.get())
            .field("finished", &self.finished.get())
            .field("pending", &self.slot.pending_len())
            .finish()
    }
}

impl OnLoopClose for SubprocessCore {
    /// The loop closes with the transport open: the pipes are closed (their
    /// `pipe_connection_lost` delivered now), a running child is killed — reaped now if it is
    /// already gone (then `process_exited`), else handed to the orphan reaper — and
    /// `connection_lost(None)` is called last, all before the loop's ready queue is dropped.
    fn loop_closed(self: Rc<Self>) {
        if self.lost.get() {
            return;
        }
        self.closed.set(true);
        self.unwatch_exit();
        let pipes = self.pipes.borrow().clone();
        for p in pipes.into_iter().flatten() {
            let core = match p {
                StreamTransport::ReadPipe(t) => t.0,
                StreamTransport::WritePipe(t) => t.0,
                StreamTransport::Socket(t) => t.0,
                // A subprocess's pipes are tier 7's own: never a higher tier's transport.
                StreamTransport::Custom(_) => continue,
            };
            core.loop_closed();
        }
        if self.returncode.get().is_none() {
            let rc = self.child.borrow_mut().as_mut().and_then(|c| {
                let _ = c.kill();
                c.try_wait().ok().flatten()
            });
            if let Some(rc) = rc {
                self.process_exited(rc);
            }
        }
        // Whatever is left waiting is delivered now (the loop will run nothing more); a
        // protocol its owner holds borrowed misses it, as a stream protocol would. Before
        // `connection_made` the slot is held: nothing is delivered.
        self.finished.set(true);
        self.slot.deliver_pending(&self.lp);
        self.slot.clear();
        self.call_connection_lost();
    }
}

impl Drop for SubprocessCore {
    /// A transport nothing holds any more leaves the loop's registry; a child still running is
    /// killed and handed to the orphan reaper (the `RawChild`'s drop).
    fn drop(&mut self) {
        self.per_loop.unregister(self.index.get());
    }
}

impl BaseTransport for SubprocessTransport {
    type Protocol = dyn SubprocessEvents;

    /// Closes the pipes and kills the child if it still runs (asyncio's); the protocol's
    /// `connection_lost` follows once the child is reaped and every pipe closed. Idempotent.
    fn close(&self) {
        self.0.close();
    }
    fn is_closing(&self) -> bool {
        self.0.closed.get()
    }
    /// No keys apply (asyncio's `'subprocess'`, the `Popen` object, has no counterpart here).
    fn extra_info(&self, _key: ExtraKey) -> Option<ExtraValue> {
        None
    }
    fn set_protocol(&self, protocol: SharedSubprocessEvents) {
        let old = self.0.slot.replace(Some(protocol));
        drop(old);
    }
    fn get_protocol(&self) -> Option<SharedSubprocessEvents> {
        self.0.slot.get()
    }
}

impl fmt::Debug for SubprocessTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt_fields(f)
    }
}
