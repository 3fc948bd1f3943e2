//! Socket options on the socket transport (asyncio: `_set_nodelay` at construction,
//! `create_server(keep_alive=True)`, `_set_reuseport`; test_base_events.py's
//! test_create_server_reuse_port, test_create_datagram_endpoint_reuse_port): read back from the
//! kernel through the transport's own fd.

mod util;

use std::cell::RefCell;
use std::net::{TcpListener, TcpStream};
use std::os::fd::BorrowedFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use rustix::net::{AddressFamily, SocketType, sockopt};
use tower_loop::EventLoop;
use tower_transport::extra::Socket;
use tower_transport::sockopt::{KeepAlive, reuse_port, set_reuse_port};
use tower_transport::{BaseTransport, SocketTransport, StreamEvents, WriteTransport};
use util::{no_fd_leak, run_once};

struct Quiet;
impl StreamEvents for Quiet {}

/// A transport over a loopback TCP connection (the listener and the peer kept open).
fn tcp_transport(lp: &EventLoop) -> (SocketTransport, TcpListener, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let ours = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (theirs, _) = l.accept().unwrap();
    let t = SocketTransport::new(lp, ours, Rc::new(RefCell::new(Quiet))).unwrap();
    (t, l, theirs)
}

/// The transport's fd, to ask the kernel directly.
fn with_raw<R>(t: &SocketTransport, f: impl FnOnce(BorrowedFd<'_>) -> R) -> R {
    let raw = t.get_extra_info(Socket).unwrap();
    // SAFETY: the transport owns `raw` and keeps it open for this call (it is not closed).
    f(unsafe { BorrowedFd::borrow_raw(raw) })
}

#[test]
fn nodelay_is_on_by_default_and_can_be_turned_off() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, _l, _peer) = tcp_transport(&lp);
        assert!(t.nodelay().unwrap());
        assert!(with_raw(&t, |fd| sockopt::tcp_nodelay(fd).unwrap()));
        t.set_nodelay(false).unwrap();
        assert!(!t.nodelay().unwrap());
        assert!(!with_raw(&t, |fd| sockopt::tcp_nodelay(fd).unwrap()));
        t.abort();
        run_once(&lp);
        lp.close().unwrap();
    });
}

#[test]
fn keep_alive_and_its_timing_reach_the_socket() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, _l, _peer) = tcp_transport(&lp);
        assert!(!t.keep_alive().unwrap());
        t.set_keep_alive(true).unwrap();
        assert!(with_raw(&t, |fd| sockopt::socket_keepalive(fd).unwrap()));
        t.set_keep_alive(false).unwrap();
        assert!(!t.keep_alive().unwrap());
        let timing = KeepAlive::default()
            .idle(Duration::from_secs(42))
            .interval(Duration::from_secs(7))
            .retries(3);
        t.set_keep_alive_timing(timing).unwrap();
        assert!(t.keep_alive().unwrap());
        assert_eq!(t.keep_alive_timing().unwrap(), timing);
        assert_eq!(
            with_raw(&t, |fd| sockopt::tcp_keepidle(fd).unwrap()),
            Duration::from_secs(42)
        );
        // Only the retries: the other two stay as they were.
        t.set_keep_alive_timing(KeepAlive::default().retries(5))
            .unwrap();
        assert_eq!(
            t.keep_alive_timing().unwrap(),
            KeepAlive::default()
                .idle(Duration::from_secs(42))
                .interval(Duration::from_secs(7))
                .retries(5)
        );
        t.abort();
        run_once(&lp);
        lp.close().unwrap();
    });
}

#[test]
fn unix_sockets_refuse_tcp_options_and_a_closed_transport_refuses_all() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (a, _b) = UnixStream::pair().unwrap();
        let t = SocketTransport::new(&lp, a, Rc::new(RefCell::new(Quiet))).unwrap();
        assert!(t.set_nodelay(true).is_err());
        assert!(
            t.set_keep_alive_timing(KeepAlive::default().retries(2))
                .is_err()
        );
        t.abort();
        run_once(&lp); // connection_made
        run_once(&lp); // connection_lost: the fd is closed
        assert_eq!(
            t.set_keep_alive(true).unwrap_err().kind(),
            std::io::ErrorKind::NotConnected
        );
        assert_eq!(
            t.keep_alive().unwrap_err().kind(),
            std::io::ErrorKind::NotConnected
        );
        lp.close().unwrap();
    });
}

#[test]
fn reuse_port_lets_two_sockets_bind_one_address() {
    no_fd_leak(|| {
        let mk = || {
            let s = rustix::net::socket(AddressFamily::INET, SocketType::DGRAM, None).unwrap();
            set_reuse_port(&s, true).unwrap();
            assert!(reuse_port(&s).unwrap());
            s
        };
        let a = mk();
        rustix::net::bind(
            &a,
            &std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 0),
        )
        .unwrap();
        let addr = rustix::net::getsockname(&a).unwrap();
        let b = mk();
        rustix::net::bind(&b, &addr).unwrap();
        // Without it, the second bind fails.
        let c = rustix::net::socket(AddressFamily::INET, SocketType::DGRAM, None).unwrap();
        assert!(!reuse_port(&c).unwrap());
        assert!(rustix::net::bind(&c, &addr).is_err());
        // The transport reads it back from its socket.
        let lp = EventLoop::new().unwrap();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let s = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
        set_reuse_port(&s, true).unwrap();
        rustix::net::connect(&s, &l.local_addr().unwrap()).unwrap();
        let t = SocketTransport::new(&lp, s, Rc::new(RefCell::new(Quiet))).unwrap();
        assert!(t.reuse_port().unwrap());
        t.abort();
        run_once(&lp);
        lp.close().unwrap();
        drop((a, b, c));
    });
}
