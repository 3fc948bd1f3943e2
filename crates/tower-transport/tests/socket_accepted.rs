//! `SocketTransport::accepted`: a server's connection (asyncio's transport built with
//! `server=`) tells its [`DetachListener`] once, right after `connection_lost` — also after
//! `set_protocol`, and when the loop closes first; it takes the socket non-blocking as it is.

mod util;

use std::cell::RefCell;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use tower_loop::EventLoop;
use tower_transport::{BaseTransport, DetachListener, SocketTransport, WriteTransport};
use util::{Ev, Recorder, no_fd_leak, run_once, run_until};

/// Records the keys it is told, and whether the protocol had already seen `connection_lost`.
#[derive(Default)]
struct Server {
    /// `(key, lost events logged by then)` per call.
    calls: RefCell<Vec<(usize, usize)>>,
    /// The log of the protocol whose loss is watched.
    log: RefCell<Option<util::Log>>,
}

impl DetachListener for Server {
    fn detach(&self, key: usize) {
        let lost = self.log.borrow().as_ref().map_or(0, util::lost_count);
        self.calls.borrow_mut().push((key, lost));
    }
}

/// A non-blocking socket pair, as `accept4(SOCK_NONBLOCK)` gives.
fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    (a, b)
}

#[test]
fn detach_runs_once_right_after_connection_lost() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let server = Rc::new(Server::default());
        let (a, b) = pair();
        let (proto, log) = Recorder::new();
        *server.log.borrow_mut() = Some(log.clone());
        let t = SocketTransport::accepted(&lp, a.into(), proto, server.clone(), 7).unwrap();
        run_once(&lp);
        assert_eq!(log.borrow().first(), Some(&Ev::Made));
        assert!(server.calls.borrow().is_empty());
        drop(b);
        run_until(&lp, || !server.calls.borrow().is_empty());
        assert_eq!(
            *server.calls.borrow(),
            vec![(7, 1)],
            "once, after connection_lost"
        );
        assert!(t.is_closing());
        t.close();
        run_once(&lp);
        assert_eq!(server.calls.borrow().len(), 1, "only once");
        lp.close().unwrap();
    });
}

#[test]
fn detach_after_set_protocol() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let server = Rc::new(Server::default());
        let (a, _b) = pair();
        let (first, _) = Recorder::new();
        let t = SocketTransport::accepted(&lp, a.into(), first, server.clone(), 3).unwrap();
        run_once(&lp);
        let (second, log) = Recorder::new();
        *server.log.borrow_mut() = Some(log.clone());
        t.set_protocol(second);
        t.abort();
        run_until(&lp, || !server.calls.borrow().is_empty());
        assert_eq!(*server.calls.borrow(), vec![(3, 1)]);
        lp.close().unwrap();
    });
}

#[test]
fn detach_when_the_loop_closes_before_connection_made() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let server = Rc::new(Server::default());
        let (a, _b) = pair();
        let (proto, log) = Recorder::new();
        let _t = SocketTransport::accepted(&lp, a.into(), proto, server.clone(), 0).unwrap();
        lp.close().unwrap();
        assert!(
            log.borrow().is_empty(),
            "no connection_made, so no connection_lost"
        );
        assert_eq!(server.calls.borrow().len(), 1);
    });
}

#[test]
fn a_closed_loop_is_an_error_and_no_detach() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        lp.close().unwrap();
        let server = Rc::new(Server::default());
        let (a, _b) = pair();
        let (proto, _) = Recorder::new();
        assert!(SocketTransport::accepted(&lp, a.into(), proto, server.clone(), 0).is_err());
        assert!(server.calls.borrow().is_empty());
    });
}

/// `accepted` does not make the socket non-blocking (that is its point); debug builds check
/// that it is.
#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "the socket is blocking")]
fn a_blocking_socket_is_caught_in_debug_builds() {
    let lp = EventLoop::new().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    let (proto, _) = Recorder::new();
    let _ = SocketTransport::accepted(&lp, a.into(), proto, Rc::new(Server::default()), 0);
}
