//! The batched probe of full reads (docs/decisions/0009, point 7): with many TCP sockets whose
//! reads fill their buffers, reads are plain `recv`s and whether a full read left bytes behind
//! is asked at the next poll, for all of them in one `poll(2)`. These tests guard what that must
//! not lose: bytes left behind by a full read are read (the probe makes the socket readable
//! again), a socket drained by a full read waits for the next bytes (a new edge), and a socket
//! closed while it is queued for the probe costs nothing and leaks nothing.

mod sock_util;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use sock_util::no_fd_leak;
use tower_coro::join_all;
use tower_loop::EventLoop;

/// Connections: more than the probe's threshold of full reads per poll (4).
const CONNS: usize = 16;

/// The byte at offset `i` of every stream.
fn byte_at(i: usize) -> u8 {
    (i % 251) as u8
}

/// `CONNS` connected TCP pairs: (the writer, the non-blocking reader).
fn pairs() -> Vec<(TcpStream, TcpStream)> {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    (0..CONNS)
        .map(|_| {
            let w = TcpStream::connect(addr).unwrap();
            let (r, _) = l.accept().unwrap();
            r.set_nonblocking(true).unwrap();
            (w, r)
        })
        .collect()
}

/// Writes bytes `from..to` of the stream's pattern.
fn write_range(w: &mut TcpStream, from: usize, to: usize) {
    let data: Vec<u8> = (from..to).map(byte_at).collect();
    w.write_all(&data).unwrap();
}

// Every read fills its 1000-byte buffer but one: 8000 bytes already there (read before the
// sockets are registered), 500 that come later (a short read), 8000 more in one burst (read
// with `TCP_INQ`: 128 full reads, which turn the probe's mode on at the next poll), then 8000
// more read in the probe's mode: each full read leaves the rest to the next poll's probe, which
// must make the socket readable again, and the last one leaves nothing (the socket is then
// closed while it is queued for the probe). Every byte arrives once, in order.
#[test]
fn full_reads_on_many_sockets_lose_nothing() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let l2 = lp.clone();
        let mut ps = pairs();
        for (w, _) in &mut ps {
            write_range(w, 0, 8000);
        }
        let (writers, readers): (Vec<_>, Vec<_>) = ps.into_iter().unzip();
        let writers = std::rc::Rc::new(std::cell::RefCell::new(writers));
        let w1 = writers.clone();
        lp.call_later(Duration::from_millis(20), move || {
            for w in w1.borrow_mut().iter_mut() {
                write_range(w, 8000, 8500);
            }
        });
        let w2 = writers.clone();
        lp.call_later(Duration::from_millis(60), move || {
            for w in w2.borrow_mut().iter_mut() {
                write_range(w, 8500, 16_500);
            }
        });
        let w3 = writers.clone();
        lp.call_later(Duration::from_millis(100), move || {
            for w in w3.borrow_mut().iter_mut() {
                write_range(w, 16_500, 24_500);
            }
        });
        let totals = lp
            .run_until_complete(async move {
                join_all(readers.into_iter().map(|r| {
                    let lp = l2.clone();
                    async move {
                        let mut got = 0usize;
                        let mut buf = [0u8; 1000];
                        for target in [8000, 8500, 16_500, 24_500] {
                            while got < target {
                                let want = (target - got).min(buf.len());
                                let n = lp.sock_recv_into(&r, &mut buf[..want]).await.unwrap();
                                assert!(n > 0, "end of stream at {got}");
                                for (k, b) in buf[..n].iter().enumerate() {
                                    assert_eq!(*b, byte_at(got + k), "byte {}", got + k);
                                }
                                got += n;
                            }
                        }
                        got
                    }
                }))
                .await
            })
            .unwrap();
        assert_eq!(totals, vec![24_500; CONNS]);
        // The readers were closed while queued for the probe: the loop polls once more.
        lp.run_until_complete(async {}).unwrap();
        drop(writers);
        lp.close().unwrap();
    });
}

// A full read that drained the socket (the probe finds nothing) waits for the next bytes, which
// come as a new edge, many times over.
#[test]
fn a_drained_socket_waits_for_the_next_bytes() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let l2 = lp.clone();
        let (writers, readers): (Vec<_>, Vec<_>) = pairs().into_iter().unzip();
        let writers = std::rc::Rc::new(std::cell::RefCell::new(writers));
        const ROUNDS: usize = 20;
        for round in 0..ROUNDS {
            let w = writers.clone();
            lp.call_later(Duration::from_millis(5 * round as u64 + 1), move || {
                for w in w.borrow_mut().iter_mut() {
                    write_range(w, round * 100, (round + 1) * 100);
                }
            });
        }
        let totals = lp
            .run_until_complete(async move {
                join_all(readers.into_iter().map(|r| {
                    let lp = l2.clone();
                    async move {
                        let mut buf = [0u8; 100];
                        for round in 0..ROUNDS {
                            let n = lp.sock_recv_into(&r, &mut buf).await.unwrap();
                            assert_eq!(n, 100, "round {round}");
                            assert_eq!(buf[0], byte_at(round * 100));
                        }
                        ROUNDS * 100
                    }
                }))
                .await
            })
            .unwrap();
        assert_eq!(totals, vec![ROUNDS * 100; CONNS]);
        drop(writers);
        lp.close().unwrap();
    });
}
