//! The stream transport's call order and closing (test_selector_events.py,
//! SelectorSocketTransportTests and SelectorTransportTests; test_transports.py), over real
//! socketpairs and loopback TCP on the tower loop.

mod util;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use tower_loop::EventLoop;
use tower_transport::extra::{Peername, Pipe, Socket, Sockname};
use tower_transport::{
    BaseTransport, ReadTransport, SocketAddress, SocketTransport, StreamEvents, StreamTransport,
    WriteTransport,
};
use util::{Ev, Recorder, drain, lost_count, no_fd_leak, received, run_once, run_until};

// test_ctor + test_read_ready + test_read_ready_eof: made, data, eof, lost — in that order,
// once each; eof_received false closes the transport.
#[test]
fn made_data_eof_lost_in_order() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let (proto, log) = Recorder::new();
        let t = SocketTransport::new(&lp, ours, proto).unwrap();
        assert!(
            log.borrow().is_empty(),
            "connection_made is scheduled, not called"
        );
        run_once(&lp);
        assert_eq!(*log.borrow(), [Ev::Made]);
        peer.write_all(b"data").unwrap();
        run_until(&lp, || received(&log) == b"data");
        drop(peer);
        run_until(&lp, || lost_count(&log) == 1);
        assert_eq!(
            *log.borrow(),
            [
                Ev::Made,
                Ev::Data(b"data".to_vec()),
                Ev::Eof,
                Ev::Lost(None)
            ]
        );
        assert!(t.is_closing());
        assert!(
            t.get_protocol().is_none(),
            "the protocol is dropped after connection_lost"
        );
        assert_eq!(t.get_extra_info(Socket), None, "the socket is closed");
        lp.close().unwrap();
        assert_eq!(lost_count(&log), 1);
    });
}

// test_read_ready_eof_keep_open: eof_received true keeps the transport open for writing.
#[test]
fn eof_received_true_keeps_writing_open() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let (proto, log) = Recorder::new();
        proto.borrow_mut().keep_open = true;
        let t = SocketTransport::new(&lp, ours, proto).unwrap();
        peer.shutdown(std::net::Shutdown::Write).unwrap();
        run_until(&lp, || log.borrow().contains(&Ev::Eof));
        for _ in 0..3 {
            run_once(&lp);
        }
        assert_eq!(
            *log.borrow(),
            [Ev::Made, Ev::Eof],
            "eof_received once, no close"
        );
        assert!(!t.is_closing());
        t.write(b"still open").unwrap();
        let mut got = [0u8; 10];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"still open");
        t.close();
        run_until(&lp, || lost_count(&log) == 1);
        assert_eq!(log.borrow().last(), Some(&Ev::Lost(None)));
        assert!(drain(&peer).1, "the peer sees end of stream after close");
        lp.close().unwrap();
    });
}

// test_write_eof + test_transport_close_remove_writer: write_eof shuts writing once the buffer
// drains; reading goes on (half-close from our side).
#[test]
fn write_eof_half_closes_after_the_buffer_drains() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, peer) = UnixStream::pair().unwrap();
        let filled = util::fill_send_buffer(&ours);
        let (proto, log) = Recorder::new();
        let t = SocketTransport::new(&lp, ours, proto).unwrap();
        run_once(&lp);
        assert!(t.can_write_eof());
        t.write(b"tail").unwrap();
        assert_eq!(
            t.get_write_buffer_size(),
            4,
            "the socket was full: all buffered"
        );
        t.write_eof();
        assert_eq!(
            t.write(b"more"),
            Err(tower_transport::WriteError::AfterWriteEof)
        );
        assert_eq!(
            t.writelines(&[b"more"]),
            Err(tower_transport::WriteError::AfterWriteEof)
        );
        let mut got = Vec::new();
        run_until(&lp, || {
            let (bytes, eof) = drain(&peer);
            got.extend(bytes);
            eof
        });
        assert_eq!(got.len(), filled + 4);
        assert_eq!(&got[filled..], b"tail");
        // Reading still works after our write_eof.
        (&peer).write_all(b"reply").unwrap();
        run_until(&lp, || received(&log) == b"reply");
        assert!(!t.is_closing());
        t.close();
        run_until(&lp, || lost_count(&log) == 1);
        lp.close().unwrap();
    });
}

