//! Work stealing: tasks spawned by one worker spread to the others.
//! (No test_asyncio counterpart: asyncio has one loop per thread; this is the runtime's own
//! "many cores: many loops" behaviour.)

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use tower_task::runtime::{RuntimeBuilder, RuntimeHandle};

#[test]
fn work_spawned_on_one_worker_is_stolen_by_another() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let seen: Arc<Mutex<HashSet<ThreadId>>> = Arc::default();
    let s = seen.clone();
    rt.block_on(rt.spawn(async move {
        let h = RuntimeHandle::current().unwrap();
        // Each task blocks its worker until tasks have run on two distinct threads: with one
        // worker spawning them all, this only finishes if the other worker steals some. More
        // tasks than one loop iteration takes (64), so some stay in the stealable queue.
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let s = s.clone();
                h.spawn(async move {
                    s.lock().unwrap().insert(std::thread::current().id());
                    while s.lock().unwrap().len() < 2 {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    }))
    .unwrap()
    .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);
    let m = rt.metrics();
    assert!(m.steals() >= 1, "{m:?}");
    assert!(m.workers.iter().all(|w| w.polls > 0), "{m:?}");
}

#[test]
fn an_idle_runtime_parks_its_workers() {
    // Idle workers sleep in their reactor instead of spinning: once the work is done, every
    // worker ends up parked (waited for as an event — the metrics — not with a sleep).
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    rt.block_on(rt.spawn(async {})).unwrap().unwrap();
    while rt.metrics().unparked > 0 {
        std::thread::yield_now();
    }
    let m = rt.metrics();
    assert_eq!(m.searching, 0, "{m:?}");
    assert!(m.workers.iter().all(|w| w.parks >= 1), "{m:?}");
}
