//! `SocketTransport::sendfile` (asyncio's `loop.sendfile` on a socket transport;
//! test_sendfile.py, SendfileMixin: test_sendfile, test_sendfile_force_fallback,
//! test_sendfile_force_unsupported_native, test_sendfile_partial,
//! test_sendfile_ssl_pre_and_post_data's `write` during sendfile, test_sendfile_close_peer...):
//! a file of a few MiB through a socketpair, offset and count, writes refused while it runs,
//! the fallback from a pipe, dropping the future mid-way, `close` waiting for it.

mod util;

use std::fs::File;
use std::future::{Future, poll_fn};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::task::Poll;
use std::thread::JoinHandle;

use tower_loop::EventLoop;
use tower_transport::{BaseTransport, ReadTransport, SocketTransport, WriteError, WriteTransport};
use util::{Ev, Recorder, lost_count, no_fd_leak, run_until};

/// A file of `len` bytes of a pattern that shows a misplaced byte (unlinked at once).
fn pattern_file(len: usize) -> (File, Vec<u8>) {
    let data: Vec<u8> = (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 12) as u8)
        .collect();
    let path = std::env::temp_dir().join(format!(
        "tower-sendfile-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut f = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    f.write_all(&data).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    (f, data)
}

/// Reads `sock` to its end on a thread.
fn read_all(mut sock: UnixStream) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        sock.read_to_end(&mut out).unwrap();
        out
    })
}

/// A transport over one end of a socketpair (the other end returned), its protocol's log.
fn transport(lp: &EventLoop) -> (SocketTransport, UnixStream, util::Log) {
    let (a, b) = UnixStream::pair().unwrap();
    let (proto, log) = Recorder::new();
    let t = SocketTransport::new(lp, a, proto).unwrap();
    run_until(lp, || !log.borrow().is_empty());
    (t, b, log)
}

/// Polls `f` once (from its task, so its waker is real) and asserts it is pending: the
/// socket is full, the send waits for writability.
async fn poll_pending<F: Future>(mut f: std::pin::Pin<&mut F>) {
    poll_fn(|cx| {
        assert!(f.as_mut().poll(cx).is_pending());
        Poll::Ready(())
    })
    .await;
}

/// Closes `t` and runs the loop until its `connection_lost`.
fn close_and_wait(lp: &EventLoop, t: &SocketTransport, log: &util::Log) {
    t.close();
    run_until(lp, || lost_count(log) == 1);
}

#[test]
fn a_large_file_arrives_whole_and_the_position_moves_past_it() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, log) = transport(&lp);
        let reader = read_all(peer);
        let (file, data) = pattern_file(4 << 20);
        let sent = lp
            .run_until_complete(t.sendfile(&file, 0, None))
            .unwrap()
            .unwrap();
        assert_eq!(sent, data.len() as u64);
        assert_eq!((&file).stream_position().unwrap(), data.len() as u64);
        close_and_wait(&lp, &t, &log);
        assert!(reader.join().unwrap() == data, "the bytes differ");
        assert_eq!(*log.borrow(), vec![Ev::Made, Ev::Lost(None)]);
        lp.close().unwrap();
    });
}

#[test]
fn offset_and_count_are_honoured() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, log) = transport(&lp);
        let reader = read_all(peer);
        let (file, data) = pattern_file(1 << 20);
        // Data written before goes first; then the slice; then a count past the end.
        t.write(b"head").unwrap();
        let sent = lp
            .run_until_complete(t.sendfile(&file, 1000, Some(300_000)))
            .unwrap()
            .unwrap();
        assert_eq!(sent, 300_000);
        assert_eq!((&file).stream_position().unwrap(), 301_000);
        let tail = lp
            .run_until_complete(t.sendfile(&file, data.len() as u64 - 10, Some(1 << 30)))
            .unwrap()
            .unwrap();
        assert_eq!(tail, 10);
        t.write(b"tail").unwrap();
        close_and_wait(&lp, &t, &log);
        let mut want = b"head".to_vec();
        want.extend_from_slice(&data[1000..301_000]);
        want.extend_from_slice(&data[data.len() - 10..]);
        want.extend_from_slice(b"tail");
        assert!(reader.join().unwrap() == want, "the bytes differ");
        lp.close().unwrap();
    });
}

