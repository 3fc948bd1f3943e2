//! The stream transport's write path and flow control (test_selector_events.py:
//! test_write*, test_writelines*, test_set_write_buffer_limits, test_transport_close_*;
//! test_transports.py: test_flowcontrol_mixin_set_write_limits), over real socketpairs.

mod util;

use std::cell::Cell;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use tower_loop::EventLoop;
use tower_transport::{
    BaseTransport, InvalidLimits, SocketTransport, StreamTransport, WriteTransport,
};
use util::{Ev, Recorder, drain, fill_send_buffer, lost_count, no_fd_leak, run_once, run_until};

/// A transport over a socket whose buffers are full (everything written is buffered until
/// the peer reads), after `connection_made`; the peer and how much it must skip.
fn full_pair(lp: &EventLoop) -> (SocketTransport, UnixStream, usize, util::Log) {
    let (ours, peer) = UnixStream::pair().unwrap();
    let filled = fill_send_buffer(&ours);
    let (proto, log) = Recorder::new();
    let t = SocketTransport::new(lp, ours, proto).unwrap();
    run_once(lp);
    (t, peer, filled, log)
}

/// Reads from `peer` while running the loop until `want` bytes came; returns them.
fn read_all(lp: &EventLoop, peer: &UnixStream, want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    run_until(lp, || {
        got.extend(drain(peer).0);
        got.len() >= want
    });
    got
}

// test_write_buffer_full: pause_writing exactly when the buffer goes strictly above high,
// once; resume_writing when it drains to low or below.
#[test]
fn write_pauses_strictly_above_high_and_resumes_at_or_below_low() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, filled, log) = full_pair(&lp);
        t.set_write_buffer_limits(Some(100), Some(50)).unwrap();
        t.write(&[1; 100]).unwrap();
        assert_eq!(t.get_write_buffer_size(), 100);
        assert_eq!(*log.borrow(), [Ev::Made], "at high: not paused");
        t.write(&[2; 1]).unwrap();
        assert_eq!(
            *log.borrow(),
            [Ev::Made, Ev::Pause(101)],
            "one above high: paused"
        );
        t.write(&[3; 10]).unwrap();
        assert_eq!(log.borrow().len(), 2, "paused once");
        let got = read_all(&lp, &peer, filled + 111);
        assert_eq!(&got[filled..filled + 100], &[1; 100][..]);
        assert_eq!(&got[filled + 100..], &[2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3][..]);
        run_until(&lp, || log.borrow().len() == 3);
        match log.borrow()[2] {
            Ev::Resume(size) => assert!(size <= 50, "resumed at {size} > low"),
            ref e => panic!("expected resume_writing, got {e:?}"),
        }
        assert_eq!(t.get_write_buffer_size(), 0);
        t.close();
        run_until(&lp, || lost_count(&log) == 1);
        lp.close().unwrap();
    });
}

// The bug asyncio once had: writelines never paused the protocol. Here it does, with an empty
// buffer (one vectored send, the rest buffered) and with data already buffered.
#[test]
fn writelines_pauses_above_high() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, filled, log) = full_pair(&lp);
        t.set_write_buffer_limits(Some(100), None).unwrap();
        assert_eq!(t.get_write_buffer_limits(), (25, 100));
        t.writelines(&[&[1; 60], &[2; 40]]).unwrap();
        assert_eq!(t.get_write_buffer_size(), 100);
        assert_eq!(*log.borrow(), [Ev::Made]);
        t.writelines(&[&[], &[3; 1]]).unwrap();
        assert_eq!(*log.borrow(), [Ev::Made, Ev::Pause(101)]);
        let got = read_all(&lp, &peer, filled + 101);
        let mut want = vec![1; 60];
        want.extend([2; 40]);
        want.push(3);
        assert_eq!(&got[filled..], &want[..]);
        run_until(&lp, || matches!(log.borrow().last(), Some(Ev::Resume(0))));
        lp.close().unwrap();
    });
}

