//! Loom models of every cross-thread path into a loop — `call_soon_threadsafe`/`schedule` (a
//! push to the injector + `ParkState::notify`) and `LoopHandle::wake` (a work source's queue +
//! notify) — racing the loop's side of the park protocol, run by the real iteration order:
//! [`tower_loop::park::turn`], the function `EventLoop::run_once` calls, with this model's
//! parts in place of the reactor and the ready queue. Reordering the steps of `turn` (collect
//! after deciding there is no work, `unpark` before the blocking poll, ...) makes these
//! models fail.
//!
//! The OS poller cannot run under loom, so it is modelled by `loom::sync::Notify`, which has the
//! same sticky semantics as `Poller::notify` (a notify before the wait makes the wait return at
//! once; several collapse into one). A lost wake-up shows up as a deadlock (the loop waits
//! forever); "notify only when parked" is checked by counting syscalls against parks.
//!
//! The Linux reactor with unconfirmed registrations polls without blocking before it blocks
//! ([`tower_loop::park::probe_then_block`]); its wake-up is an edge, consumed by whichever poll
//! sees it. [`EdgePoller`] models that (a flag under a mutex and a condvar), and the `probing_*`
//! models run the real `probe_then_block` in the loop's blocking poll.
#![cfg(loom)]

use std::cell::RefCell;
use std::time::{Duration, Instant};

use concurrent_queue::ConcurrentQueue;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Condvar, Mutex, Notify};
use tower_loop::park::{ParkState, Probe, Turn, Wait, probe_then_block, turn};

/// A poller whose wake-up is an edge: reported once, to the first poll (blocking or not) that
/// looks, as the Linux reactor's edge-triggered eventfd is.
struct EdgePoller {
    /// A wake-up no poll has seen yet.
    pending: Mutex<bool>,
    /// Signalled on a wake-up.
    cv: Condvar,
}

impl EdgePoller {
    fn new() -> EdgePoller {
        EdgePoller {
            pending: Mutex::new(false),
            cv: Condvar::new(),
        }
    }

    /// The eventfd write.
    fn notify(&self) {
        *self.pending.lock().unwrap() = true;
        self.cv.notify_one();
    }

    /// A zero-timeout poll: consumes a pending wake-up.
    fn poll_now(&self) {
        *self.pending.lock().unwrap() = false;
    }

    /// A blocking poll: returns once a wake-up is pending, consuming it.
    fn wait(&self) {
        let mut pending = self.pending.lock().unwrap();
        while !*pending {
            pending = self.cv.wait(pending).unwrap();
        }
        *pending = false;
    }
}

/// The reactor's blocking poll with unconfirmed registrations, on an [`EdgePoller`]; nothing
/// to confirm (the model has no fds), and wake-ups are not events.
struct Probing<'a>(&'a EdgePoller);

impl Probe for Probing<'_> {
    type Error = ();
    fn probe(&mut self) -> Result<usize, ()> {
        self.0.poll_now();
        Ok(0)
    }
    fn prepare(&mut self) -> usize {
        0
    }
    fn block(&mut self) -> Result<usize, ()> {
        self.0.wait();
        Ok(0)
    }
}

/// The parts of a loop that other threads touch.
struct Shared {
    /// The protocol word under test.
    park: ParkState,
    /// The injector.
    injector: ConcurrentQueue<u32>,
    /// Stands for the OS poller's notify/wait.
    poller: Notify,
    /// Times the loop blocked.
    parks: AtomicUsize,
    /// Times a remote thread made the notify syscall.
    notifies: AtomicUsize,
    /// A work source's queue (the multi-threaded runtime's), holding one item when set.
    source: AtomicBool,
    /// The loop probes before it blocks, on `edge` (else it blocks on `poller`).
    probing: bool,
    /// The poller of the probing loop.
    edge: EdgePoller,
}

impl Shared {
    fn new() -> Arc<Shared> {
        Self::with_probing(false)
    }

    fn with_probing(probing: bool) -> Arc<Shared> {
        Arc::new(Shared {
            probing,
            edge: EdgePoller::new(),
            park: ParkState::new(),
            injector: ConcurrentQueue::unbounded(),
            poller: Notify::new(),
            parks: AtomicUsize::new(0),
            notifies: AtomicUsize::new(0),
            source: AtomicBool::new(false),
        })
    }

    /// `LoopHandle::schedule` / `call_soon_threadsafe` from another thread.
    fn push_remote(&self, v: u32) {
        self.injector.push(v).unwrap();
        self.wake();
    }

