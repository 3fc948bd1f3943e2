//! StreamReader's reads on a reader fed by hand: ports of CPython's
//! Lib/test/test_asyncio/test_streams.py scenarios (named in each test's comment), plus the
//! tower's own: one waiting read at a time, and reads dropped mid-way lose no byte.

mod util;

use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use tower_stream::{AlreadyWaiting, IncompleteReadError, LimitOverrunError, StreamReader};
use util::{run, turns};

const DATA: &[u8] = b"line1\nline2\nline3\n";

/// Polls `fut` once with a no-op waker.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

/// A reader fed `data` and, if `eof`, its end.
fn fed(data: &[u8], eof: bool) -> StreamReader {
    let r = StreamReader::new();
    r.feed_data(data);
    if eof {
        r.feed_eof();
    }
    r
}

/// A reader with `limit`.
fn limited(limit: usize) -> StreamReader {
    StreamReader::with_limit(limit).unwrap()
}

// test_feed_empty_data, test_feed_nonempty_data
#[test]
fn feed_data() {
    let r = StreamReader::new();
    r.feed_data(b"");
    assert!(!r.at_eof());
    r.feed_data(DATA);
    tower_coro::block_on(async {
        assert_eq!(r.read(100).await.unwrap(), DATA);
    });
}

// test_read_zero
#[test]
fn read_zero_returns_empty_and_takes_nothing() {
    let r = fed(DATA, false);
    tower_coro::block_on(async {
        assert_eq!(r.read(0).await.unwrap(), b"");
        assert_eq!(r.read(100).await.unwrap(), DATA);
    });
}

// test_read: a read waits for data fed later
#[test]
fn read_waits_for_data() {
    run(async {
        let r = Rc::new(StreamReader::new());
        let lp = tower_loop::get_running_loop().unwrap();
        let r2 = r.clone();
        lp.call_soon(move || r2.feed_data(DATA));
        assert_eq!(r.read(30).await.unwrap(), DATA);
    });
}

// test_read_line_breaks
#[test]
fn read_returns_at_most_n() {
    let r = StreamReader::new();
    r.feed_data(b"line1");
    r.feed_data(b"line2");
    tower_coro::block_on(async {
        assert_eq!(r.read(5).await.unwrap(), b"line1");
        assert_eq!(r.read(5).await.unwrap(), b"line2");
    });
}

// test_read_eof
#[test]
fn read_at_eof_is_empty() {
    run(async {
        let r = Rc::new(StreamReader::new());
        let lp = tower_loop::get_running_loop().unwrap();
        let r2 = r.clone();
        lp.call_soon(move || r2.feed_eof());
        assert_eq!(r.read(1024).await.unwrap(), b"");
        assert!(r.at_eof());
    });
}

// test_read_until_eof
#[test]
fn read_to_end_waits_for_eof() {
    run(async {
        let r = Rc::new(StreamReader::new());
        let lp = tower_loop::get_running_loop().unwrap();
        let r2 = r.clone();
        lp.call_soon(move || {
            r2.feed_data(b"chunk1\n");
            r2.feed_data(b"chunk2");
            r2.feed_eof();
        });
        assert_eq!(r.read_to_end().await.unwrap(), b"chunk1\nchunk2");
        assert!(r.at_eof());
    });
}

// test_read_exception
#[test]
fn read_raises_the_stored_exception() {
    let r = fed(b"line\n", false);
    tower_coro::block_on(async {
        assert_eq!(r.read(2).await.unwrap(), b"li");
        r.set_exception(io::Error::new(io::ErrorKind::InvalidData, "boom"));
        let e = r.read(2).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(e.to_string(), "boom");
    });
}

// test_read_limit / test_readexactly_limit: reads are not bounded by the limit
#[test]
fn read_and_readexactly_ignore_the_limit() {
    let r = limited(3);
    r.feed_data(b"chunk");
    tower_coro::block_on(async {
        assert_eq!(r.read(5).await.unwrap(), b"chunk");
    });
    let r = limited(3);
    r.feed_data(b"chunk");
    tower_coro::block_on(async {
        assert_eq!(r.readexactly(5).await.unwrap(), b"chunk");
    });
}

// test_invalid_limit
#[test]
fn zero_limit_is_invalid_input() {
    let e = StreamReader::with_limit(0).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
}

