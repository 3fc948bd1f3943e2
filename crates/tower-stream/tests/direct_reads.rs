//! Direct reads: a `readexactly(n)` of at least 16 KiB that must wait reads the next bytes
//! straight into the vector it returns (docs/decisions/0014-streams.md). Over real sockets:
//! many chunks, dropped mid-way, the end of the stream, `feed_data` and `set_exception`
//! during it, back-pressure around it — each as asyncio's `readexactly` behaves
//! (test_streams.py's test_readexactly*, test_exception*, with larger sizes). Every test
//! checks the fd count.

mod util;

use std::future::Future;
use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use tower_stream::{IncompleteReadError, StreamReader, StreamReaderProtocol};
use tower_transport::ReadTransport;
use util::{pair_streams, run, turns};

/// 100 KiB: well above the direct-read threshold.
const N: usize = 100 * 1024;

/// `len` bytes that differ from their neighbours (so order errors show).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Polls `fut` once with a no-op waker.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

/// Writes `data` in 1 KiB pieces, letting the loop read between them.
async fn send(peer: &mut UnixStream, data: &[u8]) {
    for c in data.chunks(1024) {
        peer.write_all(c).unwrap();
        turns(2).await;
    }
}

/// Lets the loop read until `n` bytes are in the reader (the socket may still hold some).
async fn settle(reader: &StreamReader, n: usize) {
    let want = format!("buffered: {n},");
    while !format!("{reader:?}").contains(&want) {
        turns(1).await;
    }
}

/// Whether the reader is in a direct read (its `Debug` says so).
fn in_direct_read(reader: &StreamReader) -> bool {
    format!("{reader:?}").contains("direct: Some")
}

// test_readexactly, 100 KiB in a hundred chunks: every byte, in order.
#[test]
fn readexactly_of_100_kib_in_many_chunks() {
    run(async {
        let (reader, _writer, mut peer) = pair_streams(64 * 1024).await;
        let data = pattern(N + 10);
        let mut fut = pin!(reader.readexactly(N));
        assert!(poll_once(fut.as_mut()).is_pending());
        assert!(in_direct_read(&reader));
        send(&mut peer, &data[..N / 2]).await;
        assert!(poll_once(fut.as_mut()).is_pending());
        send(&mut peer, &data[N / 2..]).await;
        let got = match poll_once(fut.as_mut()) {
            Poll::Ready(r) => r.unwrap(),
            Poll::Pending => fut.await.unwrap(),
        };
        assert_eq!(got, data[..N]);
        // The bytes after the message went to the buffer, not past the direct read's end.
        assert_eq!(reader.readexactly(10).await.unwrap(), data[N..]);
    });
}

// A direct read dropped mid-way took nothing: the next reads see every byte, in order.
#[test]
fn dropped_direct_read_loses_no_byte() {
    run(async {
        let (reader, _writer, mut peer) = pair_streams(64 * 1024).await;
        let data = pattern(N);
        reader.feed_data(&data[..100]);
        {
            let mut fut = pin!(reader.readexactly(N));
            assert!(poll_once(fut.as_mut()).is_pending());
            assert!(in_direct_read(&reader));
            send(&mut peer, &data[100..30_000]).await;
            settle(&reader, 30_000).await;
            assert!(poll_once(fut.as_mut()).is_pending());
        }
        assert!(!in_direct_read(&reader));
        assert_eq!(reader.readexactly(20_000).await.unwrap(), data[..20_000]);
        assert_eq!(reader.read(N).await.unwrap(), data[20_000..30_000]);
        // A new direct read after the drop gets the rest.
        let rest = async { reader.readexactly(N - 30_000).await.unwrap() };
        let (got, ()) = futures_join(rest, send(&mut peer, &data[30_000..])).await;
        assert_eq!(got, data[30_000..]);
    });
}

// test_readexactly_eof, mid-way through a direct read: IncompleteReadError with every byte.
#[test]
fn eof_during_a_direct_read_gives_every_byte() {
    run(async {
        let (reader, _writer, mut peer) = pair_streams(64 * 1024).await;
        let data = pattern(30_000);
        let mut fut = pin!(reader.readexactly(N));
        assert!(poll_once(fut.as_mut()).is_pending());
        send(&mut peer, &data).await;
        drop(peer);
        let err = fut.await.unwrap_err();
        let inc = IncompleteReadError::from_io(&err).expect("an IncompleteReadError");
        assert_eq!(inc.partial, data);
        assert_eq!(inc.expected, Some(N));
        assert!(reader.at_eof());
    });
}

