//! The pipe transports (test_unix_events.py, UnixReadPipeTransportTests and
//! UnixWritePipeTransportTests), over real pipes on the tower loop.

mod util;

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;

use tower_loop::{EventLoop, nonblocking_pipe};
use tower_transport::extra::{Pipe, Socket};
use tower_transport::{
    BaseTransport, ReadPipeTransport, ReadTransport, StreamTransport, WriteError,
    WritePipeTransport, WriteTransport,
};
use util::{Ev, Recorder, lost_count, no_fd_leak, received, run_once, run_until};

/// Writes into the non-blocking pipe end `fd` until it is full; returns how much.
fn fill_pipe(fd: &OwnedFd) -> usize {
    let mut f = File::from(fd.try_clone().unwrap());
    let chunk = [b'p'; 4096];
    let (mut size, mut total) = (chunk.len(), 0);
    while size > 0 {
        match f.write(&chunk[..size]) {
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => size /= 2,
            Err(e) => panic!("fill: {e}"),
        }
    }
    total
}

/// Reads what the non-blocking pipe end has; `(bytes, end of stream)`.
fn drain_pipe(f: &mut File) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match f.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (out, false),
            Err(e) => panic!("drain: {e}"),
        }
    }
}

// test__read_ready + test__read_ready_eof: data, then at end of stream eof_received and
// connection_lost(None), and the pipe is closed.
#[test]
fn read_pipe_data_eof_lost() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (r, w) = nonblocking_pipe().unwrap();
        let (proto, log) = Recorder::new();
        let t = ReadPipeTransport::new(&lp, r, proto).unwrap();
        run_once(&lp);
        assert!(t.get_extra_info(Pipe).is_some());
        assert_eq!(t.get_extra_info(Socket), None);
        let mut w = File::from(w);
        w.write_all(b"from the pipe").unwrap();
        run_until(&lp, || received(&log) == b"from the pipe");
        drop(w);
        run_until(&lp, || lost_count(&log) == 1);
        assert_eq!(
            *log.borrow(),
            [
                Ev::Made,
                Ev::Data(b"from the pipe".to_vec()),
                Ev::Eof,
                Ev::Lost(None)
            ]
        );
        assert!(t.is_closing());
        assert_eq!(t.get_extra_info(Pipe), None, "the pipe is closed");
        lp.close().unwrap();
    });
}

// A read pipe has no writing half to keep open: eof_received true still closes it.
#[test]
fn read_pipe_closes_at_eof_even_if_eof_received_is_true() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (r, w) = nonblocking_pipe().unwrap();
        let (proto, log) = Recorder::new();
        proto.borrow_mut().keep_open = true;
        let _t = ReadPipeTransport::new(&lp, r, proto).unwrap();
        drop(w);
        run_until(&lp, || lost_count(&log) == 1);
        assert_eq!(*log.borrow(), [Ev::Made, Ev::Eof, Ev::Lost(None)]);
        lp.close().unwrap();
    });
}

// test_pause_reading / test_resume_reading; a read pipe refuses writes (through the
// StreamTransport handle, which has every method).
#[test]
fn read_pipe_pause_resume_and_no_writing() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (r, w) = nonblocking_pipe().unwrap();
        let (proto, log) = Recorder::new();
        let t = ReadPipeTransport::new(&lp, r, proto).unwrap();
        run_once(&lp);
        t.pause_reading();
        assert!(!t.is_reading());
        let mut w = File::from(w);
        w.write_all(b"later").unwrap();
        for _ in 0..3 {
            run_once(&lp);
        }
        assert_eq!(*log.borrow(), [Ev::Made]);
        t.resume_reading();
        run_until(&lp, || received(&log) == b"later");
        let handle = StreamTransport::from(t.clone());
        assert_eq!(handle.write(b"x"), Err(WriteError::NotWritable));
        assert!(!handle.can_write_eof());
        t.close();
        run_until(&lp, || lost_count(&log) == 1);
        lp.close().unwrap();
    });
}

// test_write + test_write_eof: writes go to the pipe at once; write_eof closes the pipe once
// the buffer drains and connection_lost(None) follows.
#[test]
fn write_pipe_writes_then_write_eof_closes() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (r, w) = nonblocking_pipe().unwrap();
        let (proto, log) = Recorder::new();
        let t = WritePipeTransport::new(&lp, w, proto).unwrap();
        run_once(&lp);
        assert!(t.can_write_eof());
        assert!(t.get_extra_info(Pipe).is_some());
        t.write(b"to the pipe").unwrap();
        assert_eq!(t.get_write_buffer_size(), 0, "written at once");
        t.write_eof();
        assert!(t.is_closing());
        assert_eq!(t.write(b"more"), Err(WriteError::AfterWriteEof));
        run_until(&lp, || lost_count(&log) == 1);
        assert_eq!(*log.borrow(), [Ev::Made, Ev::Lost(None)]);
        let mut got = Vec::new();
        File::from(r).read_to_end(&mut got).unwrap();
        assert_eq!(got, b"to the pipe");
        lp.close().unwrap();
    });
}

