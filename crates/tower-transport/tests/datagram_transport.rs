//! The datagram transport (test_selector_events.py, SelectorDatagramTransportTests:
//! test_sendto*, test_read_ready*, test_sendto_ready*, test_sendto_buffer*), over real UDP and
//! Unix datagram sockets on the tower loop.

mod util;

use std::cell::RefCell;
use std::io;
use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::rc::Rc;

use tower_loop::EventLoop;
use tower_transport::extra::{Peername, Sockname};
use tower_transport::{
    BaseTransport, DATAGRAM_HEADER_SIZE, DatagramEvents, DatagramSocketTransport,
    DatagramTransport, SendToError, SocketAddress,
};
use util::{no_fd_leak, run_once, run_until};

/// What a [`DgRecorder`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Dg {
    Made,
    Received(Vec<u8>, Option<SocketAddress>),
    Error(io::ErrorKind),
    Pause(usize),
    Resume(usize),
    Lost,
}

type DgLog = Rc<RefCell<Vec<Dg>>>;

/// Records its events; answers "ping" with "pong".
struct DgRecorder {
    log: DgLog,
    t: Option<DatagramSocketTransport>,
}

fn dg_recorder() -> (Rc<RefCell<DgRecorder>>, DgLog) {
    let log = DgLog::default();
    let r = DgRecorder {
        log: log.clone(),
        t: None,
    };
    (Rc::new(RefCell::new(r)), log)
}

impl DatagramEvents for DgRecorder {
    fn connection_made(&mut self, t: DatagramSocketTransport) {
        self.t = Some(t);
        self.log.borrow_mut().push(Dg::Made);
    }
    fn datagram_received(&mut self, data: &[u8], addr: Option<SocketAddress>) {
        self.log
            .borrow_mut()
            .push(Dg::Received(data.to_vec(), addr.clone()));
        if data == b"ping" {
            // sendto from inside datagram_received: no borrow panic.
            self.t
                .as_ref()
                .unwrap()
                .sendto(b"pong", addr.as_ref())
                .unwrap();
        }
    }
    fn error_received(&mut self, exc: io::Error) {
        self.log.borrow_mut().push(Dg::Error(exc.kind()));
    }
    fn pause_writing(&mut self) {
        let size = self.t.as_ref().map_or(0, |t| t.get_write_buffer_size());
        self.log.borrow_mut().push(Dg::Pause(size));
    }
    fn resume_writing(&mut self) {
        let size = self.t.as_ref().map_or(0, |t| t.get_write_buffer_size());
        self.log.borrow_mut().push(Dg::Resume(size));
    }
    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        self.log.borrow_mut().push(Dg::Lost);
        self.t = None;
    }
}

fn count(log: &DgLog, f: impl Fn(&Dg) -> bool) -> usize {
    log.borrow().iter().filter(|e| f(e)).count()
}

// test_sendto + test_read_ready: a datagram each way between two unconnected UDP endpoints,
// with the sender's address.
#[test]
fn udp_sendto_and_datagram_received() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let a_addr = SocketAddress::Inet(a.local_addr().unwrap());
        let b_addr = SocketAddress::Inet(b.local_addr().unwrap());
        let (pa, la) = dg_recorder();
        let (pb, lb) = dg_recorder();
        let ta = DatagramSocketTransport::new(&lp, a, pa).unwrap();
        let tb = DatagramSocketTransport::new(&lp, b, pb).unwrap();
        assert_eq!(ta.get_extra_info(Sockname), Some(a_addr.clone()));
        assert_eq!(ta.get_extra_info(Peername), None);
        run_once(&lp);
        ta.sendto(b"ping", Some(&b_addr)).unwrap();
        run_until(&lp, || count(&la, |e| matches!(e, Dg::Received(..))) == 1);
        assert_eq!(
            *lb.borrow(),
            [Dg::Made, Dg::Received(b"ping".to_vec(), Some(a_addr))]
        );
        assert_eq!(
            *la.borrow(),
            [Dg::Made, Dg::Received(b"pong".to_vec(), Some(b_addr))]
        );
        ta.close();
        tb.close();
        run_until(&lp, || count(&la, |e| *e == Dg::Lost) == 1);
        assert_eq!(count(&lb, |e| *e == Dg::Lost), 1);
        lp.close().unwrap();
    });
}

