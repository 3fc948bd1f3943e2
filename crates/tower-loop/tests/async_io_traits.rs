//! `futures-io` on `Async<T>` and `&Async<T>`, and the async connect: echo through the traits
//! over socketpairs and TCP, `WouldBlock` never reaching the caller, fd counts.

use std::future::Future;
use std::io::{self, IoSlice, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::pin::Pin;
use std::task::Poll;

use futures_io::{AsyncRead, AsyncWrite};
use tower_loop::{Async, EventLoop};

/// The workspace's fd-leak check.
#[path = "sock_util/fd_leak.rs"]
mod fd_leak;
use fd_leak::no_fd_leak;

/// Reads exactly `buf.len()` bytes through `AsyncRead` (no helper crate: a `poll_fn` loop).
async fn read_exact<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let n =
            std::future::poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, &mut buf[done..])).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        done += n;
    }
    Ok(())
}

/// Writes all of `buf` through `AsyncWrite`, then flushes.
async fn write_all<W: AsyncWrite + Unpin>(w: &mut W, buf: &[u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let n = std::future::poll_fn(|cx| Pin::new(&mut *w).poll_write(cx, &buf[done..])).await?;
        assert!(n > 0, "poll_write wrote nothing");
        done += n;
    }
    std::future::poll_fn(|cx| Pin::new(&mut *w).poll_flush(cx)).await
}

/// Reads to EOF through `AsyncRead`.
async fn read_to_end<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = std::future::poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, &mut buf)).await?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Runs `test` to completion on a new loop, closes the loop, and checks that no fd leaked.
fn on_a_loop(test: impl Future<Output = ()>) {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        lp.run_until_complete(test).unwrap();
        lp.close().unwrap();
    });
}

/// Bytes with a pattern, so a reordering or a loss shows.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[test]
fn echo_over_a_socketpair_through_the_traits() {
    on_a_loop(async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut a = Async::new(a).unwrap();
        let mut b = Async::new(b).unwrap();
        for msg in [&b"ping"[..], b"", b"a longer message"] {
            write_all(&mut a, msg).await.unwrap();
            let mut got = vec![0; msg.len()];
            read_exact(&mut b, &mut got).await.unwrap();
            write_all(&mut b, &got).await.unwrap();
            let mut back = vec![0; msg.len()];
            read_exact(&mut a, &mut back).await.unwrap();
            assert_eq!(back, msg);
        }
        // Closing: poll_close flushes; dropping the writer ends the reader at EOF.
        std::future::poll_fn(|cx| Pin::new(&mut a).poll_close(cx))
            .await
            .unwrap();
        drop(a);
        assert!(read_to_end(&mut b).await.unwrap().is_empty());
    });
}

/// 4 MiB through a socketpair whose buffers hold far less: every write and read meets a full or
/// empty buffer many times, and the traits wait instead of reporting `WouldBlock`.
#[test]
fn would_block_never_escapes() {
    on_a_loop(async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut a = Async::new(a).unwrap();
        let mut b = Async::new(b).unwrap();
        let data = pattern(4 << 20);
        let writer = async {
            write_all(&mut a, &data).await.unwrap();
            drop(a);
        };
        let reader = async { read_to_end(&mut b).await.unwrap() };
        let ((), got) = tower_coro::join(writer, reader).await;
        assert_eq!(got.len(), data.len());
        assert!(got == data, "the bytes came back changed");
    });
}

/// A read on an empty socket is `Pending` (never `Err(WouldBlock)`), and the write that follows
/// wakes it.
#[test]
fn an_empty_read_is_pending_until_data_comes() {
    on_a_loop(async {
        let (a, b) = UnixStream::pair().unwrap();
        let a = Async::new(a).unwrap();
        let mut b = Async::new(b).unwrap();
        let mut buf = [0u8; 8];
        let mut polls = 0;
        let read = std::future::poll_fn(|cx| {
            polls += 1;
            let r = Pin::new(&mut b).poll_read(cx, &mut buf);
            if let Poll::Ready(Err(e)) = &r {
                assert_ne!(e.kind(), io::ErrorKind::WouldBlock);
            }
            if polls == 1 {
                assert!(r.is_pending(), "nothing was written yet");
                // Write through the `&Async` impls, from the same task.
                a.get_ref().write_all(b"late").unwrap();
            }
            r
        });
        let n = read.await.unwrap();
        assert_eq!(&buf[..n], b"late");
        assert!(polls >= 2);
    });
}

