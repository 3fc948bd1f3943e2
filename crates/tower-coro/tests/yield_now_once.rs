//! `yield_now` is pending exactly once and wakes itself: asyncio's `await asyncio.sleep(0)`
//! (test_tasks `test_sleep_zero`-style: control returns to the loop once, then resumes).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use tower_coro::yield_now;

struct CountWakes(AtomicUsize);

impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn pending_once_then_ready_and_wakes() {
    let counter = Arc::new(CountWakes(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&counter));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(yield_now());
    assert_eq!(fut.as_mut().poll(&mut cx), Poll::Pending);
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        1,
        "woke itself before returning Pending"
    );
    assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(()));
    assert_eq!(counter.0.load(Ordering::SeqCst), 1, "no further wake");
}
