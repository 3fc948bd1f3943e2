//! UDP batching on the datagram transport (`set_batching`; beyond asyncio, whose datagram
//! transport makes one system call per datagram): `recvmmsg` keeps order and senders,
//! truncation is reported, `sendmmsg` keeps order and destinations and reports a refused
//! datagram without losing the rest, UDP GSO sends equal-size runs the receiver sees as
//! separate datagrams, UDP GRO's coalesced reads are split back, over UDP loopback and Unix
//! datagram sockets.

mod util;

use std::cell::RefCell;
use std::io;
use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::rc::Rc;

use tower_loop::EventLoop;
use tower_transport::datagram_batch::{Batching, DatagramTruncated};
use tower_transport::{
    BaseTransport, DatagramEvents, DatagramSocketTransport, DatagramTransport, SocketAddress,
};
use util::{no_fd_leak, run_once, run_until};

/// What the protocol got.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Datagram(Vec<u8>, Option<SocketAddress>),
    Truncated(DatagramTruncated),
    Error(io::ErrorKind),
    Pause,
    Resume,
}

type Log = Rc<RefCell<Vec<Got>>>;

struct Collect(Log);

impl DatagramEvents for Collect {
    fn datagram_received(&mut self, data: &[u8], addr: Option<SocketAddress>) {
        self.0.borrow_mut().push(Got::Datagram(data.to_vec(), addr));
    }
    fn error_received(&mut self, exc: io::Error) {
        let got = match exc
            .get_ref()
            .and_then(|e| e.downcast_ref::<DatagramTruncated>())
        {
            Some(t) => Got::Truncated(*t),
            None => Got::Error(exc.kind()),
        };
        self.0.borrow_mut().push(got);
    }
    fn pause_writing(&mut self) {
        self.0.borrow_mut().push(Got::Pause);
    }
    fn resume_writing(&mut self) {
        self.0.borrow_mut().push(Got::Resume);
    }
}

/// A transport over `sock` collecting into a log, with `batching`; `connection_made` run.
fn collecting(
    lp: &EventLoop,
    sock: impl Into<std::os::fd::OwnedFd>,
    batching: Option<Batching>,
) -> (DatagramSocketTransport, Log) {
    let log = Log::default();
    let t = DatagramSocketTransport::new(lp, sock, Rc::new(RefCell::new(Collect(log.clone()))))
        .unwrap();
    t.set_batching(batching).unwrap();
    run_once(lp);
    (t, log)
}

/// Closes the transports, lets their `connection_lost` run, closes the loop.
fn close_all(lp: &EventLoop, ts: &[&DatagramSocketTransport]) {
    for t in ts {
        t.close();
    }
    run_once(lp);
    lp.close().unwrap();
}

fn udp() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

fn addr_of(s: &UdpSocket) -> SocketAddress {
    SocketAddress::Inet(s.local_addr().unwrap())
}

/// Datagram `i` of a sender: its index and a tag, `len` bytes.
fn payload(tag: u8, i: usize, len: usize) -> Vec<u8> {
    let mut v = vec![tag; len];
    v[..4].copy_from_slice(&(i as u32).to_be_bytes());
    v
}

#[test]
fn batched_reads_keep_order_and_senders() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let sock = udp();
        let dest = sock.local_addr().unwrap();
        let (t, log) = collecting(
            &lp,
            sock,
            Some(Batching::default().max_datagrams(8).gro(false)),
        );
        assert_eq!(t.batching().unwrap().max_datagrams, 8);
        let (a, b) = (udp(), udp());
        let mut want = Vec::new();
        for i in 0..50 {
            let (s, tag) = if i % 3 == 0 { (&b, b'b') } else { (&a, b'a') };
            let d = payload(tag, i, 20 + i);
            s.send_to(&d, dest).unwrap();
            want.push(Got::Datagram(d, Some(addr_of(s))));
        }
        run_until(&lp, || log.borrow().len() == 50);
        assert_eq!(*log.borrow(), want);
        close_all(&lp, &[&t]);
    });
}

#[test]
fn a_datagram_larger_than_the_slot_is_reported_and_dropped() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let sock = udp();
        let dest = sock.local_addr().unwrap();
        let (t, log) = collecting(
            &lp,
            sock,
            Some(Batching::default().slot_size(100).gro(false)),
        );
        let s = udp();
        s.send_to(&[1; 50], dest).unwrap();
        s.send_to(&[2; 200], dest).unwrap();
        s.send_to(&[3; 100], dest).unwrap();
        s.send_to(&[4; 101], dest).unwrap();
        run_until(&lp, || log.borrow().len() == 4);
        let from = Some(addr_of(&s));
        assert_eq!(
            *log.borrow(),
            vec![
                Got::Datagram(vec![1; 50], from.clone()),
                Got::Truncated(DatagramTruncated {
                    size: 200,
                    slot_size: 100
                }),
                Got::Datagram(vec![3; 100], from),
                Got::Truncated(DatagramTruncated {
                    size: 101,
                    slot_size: 100
                }),
            ]
        );
        close_all(&lp, &[&t]);
    });
}

