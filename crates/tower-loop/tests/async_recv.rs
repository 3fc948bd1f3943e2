//! `Async::poll_recv_uninit`: reads of std's stream sockets into uninitialised memory, with the
//! readiness protocol and the short-read rule of the `futures-io` reads; fd counts. Run under
//! valgrind's memcheck (decision 0016) it reports no use of uninitialised memory.

use std::io::Write;
use std::mem::MaybeUninit;
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::task::Poll;

use tower_loop::{Async, EventLoop, RecvSocket};

/// The workspace's fd-leak check.
#[path = "sock_util/fd_leak.rs"]
mod fd_leak;
use fd_leak::no_fd_leak;

/// One poll of `poll_recv_uninit`: `None` if it was pending.
async fn recv_once<S: RecvSocket>(
    a: &Async<S>,
    buf: &mut [MaybeUninit<u8>],
) -> Option<std::io::Result<usize>> {
    std::future::poll_fn(|cx| match a.poll_recv_uninit(cx, buf) {
        Poll::Ready(res) => Poll::Ready(Some(res)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// Reads until `n` bytes have come, into `out`'s spare capacity (uninitialised heap memory).
async fn recv_into_vec<S: RecvSocket>(a: &Async<S>, out: &mut Vec<u8>, n: usize, chunk: usize) {
    let end = out.len() + n;
    while out.len() < end {
        out.reserve(chunk);
        let want = chunk.min(end - out.len());
        let spare = &mut out.spare_capacity_mut()[..want];
        let got = std::future::poll_fn(|cx| a.poll_recv_uninit(cx, spare))
            .await
            .unwrap();
        assert!(got > 0, "end of stream before {n} bytes");
        assert!(got <= want);
        // SAFETY: `poll_recv_uninit` returned `Ready(Ok(got))`: the first `got` bytes of the
        // spare capacity are initialised, and `got <= want <=` the spare capacity.
        unsafe { out.set_len(out.len() + got) };
    }
}

/// Bytes with a pattern, so a reordering or a loss shows.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// Pending until data comes (no `WouldBlock` escapes), then the bytes read and nothing past them
/// written; a short read waits for the next event (bytes written before any reactor poll are
/// not read by the next poll, the event wakes the reader); end of stream is `0`, twice; an empty
/// buffer reads `0`. Over a socketpair and TCP.
#[test]
fn recv_uninit_reads_waits_and_sees_the_end() {
    fn check<S: RecvSocket + Write + 'static>(a: S, mut b: S) {
        let lp = EventLoop::new().unwrap();
        lp.run_until_complete(async move {
            let a = Async::new(a).unwrap();
            // Initialised to a marker, so a write past the bytes read would show.
            let mut buf = [MaybeUninit::new(0xAA_u8); 64];
            assert!(
                recv_once(&a, &mut buf).await.is_none(),
                "nothing to read yet"
            );
            b.write_all(b"abc").unwrap();
            a.readable().await.unwrap();
            let n = recv_once(&a, &mut buf).await.unwrap().unwrap();
            assert_eq!(n, 3);
            // SAFETY: every byte of `buf` was initialised (to the marker, or by the read).
            let bytes: Vec<u8> = buf.iter().map(|b| unsafe { b.assume_init() }).collect();
            assert_eq!(&bytes[..3], b"abc");
            assert!(
                bytes[3..].iter().all(|&b| b == 0xAA),
                "wrote past the bytes read"
            );
            // A short read (3 of 64): bytes written before the next reactor poll are not read.
            b.write_all(b"def").unwrap();
            assert!(
                recv_once(&a, &mut buf).await.is_none(),
                "read before the next event"
            );
            let mut out = Vec::new();
            recv_into_vec(&a, &mut out, 3, 64).await;
            assert_eq!(out, b"def");
            // The last bytes, then the end of stream (`0`, every time).
            b.write_all(b"end").unwrap();
            drop(b);
            let mut out = Vec::new();
            recv_into_vec(&a, &mut out, 3, 64).await;
            assert_eq!(out, b"end");
            for _ in 0..2 {
                let n = std::future::poll_fn(|cx| a.poll_recv_uninit(cx, &mut buf)).await;
                assert_eq!(n.unwrap(), 0, "end of stream");
            }
            // An empty buffer reads nothing.
            let n = std::future::poll_fn(|cx| a.poll_recv_uninit(cx, &mut [])).await;
            assert_eq!(n.unwrap(), 0);
        })
        .unwrap();
        lp.close().unwrap();
    }
    no_fd_leak(|| {
        let (a, b) = UnixStream::pair().unwrap();
        check(a, b);
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let b = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (a, _) = l.accept().unwrap();
        check(a, b);
    });
}

/// 1 MiB from a writer thread, read into a `Vec`'s uninitialised spare capacity in odd-sized
/// chunks, arrives whole and in order.
#[test]
fn recv_uninit_moves_a_mebibyte_in_order() {
    no_fd_leak(|| {
        let (a, mut b) = UnixStream::pair().unwrap();
        let data = pattern(1 << 20);
        let sent = data.clone();
        let writer = std::thread::spawn(move || b.write_all(&sent).unwrap());
        let lp = EventLoop::new().unwrap();
        let got = lp
            .run_until_complete(async move {
                let a = Async::new(a).unwrap();
                let mut out = Vec::new();
                recv_into_vec(&a, &mut out, 1 << 20, 1000).await;
                out
            })
            .unwrap();
        writer.join().unwrap();
        lp.close().unwrap();
        assert!(got == data, "bytes lost or reordered");
    });
}
