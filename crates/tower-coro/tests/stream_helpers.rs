//! The stream helpers: `next`, `collect`, `poll_next`, `iter`, `once`, `poll_fn`.
//! Ports test_asyncio's async-iteration scenarios (`async for` over an async generator,
//! `anext` at exhaustion).

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use tower_coro::stream::{self, Stream};
use tower_coro::{block_on, join};

#[test]
fn next_yields_items_then_none() {
    let mut s = stream::iter([1, 2]);
    block_on(async {
        assert_eq!(stream::next(&mut s).await, Some(1));
        assert_eq!(stream::next(&mut s).await, Some(2));
        assert_eq!(stream::next(&mut s).await, None);
    });
}

#[test]
fn collect_gathers_in_order() {
    assert_eq!(
        block_on(stream::collect(stream::iter(0..5))),
        [0, 1, 2, 3, 4]
    );
}

#[test]
fn collect_waits_through_pending_items() {
    // A stream that is pending before each item and wakes itself.
    let mut i = 0;
    let mut ready = false;
    let s = stream::poll_fn(move |cx| {
        if !ready {
            ready = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        ready = false;
        i += 1;
        Poll::Ready((i <= 3).then_some(i))
    });
    assert_eq!(block_on(stream::collect(s)), [1, 2, 3]);
}

#[test]
fn once_yields_one_item_then_ends() {
    let mut s = pin!(stream::once(async { "only" }));
    assert_eq!(s.size_hint(), (1, Some(1)));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(s.as_mut().poll_next(&mut cx), Poll::Ready(Some("only")));
    assert_eq!(s.as_mut().poll_next(&mut cx), Poll::Ready(None));
    assert_eq!(s.size_hint(), (0, Some(0)));
}

#[test]
fn poll_next_polls_an_unpin_stream() {
    let mut s = stream::iter(['x']);
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(stream::poll_next(&mut s, &mut cx), Poll::Ready(Some('x')));
    assert_eq!(stream::poll_next(&mut s, &mut cx), Poll::Ready(None));
}

#[test]
fn next_on_two_streams_concurrently() {
    let mut a = stream::iter([1]);
    let mut b = stream::iter([2]);
    assert_eq!(
        block_on(join(stream::next(&mut a), stream::next(&mut b))),
        (Some(1), Some(2))
    );
}