// test_readline
#[test]
fn readline_across_chunks() {
    run(async {
        let r = Rc::new(StreamReader::new());
        r.feed_data(b"chunk1 ");
        let lp = tower_loop::get_running_loop().unwrap();
        let r2 = r.clone();
        lp.call_soon(move || {
            r2.feed_data(b"chunk2 ");
            r2.feed_data(b"chunk3 ");
            r2.feed_data(b"\n chunk4");
        });
        assert_eq!(r.readline().await.unwrap(), b"chunk1 chunk2 chunk3 \n");
        assert_eq!(r.read(100).await.unwrap(), b" chunk4");
    });
}

// test_readline_limit_with_existing_data
#[test]
fn readline_over_limit_with_its_newline_drops_the_line() {
    let r = limited(3);
    r.feed_data(b"li");
    r.feed_data(b"ne1\nline2\n");
    tower_coro::block_on(async {
        let e = r.readline().await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(LimitOverrunError::from_io(&e).is_some());
        // The whole line went, newline included; the rest stays.
        assert_eq!(r.read(100).await.unwrap(), b"line2\n");
    });

    let r = limited(3);
    r.feed_data(b"li");
    r.feed_data(b"ne1");
    r.feed_data(b"li");
    tower_coro::block_on(async {
        r.readline().await.unwrap_err();
        // No newline: the buffer is cleared.
        assert!(poll_once(pin!(r.read(1))).is_pending());
    });
}

// test_readline_limit
#[test]
fn readline_over_limit_without_newline_clears_the_buffer() {
    run(async {
        let r = Rc::new(limited(7));
        let lp = tower_loop::get_running_loop().unwrap();
        let r2 = r.clone();
        lp.call_soon(move || {
            r2.feed_data(b"chunk1");
            r2.feed_data(b"chunk2");
            r2.feed_data(b"chunk3\n");
            r2.feed_eof();
        });
        let e = r.readline().await.unwrap_err();
        assert!(LimitOverrunError::from_io(&e).is_some());
        // asyncio leaves b'' or the tail depending on when the overrun is seen; here every
        // chunk arrived before the read ran: the line (found past the limit) is dropped.
        assert_eq!(r.read_to_end().await.unwrap(), b"");
    });

    let r = limited(7);
    r.feed_data(b"chunk1");
    r.feed_data(b"chunk2\n");
    r.feed_data(b"chunk3\n");
    r.feed_eof();
    tower_coro::block_on(async {
        r.readline().await.unwrap_err();
        assert_eq!(r.read(100).await.unwrap(), b"chunk3\n");
    });

    let r = limited(7);
    r.feed_data(b"1234567\n");
    tower_coro::block_on(async {
        assert_eq!(r.readline().await.unwrap(), b"1234567\n");
    });
    let r = limited(7);
    r.feed_data(b"12345678\n");
    tower_coro::block_on(async {
        r.readline().await.unwrap_err();
        assert!(poll_once(pin!(r.read(1))).is_pending());
    });
    // asyncio's last case: over the limit with no newline at all, the buffer is cleared too.
    let r = limited(7);
    r.feed_data(b"12345678");
    tower_coro::block_on(async {
        let e = r.readline().await.unwrap_err();
        assert!(LimitOverrunError::from_io(&e).is_some());
        assert!(poll_once(pin!(r.read(1))).is_pending());
    });
}

// test_readline_nolimit_nowait
#[test]
fn readline_takes_only_the_first_line() {
    let r = fed(&DATA[..6], false);
    r.feed_data(&DATA[6..]);
    tower_coro::block_on(async {
        assert_eq!(r.readline().await.unwrap(), b"line1\n");
        assert_eq!(r.read(100).await.unwrap(), b"line2\nline3\n");
    });
}

// test_readline_eof, test_readline_empty_eof
#[test]
fn readline_at_eof() {
    let r = fed(b"some data", true);
    tower_coro::block_on(async {
        assert_eq!(r.readline().await.unwrap(), b"some data");
        assert_eq!(r.readline().await.unwrap(), b"");
    });
    let r = fed(b"", true);
    tower_coro::block_on(async {
        assert_eq!(r.readline().await.unwrap(), b"");
    });
}

// test_readline_read_byte_count
#[test]
fn readline_then_read() {
    let r = fed(DATA, true);
    tower_coro::block_on(async {
        r.readline().await.unwrap();
        assert_eq!(r.read(7).await.unwrap(), b"line2\nl");
        assert_eq!(r.read(100).await.unwrap(), b"ine3\n");
    });
}