// test_close / test_close_write_buffer: close with data buffered sends it, then
// connection_lost(None); reading stops at once.
#[test]
fn close_drains_the_buffer_then_calls_connection_lost() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, peer) = UnixStream::pair().unwrap();
        let filled = util::fill_send_buffer(&ours);
        let (proto, log) = Recorder::new();
        let t = SocketTransport::new(&lp, ours, proto).unwrap();
        run_once(&lp);
        t.write(&[7u8; 1000]).unwrap();
        t.close();
        assert!(t.is_closing());
        assert!(!t.is_reading());
        t.close(); // idempotent
        for _ in 0..3 {
            run_once(&lp);
        }
        assert_eq!(lost_count(&log), 0, "connection_lost waits for the buffer");
        let mut got = Vec::new();
        run_until(&lp, || {
            let (bytes, eof) = drain(&peer);
            got.extend(bytes);
            eof
        });
        assert_eq!(got.len(), filled + 1000);
        run_until(&lp, || lost_count(&log) == 1);
        assert_eq!(*log.borrow(), [Ev::Made, Ev::Lost(None)]);
        lp.close().unwrap();
    });
}

// test_abort / test_force_close: abort drops buffered data and schedules connection_lost(None).
#[test]
fn abort_with_buffered_data_drops_it() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, peer) = UnixStream::pair().unwrap();
        let filled = util::fill_send_buffer(&ours);
        let (proto, log) = Recorder::new();
        let t = SocketTransport::new(&lp, ours, proto).unwrap();
        run_once(&lp);
        t.write(&[1u8; 5000]).unwrap();
        assert_eq!(t.get_write_buffer_size(), 5000);
        t.abort();
        assert_eq!(t.get_write_buffer_size(), 0);
        assert!(t.is_closing());
        assert_eq!(
            lost_count(&log),
            0,
            "connection_lost is scheduled, not called"
        );
        run_once(&lp);
        assert_eq!(*log.borrow(), [Ev::Made, Ev::Lost(None)]);
        let mut got = Vec::new();
        run_until(&lp, || {
            let (bytes, eof) = drain(&peer);
            got.extend(bytes);
            eof
        });
        assert_eq!(got.len(), filled, "the buffered bytes were dropped");
        t.abort(); // no second connection_lost
        t.close();
        run_once(&lp);
        assert_eq!(lost_count(&log), 1);
        lp.close().unwrap();
    });
}

// test_read_ready_err (connection reset): a read error closes the transport and
// connection_lost gets the error.
#[test]
fn connection_reset_reaches_connection_lost_with_the_error() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let (proto, log) = Recorder::new();
        let rec = proto.clone();
        let _t = SocketTransport::new(&lp, client, proto).unwrap();
        run_once(&lp);
        // Linger 0: close sends RST.
        rustix::net::sockopt::set_socket_linger(&server, Some(Duration::ZERO)).unwrap();
        drop(server);
        run_until(&lp, || lost_count(&log) == 1);
        assert_eq!(
            *log.borrow(),
            [
                Ev::Made,
                Ev::Lost(Some(std::io::ErrorKind::ConnectionReset))
            ]
        );
        assert!(rec.borrow().lost_error.is_some());
        lp.close().unwrap();
    });
}

// test_write_exception: a write error (the peer is gone) closes the transport with the error,
// and no SIGPIPE kills the process.
#[test]
fn write_to_a_closed_peer_reaches_connection_lost_with_epipe() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, peer) = UnixStream::pair().unwrap();
        let (proto, log) = Recorder::new();
        let t = SocketTransport::new(&lp, ours, proto).unwrap();
        t.pause_reading(); // so the peer's close is not seen as end of stream first
        run_once(&lp);
        drop(peer);
        t.write(b"into the void").unwrap();
        run_until(&lp, || lost_count(&log) == 1);
        assert_eq!(
            *log.borrow(),
            [Ev::Made, Ev::Lost(Some(std::io::ErrorKind::BrokenPipe))]
        );
        lp.close().unwrap();
    });
}