// test_set_write_buffer_limits / test_flowcontrol_mixin_set_write_limits: asyncio's defaults,
// the derived marks, the error, and a pause at once when the new high is below the buffer.
#[test]
fn set_write_buffer_limits_defaults_errors_and_immediate_pause() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, filled, log) = full_pair(&lp);
        assert_eq!(t.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
        t.set_write_buffer_limits(None, Some(10)).unwrap();
        assert_eq!(t.get_write_buffer_limits(), (10, 40));
        t.set_write_buffer_limits(Some(0), Some(0)).unwrap();
        assert_eq!(t.get_write_buffer_limits(), (0, 0));
        assert_eq!(
            t.set_write_buffer_limits(Some(1), Some(2)),
            Err(InvalidLimits { high: 1, low: 2 })
        );
        assert_eq!(
            t.get_write_buffer_limits(),
            (0, 0),
            "unchanged after the error"
        );
        t.set_write_buffer_limits(None, None).unwrap();
        assert_eq!(t.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
        t.write(&[0; 200]).unwrap();
        assert_eq!(*log.borrow(), [Ev::Made]);
        t.set_write_buffer_limits(Some(100), None).unwrap();
        assert_eq!(*log.borrow(), [Ev::Made, Ev::Pause(200)]);
        read_all(&lp, &peer, filled + 200);
        run_until(&lp, || log.borrow().len() == 3);
        lp.close().unwrap();
    });
}

// A write from inside data_received that crosses high: pause_writing comes right after
// data_received returns (the protocol is busy while it runs), no RefCell panic.
#[test]
fn pause_writing_raised_inside_data_received_follows_it() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, peer) = UnixStream::pair().unwrap();
        let filled = fill_send_buffer(&ours);
        let (proto, log) = Recorder::new();
        proto.borrow_mut().on_data = Some(Box::new(|t: &StreamTransport, data: &[u8]| {
            t.set_write_buffer_limits(Some(10), None).unwrap();
            t.write(&[9; 20]).unwrap();
            assert_eq!(t.get_write_buffer_size(), 20);
            t.write(data).unwrap();
        }));
        let _t = SocketTransport::new(&lp, ours, proto).unwrap();
        use std::io::Write;
        (&peer).write_all(b"go").unwrap();
        run_until(&lp, || log.borrow().len() >= 3);
        assert_eq!(
            *log.borrow(),
            [Ev::Made, Ev::Data(b"go".to_vec()), Ev::Pause(22)]
        );
        read_all(&lp, &peer, filled + 22);
        run_until(&lp, || matches!(log.borrow().last(), Some(Ev::Resume(0))));
        lp.close().unwrap();
    });
}

// test_write_closing / test_write_no_data + LOG_THRESHOLD_FOR_CONNLOST_WRITES: writes after the
// connection is lost are ignored; one warning at the fifth.
#[test]
fn write_after_close_is_ignored_and_warns_once() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let warnings = Rc::new(Cell::new(0));
        let w = warnings.clone();
        lp.set_exception_handler(move |_, ctx| {
            assert!(ctx.message.contains("socket.send() raised exception"));
            w.set(w.get() + 1);
        });
        let (ours, peer) = UnixStream::pair().unwrap();
        let (proto, log) = Recorder::new();
        let t = SocketTransport::new(&lp, ours, proto).unwrap();
        run_once(&lp);
        t.close();
        for i in 0..4 {
            t.write(b"late").unwrap();
            assert_eq!(warnings.get(), 0, "write {i}");
        }
        t.write(b"late").unwrap();
        assert_eq!(warnings.get(), 1, "the fifth write warns");
        for _ in 0..5 {
            t.write(b"late").unwrap();
            t.writelines(&[b"late"]).unwrap();
        }
        assert_eq!(warnings.get(), 1, "once");
        assert_eq!(t.get_write_buffer_size(), 0);
        t.write(b"").unwrap();
        run_until(&lp, || lost_count(&log) == 1);
        t.write(b"after lost").unwrap();
        assert_eq!(*log.borrow(), [Ev::Made, Ev::Lost(None)]);
        let (bytes, eof) = drain(&peer);
        assert!(bytes.is_empty() && eof);
        lp.close().unwrap();
    });
}

// test_write / test_write_partial: with nothing buffered, write goes to the socket at once.
#[test]
fn write_tries_the_socket_first() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, peer) = UnixStream::pair().unwrap();
        let (proto, _log) = Recorder::new();
        let t = SocketTransport::new(&lp, ours, proto).unwrap();
        t.write(b"direct").unwrap();
        assert_eq!(t.get_write_buffer_size(), 0);
        assert_eq!(drain(&peer).0, b"direct", "sent before the loop ran");
        t.writelines(&[b"one ", b"vectored ", b"write"]).unwrap();
        assert_eq!(t.get_write_buffer_size(), 0);
        assert_eq!(drain(&peer).0, b"one vectored write");
        lp.close().unwrap();
    });
}