// test_readline_exception
#[test]
fn readline_raises_the_stored_exception() {
    let r = fed(b"line\n", false);
    tower_coro::block_on(async {
        assert_eq!(r.readline().await.unwrap(), b"line\n");
        r.set_exception(io::Error::other("boom"));
        assert_eq!(r.readline().await.unwrap_err().to_string(), "boom");
        assert_eq!(r.read(10).await.unwrap_err().to_string(), "boom");
    });
}

// test_readuntil_separator
#[test]
fn readuntil_empty_separator_is_invalid_input() {
    let r = StreamReader::new();
    tower_coro::block_on(async {
        let e = r.readuntil(b"").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = r.readuntil_any(&[]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = r.readuntil_any(&[b"", b"x"]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    });
}

// test_readuntil_multi_chunks
#[test]
fn readuntil_multi_chunks() {
    let r = StreamReader::new();
    tower_coro::block_on(async {
        r.feed_data(b"lineAAA");
        assert_eq!(r.readuntil(b"AAA").await.unwrap(), b"lineAAA");
        r.feed_data(b"lineAAA");
        assert_eq!(r.readuntil(b"AAA").await.unwrap(), b"lineAAA");
        r.feed_data(b"lineAAAxxx");
        assert_eq!(r.readuntil(b"AAA").await.unwrap(), b"lineAAA");
        assert_eq!(r.read(100).await.unwrap(), b"xxx");
    });
}

// test_readuntil_multi_chunks_1: the separator split across chunks
#[test]
fn readuntil_separator_split_across_chunks() {
    run(async {
        let r = Rc::new(StreamReader::new());
        let lp = tower_loop::get_running_loop().unwrap();
        for chunks in [
            &[&b"QWEaa"[..], b"XYaa", b"a"][..],
            &[b"QWEaa", b"XYa", b"aa"],
            &[b"aaa"],
            &[b"Xaaa"],
            &[b"XXX", b"a", b"a", b"a"],
        ] {
            let r2 = r.clone();
            let owned: Vec<Vec<u8>> = chunks.iter().map(|c| c.to_vec()).collect();
            let expected: Vec<u8> = owned.concat();
            lp.call_soon(move || {
                for c in &owned {
                    r2.feed_data(c);
                }
            });
            assert_eq!(r.readuntil(b"aaa").await.unwrap(), expected);
            turns(1).await;
        }
    });
}

// test_readuntil_eof
#[test]
fn readuntil_eof_gives_the_partial_bytes() {
    let r = fed(b"some dataAA", true);
    tower_coro::block_on(async {
        let e = r.readuntil(b"AAA").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        let inc = IncompleteReadError::take(e).unwrap();
        assert_eq!(inc.partial, b"some dataAA");
        assert_eq!(inc.expected, None);
        assert_eq!(r.read(100).await.unwrap(), b""); // the buffer was emptied
    });
}

// test_readuntil_limit_found_sep
#[test]
fn readuntil_limit_overrun_leaves_the_data() {
    let r = limited(3);
    r.feed_data(b"some dataAA");
    tower_coro::block_on(async {
        let e = poll_once(pin!(r.readuntil(b"AAA")));
        let Poll::Ready(Err(e)) = e else {
            panic!("expected an overrun, got {e:?}")
        };
        let over = LimitOverrunError::from_io(&e).unwrap();
        assert_eq!(
            over.message,
            "Separator is not found, and chunk exceed the limit"
        );
        assert_eq!(over.consumed, 9);
        r.feed_data(b"A");
        let e = r.readuntil(b"AAA").await.unwrap_err();
        let over = LimitOverrunError::from_io(&e).unwrap();
        assert_eq!(
            over.message,
            "Separator is found, but chunk is longer than limit"
        );
        assert_eq!(over.consumed, 9);
        // Nothing was taken.
        assert_eq!(r.read(100).await.unwrap(), b"some dataAAA");
    });
}

// test_readuntil_multiple_separators (3.13): the shortest chunk ending with any separator
#[test]
fn readuntil_any_takes_the_first_match_to_end() {
    let r = StreamReader::new();
    r.feed_data(b"line 1\nline 2\r\nline 3\r");
    let seps: &[&[u8]] = &[b"\r\n", b"\n", b"\r"];
    tower_coro::block_on(async {
        assert_eq!(r.readuntil_any(seps).await.unwrap(), b"line 1\n");
        assert_eq!(r.readuntil_any(seps).await.unwrap(), b"line 2\r");
        assert_eq!(r.readuntil_any(seps).await.unwrap(), b"\n");
        assert_eq!(r.readuntil_any(seps).await.unwrap(), b"line 3\r");
    });
    // Overlapping separators: `\r\n` and `\n` end at the same byte; the shorter one is the
    // match, which only matters for the limit (the match starts at the `\n`).
    let r = limited(7);
    r.feed_data(b"abcdef\r\n");
    tower_coro::block_on(async {
        assert_eq!(
            r.readuntil_any(&[b"\r\n", b"\n"]).await.unwrap(),
            b"abcdef\r\n"
        );
    });
    let r = limited(6);
    r.feed_data(b"abcdef\r\n");
    tower_coro::block_on(async {
        let e = r.readuntil_any(&[b"\r\n", b"\n"]).await.unwrap_err();
        assert_eq!(LimitOverrunError::from_io(&e).unwrap().consumed, 7);
    });
}

// test_readuntil_multiple_separators_limit (3.13): the longest separator decides how far the
// search is known to be clean
#[test]
fn readuntil_any_limit_counts_with_the_longest_separator() {
    let r = limited(3);
    r.feed_data(b"abcdefgh");
    tower_coro::block_on(async {
        let e = r.readuntil_any(&[b"X", b"YYYY"]).await.unwrap_err();
        // offset = len + 1 - max_seplen = 8 + 1 - 4
        assert_eq!(LimitOverrunError::from_io(&e).unwrap().consumed, 5);
    });
}

// test_readexactly_zero_or_less
#[test]
fn readexactly_zero_is_empty() {
    let r = fed(DATA, false);
    tower_coro::block_on(async {
        assert_eq!(r.readexactly(0).await.unwrap(), b"");
        assert_eq!(r.read(100).await.unwrap(), DATA);
    });
}

// test_readexactly
#[test]
fn readexactly_waits_for_all_bytes() {
    run(async {
        let r = Rc::new(StreamReader::new());
        let lp = tower_loop::get_running_loop().unwrap();
        let r2 = r.clone();
        lp.call_soon(move || {
            r2.feed_data(DATA);
            r2.feed_data(DATA);
            r2.feed_data(DATA);
        });
        let n = 2 * DATA.len();
        assert_eq!(r.readexactly(n).await.unwrap(), [DATA, DATA].concat());
        assert_eq!(r.read(100).await.unwrap(), DATA);
    });
}

// test_readexactly_eof
#[test]
fn readexactly_eof_gives_the_partial_bytes() {
    run(async {
        let r = Rc::new(StreamReader::new());
        let lp = tower_loop::get_running_loop().unwrap();
        let r2 = r.clone();
        lp.call_soon(move || {
            r2.feed_data(DATA);
            r2.feed_eof();
        });
        let n = 2 * DATA.len();
        let e = r.readexactly(n).await.unwrap_err();
        let inc = IncompleteReadError::from_io(&e).unwrap();
        assert_eq!(inc.partial, DATA);
        assert_eq!(inc.expected, Some(n));
        assert_eq!(
            e.to_string(),
            format!("{} bytes read on a total of {n} expected bytes", DATA.len())
        );
        assert_eq!(r.read(100).await.unwrap(), b"");
    });
}

// test_readexactly_exception
#[test]
fn readexactly_raises_the_stored_exception() {
    let r = fed(b"line\n", false);
    tower_coro::block_on(async {
        assert_eq!(r.readexactly(2).await.unwrap(), b"li");
        r.set_exception(io::Error::other("boom"));
        assert_eq!(r.readexactly(2).await.unwrap_err().to_string(), "boom");
    });
}

// test_exception
#[test]
fn exception_is_stored() {
    let r = StreamReader::new();
    assert!(r.exception().is_none());
    r.set_exception(io::Error::from_raw_os_error(104));
    let e = r.exception().unwrap();
    assert_eq!(e.raw_os_error(), Some(104));
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
}

// test_exception_waiter: set_exception ends the waiting read with it
#[test]
fn exception_wakes_the_waiting_read() {
    run(async {
        let r = Rc::new(StreamReader::new());
        let lp = tower_loop::get_running_loop().unwrap();
        let r2 = r.clone();
        lp.call_soon(move || r2.set_exception(io::Error::other("boom")));
        assert_eq!(r.readline().await.unwrap_err().to_string(), "boom");
    });
}

// test_exception_cancel: a cancelled (dropped) read leaves no waiter behind
#[test]
fn dropped_read_leaves_no_waiter() {
    let r = StreamReader::new();
    {
        let mut f = pin!(r.readline());
        assert!(poll_once(f.as_mut()).is_pending());
    }
    // A new read may wait (no "already waiting"), and data reaches it.
    let mut f = pin!(r.readline());
    assert!(poll_once(f.as_mut()).is_pending());
    r.feed_data(b"ok\n");
    assert_eq!(
        match poll_once(f.as_mut()) {
            Poll::Ready(v) => v.unwrap(),
            Poll::Pending => panic!("pending"),
        },
        b"ok\n"
    );
}

// test_wait_already_waiting / "called while another coroutine is already waiting"
#[test]
fn second_waiting_read_is_refused() {
    let r = StreamReader::new();
    let mut a = pin!(r.read(10));
    assert!(poll_once(a.as_mut()).is_pending());
    let Poll::Ready(Err(e)) = poll_once(pin!(r.readexactly(3))) else {
        panic!("the second read should be refused")
    };
    assert_eq!(e.kind(), io::ErrorKind::ResourceBusy);
    let busy: &AlreadyWaiting = e.get_ref().unwrap().downcast_ref().unwrap();
    assert_eq!(busy.func, "readexactly");
    // A read that does not need to wait is fine meanwhile (asyncio's too).
    r.feed_data(b"abc");
    assert!(matches!(poll_once(a.as_mut()), Poll::Ready(Ok(v)) if v == b"abc"));
}

#[test]
fn readuntil_dropped_mid_way_loses_no_byte() {
    let r = StreamReader::new();
    {
        let mut f = pin!(r.readuntil(b"\r\n\r\n"));
        assert!(poll_once(f.as_mut()).is_pending());
        r.feed_data(b"GET / HTTP/1.1\r\nHost: x\r\n");
        assert!(poll_once(f.as_mut()).is_pending());
    }
    {
        let mut f = pin!(r.readexactly(100));
        assert!(poll_once(f.as_mut()).is_pending());
    }
    {
        let mut f = pin!(r.read_to_end());
        assert!(poll_once(f.as_mut()).is_pending());
    }
    r.feed_data(b"\r\n");
    tower_coro::block_on(async {
        assert_eq!(
            r.readuntil(b"\r\n\r\n").await.unwrap(),
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        );
    });
}

// test___repr__ (Debug)
#[test]
fn debug_shows_the_state() {
    let r = limited(123);
    r.feed_data(b"data");
    r.feed_eof();
    let s = format!("{r:?}");
    assert!(s.contains("buffered: 4"), "{s}");
    assert!(s.contains("limit: 123"), "{s}");
    assert!(s.contains("eof: true"), "{s}");
}

// test_async_iterator (async for line in reader)
#[test]
fn lines_stream_ends_at_eof() {
    use tower_coro::Stream;
    let r = fed(b"a\nbb\nccc", true);
    let mut lines = pin!(r.lines());
    let mut got = Vec::new();
    tower_coro::block_on(tower_coro::poll_fn(|cx| {
        loop {
            match lines.as_mut().poll_next(cx) {
                Poll::Ready(Some(line)) => got.push(line.unwrap()),
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
    }));
    assert_eq!(got, [&b"a\n"[..], b"bb\n", b"ccc"]);
}

#[test]
fn feed_after_eof_is_dropped() {
    let r = fed(b"x", true);
    r.feed_data(b"y");
    tower_coro::block_on(async {
        assert_eq!(r.read_to_end().await.unwrap(), b"x");
    });
}

// Not in asyncio (which would wait again forever): an exception set between a read's wake-up
// and its next poll ends it instead of leaving it waiting.
#[test]
fn exception_after_a_wake_ends_the_read() {
    let r = StreamReader::new();
    let mut f = pin!(r.readexactly(10));
    assert!(poll_once(f.as_mut()).is_pending());
    r.feed_data(b"abc"); // wakes the read; it has not run yet
    r.set_exception(io::Error::other("late"));
    let Poll::Ready(Err(e)) = poll_once(f.as_mut()) else {
        panic!("the read should fail")
    };
    assert_eq!(e.to_string(), "late");
}