/// Receives `n` datagrams from `sock` (blocking).
fn recv_n(sock: &UdpSocket, n: usize) -> Vec<(Vec<u8>, std::net::SocketAddr)> {
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut buf = vec![0; 65_536];
    (0..n)
        .map(|_| {
            let (len, from) = sock.recv_from(&mut buf).unwrap();
            (buf[..len].to_vec(), from)
        })
        .collect()
}

#[test]
fn queued_sends_go_in_one_iteration_in_order_to_their_addresses() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let sock = udp();
        let me = sock.local_addr().unwrap();
        let (t, _log) = collecting(&lp, sock, Some(Batching::default().gso(false)));
        let (a, b) = (udp(), udp());
        let mut want_a = Vec::new();
        let mut want_b = Vec::new();
        for i in 0..64 {
            let (dest, want, tag) = if i % 2 == 0 {
                (&a, &mut want_a, b'a')
            } else {
                (&b, &mut want_b, b'b')
            };
            let d = payload(tag, i, 100 + i);
            t.sendto(&d, Some(&addr_of(dest))).unwrap();
            want.push((d, me));
        }
        // Queued, counted by flow control, sent by the iteration's flush.
        assert_eq!(
            t.get_write_buffer_size(),
            (0..64).map(|i| 100 + i + 8).sum()
        );
        run_once(&lp);
        assert_eq!(t.get_write_buffer_size(), 0);
        assert_eq!(recv_n(&a, 32), want_a);
        assert_eq!(recv_n(&b, 32), want_b);
        close_all(&lp, &[&t]);
    });
}

#[test]
fn gso_runs_arrive_as_separate_datagrams() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, _log) = collecting(&lp, udp(), Some(Batching::default()));
        let gso = t.batching().unwrap().gso;
        eprintln!("UDP GSO granted: {gso}");
        let r = udp();
        let dest = addr_of(&r);
        let other = udp();
        let mut want = Vec::new();
        // A run of 40 equal datagrams and a shorter last one, then one elsewhere, then 30
        // more (a run of 30 equal, the 10 after it of another size).
        for i in 0..40 {
            want.push(payload(b'x', i, 1000));
        }
        want.push(payload(b'y', 40, 300));
        for d in &want {
            t.sendto(d, Some(&dest)).unwrap();
        }
        t.sendto(b"elsewhere", Some(&addr_of(&other))).unwrap();
        let mut more = Vec::new();
        for i in 0..40 {
            more.push(payload(b'z', i, if i < 30 { 1200 } else { 700 }));
        }
        for d in &more {
            t.sendto(d, Some(&dest)).unwrap();
        }
        run_once(&lp);
        want.extend(more);
        let got: Vec<Vec<u8>> = recv_n(&r, want.len()).into_iter().map(|(d, _)| d).collect();
        assert_eq!(got.len(), want.len());
        assert!(got == want, "datagrams differ");
        assert_eq!(recv_n(&other, 1)[0].0, b"elsewhere");
        // Nothing more arrived (each datagram once).
        r.set_nonblocking(true).unwrap();
        assert!(r.recv_from(&mut [0; 16]).is_err());
        close_all(&lp, &[&t]);
    });
}

#[test]
fn gro_reads_are_split_back_into_datagrams() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let rsock = udp();
        let dest = addr_of(&rsock);
        let (rt, log) = collecting(&lp, rsock, Some(Batching::default()));
        let (st, _) = collecting(&lp, udp(), Some(Batching::default()));
        let granted = (st.batching().unwrap().gso, rt.batching().unwrap().gro);
        eprintln!("UDP GSO, GRO granted: {granted:?}");
        if rt.batching().unwrap().gro {
            assert!(rt.batching().unwrap().slot_size >= 65_536);
        }
        let from = st.get_extra_info(tower_transport::extra::Sockname);
        let mut want = Vec::new();
        for i in 0..60 {
            let d = payload(b'g', i, if i == 59 { 10 } else { 900 });
            st.sendto(&d, Some(&dest)).unwrap();
            want.push(Got::Datagram(d, from.clone()));
        }
        run_until(&lp, || log.borrow().len() >= 60);
        run_once(&lp);
        assert_eq!(*log.borrow(), want);
        // Off again: GRO is turned off in the socket, and plain reads see single datagrams.
        rt.set_batching(None).unwrap();
        assert_eq!(rt.batching(), None);
        log.borrow_mut().clear();
        for d in want.iter().take(20) {
            let Got::Datagram(d, _) = d else {
                unreachable!()
            };
            st.sendto(&d[..900.min(d.len())], Some(&dest)).unwrap();
        }
        run_until(&lp, || log.borrow().len() >= 20);
        run_once(&lp);
        assert_eq!(log.borrow().len(), 20);
        assert!(
            log.borrow()
                .iter()
                .all(|g| matches!(g, Got::Datagram(d, _) if d.len() == 900))
        );
        close_all(&lp, &[&rt, &st]);
    });
}