// test_sendto_connected_addr / test_sendto_no_address: a connected transport takes no other
// address; an unconnected one needs one.
#[test]
fn sendto_address_rules() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let peer_addr = SocketAddress::Inet(peer.local_addr().unwrap());
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(peer.local_addr().unwrap()).unwrap();
        let (p, _log) = dg_recorder();
        let t = DatagramSocketTransport::new(&lp, sock, p).unwrap();
        assert_eq!(t.get_extra_info(Peername), Some(peer_addr.clone()));
        let other = SocketAddress::Inet("127.0.0.1:9".parse().unwrap());
        assert_eq!(
            t.sendto(b"x", Some(&other)),
            Err(SendToError::InvalidAddress {
                connected: peer_addr.clone()
            })
        );
        t.sendto(b"to peer", None).unwrap();
        t.sendto(b"to peer again", Some(&peer_addr)).unwrap();
        let mut buf = [0u8; 32];
        assert_eq!(peer.recv(&mut buf).unwrap(), 7);
        assert_eq!(peer.recv(&mut buf).unwrap(), 13);

        let unconnected = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (p2, _) = dg_recorder();
        let t2 = DatagramSocketTransport::new(&lp, unconnected, p2).unwrap();
        assert_eq!(t2.sendto(b"x", None), Err(SendToError::NoAddress));
        lp.close().unwrap();
    });
}

// asyncio's datagram transport built with `address` on an unconnected socket (what
// create_datagram_endpoint does for allow_broadcast): `None` goes to the default address, a
// buffered datagram too, another address is refused, no peername.
#[test]
fn default_address_on_an_unconnected_socket() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let peer_addr = SocketAddress::Inet(peer.local_addr().unwrap());
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (p, _log) = dg_recorder();
        let t =
            DatagramSocketTransport::with_default_address(&lp, sock, p, peer_addr.clone()).unwrap();
        assert_eq!(t.get_extra_info(Peername), None, "the socket has no peer");
        let other = SocketAddress::Inet("127.0.0.1:9".parse().unwrap());
        assert_eq!(
            t.sendto(b"x", Some(&other)),
            Err(SendToError::InvalidAddress {
                connected: peer_addr.clone()
            })
        );
        t.sendto(b"default", None).unwrap();
        t.sendto(b"named", Some(&peer_addr)).unwrap();
        let mut buf = [0u8; 32];
        assert_eq!(peer.recv(&mut buf).unwrap(), 7);
        assert_eq!(peer.recv(&mut buf).unwrap(), 5);
        assert!(format!("{t:?}").contains("connected: false"));
        lp.close().unwrap();
    });
}

// test_read_ready_oserr / test_sendto_error_received_connected: ICMP port unreachable comes
// back as ECONNREFUSED to error_received; the transport stays open.
#[test]
fn connection_refused_goes_to_error_received() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let closed = UdpSocket::bind("127.0.0.1:0").unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(closed_addr).unwrap();
        let (p, log) = dg_recorder();
        let t = DatagramSocketTransport::new(&lp, sock, p).unwrap();
        run_once(&lp);
        t.sendto(b"anyone?", None).unwrap();
        run_until(&lp, || {
            if count(&log, |e| matches!(e, Dg::Error(_))) == 0 {
                // The error may come from the next send instead of the read.
                t.sendto(b"anyone?", None).unwrap();
            }
            count(&log, |e| matches!(e, Dg::Error(_))) > 0
        });
        assert!(
            log.borrow()
                .contains(&Dg::Error(io::ErrorKind::ConnectionRefused))
        );
        assert!(!t.is_closing());
        assert_eq!(count(&log, |e| *e == Dg::Lost), 0);
        lp.close().unwrap();
        assert_eq!(
            count(&log, |e| *e == Dg::Lost),
            1,
            "lost once, at loop close"
        );
    });
}