// test_write_buffer + flow control over a full pipe: buffered, pause strictly above high,
// drained with writev, resume, in order; close waits for the buffer.
#[test]
fn write_pipe_buffers_with_flow_control() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (r, w) = nonblocking_pipe().unwrap();
        let filled = fill_pipe(&w);
        let (proto, log) = Recorder::new();
        let t = WritePipeTransport::new(&lp, w, proto).unwrap();
        run_once(&lp);
        t.set_write_buffer_limits(Some(10_000), None).unwrap();
        t.write(&[1; 10_000]).unwrap();
        t.writelines(&[&[2; 5000], &[3; 5000]]).unwrap();
        assert_eq!(t.get_write_buffer_size(), 20_000);
        assert_eq!(*log.borrow(), [Ev::Made, Ev::Pause(20_000)]);
        t.close();
        let mut r = File::from(r);
        let mut got = Vec::new();
        run_until(&lp, || {
            let (bytes, eof) = drain_pipe(&mut r);
            got.extend(bytes);
            eof
        });
        assert_eq!(got.len(), filled + 20_000);
        assert_eq!(&got[filled..filled + 10_000], &[1; 10_000][..]);
        assert_eq!(&got[filled + 15_000..], &[3; 5000][..]);
        run_until(&lp, || lost_count(&log) == 1);
        let log = log.borrow();
        assert!(matches!(log[2], Ev::Resume(n) if n <= 2500), "{log:?}");
        assert_eq!(log[3], Ev::Lost(None));
        drop(log);
        lp.close().unwrap();
    });
}

// test__read_ready (write pipe): the read end closes with nothing buffered: connection_lost(None).
#[test]
fn write_pipe_read_end_closed_with_an_empty_buffer() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (r, w) = nonblocking_pipe().unwrap();
        let (proto, log) = Recorder::new();
        let t = WritePipeTransport::new(&lp, w, proto).unwrap();
        run_once(&lp);
        drop(r);
        run_until(&lp, || lost_count(&log) == 1);
        assert_eq!(*log.borrow(), [Ev::Made, Ev::Lost(None)]);
        assert!(t.is_closing());
        lp.close().unwrap();
    });
}

// test__read_ready with a buffer (write pipe): the read end closes with data buffered:
// connection_lost(BrokenPipe), and no SIGPIPE-free write is attempted after.
#[test]
fn write_pipe_read_end_closed_with_data_buffered() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (r, w) = nonblocking_pipe().unwrap();
        fill_pipe(&w);
        let (proto, log) = Recorder::new();
        let t = WritePipeTransport::new(&lp, w, proto).unwrap();
        run_once(&lp);
        t.write(b"stuck").unwrap();
        assert_eq!(t.get_write_buffer_size(), 5);
        drop(r);
        run_until(&lp, || lost_count(&log) == 1);
        assert_eq!(
            *log.borrow(),
            [Ev::Made, Ev::Lost(Some(io::ErrorKind::BrokenPipe))]
        );
        lp.close().unwrap();
    });
}

// test_abort (write pipe): buffered data dropped, connection_lost(None).
#[test]
fn write_pipe_abort() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (r, w) = nonblocking_pipe().unwrap();
        let filled = fill_pipe(&w);
        let (proto, log) = Recorder::new();
        let t = WritePipeTransport::new(&lp, w, proto).unwrap();
        run_once(&lp);
        t.write(b"dropped").unwrap();
        t.abort();
        assert_eq!(t.get_write_buffer_size(), 0);
        run_once(&lp);
        assert_eq!(*log.borrow(), [Ev::Made, Ev::Lost(None)]);
        let mut got = Vec::new();
        File::from(r).read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), filled);
        lp.close().unwrap();
    });
}

// test_ctor_not_pipe: a regular file is refused.
#[test]
fn a_regular_file_is_not_a_pipe() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let file = File::open("/proc/self/status").unwrap();
        let (proto, _) = Recorder::new();
        let err = ReadPipeTransport::new(&lp, file, proto).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        lp.close().unwrap();
    });
}