#[test]
fn write_during_sendfile_is_refused_and_dropping_it_restores_the_transport() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, log) = transport(&lp);
        let (file, data) = pattern_file(4 << 20);
        let t2 = t.clone();
        let file_ref = &file;
        let sent_before_drop = lp
            .run_until_complete(async move {
                let mut f = pin!(t2.sendfile(file_ref, 0, None));
                // Nobody reads the peer: the socket fills and the send waits for writability.
                poll_pending(f.as_mut()).await;
                assert_eq!(t2.write(b"x"), Err(WriteError::SendfileInProgress));
                assert_eq!(
                    t2.writelines(&[b"x", b"y"]),
                    Err(WriteError::SendfileInProgress)
                );
                // Dropped mid-way: the transport takes writes again.
            })
            .map(|()| (&file).stream_position().unwrap())
            .unwrap();
        assert!(sent_before_drop > 0 && sent_before_drop < data.len() as u64);
        t.write(b"after").unwrap();
        let reader = read_all(peer);
        close_and_wait(&lp, &t, &log);
        let got = reader.join().unwrap();
        let mut want = data[..sent_before_drop as usize].to_vec();
        want.extend_from_slice(b"after");
        assert!(got == want, "the bytes differ");
        lp.close().unwrap();
    });
}

#[test]
fn close_during_sendfile_waits_for_it() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, log) = transport(&lp);
        let (file, data) = pattern_file(2 << 20);
        let reader = read_all(peer);
        let t2 = t.clone();
        let file_ref = &file;
        let sent = lp
            .run_until_complete(async move {
                let mut f = pin!(t2.sendfile(file_ref, 0, None));
                poll_pending(f.as_mut()).await;
                t2.close(); // waits for the send, as for buffered data
                assert!(t2.is_closing());
                f.await
            })
            .unwrap()
            .unwrap();
        assert_eq!(sent, data.len() as u64);
        run_until(&lp, || lost_count(&log) == 1);
        assert_eq!(*log.borrow(), vec![Ev::Made, Ev::Lost(None)]);
        assert!(reader.join().unwrap() == data, "the bytes differ");
        lp.close().unwrap();
    });
}

#[test]
fn abort_during_sendfile_ends_it_with_an_error() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, _peer, log) = transport(&lp);
        let (file, _) = pattern_file(4 << 20);
        let t2 = t.clone();
        let file_ref = &file;
        let r = lp
            .run_until_complete(async move {
                let mut f = pin!(t2.sendfile(file_ref, 0, None));
                poll_pending(f.as_mut()).await;
                t2.abort();
                f.await
            })
            .unwrap();
        assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::ConnectionAborted);
        run_until(&lp, || lost_count(&log) == 1);
        lp.close().unwrap();
    });
}

#[test]
fn a_regular_file_through_the_fallback_honours_offset_and_count() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, log) = transport(&lp);
        let reader = read_all(peer);
        let (file, data) = pattern_file(3 << 20);
        let sent = lp
            .run_until_complete(t.sendfile(&file, 12_345, Some(2 << 20)).fallback_only())
            .unwrap()
            .unwrap();
        assert_eq!(sent, 2 << 20);
        assert_eq!((&file).stream_position().unwrap(), 12_345 + (2 << 20));
        close_and_wait(&lp, &t, &log);
        assert!(
            reader.join().unwrap() == data[12_345..12_345 + (2 << 20)],
            "the bytes differ"
        );
        lp.close().unwrap();
    });
}

#[test]
fn a_pipe_source_goes_through_the_fallback() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, log) = transport(&lp);
        let reader = read_all(peer);
        let (rx, mut tx) = std::io::pipe().unwrap();
        let data: Vec<u8> = (0..(1usize << 20) + 17).map(|i| (i % 253) as u8).collect();
        let writer = {
            let data = data.clone();
            std::thread::spawn(move || tx.write_all(&data).unwrap())
        };
        let rx = File::from(std::os::fd::OwnedFd::from(rx));
        let sent = lp
            .run_until_complete(t.sendfile(&rx, 0, None))
            .unwrap()
            .unwrap();
        writer.join().unwrap();
        assert_eq!(sent, data.len() as u64);
        close_and_wait(&lp, &t, &log);
        assert!(reader.join().unwrap() == data, "the bytes differ");
        drop(rx);
        lp.close().unwrap();
    });
}