// A protocol that closes its transport from inside data_received, after writing: no borrow
// panic, the write is sent, connection_lost comes once, later.
#[test]
fn protocol_closing_its_transport_inside_data_received() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let (proto, log) = Recorder::new();
        proto.borrow_mut().on_data = Some(Box::new(|t: &StreamTransport, data: &[u8]| {
            t.write(data).unwrap();
            t.pause_reading();
            t.resume_reading();
            t.close();
            assert!(t.is_closing());
            // set/get_protocol while the protocol runs: no borrow panic either.
            let p = t.get_protocol().unwrap();
            t.set_protocol(p);
        }));
        let _t = SocketTransport::new(&lp, ours, proto).unwrap();
        peer.write_all(b"bye").unwrap();
        run_until(&lp, || lost_count(&log) == 1);
        assert_eq!(
            *log.borrow(),
            [Ev::Made, Ev::Data(b"bye".to_vec()), Ev::Lost(None)]
        );
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"bye");
        lp.close().unwrap();
    });
}

// The loop closes with transports open: each gets connection_lost(None) exactly once, the
// sockets are closed and the protocol-transport cycles are freed.
#[test]
fn loop_closed_with_transports_open() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let (pa, la) = Recorder::new();
        let (pb, lb) = Recorder::new();
        let weak_a = Rc::downgrade(&pa);
        let ta = SocketTransport::new(&lp, a, pa).unwrap();
        let _tb = SocketTransport::new(&lp, b, pb).unwrap();
        run_once(&lp);
        ta.write(b"x").unwrap();
        ta.pause_reading();
        drop(ta);
        lp.close().unwrap();
        assert_eq!(*la.borrow(), [Ev::Made, Ev::Lost(None)]);
        assert_eq!(lost_count(&lb), 1);
        assert!(weak_a.upgrade().is_none(), "the protocol was dropped");
    });
}

// A transport made and the loop closed before it ran: neither connection_made nor
// connection_lost, and the socket is closed.
#[test]
fn loop_closed_before_connection_made() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (a, _b) = UnixStream::pair().unwrap();
        let (pa, la) = Recorder::new();
        let _t = SocketTransport::new(&lp, a, pa).unwrap();
        lp.close().unwrap();
        assert!(la.borrow().is_empty());
        let (c, _d) = UnixStream::pair().unwrap();
        let (pc, _) = Recorder::new();
        assert!(
            SocketTransport::new(&lp, c, pc).is_err(),
            "a closed loop refuses"
        );
    });
}

// test_get_extra_info, test_ctor (TCP_NODELAY): addresses, the fd, no pipe.
#[test]
fn extra_info_over_tcp_and_nodelay() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server_addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(server_addr).unwrap();
        let client_addr = client.local_addr().unwrap();
        let raw = client.as_raw_fd();
        let probe = client.try_clone().unwrap(); // the same socket, to read its options
        assert!(!rustix::net::sockopt::tcp_nodelay(&probe).unwrap());
        let (_server, _) = listener.accept().unwrap();
        let (proto, _log) = Recorder::new();
        let t = SocketTransport::new(&lp, client, proto).unwrap();
        assert_eq!(
            t.get_extra_info(Peername),
            Some(SocketAddress::Inet(server_addr))
        );
        assert_eq!(
            t.get_extra_info(Sockname),
            Some(SocketAddress::Inet(client_addr))
        );
        assert_eq!(t.get_extra_info(Socket), Some(raw));
        assert_eq!(t.get_extra_info(Pipe), None);
        assert!(
            rustix::net::sockopt::tcp_nodelay(&probe).unwrap(),
            "TCP_NODELAY is on"
        );
        drop(probe);
        lp.close().unwrap();
    });
}

// Unix stream sockets: sockname/peername of a socketpair are unnamed.
#[test]
fn extra_info_over_a_unix_socketpair() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (a, _b) = UnixStream::pair().unwrap();
        let (proto, _log) = Recorder::new();
        let t = SocketTransport::new(&lp, a, proto).unwrap();
        assert_eq!(t.get_extra_info(Peername), Some(SocketAddress::UnixUnnamed));
        assert_eq!(t.get_extra_info(Sockname), Some(SocketAddress::UnixUnnamed));
        lp.close().unwrap();
    });
}