#[test]
fn unix_datagram_sockets_batch_without_gso_or_gro() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, theirs) = UnixDatagram::pair().unwrap();
        let (t, log) = collecting(&lp, ours, Some(Batching::default().slot_size(4096)));
        let b = t.batching().unwrap();
        assert!(!b.gso && !b.gro);
        for i in 0..40 {
            theirs.send(&payload(b'u', i, 64)).unwrap();
            t.sendto(&payload(b'v', i, 32), None).unwrap();
        }
        run_until(&lp, || log.borrow().len() == 40);
        let got: Vec<Vec<u8>> = log
            .borrow()
            .iter()
            .map(|g| match g {
                Got::Datagram(d, _) => d.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            (0..40).map(|i| payload(b'u', i, 64)).collect::<Vec<_>>()
        );
        let mut buf = [0; 64];
        for i in 0..40 {
            let n = theirs.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], &payload(b'v', i, 32)[..]);
        }
        close_all(&lp, &[&t]);
    });
}

#[test]
fn a_refused_datagram_is_reported_and_the_rest_still_go() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let dir = std::env::temp_dir().join(format!("tower-batch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good_path = dir.join("good");
        let _ = std::fs::remove_file(&good_path);
        let good = UnixDatagram::bind(&good_path).unwrap();
        let (t, log) = collecting(
            &lp,
            UnixDatagram::unbound().unwrap(),
            Some(Batching::default()),
        );
        let good_addr = SocketAddress::UnixPath(good_path.clone());
        let bad_addr = SocketAddress::UnixPath(dir.join("nobody"));
        t.sendto(b"one", Some(&good_addr)).unwrap();
        t.sendto(b"lost", Some(&bad_addr)).unwrap();
        t.sendto(b"two", Some(&good_addr)).unwrap();
        run_once(&lp);
        assert_eq!(*log.borrow(), vec![Got::Error(io::ErrorKind::NotFound)]);
        assert_eq!(t.get_write_buffer_size(), 0);
        let mut buf = [0; 16];
        let n = good.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"one");
        let n = good.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"two");
        close_all(&lp, &[&t]);
        drop(good);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn bad_batching_is_refused_and_close_sends_what_is_queued() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, _log) = collecting(&lp, udp(), None);
        assert_eq!(t.batching(), None);
        for bad in [
            Batching::default().max_datagrams(0),
            Batching::default().max_datagrams(1025),
            Batching::default().slot_size(0),
        ] {
            assert_eq!(
                t.set_batching(Some(bad)).unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
        }
        t.set_batching(Some(Batching::default())).unwrap();
        let r = udp();
        t.sendto(b"queued", Some(&addr_of(&r))).unwrap();
        t.close(); // waits for the flush, as for buffered datagrams
        assert!(t.is_closing());
        run_once(&lp);
        run_once(&lp);
        assert_eq!(recv_n(&r, 1)[0].0, b"queued");
        lp.close().unwrap();
    });
}

#[test]
fn queued_datagrams_count_for_flow_control() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, log) = collecting(&lp, udp(), Some(Batching::default()));
        t.set_write_buffer_limits(Some(1000), Some(200)).unwrap();
        let r = udp();
        for i in 0..10 {
            t.sendto(&payload(b'f', i, 100), Some(&addr_of(&r)))
                .unwrap();
        }
        // 10 × (100 + 8) = 1080 > 1000: paused by the queue alone; the flush resumes.
        assert_eq!(t.get_write_buffer_size(), 1080);
        assert_eq!(*log.borrow(), vec![Got::Pause]);
        run_once(&lp);
        assert_eq!(*log.borrow(), vec![Got::Pause, Got::Resume]);
        assert_eq!(recv_n(&r, 10).len(), 10);
        close_all(&lp, &[&t]);
    });
}

#[test]
fn a_connected_socket_batches_to_its_peer() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let peer = udp();
        let sock = udp();
        sock.connect(peer.local_addr().unwrap()).unwrap();
        let me = sock.local_addr().unwrap();
        let (t, log) = collecting(&lp, sock, Some(Batching::default()));
        let want: Vec<Vec<u8>> = (0..20).map(|i| payload(b'c', i, 500)).collect();
        for d in &want {
            t.sendto(d, None).unwrap();
        }
        run_once(&lp);
        let got = recv_n(&peer, 20);
        assert!(got.iter().all(|(_, from)| *from == me));
        assert!(got.into_iter().map(|(d, _)| d).collect::<Vec<_>>() == want);
        for d in &want[..5] {
            peer.send_to(d, me).unwrap();
        }
        run_until(&lp, || log.borrow().len() == 5);
        let from = Some(addr_of(&peer));
        assert_eq!(
            *log.borrow(),
            want[..5]
                .iter()
                .map(|d| Got::Datagram(d.clone(), from.clone()))
                .collect::<Vec<_>>()
        );
        close_all(&lp, &[&t]);
    });
}
