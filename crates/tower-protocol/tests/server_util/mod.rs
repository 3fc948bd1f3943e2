//! What the server tests share: the fd-leak check, running the loop a step or until something
//! happened, an echo protocol that counts its connections, and non-blocking std clients.
#![allow(dead_code)] // each test binary uses a part

use std::cell::{Cell, RefCell};
use std::future::{Future, IntoFuture};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tower_loop::EventLoop;
use tower_protocol::{Protocol, Server};
use tower_transport::{SocketAddress, StreamTransport, WriteTransport};

/// The workspace's fd-leak check, one file with tower-loop's tests (no test-support crate).
#[path = "../../../tower-loop/tests/sock_util/fd_leak.rs"]
mod fd_leak;
#[allow(unused_imports)] // each test binary uses a part
pub(crate) use fd_leak::{fd_count, no_fd_leak};

/// One loop iteration (`stop` from a callback ends `run_forever` after the iteration, whose
/// poll does not block because a callback is ready).
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
        if !cond() {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

/// Awaits a server builder on `lp`.
pub(crate) fn make<B>(lp: &EventLoop, builder: B) -> io::Result<Server>
where
    B: IntoFuture<Output = io::Result<Server>>,
{
    lp.run_until_complete(builder.into_future()).unwrap()
}

/// Polls `fut` once with a waker that does nothing.
pub(crate) fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(Waker::noop()))
}

/// What the echo servers of a test saw.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Protocols made by the factory.
    pub(crate) made: Cell<usize>,
    /// `connection_made` calls.
    pub(crate) connected: Cell<usize>,
    /// `connection_lost` calls.
    pub(crate) lost: Cell<usize>,
    /// The accepted sockets' `SO_KEEPALIVE`, read in `connection_made`.
    pub(crate) keepalive: RefCell<Vec<bool>>,
}

/// Echoes what it receives; counts into its [`Stats`].
pub(crate) struct Echo {
    /// The transport, from `connection_made` to `connection_lost`.
    t: Option<StreamTransport>,
    /// The counters.
    stats: Rc<Stats>,
}

impl Echo {
    /// A factory of echo protocols counting into `stats`.
    pub(crate) fn factory(stats: &Rc<Stats>) -> impl Fn() -> Echo + 'static {
        let stats = stats.clone();
        move || {
            stats.made.set(stats.made.get() + 1);
            Echo {
                t: None,
                stats: stats.clone(),
            }
        }
    }
}

impl Protocol for Echo {
    fn connection_made(&mut self, t: StreamTransport) {
        use tower_transport::BaseTransport;
        let s = &self.stats;
        s.connected.set(s.connected.get() + 1);
        if let Some(fd) = t.get_extra_info(tower_transport::extra::Socket) {
            // SAFETY: the fd is the transport's, open while it is (we are in its callback).
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            if let Ok(on) = rustix::net::sockopt::socket_keepalive(fd) {
                s.keepalive.borrow_mut().push(on);
            }
        }
        self.t = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.t.as_ref().unwrap().write(data).unwrap();
    }
    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        self.stats.lost.set(self.stats.lost.get() + 1);
        self.t = None;
    }
}

/// A fresh loop, and the counters of the echo servers a test makes on it.
pub(crate) fn setup() -> (EventLoop, Rc<Stats>) {
    (EventLoop::new().unwrap(), Rc::new(Stats::default()))
}

/// The end of a test: closes `server`, runs the loop until its clients are gone (the test
/// dropped its client sockets), closes the loop.
pub(crate) fn shut_down(lp: &EventLoop, server: &Server) {
    server.close();
    run_until(lp, || server.client_count() == 0);
    lp.close().unwrap();
}

/// The IP addresses the server listens on.
pub(crate) fn inet_addrs(server: &Server) -> Vec<SocketAddr> {
    server
        .sockets()
        .into_iter()
        .map(|s| match s.address {
            SocketAddress::Inet(a) => a,
            other => panic!("not an IP address: {other:?}"),
        })
        .collect()
}

/// The IP address of the server's first socket.
pub(crate) fn inet_addr(server: &Server) -> SocketAddr {
    match &server.sockets()[0].address {
        SocketAddress::Inet(a) => *a,
        other => panic!("not an IP address: {other:?}"),
    }
}

/// A client connected to `addr` (the kernel completes the handshake before any accept),
/// non-blocking.
pub(crate) fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_nonblocking(true).unwrap();
    c
}

/// Whatever `c` has to read now, non-blocking; `None` at end of stream or on a reset.
pub(crate) fn read_now<R: Read>(c: &mut R, out: &mut Vec<u8>) -> Option<()> {
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Some(()),
            Err(_) => return None,
        }
    }
}

/// Sends `msg` from `c` and runs the loop until it comes back whole.
pub(crate) fn echo<S: Read + Write>(lp: &EventLoop, c: &mut S, msg: &[u8]) {
    c.write_all(msg).unwrap();
    let mut got = Vec::new();
    run_until(lp, || {
        read_now(c, &mut got).expect("the connection closed before the echo");
        got.len() >= msg.len()
    });
    assert_eq!(got, msg);
}

/// Runs the loop until `c` sees its connection end (end of stream or reset).
pub(crate) fn run_until_closed<R: Read>(lp: &EventLoop, c: &mut R) {
    let mut sink = Vec::new();
    run_until(lp, || read_now(c, &mut sink).is_none());
}