/// Polls `poll_read` once and says what it returned (`None`: pending), without waiting.
async fn read_once<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> Option<io::Result<usize>> {
    std::future::poll_fn(|cx| match Pin::new(&mut *r).poll_read(cx, buf) {
        Poll::Ready(res) => Poll::Ready(Some(res)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// The short-read rule (tokio's, decision 0016): after a read of a std stream socket that
/// returned fewer bytes than asked, the next read waits for the reactor's next event instead of
/// calling `recv` (which would report `EAGAIN`). Shown without counting syscalls: bytes written
/// after the short read and before any reactor poll are *not* read by the next poll (a `recv`
/// would have returned them), and the event that follows wakes the task and they are read (no
/// lost wake-up). End of stream arriving with the last bytes is still read at once. Through
/// `Async<T>` and `&Async<T>`, over a socketpair and TCP.
#[test]
fn a_read_after_a_short_read_waits_for_the_next_event() {
    fn check<S>(a: S, mut b: S, by_ref: bool)
    where
        S: Read + Write + std::os::fd::AsFd + 'static,
        for<'a> &'a S: Read,
    {
        let lp = EventLoop::new().unwrap();
        lp.run_until_complete(async move {
            let mut a = Async::new(a).unwrap();
            b.write_all(b"abc").unwrap();
            let mut buf = [0u8; 64];
            // Tried first (no event seen yet), short: 3 of 64.
            let n = if by_ref {
                read_once(&mut &a, &mut buf).await
            } else {
                read_once(&mut a, &mut buf).await
            };
            assert_eq!(n.unwrap().unwrap(), 3);
            assert_eq!(&buf[..3], b"abc");
            // More bytes, no reactor poll in between: the next read does not `recv` them.
            b.write_all(b"def").unwrap();
            let again = if by_ref {
                read_once(&mut &a, &mut buf).await
            } else {
                read_once(&mut a, &mut buf).await
            };
            assert!(
                again.is_none(),
                "read again before the next event: {again:?}"
            );
            // The event wakes the reader, which now reads them.
            let mut rest = [0u8; 3];
            if by_ref {
                read_exact(&mut &a, &mut rest).await.unwrap();
            } else {
                read_exact(&mut a, &mut rest).await.unwrap();
            }
            assert_eq!(&rest, b"def");
            // A read that fills its buffer leaves the rule off: the next read tries `recv` at
            // once and finds the bytes already there.
            b.write_all(b"ghij").unwrap();
            let mut two = [0u8; 2];
            read_exact(&mut a, &mut two).await.unwrap();
            let n = read_once(&mut a, &mut two).await;
            assert_eq!(n.unwrap().unwrap(), 2);
            assert_eq!(&two, b"ij");
            // The last bytes and the end of stream arrive together, seen by an event first: the
            // short read of the bytes does not hide the end (no edge would come for it).
            assert!(read_once(&mut a, &mut buf).await.is_none(), "nothing left");
            b.write_all(b"end").unwrap();
            drop(b);
            a.readable().await.unwrap();
            let n = read_once(&mut a, &mut buf).await;
            assert_eq!(n.unwrap().unwrap(), 3);
            for _ in 0..2 {
                let n = read_once(&mut a, &mut buf).await;
                assert_eq!(n.unwrap().unwrap(), 0, "end of stream, at once");
            }
            drop(a);
        })
        .unwrap();
        lp.close().unwrap();
    }
    no_fd_leak(|| {
        for by_ref in [false, true] {
            let (a, b) = UnixStream::pair().unwrap();
            check(a, b, by_ref);
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let b = TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (a, _) = l.accept().unwrap();
            b.set_nodelay(true).unwrap();
            check(a, b, by_ref);
        }
    });
}

/// A `Read` that returns at most one byte per call, over a socket: its short reads do not mean
/// the kernel is drained.
struct OneByte(UnixStream);

impl Read for OneByte {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(1);
        self.0.read(&mut buf[..n])
    }
}

impl std::os::fd::AsFd for OneByte {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// The short-read rule is only for std's stream sockets: a type whose `read` returns less than
/// the kernel holds keeps "try first", so its next read gets the rest at once (with the rule it
/// would wait for an edge that never comes).
#[test]
fn other_types_keep_reading_after_a_short_read() {
    on_a_loop(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut a = Async::new(OneByte(a)).unwrap();
        b.write_all(b"xyz").unwrap();
        let mut buf = [0u8; 8];
        for want in [b'x', b'y', b'z'] {
            let n = read_once(&mut a, &mut buf).await;
            assert_eq!(n.unwrap().unwrap(), 1);
            assert_eq!(buf[0], want);
        }
        assert!(read_once(&mut a, &mut buf).await.is_none());
    });
}

/// `&Async<T>` reads and writes through shared references: one task reads while another writes
/// the same socket.
#[test]
fn shared_references_read_and_write_concurrently() {
    on_a_loop(async {
        let (a, b) = UnixStream::pair().unwrap();
        let a = Async::new(a).unwrap();
        let b = Async::new(b).unwrap();
        let data = pattern(1 << 20);
        // b echoes what it reads, through two shared references at once.
        let echo = async {
            let mut r = &b;
            let mut w = &b;
            let mut buf = [0u8; 8192];
            let mut total = 0;
            while total < data.len() {
                let n = std::future::poll_fn(|cx| Pin::new(&mut r).poll_read(cx, &mut buf))
                    .await
                    .unwrap();
                assert!(n > 0);
                write_all(&mut w, &buf[..n]).await.unwrap();
                total += n;
            }
        };
        let client = async {
            let mut w = &a;
            let mut r = &a;
            let send = async {
                // Vectored writes too.
                let half = data.len() / 2;
                let bufs = [IoSlice::new(&data[..half]), IoSlice::new(&data[half..])];
                let mut sent = 0;
                while sent < data.len() {
                    let n =
                        std::future::poll_fn(|cx| Pin::new(&mut w).poll_write_vectored(cx, &bufs))
                            .await
                            .unwrap();
                    sent += n;
                    if sent < data.len() {
                        write_all(&mut w, &data[sent..]).await.unwrap();
                        sent = data.len();
                    }
                }
            };
            let recv = async {
                let mut got = vec![0; data.len()];
                read_exact(&mut r, &mut got).await.unwrap();
                got
            };
            tower_coro::join(send, recv).await.1
        };
        let ((), got) = tower_coro::join(echo, client).await;
        assert!(got == data, "the echo came back changed");
    });
}

#[test]
fn tcp_connect_then_echo_through_the_traits() {
    no_fd_leak(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
        });
        let lp = EventLoop::new().unwrap();
        lp.run_until_complete(async move {
            let mut s = Async::<TcpStream>::connect(addr).await.unwrap();
            assert_eq!(s.get_ref().peer_addr().unwrap(), addr);
            write_all(&mut s, b"hello").await.unwrap();
            let mut buf = [0u8; 5];
            read_exact(&mut s, &mut buf).await.unwrap();
            assert_eq!(&buf, b"hello");
            assert!(read_to_end(&mut s).await.unwrap().is_empty());
        })
        .unwrap();
        server.join().unwrap();
        lp.close().unwrap();
    });
}

