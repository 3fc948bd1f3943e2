//! `block_on` runs a future to completion, wakes from other threads, and nests.
//! Ports test_asyncio/test_base_events.py `test_run_until_complete` (result returned) and
//! `test_run_until_complete_nesting`-style re-entry (allowed here: no loop is involved).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;

use tower_coro::{block_on, yield_now};

/// A one-shot slot completed from another thread: the smallest cross-thread future.
#[derive(Default)]
struct Slot {
    value: Option<u32>,
    waker: Option<Waker>,
}

struct Recv(Arc<Mutex<Slot>>);

impl Future for Recv {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

fn send(slot: &Mutex<Slot>, v: u32) {
    let waker = {
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.value = Some(v);
        slot.waker.take()
    };
    // Wake after dropping the lock.
    if let Some(w) = waker {
        w.wake();
    }
}

#[test]
fn returns_the_output() {
    assert_eq!(block_on(async { 40 + 2 }), 42);
}

#[test]
fn runs_through_self_wakes() {
    let n = block_on(async {
        for _ in 0..100 {
            yield_now().await;
        }
        7
    });
    assert_eq!(n, 7);
}

#[test]
fn wakes_from_another_thread() {
    // test_base_events: call_soon_threadsafe wakes a loop blocked waiting; here the waker does.
    let slot = Arc::new(Mutex::new(Slot::default()));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let sender = {
        let slot = Arc::clone(&slot);
        thread::spawn(move || {
            // Wait until the receiver has registered its waker (an explicit event, no sleep).
            ready_rx.recv().unwrap();
            send(&slot, 9);
        })
    };
    let mut signalled = false;
    let got = block_on(std::future::poll_fn(|cx| {
        let poll = Pin::new(&mut Recv(Arc::clone(&slot))).poll(cx);
        if poll.is_pending() && !signalled {
            signalled = true;
            ready_tx.send(()).unwrap();
        }
        poll
    }));
    assert_eq!(got, 9);
    sender.join().unwrap();
}

#[test]
fn nests() {
    let n = block_on(async {
        yield_now().await;
        let inner = block_on(async {
            yield_now().await;
            block_on(async { 1 }) + 1
        });
        yield_now().await;
        inner + 1
    });
    assert_eq!(n, 3);
}

#[test]
fn nested_wake_of_outer_waker_is_kept() {
    // The inner block_on uses its own parker: a wake of the outer waker during the inner call
    // must still wake the outer future afterwards.
    let n = block_on(std::future::poll_fn(|cx| {
        static POLLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        if POLLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            let outer = cx.waker().clone();
            block_on(async move {
                yield_now().await;
                outer.wake();
            });
            Poll::Pending
        } else {
            Poll::Ready(5)
        }
    }));
    assert_eq!(n, 5);
}

#[test]
fn propagates_a_panic_and_stays_usable() {
    let r = std::panic::catch_unwind(|| block_on(async { panic!("inside") }));
    assert!(r.is_err());
    // The thread's cached parker is released by the unwind.
    assert_eq!(block_on(async { 1 }), 1);
}