// feed_data during a direct read: the fed bytes come after those already read, and the
// socket's later bytes after them (asyncio's buffer appends in arrival order).
#[test]
fn feed_data_during_a_direct_read_keeps_arrival_order() {
    run(async {
        let (reader, _writer, mut peer) = pair_streams(64 * 1024).await;
        let data = pattern(N);
        let mut fut = pin!(reader.readexactly(N));
        assert!(poll_once(fut.as_mut()).is_pending());
        send(&mut peer, &data[..30_000]).await;
        settle(&reader, 30_000).await;
        reader.feed_data(&data[30_000..30_100]);
        assert!(!in_direct_read(&reader), "feed_data ends the direct read");
        assert!(poll_once(fut.as_mut()).is_pending());
        let (got, ()) = futures_join(fut, send(&mut peer, &data[30_100..])).await;
        assert_eq!(got.unwrap(), data);
    });
}

// test_exception_waiter: set_exception during a direct read raises in the read; the bytes
// read so far stay buffered (asyncio leaves its buffer alone).
#[test]
fn exception_during_a_direct_read() {
    run(async {
        let (reader, _writer, mut peer) = pair_streams(64 * 1024).await;
        let data = pattern(30_000);
        let mut fut = pin!(reader.readexactly(N));
        assert!(poll_once(fut.as_mut()).is_pending());
        send(&mut peer, &data).await;
        settle(&reader, 30_000).await;
        reader.set_exception(io::Error::other("boom"));
        let err = fut.await.unwrap_err();
        assert_eq!(err.to_string(), "boom");
        assert!(!in_direct_read(&reader));
        assert!(format!("{reader:?}").contains("buffered: 30000"));
        assert!(reader.read(10).await.is_err());
    });
}

// Back-pressure around a direct read: readexactly(n > 2 x limit) completes (reading is not
// paused while the direct read fills); afterwards more than 2 x limit buffered pauses, and
// reading it resumes (test_streams' pause/resume scenarios, sizes above the threshold).
#[test]
fn back_pressure_around_a_direct_read() {
    run(async {
        let limit = 16 * 1024;
        let (reader, writer, mut peer) = pair_streams(limit).await;
        let t = writer.transport().clone();
        let data = pattern(N + 40_000);
        let read = async { reader.readexactly(N).await.unwrap() };
        let (got, ()) = futures_join(read, send(&mut peer, &data[..N])).await;
        assert_eq!(got, data[..N]);
        assert!(t.is_reading());
        // 40 000 bytes buffered (no read waiting): above 2 x limit, paused.
        peer.write_all(&data[N..]).unwrap();
        while t.is_reading() {
            turns(1).await;
        }
        assert_eq!(
            reader.readexactly(20_000).await.unwrap(),
            data[N..N + 20_000]
        );
        assert!(!t.is_reading(), "20 000 left is above the limit");
        assert_eq!(
            reader.readexactly(10_000).await.unwrap(),
            data[N + 20_000..N + 30_000]
        );
        assert!(t.is_reading(), "10 000 left: resumed");
        assert_eq!(
            reader.readexactly(10_000).await.unwrap(),
            data[N + 30_000..]
        );
    });
}

// A reader whose bytes come through `get_buffer` only (as a TLS layer feeds it): the first
// chunk ends the direct read and no other starts, so chunks are not moved back and forth;
// every byte arrives in order. Then a transport asking `get_buffer_uninit` turns them on again.
#[test]
fn a_reader_fed_through_get_buffer_only_stops_direct_reads() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use tower_protocol::BufferedProtocol;

    let proto = Rc::new(RefCell::new(StreamReaderProtocol::new(64 * 1024).unwrap()));
    let reader = StreamReader::from_protocol(&proto);
    let data = pattern(N);
    let mut fut = pin!(reader.readexactly(N));
    assert!(poll_once(fut.as_mut()).is_pending());
    assert!(in_direct_read(&reader));
    for c in data.chunks(1000) {
        let mut g = proto.borrow_mut();
        let buf = g.0.get_buffer(0);
        buf[..c.len()].copy_from_slice(c);
        g.0.buffer_updated(c.len());
        drop(g);
        if let Poll::Ready(r) = poll_once(fut.as_mut()) {
            assert_eq!(r.unwrap(), data);
            break;
        }
        assert!(!in_direct_read(&reader));
    }
    // A transport that reads into uninitialised memory asks first: direct reads again.
    assert!(proto.borrow_mut().0.get_buffer_uninit(0).is_none());
    let mut fut = pin!(reader.readexactly(N));
    assert!(poll_once(fut.as_mut()).is_pending());
    assert!(in_direct_read(&reader));
}