#[test]
fn tcp_connect_refused_is_an_error() {
    no_fd_leak(|| {
        // A port that was just free: bind, learn it, close.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let lp = EventLoop::new().unwrap();
        let err = lp
            .run_until_complete(Async::<TcpStream>::connect(addr))
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        lp.close().unwrap();
    });
}

#[test]
fn unix_connect_then_echo() {
    no_fd_leak(|| {
        let path = std::env::temp_dir().join(format!("tower-loop-connect-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 3];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
        });
        let lp = EventLoop::new().unwrap();
        let p = path.clone();
        lp.run_until_complete(async move {
            let mut s = Async::<UnixStream>::connect(&p).await.unwrap();
            write_all(&mut s, b"abc").await.unwrap();
            let mut buf = [0u8; 3];
            read_exact(&mut s, &mut buf).await.unwrap();
            assert_eq!(&buf, b"abc");
        })
        .unwrap();
        server.join().unwrap();
        lp.close().unwrap();
        std::fs::remove_file(&path).unwrap();
        let err = EventLoop::new()
            .unwrap()
            .run_until_complete(Async::<UnixStream>::connect(&path))
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    });
}

/// Dropping a connect mid-way closes its socket.
#[test]
fn dropping_a_connect_mid_way_leaks_nothing() {
    no_fd_leak(|| {
        // A listener that never accepts: the handshake completes in the kernel, but the future
        // is dropped on its first poll (`race` against a ready future).
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let lp = EventLoop::new().unwrap();
        lp.run_until_complete(async move {
            let mut fut = Box::pin(Async::<TcpStream>::connect(addr));
            let _ = std::future::poll_fn(|cx| {
                let _ = fut.as_mut().poll(cx);
                Poll::Ready(())
            })
            .await;
            drop(fut);
        })
        .unwrap();
        lp.close().unwrap();
        drop(listener);
    });
}

/// The connect futures are `Send`, so a `Send` task on the multi-thread runtime can await them
/// (tower-hyper's tests run one there).
#[test]
fn connect_futures_are_send() {
    fn send<F: Future + Send>(_: &F) {}
    let addr: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
    let tcp = Async::<TcpStream>::connect(addr);
    send(&tcp);
    let unix = Async::<UnixStream>::connect("/nonexistent");
    send(&unix);
}