/// Fills `sock`'s queue to its connected peer until a send would block.
fn fill(sock: &UnixDatagram) -> usize {
    sock.set_nonblocking(true).unwrap();
    let mut n = 0;
    loop {
        match sock.send(b"fill") {
            Ok(_) => n += 1,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return n,
            Err(e) => panic!("fill: {e}"),
        }
    }
}

// test_sendto_buffer + test_sendto_ready + flow control: datagrams are buffered on EAGAIN,
// counted with asyncio's 8-byte header, pause strictly above high, resume after the drain,
// sent in order.
#[test]
fn datagrams_buffer_on_eagain_with_flow_control() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, peer) = UnixDatagram::pair().unwrap();
        let filled = fill(&ours);
        let (p, log) = dg_recorder();
        let t = DatagramSocketTransport::new(&lp, ours, p).unwrap();
        run_once(&lp);
        t.set_write_buffer_limits(Some(2 * (42 + DATAGRAM_HEADER_SIZE)), None)
            .unwrap();
        t.sendto(&[1; 42], None).unwrap();
        t.sendto(&[2; 42], None).unwrap();
        assert_eq!(t.get_write_buffer_size(), 100);
        assert_eq!(*log.borrow(), [Dg::Made], "at high: not paused");
        t.sendto(&[], None).unwrap();
        assert_eq!(*log.borrow(), [Dg::Made, Dg::Pause(108)]);
        peer.set_nonblocking(true).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        run_until(&lp, || {
            while let Ok(n) = peer.recv(&mut buf) {
                got.push(buf[..n].to_vec());
            }
            got.len() == filled + 3
        });
        assert_eq!(got[filled], [1; 42]);
        assert_eq!(got[filled + 1], [2; 42]);
        assert!(got[filled + 2].is_empty());
        run_until(&lp, || log.borrow().len() == 3);
        assert_eq!(log.borrow()[2], Dg::Resume(0));
        lp.close().unwrap();
    });
}

// test_sendto_closing / test_force_close: abort drops buffered datagrams; close waits for
// them; connection_lost once.
#[test]
fn abort_drops_and_close_drains_buffered_datagrams() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, peer) = UnixDatagram::pair().unwrap();
        let filled = fill(&ours);
        let (p, log) = dg_recorder();
        let t = DatagramSocketTransport::new(&lp, ours, p).unwrap();
        run_once(&lp);
        t.sendto(b"kept", None).unwrap();
        t.close();
        for _ in 0..3 {
            run_once(&lp);
        }
        assert_eq!(count(&log, |e| *e == Dg::Lost), 0, "waits for the buffer");
        peer.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 16];
        let mut got = 0;
        run_until(&lp, || {
            while let Ok(n) = peer.recv(&mut buf) {
                got += 1;
                if got == filled + 1 {
                    assert_eq!(&buf[..n], b"kept");
                }
            }
            count(&log, |e| *e == Dg::Lost) == 1
        });
        assert_eq!(got, filled + 1);

        let (ours, peer) = UnixDatagram::pair().unwrap();
        let filled = fill(&ours);
        let (p, log) = dg_recorder();
        let t = DatagramSocketTransport::new(&lp, ours, p).unwrap();
        run_once(&lp);
        t.sendto(b"dropped", None).unwrap();
        t.abort();
        assert_eq!(t.get_write_buffer_size(), 0);
        run_once(&lp);
        assert_eq!(*log.borrow(), [Dg::Made, Dg::Lost]);
        peer.set_nonblocking(true).unwrap();
        let mut n = 0;
        while peer.recv(&mut buf).is_ok() {
            n += 1;
        }
        assert_eq!(n, filled, "the buffered datagram was dropped");
        t.sendto(b"ignored", None).unwrap();
        lp.close().unwrap();
    });
}

