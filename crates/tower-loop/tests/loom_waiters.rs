//! Loom models of the reactor's waiter bookkeeping (`tower_loop::waiters`, exported under
//! `cfg(loom)` only).
//!
//! - The loop-thread table's [`Waiters`] (a `RefCell`, one thread; the `sock_*` waits): in
//!   every order of "A waits, B waits, A is dropped, the event comes", B is woken or still
//!   registered — A's drop never removes B's registration (the lost wake-up of a cancelled
//!   `sock_recv` restarted in the same iteration, asyncio's test_sock_client_racing).
//! - An [`Async`](tower_loop::Async) source's [`SourceWaiters`], shared between task threads
//!   and the loop thread: a registration racing the event is woken or sees the readiness, for
//!   every task that registered; and the `WouldBlock` → clear → wait protocol of `read_with`
//!   loses no event; and a short read (`clear_short`) racing an end-of-stream event
//!   (`dispatch` with `read_closed`) never hides the end.
//!
//! A lost wake-up shows as a waiter left pending with no wake recorded.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::thread;
use std::task::{Poll, Wake, Waker};
use tower_loop::waiters::{READ, SourceWaiters, WaiterIds, Waiters};

/// A waker that counts its wakes.
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A counting waker and its counter.
fn counting_waker() -> (Waker, std::sync::Arc<Count>) {
    let count = std::sync::Arc::new(Count(AtomicUsize::new(0)));
    (Waker::from(count.clone()), count)
}

/// The loop thread's side of an event: dispatch under the lock, wake after it.
fn dispatch_readable(source: &SourceWaiters) {
    dispatch_read_event(source, false);
}

/// [`dispatch_readable`], the event saying whether reads will wait any more (`read_closed`).
fn dispatch_read_event(source: &SourceWaiters, read_closed: bool) {
    let mut wakers = Vec::new();
    source.dispatch(true, false, read_closed, &mut wakers);
    for w in wakers {
        w.wake();
    }
}

// Two tasks register for readability (one of them twice: a poll-style caller polls a fresh
// future each time) while the loop thread dispatches a readable event: each task sees the
// readiness or is woken, exactly once.
#[test]
fn registrations_racing_an_event_are_woken() {
    loom::model(|| {
        let source = loom::sync::Arc::new(SourceWaiters::new());
        let s2 = source.clone();
        let task = thread::spawn(move || {
            let (wa, ca) = counting_waker();
            let (wb, cb) = counting_waker();
            let a1 = s2.poll_ready(READ, &wa).is_ready();
            let a2 = s2.poll_ready(READ, &wa).is_ready(); // the same task, a new future
            let b = s2.poll_ready(READ, &wb).is_ready();
            (a1 || a2, ca, b, cb)
        });
        dispatch_readable(&source);
        let (a_ready, ca, b_ready, cb) = task.join().unwrap();
        let (a_wakes, b_wakes) = (ca.0.load(SeqCst), cb.0.load(SeqCst));
        assert!(a_ready || a_wakes == 1, "A waits with nobody to wake it");
        assert!(b_ready || b_wakes == 1, "B waits with nobody to wake it");
        assert!(a_wakes <= 1, "one registration per task");
        // After the event, anyone polling sees the readiness.
        assert!(source.poll_ready(READ, Waker::noop()).is_ready());
    });
}

// read_with's protocol: read the tick, try the operation, on WouldBlock clear the readiness
// (unless an event came since the tick) and wait. The loop thread makes data available, then
// dispatches. The task either gets the data or is woken to retry.
#[test]
fn would_block_then_wait_loses_no_event() {
    loom::model(|| {
        let source = loom::sync::Arc::new(SourceWaiters::new());
        let data = loom::sync::Arc::new(AtomicBool::new(false));
        let (s2, d2) = (source.clone(), data.clone());
        let task = thread::spawn(move || {
            let (w, count) = counting_waker();
            let mut tick = s2.tick();
            // Two rounds: a wake-up (or a readiness seen) always leads to a retry that finds
            // the data, since the data is there before the event.
            for _ in 0..2 {
                if d2.load(SeqCst) {
                    return (true, count);
                }
                s2.clear(READ, tick);
                match s2.poll_ready(READ, &w) {
                    Poll::Ready(t) => tick = t,
                    Poll::Pending => return (false, count),
                }
            }
            panic!("readiness reported twice without the data");
        });
        data.store(true, SeqCst);
        dispatch_readable(&source);
        let (got, count) = task.join().unwrap();
        assert!(
            got || count.0.load(SeqCst) == 1,
            "the task waits with nobody to wake it"
        );
    });
}