#[test]
fn a_pipe_source_with_a_count_and_without_the_fallback() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, log) = transport(&lp);
        let (rx, mut tx) = std::io::pipe().unwrap();
        tx.write_all(b"0123456789").unwrap();
        let rx = File::from(std::os::fd::OwnedFd::from(rx));
        let refused = lp
            .run_until_complete(t.sendfile(&rx, 0, None).no_fallback())
            .unwrap();
        assert_eq!(refused.unwrap_err().kind(), std::io::ErrorKind::Unsupported);
        let bad_offset = lp.run_until_complete(t.sendfile(&rx, 3, None)).unwrap();
        assert_eq!(
            bad_offset.unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
        let sent = lp
            .run_until_complete(t.sendfile(&rx, 0, Some(4)))
            .unwrap()
            .unwrap();
        assert_eq!(sent, 4);
        t.write(b"!").unwrap(); // writes work after each
        let reader = read_all(peer);
        close_and_wait(&lp, &t, &log);
        assert_eq!(reader.join().unwrap(), b"0123!");
        let mut rest = String::new();
        drop(tx);
        (&rx).read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "456789");
        lp.close().unwrap();
    });
}

#[test]
fn sendfile_on_a_closing_transport_fails() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, _peer, log) = transport(&lp);
        let (file, _) = pattern_file(10);
        t.close();
        let r = lp.run_until_complete(t.sendfile(&file, 0, None)).unwrap();
        assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::NotConnected);
        run_until(&lp, || lost_count(&log) == 1);
        lp.close().unwrap();
    });
}

#[test]
fn two_sendfiles_at_once_the_second_fails() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, log) = transport(&lp);
        let (file, data) = pattern_file(4 << 20);
        let t2 = t.clone();
        let file_ref = &file;
        let data_len = data.len() as u64;
        let reader = lp
            .run_until_complete(async move {
                let mut f = pin!(t2.sendfile(file_ref, 0, None));
                poll_pending(f.as_mut()).await;
                let second = t2.sendfile(file_ref, 0, None).await;
                assert!(second.is_err());
                assert_eq!(t2.write(b"x"), Err(WriteError::SendfileInProgress));
                let reader = read_all(peer);
                assert_eq!(f.await.unwrap(), data_len);
                reader
            })
            .unwrap();
        close_and_wait(&lp, &t, &log);
        assert!(reader.join().unwrap() == data, "the bytes differ");
        lp.close().unwrap();
    });
}

