//! A waker that records, with the thread it ran on, each clone, wake and drop of itself: what
//! `pool_waker.rs` and the loom model `loom_pool.rs` check the hand-off's waker rule with (the
//! pool thread wakes the awaiting waker by reference and never keeps, clones or drops it;
//! tower-exec's handoff.rs). Loom's thread ids under `--cfg loom`, std's otherwise.
#![allow(dead_code)] // each test binary uses a part

use std::sync::{Arc, Mutex};
use std::task::{RawWaker, RawWakerVTable, Waker};

#[cfg(loom)]
use loom::thread::{self, ThreadId};
#[cfg(not(loom))]
use std::thread::{self, ThreadId};

/// The record behind [`Probe::waker`]s.
pub(crate) struct Probe {
    /// The waker each wake is passed on to.
    inner: Waker,
    /// `(event, thread)` in order.
    events: Mutex<Vec<(&'static str, ThreadId)>>,
}

impl Probe {
    /// A record whose wakers pass each wake on to `inner`.
    pub(crate) fn new(inner: Waker) -> Arc<Probe> {
        Arc::new(Probe {
            inner,
            events: Mutex::default(),
        })
    }

    /// What happened so far.
    pub(crate) fn events(&self) -> Vec<(&'static str, ThreadId)> {
        self.events.lock().unwrap().clone()
    }

    /// Whether the waker was woken on another thread than this one.
    pub(crate) fn woken_elsewhere(&self) -> bool {
        let me = thread::current().id();
        self.events()
            .iter()
            .any(|(e, t)| e.starts_with("wake") && *t != me)
    }

    /// The events other than a wake by reference that ran on another thread than this one:
    /// none if every clone was made, consumed and dropped here.
    pub(crate) fn kept_elsewhere(&self) -> Vec<(&'static str, ThreadId)> {
        let me = thread::current().id();
        self.events()
            .into_iter()
            .filter(|(e, t)| *e != "wake_by_ref" && *t != me)
            .collect()
    }

    fn record(&self, event: &'static str) {
        self.events
            .lock()
            .unwrap()
            .push((event, thread::current().id()));
    }

    /// A waker on `probe`, owning one count of it.
    pub(crate) fn waker(probe: &Arc<Probe>) -> Waker {
        const VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, release);
        fn probe_of(data: *const ()) -> &'static Probe {
            // SAFETY: `data` is an `Arc<Probe>` pointer of a live waker (it owns one count).
            unsafe { &*data.cast::<Probe>() }
        }
        fn clone(data: *const ()) -> RawWaker {
            probe_of(data).record("clone");
            // SAFETY: `data` came from `Arc::into_raw`, and this waker still owns its count.
            unsafe { Arc::increment_strong_count(data.cast::<Probe>()) };
            RawWaker::new(data, &VTABLE)
        }
        fn wake(data: *const ()) {
            probe_of(data).record("wake (consumes)");
            probe_of(data).inner.wake_by_ref();
            // SAFETY: this waker's count, given back once.
            unsafe { Arc::decrement_strong_count(data.cast::<Probe>()) };
        }
        fn wake_by_ref(data: *const ()) {
            probe_of(data).record("wake_by_ref");
            probe_of(data).inner.wake_by_ref();
        }
        fn release(data: *const ()) {
            probe_of(data).record("drop");
            // SAFETY: this waker's count, given back once.
            unsafe { Arc::decrement_strong_count(data.cast::<Probe>()) };
        }
        let data = Arc::into_raw(probe.clone()).cast::<()>();
        // SAFETY: the vtable's functions keep the `Arc` count balanced (one per waker).
        unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
    }
}
