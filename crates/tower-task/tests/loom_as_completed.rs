//! Loom model of the wake protocol of `FutureSet`, the engine under `as_completed` and the
//! gathers: futures completed and woken from other threads while the owner polls are all
//! yielded, and the owner is never left asleep with a woken future unpolled (no lost wake-up).
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p tower-task
//! --test as_completed_loom`. (Named after its module, as the brief for these files asks; the
//! `cargo xtask loom` glob picks up `loom_*.rs`, so run it by hand or add it there.)
#![cfg(loom)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use tower_coro::Stream;
use tower_task::as_completed;

/// A one-shot signal set from another thread (what a task's completion looks like to its
/// awaiter).
#[derive(Default)]
struct Signal {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Signal {
    fn fire(&self) {
        self.set.store(true, Ordering::Release);
        let w = self.waker.lock().unwrap().take();
        if let Some(w) = w {
            w.wake();
        }
    }
}

/// Waits for a [`Signal`], then gives `id`.
struct Wait {
    signal: Arc<Signal>,
    id: usize,
}

impl Future for Wait {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        *self.signal.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.signal.set.load(Ordering::Acquire) {
            Poll::Ready(self.id)
        } else {
            Poll::Pending
        }
    }
}

/// The owner's waker: a flag and a condvar the owner sleeps on.
struct Owner {
    woken: Mutex<bool>,
    cv: Condvar,
}

impl Wake for Owner {
    fn wake(self: std::sync::Arc<Self>) {
        *self.woken.lock().unwrap() = true;
        self.cv.notify_one();
    }
}

impl Owner {
    /// Sleeps until woken (a lost wake-up makes loom report a deadlock).
    fn sleep(&self) {
        let mut woken = self.woken.lock().unwrap();
        while !*woken {
            woken = self.cv.wait(woken).unwrap();
        }
        *woken = false;
    }
}

#[test]
fn every_completion_is_yielded_without_lost_wakeups() {
    loom::model(|| {
        let signals: Vec<Arc<Signal>> = (0..2).map(|_| Arc::new(Signal::default())).collect();
        let futs: Vec<Wait> = signals
            .iter()
            .enumerate()
            .map(|(id, s)| Wait {
                signal: s.clone(),
                id,
            })
            .collect();
        let firers: Vec<_> = signals
            .iter()
            .map(|s| {
                let s = s.clone();
                thread::spawn(move || s.fire())
            })
            .collect();

        let owner = std::sync::Arc::new(Owner {
            woken: Mutex::new(false),
            cv: Condvar::new(),
        });
        let waker = Waker::from(owner.clone());
        let mut cx = Context::from_waker(&waker);
        let mut stream = as_completed(futs);
        let mut got = Vec::new();
        loop {
            match Pin::new(&mut stream).poll_next(&mut cx) {
                Poll::Ready(Some(id)) => got.push(id),
                Poll::Ready(None) => break,
                Poll::Pending => owner.sleep(),
            }
        }
        got.sort_unstable();
        assert_eq!(got, [0, 1]);
        for t in firers {
            t.join().unwrap();
        }
    });
}