/// A buffered protocol: reads land in its own memory.
struct Buffered {
    buf: Vec<u8>,
    got: Rc<RefCell<Vec<u8>>>,
    eof: Rc<RefCell<bool>>,
}

impl StreamEvents for Buffered {
    fn buffered(&self) -> bool {
        true
    }
    fn get_buffer(&mut self, _hint: usize) -> &mut [u8] {
        &mut self.buf
    }
    fn buffer_updated(&mut self, n: usize) {
        self.got.borrow_mut().extend_from_slice(&self.buf[..n]);
    }
    fn eof_received(&mut self) -> bool {
        *self.eof.borrow_mut() = true;
        false
    }
}

// test_buffered_protocol (BufferedProtocol's get_buffer/buffer_updated, in small pieces).
#[test]
fn buffered_protocol_reads_into_its_own_buffer() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let got = Rc::new(RefCell::new(Vec::new()));
        let eof = Rc::new(RefCell::new(false));
        let p = Buffered {
            buf: vec![0; 3],
            got: got.clone(),
            eof: eof.clone(),
        };
        let _t = SocketTransport::new(&lp, ours, Rc::new(RefCell::new(p))).unwrap();
        peer.write_all(b"hello buffered").unwrap();
        drop(peer);
        run_until(&lp, || *eof.borrow());
        assert_eq!(&*got.borrow(), b"hello buffered");
        lp.close().unwrap();
    });
}

/// A buffered protocol whose get_buffer gives nothing.
struct EmptyBuffer(Rc<RefCell<Option<Option<std::io::ErrorKind>>>>);

impl StreamEvents for EmptyBuffer {
    fn buffered(&self) -> bool {
        true
    }
    fn connection_lost(&mut self, exc: Option<std::io::Error>) {
        *self.0.borrow_mut() = Some(exc.map(|e| e.kind()));
    }
}

// test_buffered_protocol_empty_buffer: an empty get_buffer is a fatal error.
#[test]
fn buffered_protocol_with_an_empty_buffer_is_a_fatal_error() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let lost = Rc::new(RefCell::new(None));
        let _t = SocketTransport::new(&lp, ours, Rc::new(RefCell::new(EmptyBuffer(lost.clone()))))
            .unwrap();
        peer.write_all(b"x").unwrap();
        run_until(&lp, || lost.borrow().is_some());
        assert_eq!(*lost.borrow(), Some(Some(std::io::ErrorKind::Other)));
        lp.close().unwrap();
    });
}

/// A buffered protocol that reads into a `Vec`'s spare capacity (`get_buffer_uninit`), at most
/// `chunk` bytes at a time; `get_buffer` is never used.
struct Uninit {
    vec: Vec<u8>,
    chunk: usize,
    got: Rc<RefCell<Vec<u8>>>,
    eof: Rc<RefCell<bool>>,
    plain_calls: Rc<RefCell<usize>>,
}

impl StreamEvents for Uninit {
    fn buffered(&self) -> bool {
        true
    }
    fn get_buffer(&mut self, _hint: usize) -> &mut [u8] {
        *self.plain_calls.borrow_mut() += 1;
        &mut []
    }
    fn get_buffer_uninit(&mut self, _hint: usize) -> Option<&mut [std::mem::MaybeUninit<u8>]> {
        self.vec.clear();
        self.vec.reserve(self.chunk);
        Some(&mut self.vec.spare_capacity_mut()[..self.chunk])
    }
    /// # Safety
    ///
    /// The trait method's contract: `nbytes` bytes of the last `get_buffer_uninit` slice are
    /// initialised.
    unsafe fn buffer_updated_uninit(&mut self, n: usize) {
        // SAFETY: the transport initialised the first `n` bytes of the spare capacity lent
        // (this method's contract), and `n <= chunk <= capacity`.
        unsafe { self.vec.set_len(n) };
        self.got.borrow_mut().extend_from_slice(&self.vec);
    }
    fn buffer_updated(&mut self, _n: usize) {
        *self.plain_calls.borrow_mut() += 1;
    }
    fn eof_received(&mut self) -> bool {
        *self.eof.borrow_mut() = true;
        false
    }
}

