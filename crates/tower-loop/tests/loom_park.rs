//! Loom models of every cross-thread path into a loop: `call_soon_threadsafe`/`schedule` (a push
//! to the injector + `ParkState::notify`) and `LoopHandle::wake`/`stop` (a flag + notify), racing
//! the loop's park protocol (`try_park` / poll / `unpark` / `begin_collect`).
//!
//! The OS poller cannot run under loom, so it is modelled by `loom::sync::Notify`, which has the
//! same sticky semantics as `Poller::notify` (a notify before the wait makes the wait return at
//! once; several collapse into one). A lost wake-up shows up as a deadlock (the loop waits
//! forever); "notify only when parked" is checked by counting syscalls against parks.
#![cfg(loom)]

use concurrent_queue::ConcurrentQueue;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Notify};
use tower_loop::park::ParkState;

/// The parts of a loop that other threads touch.
struct Model {
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
    /// A wake flag (the `run_until_complete` waker's, or a stop request).
    flag: AtomicBool,
}

impl Model {
    fn new() -> Arc<Model> {
        Arc::new(Model {
            park: ParkState::new(),
            injector: ConcurrentQueue::unbounded(),
            poller: Notify::new(),
            parks: AtomicUsize::new(0),
            notifies: AtomicUsize::new(0),
            flag: AtomicBool::new(false),
        })
    }

    /// `LoopHandle::schedule` / `call_soon_threadsafe` from another thread.
    fn push_remote(&self, v: u32) {
        self.injector.push(v).unwrap();
        self.wake();
    }

    /// `Shared::wake`.
    fn wake(&self) {
        self.park.notify(|| {
            self.notifies.fetch_add(1, Ordering::Relaxed);
            self.poller.notify();
        });
    }

    /// One blocking poll of the loop if the protocol allows it (`run_once` with nothing ready).
    fn park_and_poll(&self) {
        if self.park.try_park() {
            self.parks.fetch_add(1, Ordering::Relaxed);
            self.poller.wait();
            self.park.unpark();
        }
    }

    /// The loop's `collect_remote`.
    fn collect(&self, got: &mut Vec<u32>) {
        if self.park.begin_collect() {
            while let Ok(v) = self.injector.pop() {
                got.push(v);
            }
        }
    }

    /// The loop: iterate until `want` items arrived.
    fn run_until(&self, want: usize) -> Vec<u32> {
        let mut got = Vec::new();
        while got.len() < want {
            self.park_and_poll();
            self.collect(&mut got);
        }
        got
    }

    fn check_syscalls(&self) {
        let (n, p) = (
            self.notifies.load(Ordering::Relaxed),
            self.parks.load(Ordering::Relaxed),
        );
        assert!(n <= p, "{n} notify syscalls for {p} parks");
    }
}

/// One remote push vs the loop parking: no lost wake-up, at most one syscall per park.
#[test]
fn threadsafe_push_wakes_a_parking_loop() {
    loom::model(|| {
        let m = Model::new();
        let remote = {
            let m = m.clone();
            loom::thread::spawn(move || m.push_remote(1))
        };
        let got = m.run_until(1);
        remote.join().unwrap();
        assert_eq!(got, [1]);
        m.check_syscalls();
    });
}

/// Two remote pushers (two threads' `call_soon_threadsafe`): both items arrive, FIFO per
/// producer, and the notify syscall is made at most once per park.
#[test]
fn two_remote_pushers_wake_the_loop_once_per_park() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(|| {
        let m = Model::new();
        let a = {
            let m = m.clone();
            loom::thread::spawn(move || m.push_remote(1))
        };
        let b = {
            let m = m.clone();
            loom::thread::spawn(move || m.push_remote(2))
        };
        let mut got = m.run_until(2);
        a.join().unwrap();
        b.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        m.check_syscalls();
    });
}

/// `LoopHandle::wake`/`stop` and the `run_until_complete` waker: a flag then a notify, with no
/// injector item. The loop reads the flag before deciding to park (as `run_once` does).
#[test]
fn flag_wake_is_not_lost() {
    loom::model(|| {
        let m = Model::new();
        let remote = {
            let m = m.clone();
            loom::thread::spawn(move || {
                // An RMW, as in `MainWaker::wake`: totally ordered with the loop's swaps.
                m.flag.swap(true, Ordering::AcqRel);
                m.wake();
            })
        };
        loop {
            if m.flag.swap(false, Ordering::AcqRel) {
                break;
            }
            m.park_and_poll();
            let mut none = Vec::new();
            m.collect(&mut none);
        }
        remote.join().unwrap();
        m.check_syscalls();
    });
}

/// A remote push while the loop is busy (not parked) makes no syscall at all.
#[test]
fn push_to_a_running_loop_makes_no_syscall() {
    loom::model(|| {
        let m = Model::new();
        let remote = {
            let m = m.clone();
            loom::thread::spawn(move || m.push_remote(7))
        };
        remote.join().unwrap();
        let mut got = Vec::new();
        m.collect(&mut got);
        assert_eq!(got, [7]);
        assert_eq!(m.notifies.load(Ordering::Relaxed), 0);
    });
}