// The short-read rule (`Async`'s stream sockets): the task reads the tick, reads some bytes
// (short), clears with `clear_short`, then its next read looks at the readiness before any
// `recv`. The loop thread delivers the last bytes together with the end of stream: the event
// marks the source read-closed as it dispatches. Whatever the order, the task then gets the
// end of stream (sees the readiness, or is woken): the short read never hides it.
#[test]
fn a_short_read_does_not_hide_the_end_of_stream() {
    loom::model(|| {
        let source = loom::sync::Arc::new(SourceWaiters::new());
        let s2 = source.clone();
        let task = thread::spawn(move || {
            let (w, count) = counting_waker();
            let tick = s2.tick();
            // The short read took what was there; the end may have come with it.
            s2.clear_short(tick);
            let ready = s2.poll_ready(READ, &w).is_ready();
            (ready, count)
        });
        dispatch_read_event(&source, true);
        let (ready, count) = task.join().unwrap();
        assert!(
            ready || count.0.load(SeqCst) == 1,
            "the reader waits for an end of stream already reported"
        );
        // After the end, reads never wait again, even after another short read.
        let tick = source.tick();
        source.clear_short(tick);
        assert!(source.poll_ready(READ, Waker::noop()).is_ready());
    });
}

/// The steps of two `sock_*` waits on one fd and direction and one event, on the loop thread.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// A registers.
    WaitA,
    /// B registers.
    WaitB,
    /// A is dropped (removes its registration, if still there).
    DropA,
    /// Readiness: every registered waiter is woken.
    Event,
}

/// Every order of the steps in which A registers before it is dropped.
fn orders() -> Vec<[Step; 4]> {
    use Step::*;
    let steps = [WaitA, WaitB, DropA, Event];
    let mut out = Vec::new();
    for a in 0..4 {
        for b in 0..4 {
            for c in 0..4 {
                for d in 0..4 {
                    let idx = [a, b, c, d];
                    let mut seen = [false; 4];
                    if idx.iter().any(|&i| std::mem::replace(&mut seen[i], true)) {
                        continue;
                    }
                    let order = idx.map(|i| steps[i]);
                    let pos = |s: fn(&Step) -> bool| order.iter().position(s).unwrap();
                    if pos(|s| matches!(s, WaitA)) < pos(|s| matches!(s, DropA)) {
                        out.push(order);
                    }
                }
            }
        }
    }
    out
}

// The loop-thread bookkeeping (no lock: a `RefCell` in the reactor): in every order of the
// steps, B is woken if it registered before the event, and stays registered (its wake-up still
// to come) if it registered after; A's drop never removes B.
#[test]
fn loop_thread_waiters_keep_each_registration_apart() {
    loom::model(|| {
        for order in orders() {
            let mut ids = WaiterIds::default();
            let mut list = Waiters::default();
            let (wa, _ca) = counting_waker();
            let (wb, cb) = counting_waker();
            let (mut a, mut b) = (None, None);
            let mut woken = Vec::new();
            for step in order {
                match step {
                    Step::WaitA => {
                        let id = ids.next_id();
                        list.insert(id, &wa);
                        a = Some(id);
                    }
                    Step::WaitB => {
                        let id = ids.next_id();
                        list.insert(id, &wb);
                        b = Some(id);
                    }
                    Step::DropA => drop(list.remove(a.take().unwrap())),
                    Step::Event => list.take_all(&mut woken),
                }
            }
            for w in woken.drain(..) {
                w.wake();
            }
            let b_id = b.unwrap();
            let b_woken = cb.0.load(SeqCst) == 1;
            let b_registered = list.refresh(b_id, &wb);
            assert!(
                b_woken != b_registered,
                "{order:?}: B must be either woken or still registered (woken {b_woken}, \
                 registered {b_registered})"
            );
        }
    });
}