// test_buffered_protocol, through the uninitialised-memory opt-in: every byte arrives, in
// order, through get_buffer_uninit/buffer_updated_uninit only.
#[test]
fn buffered_protocol_reads_into_uninitialised_memory() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let got = Rc::new(RefCell::new(Vec::new()));
        let eof = Rc::new(RefCell::new(false));
        let plain_calls = Rc::new(RefCell::new(0));
        let p = Uninit {
            vec: Vec::new(),
            chunk: 5,
            got: got.clone(),
            eof: eof.clone(),
            plain_calls: plain_calls.clone(),
        };
        let _t = SocketTransport::new(&lp, ours, Rc::new(RefCell::new(p))).unwrap();
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        peer.write_all(&data).unwrap();
        drop(peer);
        run_until(&lp, || *eof.borrow());
        assert_eq!(*got.borrow(), data);
        assert_eq!(*plain_calls.borrow(), 0);
        lp.close().unwrap();
    });
}

/// A buffered protocol whose get_buffer_uninit gives an empty slice.
struct EmptyUninit(Rc<RefCell<Option<Option<std::io::ErrorKind>>>>);

impl StreamEvents for EmptyUninit {
    fn buffered(&self) -> bool {
        true
    }
    fn get_buffer_uninit(&mut self, _hint: usize) -> Option<&mut [std::mem::MaybeUninit<u8>]> {
        Some(&mut [])
    }
    fn connection_lost(&mut self, exc: Option<std::io::Error>) {
        *self.0.borrow_mut() = Some(exc.map(|e| e.kind()));
    }
}

// test_buffered_protocol_empty_buffer, for get_buffer_uninit: an empty slice is the same fatal
// error.
#[test]
fn buffered_protocol_with_an_empty_uninit_buffer_is_a_fatal_error() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let lost = Rc::new(RefCell::new(None));
        let _t = SocketTransport::new(&lp, ours, Rc::new(RefCell::new(EmptyUninit(lost.clone()))))
            .unwrap();
        peer.write_all(b"x").unwrap();
        run_until(&lp, || lost.borrow().is_some());
        assert_eq!(*lost.borrow(), Some(Some(std::io::ErrorKind::Other)));
        lp.close().unwrap();
    });
}

// test_set_protocol: later events go to the new protocol; the old one gets nothing more.
#[test]
fn set_protocol_switches_where_events_go() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let (p1, l1) = Recorder::new();
        let (p2, l2) = Recorder::new();
        let t = SocketTransport::new(&lp, ours, p1).unwrap();
        run_once(&lp);
        p2.borrow_mut().transport = Some(t.clone().into());
        t.set_protocol(p2);
        peer.write_all(b"to two").unwrap();
        drop(peer);
        run_until(&lp, || lost_count(&l2) == 1);
        assert_eq!(*l1.borrow(), [Ev::Made]);
        assert_eq!(
            *l2.borrow(),
            [Ev::Data(b"to two".to_vec()), Ev::Eof, Ev::Lost(None)]
        );
        lp.close().unwrap();
    });
}

// test_pause_resume_reading: no data while paused, data again after resume.
#[test]
fn pause_and_resume_reading() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let (proto, log) = Recorder::new();
        let t = SocketTransport::new(&lp, ours, proto).unwrap();
        run_once(&lp);
        assert!(t.is_reading());
        t.pause_reading();
        assert!(!t.is_reading());
        t.pause_reading(); // no effect
        peer.write_all(b"held").unwrap();
        for _ in 0..3 {
            run_once(&lp);
        }
        assert_eq!(*log.borrow(), [Ev::Made]);
        t.resume_reading();
        assert!(t.is_reading());
        run_until(&lp, || received(&log) == b"held");
        t.close();
        assert!(!t.is_reading());
        t.resume_reading(); // closing: no effect
        assert!(!t.is_reading());
        run_until(&lp, || lost_count(&log) == 1);
        lp.close().unwrap();
    });
}