// test_huge_content-like: many writes of every size while the socket is full, drained over
// many writable events (coalescing small writes, several writev pieces), in order.
#[test]
fn large_and_small_writes_drain_in_order() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, filled, _log) = full_pair(&lp);
        let mut want = Vec::new();
        for i in 0..3000u32 {
            let len = [1, 7, 100, 5000, 70_000][i as usize % 5];
            let piece: Vec<u8> = (0..len).map(|j| (i as usize + j) as u8).collect();
            if i % 3 == 0 {
                t.writelines(&[&piece, b"|"]).unwrap();
                want.extend_from_slice(&piece);
                want.push(b'|');
            } else {
                t.write(&piece).unwrap();
                want.extend_from_slice(&piece);
            }
        }
        assert_eq!(t.get_write_buffer_size(), want.len());
        let got = read_all(&lp, &peer, filled + want.len());
        assert!(got[filled..] == want[..], "the bytes arrived in order");
        assert_eq!(t.get_write_buffer_size(), 0);
        lp.close().unwrap();
    });
}

// writelines of more pieces than IOV_MAX with nothing buffered: one vectored send of the
// first IOV_MAX, the rest buffered and sent in order.
#[test]
fn writelines_of_more_than_iov_max_pieces() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, peer) = UnixStream::pair().unwrap();
        let (proto, _log) = Recorder::new();
        let t = SocketTransport::new(&lp, ours, proto).unwrap();
        run_once(&lp);
        let pieces: Vec<Vec<u8>> = (0..3000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let refs: Vec<&[u8]> = pieces.iter().map(|p| &p[..]).collect();
        t.writelines(&refs).unwrap();
        assert_eq!(t.get_write_buffer_size(), (3000 - 1024) * 4);
        let got = read_all(&lp, &peer, 12000);
        assert_eq!(got, pieces.concat());
        lp.close().unwrap();
    });
}

// The protocol's owner holds it borrowed (through its own Rc) while the loop runs: no RefCell
// panic; connection_made, data, pause_writing and connection_lost wait and none is lost.
#[test]
fn events_wait_while_the_owner_holds_the_protocol() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (ours, peer) = UnixStream::pair().unwrap();
        let filled = fill_send_buffer(&ours);
        let (proto, log) = Recorder::new();
        let t = SocketTransport::new(&lp, ours, proto.clone()).unwrap();
        {
            let _held = proto.borrow_mut();
            run_once(&lp);
            run_once(&lp);
        }
        assert!(log.borrow().is_empty(), "connection_made waited");
        run_once(&lp);
        assert_eq!(*log.borrow(), [Ev::Made]);
        t.set_write_buffer_limits(Some(10), None).unwrap();
        {
            let _held = proto.borrow_mut();
            t.write(&[5; 11]).unwrap(); // pause_writing cannot be delivered now
            use std::io::Write;
            (&peer).write_all(b"in").unwrap();
            run_once(&lp);
        }
        assert_eq!(*log.borrow(), [Ev::Made], "waiting");
        run_until(&lp, || log.borrow().len() == 3);
        assert_eq!(
            *log.borrow(),
            [Ev::Made, Ev::Pause(11), Ev::Data(b"in".to_vec())]
        );
        t.abort();
        {
            let _held = proto.borrow_mut();
            run_once(&lp);
        }
        assert_eq!(lost_count(&log), 0);
        run_until(&lp, || lost_count(&log) == 1);
        read_all(&lp, &peer, filled);
        lp.close().unwrap();
    });
}

// test_write_ready_exception: the drain fails (the peer is gone with data still buffered):
// the buffer is dropped and connection_lost gets the error.
#[test]
fn a_failing_drain_drops_the_buffer_and_reports_the_error() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, _filled, log) = full_pair(&lp);
        tower_transport::ReadTransport::pause_reading(&t); // the write error, not the end of stream
        t.write(&[1; 1000]).unwrap();
        assert_eq!(t.get_write_buffer_size(), 1000);
        drop(peer);
        run_until(&lp, || lost_count(&log) == 1);
        assert_eq!(
            *log.borrow(),
            [Ev::Made, Ev::Lost(Some(std::io::ErrorKind::BrokenPipe))]
        );
        assert_eq!(t.get_write_buffer_size(), 0);
        lp.close().unwrap();
    });
}
