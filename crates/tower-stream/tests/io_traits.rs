//! `futures-io` on the streams: `AsyncRead`/`AsyncBufRead` on `StreamReader`, `AsyncWrite` on
//! `StreamWriter`, driven by hand with `poll_fn` (no peer runtime), over a socket pair.

mod util;

use std::io::{self, Read, Write};
use std::pin::Pin;

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};
use tower_coro::poll_fn;
use tower_stream::{StreamReader, StreamWriter};
use tower_transport::WriteTransport;
use util::{pair_streams, run};

/// `AsyncRead::poll_read` as a future.
async fn read(r: &mut StreamReader, buf: &mut [u8]) -> io::Result<usize> {
    poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, buf)).await
}

/// `AsyncBufRead::poll_fill_buf` as a future, copied out.
async fn fill(r: &mut StreamReader) -> io::Result<Vec<u8>> {
    poll_fn(|cx| Pin::new(&mut *r).poll_fill_buf(cx).map_ok(|b| b.to_vec())).await
}

/// `AsyncWrite::poll_write` as a future.
async fn write(w: &mut StreamWriter, buf: &[u8]) -> io::Result<usize> {
    poll_fn(|cx| Pin::new(&mut *w).poll_write(cx, buf)).await
}

#[test]
fn async_read_reads_what_is_buffered_then_zero_at_eof() {
    run(async {
        let (mut reader, _writer, mut peer) = pair_streams(1024).await;
        peer.write_all(b"hello world").unwrap();
        let mut buf = [0u8; 5];
        assert_eq!(read(&mut reader, &mut buf).await.unwrap(), 5);
        assert_eq!(&buf, b"hello");
        let mut rest = [0u8; 64];
        let n = read(&mut reader, &mut rest).await.unwrap();
        assert_eq!(&rest[..n], b" world");
        drop(peer);
        assert_eq!(read(&mut reader, &mut rest).await.unwrap(), 0);
    });
}

#[test]
fn async_buf_read_sees_the_same_bytes_as_the_asyncio_reads() {
    run(async {
        let (mut reader, _writer, mut peer) = pair_streams(1024).await;
        peer.write_all(b"abc\ndef\n").unwrap();
        let got = fill(&mut reader).await.unwrap();
        assert!(got.starts_with(b"abc"));
        Pin::new(&mut reader).consume(2);
        // Nothing else was taken: readline sees the rest of the line.
        assert_eq!(reader.readline().await.unwrap(), b"c\n");
        // The staged copy is stale now: fill_buf copies again.
        let got = fill(&mut reader).await.unwrap();
        assert_eq!(got, b"def\n");
        Pin::new(&mut reader).consume(4);
        drop(peer);
        assert_eq!(fill(&mut reader).await.unwrap(), b"");
    });
}

#[test]
fn async_write_writes_and_close_half_closes() {
    run(async {
        let (_reader, mut writer, mut peer) = pair_streams(1024).await;
        assert_eq!(write(&mut writer, b"ping").await.unwrap(), 4);
        let slices = [io::IoSlice::new(b"a"), io::IoSlice::new(b"bc")];
        let n = poll_fn(|cx| Pin::new(&mut writer).poll_write_vectored(cx, &slices))
            .await
            .unwrap();
        assert_eq!(n, 3);
        poll_fn(|cx| Pin::new(&mut writer).poll_flush(cx))
            .await
            .unwrap();
        poll_fn(|cx| Pin::new(&mut writer).poll_close(cx))
            .await
            .unwrap();
        let mut got = Vec::new();
        // The peer reads everything, then the end of stream (write_eof).
        let th = std::thread::spawn(move || {
            peer.read_to_end(&mut got).unwrap();
            got
        });
        while !th.is_finished() {
            util::turns(1).await;
        }
        assert_eq!(th.join().unwrap(), b"pingabc");
    });
}

#[test]
fn async_write_waits_on_flow_control() {
    run(async {
        let (_reader, mut writer, peer) = pair_streams(1024).await;
        writer
            .transport()
            .set_write_buffer_limits(Some(1024), None)
            .unwrap();
        let big = vec![b'q'; 1 << 20];
        assert_eq!(write(&mut writer, &big).await.unwrap(), big.len());
        // Paused: the next write waits until the peer reads.
        let th = std::thread::spawn(move || {
            let mut peer = peer;
            let mut got = vec![0u8; (1 << 20) + 1];
            peer.read_exact(&mut got).unwrap();
            peer
        });
        assert_eq!(write(&mut writer, b"!").await.unwrap(), 1);
        poll_fn(|cx| Pin::new(&mut writer).poll_flush(cx))
            .await
            .unwrap();
        while !th.is_finished() {
            util::turns(1).await;
        }
        drop(th.join().unwrap());
    });
}