// test_sock_client_ops-like, through transports: 1 MiB echoed over loopback TCP between two
// transports on one loop, in order; the client closes, the server sees end of stream.
#[test]
fn tcp_echo_between_two_transports() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let (sp, sl) = Recorder::new();
        sp.borrow_mut().on_data = Some(Box::new(|t: &StreamTransport, data: &[u8]| {
            t.write(data).unwrap();
        }));
        let (cp, cl) = Recorder::new();
        let _server_t = SocketTransport::new(&lp, server, sp).unwrap();
        let client_t = SocketTransport::new(&lp, client, cp).unwrap();
        run_once(&lp);
        let payload: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        for chunk in payload.chunks(100_000) {
            client_t.write(chunk).unwrap();
        }
        run_until(&lp, || received(&cl).len() == payload.len());
        assert!(received(&cl) == payload);
        client_t.close();
        run_until(&lp, || lost_count(&sl) == 1 && lost_count(&cl) == 1);
        assert_eq!(sl.borrow()[sl.borrow().len() - 2], Ev::Eof);
        lp.close().unwrap();
    });
}

/// Panics in data_received.
struct Panicky(Rc<RefCell<Option<Option<std::io::ErrorKind>>>>);

impl StreamEvents for Panicky {
    fn data_received(&mut self, _data: &[u8]) {
        panic!("protocol bug");
    }
    fn connection_lost(&mut self, exc: Option<std::io::Error>) {
        *self.0.borrow_mut() = Some(exc.map(|e| e.kind()));
    }
}

// asyncio's "Fatal error: protocol.data_received() call failed.": a panic in data_received is
// reported to the exception handler and closes the transport with an error.
#[test]
fn panic_in_data_received_is_reported_and_fatal() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let reports = Rc::new(RefCell::new(Vec::new()));
        let r = reports.clone();
        lp.set_exception_handler(move |_, ctx| {
            r.borrow_mut()
                .push((ctx.message.clone(), ctx.panic_message().map(str::to_owned)));
        });
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let lost = Rc::new(RefCell::new(None));
        let _t =
            SocketTransport::new(&lp, ours, Rc::new(RefCell::new(Panicky(lost.clone())))).unwrap();
        peer.write_all(b"boom").unwrap();
        run_until(&lp, || lost.borrow().is_some());
        assert_eq!(*lost.borrow(), Some(Some(std::io::ErrorKind::Other)));
        assert_eq!(
            *reports.borrow(),
            [(
                "protocol.data_received() call failed".to_owned(),
                Some("protocol bug".to_owned())
            )]
        );
        lp.close().unwrap();
    });
}

// A socket transport needs a socket.
#[test]
fn socket_transport_refuses_a_pipe() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (r, _w) = tower_loop::nonblocking_pipe().unwrap();
        let (proto, log) = Recorder::new();
        assert!(SocketTransport::new(&lp, r, proto).is_err());
        lp.close().unwrap();
        assert!(log.borrow().is_empty());
    });
}

// The loop closes after a reset was seen but before connection_lost ran: the protocol still
// gets the error.
#[test]
fn loop_closed_with_connection_lost_pending_keeps_the_error() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let (proto, log) = Recorder::new();
        let t = SocketTransport::new(&lp, client, proto).unwrap();
        run_once(&lp);
        rustix::net::sockopt::set_socket_linger(&server, Some(Duration::ZERO)).unwrap();
        drop(server);
        run_until(&lp, || t.is_closing());
        assert_eq!(lost_count(&log), 0, "scheduled, not yet run");
        lp.close().unwrap();
        assert_eq!(
            *log.borrow(),
            [
                Ev::Made,
                Ev::Lost(Some(std::io::ErrorKind::ConnectionReset))
            ]
        );
    });
}

// Transports closed and dropped free their registry slots for the next ones, and a dropped
// transport never frees a slot another one took (many rounds on one loop).
#[test]
fn many_transports_come_and_go_on_one_loop() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let mut logs = Vec::new();
        for round in 0..50 {
            let (a, mut b) = UnixStream::pair().unwrap();
            let (proto, log) = Recorder::new();
            let t = SocketTransport::new(&lp, a, proto).unwrap();
            b.write_all(b"x").unwrap();
            run_until(&lp, || received(&log) == b"x");
            if round % 2 == 0 {
                t.close();
                run_until(&lp, || lost_count(&log) == 1);
            }
            drop(t);
            logs.push(log);
        }
        lp.close().unwrap();
        for log in &logs {
            assert_eq!(lost_count(log), 1, "{:?}", log.borrow());
        }
    });
}