// test_sendto_closing / test_sendto_lost + LOG_THRESHOLD_FOR_CONNLOST_WRITES: datagrams sent
// once connection_lost is due are dropped; writes 1-4 are silent, the fifth is reported once to
// the exception handler (asyncio logs it and every later one), the later ones are silent.
#[test]
fn sendto_after_close_is_ignored_and_warns_once() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let warnings = Rc::new(std::cell::Cell::new(0));
        let w = warnings.clone();
        lp.set_exception_handler(move |_, ctx| {
            assert!(ctx.message.contains("socket.sendto() raised exception"));
            w.set(w.get() + 1);
        });
        let (ours, peer) = UnixDatagram::pair().unwrap();
        let (p, log) = dg_recorder();
        let t = DatagramSocketTransport::new(&lp, ours, p).unwrap();
        run_once(&lp);
        t.close();
        for i in 1..=4 {
            t.sendto(b"late", None).unwrap();
            assert_eq!(warnings.get(), 0, "write {i} is silent");
        }
        t.sendto(b"late", None).unwrap();
        assert_eq!(warnings.get(), 1, "the fifth write is reported");
        for _ in 0..10 {
            t.sendto(b"late", None).unwrap();
        }
        assert_eq!(warnings.get(), 1, "once");
        assert_eq!(t.get_write_buffer_size(), 0);
        run_until(&lp, || log.borrow().contains(&Dg::Lost));
        peer.set_nonblocking(true).unwrap();
        assert!(peer.recv(&mut [0u8; 16]).is_err(), "nothing was sent");
        lp.close().unwrap();
    });
}

// The loop closes with datagram transports open: connection_lost once each, sockets closed;
// Unix datagram addresses in extra info.
#[test]
fn loop_closed_with_datagram_transports_open() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let dir = std::env::temp_dir().join(format!("tower-dgram-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let bound = UnixDatagram::bind(&dir).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        client.connect(&dir).unwrap();
        let (pa, la) = dg_recorder();
        let (pb, lb) = dg_recorder();
        let ta = DatagramSocketTransport::new(&lp, bound, pa).unwrap();
        let tb = DatagramSocketTransport::new(&lp, client, pb).unwrap();
        assert_eq!(
            ta.get_extra_info(Sockname),
            Some(SocketAddress::UnixPath(dir.clone()))
        );
        assert_eq!(
            tb.get_extra_info(Peername),
            Some(SocketAddress::UnixPath(dir.clone()))
        );
        run_once(&lp);
        tb.sendto(b"hi", None).unwrap();
        run_until(&lp, || count(&la, |e| matches!(e, Dg::Received(..))) == 1);
        lp.close().unwrap();
        assert_eq!(count(&la, |e| *e == Dg::Lost), 1);
        assert_eq!(count(&lb, |e| *e == Dg::Lost), 1);
        std::fs::remove_file(&dir).unwrap();
    });
}

// test_pause_resume_reading (selector datagram transport): no datagram while paused.
#[test]
fn datagram_pause_and_resume_reading() {
    use tower_transport::ReadTransport;
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, peer) = UnixDatagram::pair().unwrap();
        let (p, log) = dg_recorder();
        let t = DatagramSocketTransport::new(&lp, ours, p).unwrap();
        run_once(&lp);
        t.pause_reading();
        assert!(!t.is_reading());
        peer.send(b"held").unwrap();
        for _ in 0..3 {
            run_once(&lp);
        }
        assert_eq!(*log.borrow(), [Dg::Made]);
        t.resume_reading();
        assert!(t.is_reading());
        run_until(&lp, || log.borrow().len() == 2);
        assert_eq!(log.borrow()[1], Dg::Received(b"held".to_vec(), None));
        lp.close().unwrap();
    });
}
