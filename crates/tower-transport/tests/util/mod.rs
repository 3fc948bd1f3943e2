//! What the transport tests share: the fd-leak check, a protocol that records its events, a
//! way to fill a socket's buffers, and running the loop until something happened.
#![allow(dead_code)] // each test binary uses a part

use std::cell::RefCell;
use std::io;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tower_loop::EventLoop;
use tower_transport::{StreamEvents, StreamTransport, WriteTransport};

/// The fd-leak check, one file with tower-loop's tests (no test-support crate to publish).
#[path = "../../../tower-loop/tests/sock_util/fd_leak.rs"]
mod fd_leak;
#[allow(unused_imports)] // each test binary uses a part
pub(crate) use fd_leak::{fd_count, no_fd_leak};

/// One loop iteration (asyncio's `run_once` trick: `stop` from a callback ends `run_forever`
/// after the iteration, whose poll does not block because a callback is ready).
pub(crate) fn run_once(lp: &EventLoop) {
    let l = lp.clone();
    lp.call_soon(move || l.stop());
    lp.run_forever().unwrap();
}

/// Runs the loop until `cond` holds (panics after 10 s).
pub(crate) fn run_until(lp: &EventLoop, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached in 10 s");
        run_once(lp);
    }
}

/// Fills the send buffer of non-blocking `sock` (and its peer's receive buffer) until one more
/// byte would block; returns how many bytes were written.
pub(crate) fn fill_send_buffer(sock: &UnixStream) -> usize {
    use std::io::Write;
    sock.set_nonblocking(true).unwrap();
    let chunk = [b'f'; 8192];
    let (mut size, mut total) = (chunk.len(), 0);
    while size > 0 {
        match (&*sock).write(&chunk[..size]) {
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => size /= 2,
            Err(e) => panic!("filling the send buffer: {e}"),
        }
    }
    total
}

/// Reads everything `sock` has now (non-blocking), or until end of stream; returns the bytes
/// and whether end of stream was seen.
pub(crate) fn drain(sock: &UnixStream) -> (Vec<u8>, bool) {
    use std::io::Read;
    sock.set_nonblocking(true).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match (&*sock).read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (out, false),
            Err(e) => panic!("drain: {e}"),
        }
    }
}

/// An event a [`Recorder`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ev {
    /// `connection_made`.
    Made,
    /// `data_received` (or `buffer_updated`), with the bytes.
    Data(Vec<u8>),
    /// `eof_received`.
    Eof,
    /// `pause_writing`, with the write buffer size then.
    Pause(usize),
    /// `resume_writing`, with the write buffer size then.
    Resume(usize),
    /// `connection_lost`, with the error's kind.
    Lost(Option<io::ErrorKind>),
}

/// The shared event log.
pub(crate) type Log = Rc<RefCell<Vec<Ev>>>;

/// What a [`Recorder`] does in `data_received` besides recording.
pub(crate) type OnData = Box<dyn FnMut(&StreamTransport, &[u8])>;

/// A protocol that records its events, keeps its transport until `connection_lost`, and
/// returns `keep_open` from `eof_received`.
pub(crate) struct Recorder {
    /// The events.
    pub(crate) log: Log,
    /// The transport, from `connection_made` to `connection_lost`.
    pub(crate) transport: Option<StreamTransport>,
    /// What `eof_received` returns.
    pub(crate) keep_open: bool,
    /// Extra work in `data_received`.
    pub(crate) on_data: Option<OnData>,
    /// The error `connection_lost` got, kept whole.
    pub(crate) lost_error: Option<io::Error>,
}

impl Recorder {
    /// A recorder and its log.
    pub(crate) fn new() -> (Rc<RefCell<Recorder>>, Log) {
        let log = Log::default();
        let r = Recorder {
            log: log.clone(),
            transport: None,
            keep_open: false,
            on_data: None,
            lost_error: None,
        };
        (Rc::new(RefCell::new(r)), log)
    }

    fn size(&self) -> usize {
        self.transport
            .as_ref()
            .map_or(0, |t| t.get_write_buffer_size())
    }
}

impl StreamEvents for Recorder {
    fn connection_made(&mut self, transport: StreamTransport) {
        self.transport = Some(transport);
        self.log.borrow_mut().push(Ev::Made);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.log.borrow_mut().push(Ev::Data(data.to_vec()));
        if let Some(f) = self.on_data.as_mut() {
            f(self.transport.as_ref().unwrap(), data);
        }
    }
    fn eof_received(&mut self) -> bool {
        self.log.borrow_mut().push(Ev::Eof);
        self.keep_open
    }
    fn pause_writing(&mut self) {
        let size = self.size();
        self.log.borrow_mut().push(Ev::Pause(size));
    }
    fn resume_writing(&mut self) {
        let size = self.size();
        self.log.borrow_mut().push(Ev::Resume(size));
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.log
            .borrow_mut()
            .push(Ev::Lost(exc.as_ref().map(|e| e.kind())));
        self.lost_error = exc;
        self.transport = None;
    }
}

/// All data events of `log`, concatenated.
pub(crate) fn received(log: &Log) -> Vec<u8> {
    log.borrow()
        .iter()
        .filter_map(|e| match e {
            Ev::Data(d) => Some(d.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// How many `Lost` events `log` has.
pub(crate) fn lost_count(log: &Log) -> usize {
    log.borrow()
        .iter()
        .filter(|e| matches!(e, Ev::Lost(_)))
        .count()
}