// The loan outlives the direct read: a direct read dropped (or fed) while the transport holds
// its spare capacity keeps that memory alive and untouched, and the bytes the transport then
// reports land after everything buffered (as a feed during a `get_buffer` loan).
#[test]
fn a_direct_read_ended_during_its_loan_keeps_the_lent_memory() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use tower_protocol::BufferedProtocol;

    let proto = Rc::new(RefCell::new(StreamReaderProtocol::new(64 * 1024).unwrap()));
    let reader = StreamReader::from_protocol(&proto);
    let data = pattern(N);
    reader.feed_data(&data[..10]);
    let (ptr, len) = {
        let mut fut = pin!(reader.readexactly(N));
        assert!(poll_once(fut.as_mut()).is_pending());
        assert!(in_direct_read(&reader));
        let mut g = proto.borrow_mut();
        let s =
            g.0.get_buffer_uninit(0)
                .expect("a direct read's spare capacity");
        (s.as_mut_ptr(), s.len())
        // The read is dropped here, while its memory is lent: its 10 bytes go back to the
        // buffer; the lent memory is kept.
    };
    assert_eq!(len, N - 10, "never past the message");
    assert!(!in_direct_read(&reader));
    reader.feed_data(&data[10..20]);
    // SAFETY: the loan is `len` bytes at `ptr`, kept alive and untouched by the reader until
    // the protocol is called again (the `direct_lent` invariant); 10 <= len.
    unsafe {
        for (i, b) in data[20..30].iter().enumerate() {
            ptr.add(i).write(std::mem::MaybeUninit::new(*b));
        }
    }
    // SAFETY: the first 10 bytes of the lent slice were just written; no other protocol method
    // was called since `get_buffer_uninit`.
    unsafe { proto.borrow_mut().0.buffer_updated_uninit(10) };
    let mut read = pin!(reader.read(N));
    match poll_once(read.as_mut()) {
        Poll::Ready(r) => assert_eq!(r.unwrap(), data[..30]),
        Poll::Pending => panic!("30 bytes are buffered"),
    }
}

// The futures-io traits see a direct read's bytes: a readexactly forgotten mid-way (its drop
// never runs) leaves its direct read, and `poll_fill_buf`/`consume`/`poll_read` end it and
// read every byte, in order.
#[test]
fn futures_io_reads_see_a_direct_reads_bytes() {
    use futures_io::{AsyncBufRead, AsyncRead};
    use std::pin::Pin;

    run(async {
        let (reader, _writer, mut peer) = pair_streams(64 * 1024).await;
        let data = pattern(40_000);
        let mut fut = Box::pin(reader.readexactly(N));
        assert!(poll_once(fut.as_mut()).is_pending());
        send(&mut peer, &data).await;
        assert!(in_direct_read(&reader));
        settle(&reader, 40_000).await;
        std::mem::forget(fut);
        let mut reader = reader;
        let got = std::future::poll_fn(|cx| {
            Pin::new(&mut reader)
                .poll_fill_buf(cx)
                .map_ok(|b| b.to_vec())
        })
        .await
        .unwrap();
        assert!(
            got == data,
            "got {} bytes, first diff at {:?}",
            got.len(),
            got.iter().zip(&data).position(|(a, b)| a != b)
        );
        assert!(!in_direct_read(&reader));
        Pin::new(&mut reader).consume(10_000);
        let mut rest = vec![0; 30_000];
        let n = std::future::poll_fn(|cx| Pin::new(&mut reader).poll_read(cx, &mut rest))
            .await
            .unwrap();
        assert_eq!(n, 30_000);
        assert_eq!(rest, data[10_000..]);
    });
}

/// Runs two futures to completion, together (polls both until both are done).
async fn futures_join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    (ra.unwrap(), rb.unwrap())
}
