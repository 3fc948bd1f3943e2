//! `connect_read_pipe` and `connect_write_pipe`: bytes through a pipe both ways (one end
//! driven by the loop, the other by a thread), end of stream, the read end closing under a
//! write pipe, and a file refused. Every test checks the fd count before and after.

mod connect_util;

use std::io::{self, Read, Write};
use std::time::Duration;

use connect_util::{Recorder, no_fd_leak, until};
use tower_protocol::{connect_read_pipe, connect_write_pipe};
use tower_task::{run, sleep};
use tower_transport::{BaseTransport, WriteTransport};

#[test]
fn read_pipe_receives_then_sees_end_of_stream() {
    no_fd_leak(|| {
        let (read, write) = tower_loop::pipe().unwrap();
        let writer = std::thread::spawn(move || {
            let mut w = std::fs::File::from(write);
            w.write_all(b"from a thread").unwrap();
        });
        run(async move {
            let (_t, p) = connect_read_pipe(Recorder::default, read).await.unwrap();
            assert_eq!(p.borrow().seen.made, 1);
            until(|| p.borrow().seen.lost.is_some()).await;
            assert_eq!(p.borrow().seen.data, b"from a thread");
            assert!(p.borrow().seen.eof);
        })
        .unwrap();
        writer.join().unwrap();
    });
}

#[test]
fn write_pipe_sends_and_write_eof_closes() {
    no_fd_leak(|| {
        let (read, write) = tower_loop::pipe().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            std::fs::File::from(read).read_to_end(&mut got).unwrap();
            got
        });
        run(async move {
            let (t, p) = connect_write_pipe(Recorder::default, write).await.unwrap();
            t.write(b"to a thread").unwrap();
            t.write_eof();
            until(|| p.borrow().seen.lost.is_some()).await;
        })
        .unwrap();
        assert_eq!(reader.join().unwrap(), b"to a thread");
    });
}

#[test]
fn write_pipe_closes_when_the_reader_goes() {
    no_fd_leak(|| {
        let (read, write) = tower_loop::pipe().unwrap();
        run(async move {
            let (t, p) = connect_write_pipe(Recorder::default, write).await.unwrap();
            drop(read);
            until(|| p.borrow().seen.lost.is_some()).await;
            assert!(t.is_closing());
        })
        .unwrap();
    });
}

#[test]
fn a_regular_file_is_refused() {
    no_fd_leak(|| {
        let path = std::env::temp_dir().join(format!("tower-pipe-file-{}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        run(async move {
            let err = connect_read_pipe(Recorder::default, file)
                .await
                .err()
                .unwrap();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            sleep(Duration::from_millis(1)).await;
        })
        .unwrap();
        std::fs::remove_file(&path).unwrap();
    });
}