    /// `LoopHandle::cancel_timer` from another thread (`Shared::post_remote`): a message
    /// pushed without a wake-up.
    fn post_remote(&self, v: u32) {
        self.injector.push(v).unwrap();
        self.park.post();
    }

    /// `Shared::wake` (`LoopHandle::wake`).
    fn wake(&self) {
        self.park.notify(|| {
            self.notifies.fetch_add(1, Ordering::Relaxed);
            if self.probing {
                self.edge.notify();
            } else {
                self.poller.notify();
            }
        });
    }

    fn check_syscalls(&self) {
        let (n, p) = (
            self.notifies.load(Ordering::Relaxed),
            self.parks.load(Ordering::Relaxed),
        );
        assert!(n <= p, "{n} notify syscalls for {p} parks");
    }
}

/// The loop thread: the model's [`Turn`], its ready queue, and what ran.
struct Loop {
    shared: Arc<Shared>,
    /// The ready queue.
    ready: RefCell<Vec<u32>>,
    /// What the batches ran, in order.
    ran: RefCell<Vec<u32>>,
}

impl Turn for Loop {
    fn has_work(&self) -> bool {
        !self.ready.borrow().is_empty()
    }
    fn poll_if_due(&self) {}
    fn wait(&self) -> Wait {
        // No timers: block until woken.
        Wait::Block(None)
    }
    fn before_park(&self) -> bool {
        // The work source vetoes blocking while its queue holds work.
        !self.shared.source.load(Ordering::Acquire)
    }
    fn after_unpark(&self) {}
    fn poll(&self, timeout: Option<Duration>) -> usize {
        if self.shared.probing {
            if timeout.is_none() {
                self.shared.parks.fetch_add(1, Ordering::Relaxed);
                let _ = probe_then_block(&self.shared.park, &mut Probing(&self.shared.edge));
            } else {
                self.shared.edge.poll_now();
            }
            return 0;
        }
        if timeout.is_none() {
            self.shared.parks.fetch_add(1, Ordering::Relaxed);
            self.shared.poller.wait();
        }
        0
    }
    fn advance_to(&self, _: Instant) {
        unreachable!("no virtual time in the model")
    }
    fn collect(&self) {
        let n = self.shared.injector.len();
        for _ in 0..n {
            if let Ok(v) = self.shared.injector.pop() {
                self.ready.borrow_mut().push(v);
            }
        }
    }
}

impl Loop {
    fn new(shared: &Arc<Shared>) -> Loop {
        Loop {
            shared: shared.clone(),
            ready: RefCell::new(Vec::new()),
            ran: RefCell::new(Vec::new()),
        }
    }

    /// `EventLoop::run_once`: `turn`, the work source's `fill`, then the ready batch.
    fn run_once(&self) {
        turn(&self.shared.park, self);
        if self.shared.source.swap(false, Ordering::AcqRel) {
            self.ready.borrow_mut().push(0);
        }
        let batch = std::mem::take(&mut *self.ready.borrow_mut());
        self.ran.borrow_mut().extend(batch);
    }

    /// An iteration that takes what was handed over without blocking (the model's threads are
    /// done): collects, and runs the batch.
    fn run_once_without_blocking(&self) {
        if self.shared.park.begin_collect() {
            self.collect();
        }
        let batch = std::mem::take(&mut *self.ready.borrow_mut());
        self.ran.borrow_mut().extend(batch);
    }

    /// Iterates until `v` ran; returns what ran.
    fn run_until_ran(&self, v: u32) -> Vec<u32> {
        while !self.ran.borrow().contains(&v) {
            self.run_once();
        }
        self.ran.take()
    }

    /// Iterates until `want` items ran.
    fn run_until(&self, want: usize) -> Vec<u32> {
        while self.ran.borrow().len() < want {
            self.run_once();
        }
        self.ran.take()
    }
}

/// One remote push vs the loop parking: no lost wake-up, at most one syscall per park.
#[test]
fn threadsafe_push_wakes_a_parking_loop() {
    loom::model(|| {
        let shared = Shared::new();
        let remote = {
            let s = shared.clone();
            loom::thread::spawn(move || s.push_remote(1))
        };
        let got = Loop::new(&shared).run_until(1);
        remote.join().unwrap();
        assert_eq!(got, [1]);
        shared.check_syscalls();
    });
}