/// Lets the loop run `n` iterations (the task wakes itself each time).
async fn iterations(n: usize) {
    let mut left = n;
    poll_fn(|cx| {
        if left == 0 {
            return Poll::Ready(());
        }
        left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}

/// What [`send_while_the_peer_writes`] saw.
struct DuringSend {
    /// The protocol's log 20 iterations into the send.
    seen: Vec<Ev>,
    /// `is_reading()` during the send.
    reading: bool,
    /// A `write` during the send.
    refused: Result<(), WriteError>,
    /// The peer's reader thread (started once the iterations passed).
    reader: JoinHandle<Vec<u8>>,
    /// The file's bytes.
    data: Vec<u8>,
}

/// Sends a 4 MiB file from `t` while the peer writes `hello`, no one reading the peer until
/// 20 loop iterations passed.
fn send_while_the_peer_writes(
    lp: &EventLoop,
    t: &SocketTransport,
    peer: &UnixStream,
    log: &util::Log,
    fallback: bool,
) -> DuringSend {
    let (file, data) = pattern_file(4 << 20);
    let file_ref = &file;
    let peer2 = peer.try_clone().unwrap();
    let log2 = log.clone();
    lp.run_until_complete(async move {
        let f = t.sendfile(file_ref, 0, None);
        let mut f = pin!(if fallback { f.fallback_only() } else { f });
        poll_pending(f.as_mut()).await;
        let reading = t.is_reading();
        let refused = t.write(b"echo");
        // The peer writes while the file is on its way; the loop runs, nothing reads.
        (&peer2).write_all(b"hello").unwrap();
        poll_fn(|cx| {
            let _ = f.as_mut().poll(cx);
            Poll::Ready(())
        })
        .await;
        iterations(20).await;
        let seen = log2.borrow().clone();
        let reader = read_all(peer2);
        assert_eq!(f.await.unwrap(), data.len() as u64);
        DuringSend {
            seen,
            reading,
            refused,
            reader,
            data,
        }
    })
    .unwrap()
}

// asyncio's `_sendfile_native` / `_sendfile_fallback`: `resume_reading = transp.is_reading()`,
// `transp.pause_reading()`, and after the send `if resume_reading: transp.resume_reading()`.
#[test]
fn reading_pauses_during_sendfile_and_resumes_after_it() {
    for fallback in [false, true] {
        no_fd_leak(|| {
            let lp = EventLoop::new().unwrap();
            let (a, peer) = UnixStream::pair().unwrap();
            let (proto, log) = Recorder::new();
            // After the send: the data arrived, and the protocol can write again.
            proto.borrow_mut().on_data = Some(Box::new(move |t, _| {
                t.write(b"echo").unwrap();
            }));
            let t = SocketTransport::new(&lp, a, proto).unwrap();
            run_until(&lp, || !log.borrow().is_empty());
            assert!(t.is_reading());
            let DuringSend {
                seen,
                reading,
                refused,
                reader,
                mut data,
            } = send_while_the_peer_writes(&lp, &t, &peer, &log, fallback);
            assert_eq!(
                seen,
                [Ev::Made],
                "nothing was read during the send ({fallback})"
            );
            assert!(!reading, "reading is paused during the send ({fallback})");
            assert_eq!(refused, Err(WriteError::SendfileInProgress));
            assert!(
                t.is_reading(),
                "reading resumed after the send ({fallback})"
            );
            run_until(&lp, || log.borrow().len() > 1);
            assert_eq!(log.borrow()[1], Ev::Data(b"hello".to_vec()));
            close_and_wait(&lp, &t, &log);
            drop(peer);
            data.extend_from_slice(b"echo");
            assert!(reader.join().unwrap() == data, "the file, then the echo");
            lp.close().unwrap();
        });
    }
}

#[test]
fn a_transport_paused_before_sendfile_stays_paused_after_it() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, log) = transport(&lp);
        t.pause_reading();
        let (file, data) = pattern_file(1 << 20);
        let reader = read_all(peer.try_clone().unwrap());
        (&peer).write_all(b"hello").unwrap();
        let sent = lp.run_until_complete(t.sendfile(&file, 0, None)).unwrap();
        assert_eq!(sent.unwrap(), data.len() as u64);
        assert!(!t.is_reading(), "paused before, paused after");
        for _ in 0..10 {
            util::run_once(&lp);
        }
        assert_eq!(*log.borrow(), [Ev::Made]);
        t.resume_reading();
        run_until(&lp, || log.borrow().len() > 1);
        assert_eq!(log.borrow()[1], Ev::Data(b"hello".to_vec()));
        close_and_wait(&lp, &t, &log);
        drop(peer);
        assert!(reader.join().unwrap() == data, "the bytes differ");
        lp.close().unwrap();
    });
}

#[test]
fn write_eof_during_sendfile_shuts_writing_after_it() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (t, peer, log) = transport(&lp);
        let (file, data) = pattern_file(2 << 20);
        let reader = read_all(peer);
        let t2 = t.clone();
        let file_ref = &file;
        let sent = lp
            .run_until_complete(async move {
                let mut f = pin!(t2.sendfile(file_ref, 0, None));
                poll_pending(f.as_mut()).await;
                t2.write_eof(); // not yet: the file is still being sent
                assert_eq!(t2.write(b"x"), Err(WriteError::AfterWriteEof));
                f.await
            })
            .unwrap()
            .unwrap();
        assert_eq!(sent, data.len() as u64);
        // The peer saw the whole file, then end of stream (its reader returned).
        assert!(reader.join().unwrap() == data, "the bytes differ");
        assert!(!t.is_closing());
        close_and_wait(&lp, &t, &log);
        lp.close().unwrap();
    });
}
