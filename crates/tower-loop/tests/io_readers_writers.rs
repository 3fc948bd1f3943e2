//! add_reader/add_writer on fds (test_events.test_add_reader / test_writer_callback /
//! test_remove_reader).

mod sock_util;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use sock_util::no_fd_leak;
use tower_loop::EventLoop;

// test_events.test_reader_callback: the reader runs while data is available.
#[test]
fn reader_fires_when_data_arrives() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let a = Rc::new(a);
        let got = Rc::new(RefCell::new(Vec::new()));
        let (g, l2, r) = (got.clone(), lp.clone(), a.clone());
        lp.add_reader(&*a, move || {
            let mut buf = [0u8; 64];
            match (&*r).read(&mut buf) {
                Ok(0) => {
                    assert!(l2.remove_reader(&*r).unwrap());
                    l2.stop();
                }
                Ok(n) => g.borrow_mut().extend_from_slice(&buf[..n]),
                Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
            }
        })
        .unwrap();
        b.write_all(b"abc").unwrap();
        b.write_all(b"def").unwrap();
        drop(b);
        lp.run_forever().unwrap();
        assert_eq!(&*got.borrow(), b"abcdef");
    });
}

// test_events.test_writer_callback: the writer runs while the fd is writable.
#[test]
fn writer_fires_when_writable() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Rc::new(a);
        let (l2, w) = (lp.clone(), a.clone());
        lp.add_writer(&*a, move || {
            (&*w).write_all(b"x").unwrap();
            assert!(l2.remove_writer(&*w).unwrap());
            l2.stop();
        })
        .unwrap();
        lp.run_forever().unwrap();
        let mut buf = [0u8; 1];
        b.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"x");
    });
}

// test_events.test_remove_reader: a removed reader does not run, and remove reports whether
// one was registered.
#[test]
fn removed_reader_does_not_fire() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let fired = Rc::new(RefCell::new(0));
        let f = fired.clone();
        lp.add_reader(&a, move || *f.borrow_mut() += 1).unwrap();
        assert!(lp.remove_reader(&a).unwrap());
        assert!(!lp.remove_reader(&a).unwrap());
        b.write_all(b"x").unwrap();
        // Run a few iterations: call_soon chains three times, then stop.
        let l2 = lp.clone();
        lp.call_soon(move || {
            let l3 = l2.clone();
            l2.call_soon(move || l3.stop());
        });
        lp.run_forever().unwrap();
        assert_eq!(*fired.borrow(), 0);
    });
}

// test_base_events.test_run_forever_pre_stopped: a pre-stopped run still polls I/O once and
// runs the reader callbacks it makes ready.
#[test]
fn pre_stopped_run_polls_io_once() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(b"x").unwrap();
        let fired = Rc::new(RefCell::new(0));
        let f = fired.clone();
        lp.add_reader(&a, move || *f.borrow_mut() += 1).unwrap();
        lp.stop();
        lp.run_forever().unwrap();
        assert_eq!(*fired.borrow(), 1);
        lp.remove_reader(&a).unwrap();
    });
}