/// Two remote pushers (two threads' `call_soon_threadsafe`): both items arrive, and the notify
/// syscall is made at most once per park.
#[test]
fn two_remote_pushers_wake_the_loop_once_per_park() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(|| {
        let shared = Shared::new();
        let a = {
            let s = shared.clone();
            loom::thread::spawn(move || s.push_remote(1))
        };
        let b = {
            let s = shared.clone();
            loom::thread::spawn(move || s.push_remote(2))
        };
        let mut got = Loop::new(&shared).run_until(2);
        a.join().unwrap();
        b.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        shared.check_syscalls();
    });
}

/// `LoopHandle::wake` after a push to a work source's own queue: the work source's
/// `before_park` and the protocol word together lose no wake-up.
#[test]
fn work_source_wake_is_not_lost() {
    loom::model(|| {
        let shared = Shared::new();
        let remote = {
            let s = shared.clone();
            loom::thread::spawn(move || {
                // An RMW, as a queue push is: totally ordered with the loop's `swap` (loom lets
                // an RMW read past a concurrent plain store).
                s.source.swap(true, Ordering::AcqRel);
                s.wake();
            })
        };
        let got = Loop::new(&shared).run_until(1);
        remote.join().unwrap();
        assert_eq!(got, [0]);
        shared.check_syscalls();
    });
}

/// A remote push while the loop is busy (not parked) makes no syscall, and the next iteration
/// runs it without blocking.
#[test]
fn push_to_a_running_loop_makes_no_syscall() {
    loom::model(|| {
        let shared = Shared::new();
        let remote = {
            let s = shared.clone();
            loom::thread::spawn(move || s.push_remote(7))
        };
        remote.join().unwrap();
        let lp = Loop::new(&shared);
        lp.run_once();
        assert_eq!(lp.ran.take(), [7]);
        assert_eq!(shared.notifies.load(Ordering::Relaxed), 0);
        assert_eq!(shared.parks.load(Ordering::Relaxed), 0);
    });
}

/// The probing reactor (unconfirmed registrations): a remote push whose wake-up the probe
/// consumes must still be seen, so the loop does not block on a wake-up that will not come
/// again. Without `probe_then_block`'s `NOTIFIED` check this deadlocks.
#[test]
fn probing_loop_does_not_lose_a_consumed_wake_up() {
    loom::model(|| {
        let shared = Shared::with_probing(true);
        let remote = {
            let s = shared.clone();
            loom::thread::spawn(move || s.push_remote(1))
        };
        let got = Loop::new(&shared).run_until(1);
        remote.join().unwrap();
        assert_eq!(got, [1]);
        shared.check_syscalls();
    });
}

/// The same with two pushers, one of them possibly after the probe.
#[test]
fn probing_loop_sees_two_remote_pushers() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(|| {
        let shared = Shared::with_probing(true);
        let a = {
            let s = shared.clone();
            loom::thread::spawn(move || s.push_remote(1))
        };
        let b = {
            let s = shared.clone();
            loom::thread::spawn(move || s.push_remote(2))
        };
        let mut got = Loop::new(&shared).run_until(2);
        a.join().unwrap();
        b.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        shared.check_syscalls();
    });
}

/// A message posted without a wake-up (a timer cancelled from another thread) racing a remote
/// push and the loop parking: the posted bit never hides a parked loop from the push's
/// notification (with `notify` waking only on exactly `PARKED`, this deadlocks), a posted
/// message makes no syscall, and one posted before the loop's last collect is taken.
#[test]
fn posted_message_does_not_hide_a_parked_loop() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(|| {
        let shared = Shared::new();
        let poster = {
            let s = shared.clone();
            loom::thread::spawn(move || s.post_remote(10))
        };
        let pusher = {
            let s = shared.clone();
            loom::thread::spawn(move || s.push_remote(1))
        };
        let lp = Loop::new(&shared);
        let mut got = lp.run_until_ran(1);
        poster.join().unwrap();
        pusher.join().unwrap();
        // Posted before the loop's last collect, or still waiting in the injector.
        lp.run_once_without_blocking();
        got.extend(lp.ran.take());
        got.sort_unstable();
        assert_eq!(got, [1, 10]);
        shared.check_syscalls();
    });
}

/// A message posted to a running loop, and the loop going to block: it takes the message
/// first (`try_park` fails on the posted bit), without any syscall.
#[test]
fn posted_message_is_taken_before_the_loop_blocks() {
    loom::model(|| {
        let shared = Shared::new();
        shared.post_remote(10);
        let lp = Loop::new(&shared);
        lp.run_once();
        assert_eq!(lp.ran.take(), [10]);
        assert_eq!(shared.notifies.load(Ordering::Relaxed), 0);
        assert_eq!(shared.parks.load(Ordering::Relaxed), 0);
    });
}
