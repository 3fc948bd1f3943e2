//! `connection_lost` raised while the protocol is borrowed by its owner (the owner holds its
//! `RefCell` borrowed when the loop delivers the call): the call is retried, keeps its error,
//! and is delivered exactly once — when the owner lets go, and also when the loop closes while
//! the retry waits (asyncio has no borrow; this is the Rust side of `_call_connection_lost`).

mod util;

use std::cell::RefCell;
use std::io;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::rc::Rc;

use tower_loop::EventLoop;
use tower_transport::{
    DatagramEvents, DatagramSocketTransport, SocketTransport, StreamTransport, WriteTransport,
};
use util::{Ev, Recorder, lost_count, no_fd_leak, run_once};

/// A transport whose fatal error (`EPIPE`: the peer is gone) has scheduled
/// `connection_lost(Some(BrokenPipe))`, and its protocol.
fn broken_transport(lp: &EventLoop) -> (SocketTransport, Rc<RefCell<Recorder>>, util::Log) {
    let (a, b) = UnixStream::pair().unwrap();
    let (proto, log) = Recorder::new();
    let t = SocketTransport::new(lp, a, proto.clone()).unwrap();
    run_once(lp); // connection_made
    drop(b);
    t.write(b"to nobody").unwrap(); // EPIPE: fatal, connection_lost scheduled
    (t, proto, log)
}

#[test]
fn lost_while_borrowed_is_retried_with_its_error() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, proto, log) = broken_transport(&lp);
        {
            let _owner = proto.borrow_mut();
            run_once(&lp); // the scheduled connection_lost finds the protocol borrowed
            run_once(&lp); // and so does its retry
        }
        assert_eq!(lost_count(&log), 0);
        run_once(&lp);
        assert_eq!(
            *log.borrow(),
            vec![Ev::Made, Ev::Lost(Some(io::ErrorKind::BrokenPipe))]
        );
        assert_eq!(
            proto.borrow().lost_error.as_ref().map(|e| e.raw_os_error()),
            Some(Some(rustix::io::Errno::PIPE.raw_os_error()))
        );
        run_once(&lp);
        assert_eq!(lost_count(&log), 1);
        drop(t);
        lp.close().unwrap();
        assert_eq!(lost_count(&log), 1);
    });
}

#[test]
fn lost_while_borrowed_keeps_its_error_when_the_loop_closes() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, proto, log) = broken_transport(&lp);
        {
            let _owner = proto.borrow_mut();
            run_once(&lp); // connection_lost found the protocol borrowed: a retry waits
        }
        assert_eq!(lost_count(&log), 0);
        // The loop closes before the retry runs: the close delivers connection_lost, with the
        // error (the retry's callback is dropped with the ready queue).
        lp.close().unwrap();
        assert_eq!(
            *log.borrow(),
            vec![Ev::Made, Ev::Lost(Some(io::ErrorKind::BrokenPipe))]
        );
        assert!(proto.borrow().transport.is_none());
        drop(t);
    });
}

#[test]
fn close_from_a_callback_chain_while_borrowed_is_delivered_once() {
    // The protocol closes its transport from data_received (the callback holds the borrow),
    // then its owner holds it across the iteration that delivers connection_lost.
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let (proto, log) = Recorder::new();
        proto.borrow_mut().on_data = Some(Box::new(|t: &StreamTransport, _: &[u8]| {
            tower_transport::BaseTransport::close(t);
            tower_transport::BaseTransport::close(t);
        }));
        let _t = SocketTransport::new(&lp, a, proto.clone()).unwrap();
        run_once(&lp);
        use std::io::Write;
        (&b).write_all(b"x").unwrap();
        run_once(&lp); // data_received closes: connection_lost(None) scheduled
        {
            let _owner = proto.borrow_mut();
            run_once(&lp);
        }
        run_once(&lp);
        run_once(&lp);
        assert_eq!(
            *log.borrow(),
            vec![Ev::Made, Ev::Data(b"x".to_vec()), Ev::Lost(None)]
        );
        lp.close().unwrap();
        assert_eq!(lost_count(&log), 1);
    });
}

/// A datagram protocol that panics in `datagram_received` (a fatal error: the transport
/// closes with an error) and records what `connection_lost` got.
#[derive(Default)]
struct Panicky {
    lost: Vec<Option<String>>,
}

impl DatagramEvents for Panicky {
    fn datagram_received(&mut self, _data: &[u8], _addr: Option<tower_transport::SocketAddress>) {
        panic!("datagram_received fails");
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.lost.push(exc.map(|e| e.to_string()));
    }
}

#[test]
fn datagram_lost_while_borrowed_keeps_its_error_when_the_loop_closes() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        lp.set_exception_handler(|_, _| {}); // the panic's report
        let (a, b) = UnixDatagram::pair().unwrap();
        let proto = Rc::new(RefCell::new(Panicky::default()));
        let t = DatagramSocketTransport::new(&lp, a, proto.clone()).unwrap();
        run_once(&lp); // connection_made
        b.send(b"boom").unwrap();
        run_once(&lp); // the panic: connection_lost(Some(..)) scheduled
        {
            let _owner = proto.borrow_mut();
            run_once(&lp); // found borrowed: a retry waits
        }
        assert!(proto.borrow().lost.is_empty());
        lp.close().unwrap();
        assert_eq!(
            proto.borrow().lost,
            vec![Some("protocol.datagram_received() call failed".to_string())]
        );
        drop(t);
    });
}
