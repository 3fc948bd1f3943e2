//! The runtime builder: worker count and thread names.
//! (asyncio has no counterpart; tokio's `runtime::Builder` is the model.)

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tower_task::runtime::{RuntimeBuilder, RuntimeHandle};

#[test]
fn thread_name_fn_names_every_worker() {
    let n = Arc::new(AtomicUsize::new(0));
    let rt = RuntimeBuilder::new()
        .worker_threads(3)
        .thread_name_fn(move || format!("w-{}", n.fetch_add(1, Ordering::SeqCst)))
        .build()
        .unwrap();
    assert_eq!(rt.metrics().workers.len(), 3);
    // Each task blocks its worker until three distinct workers have run one, so all three
    // names show up (an event, not a timing assumption).
    let seen: Arc<std::sync::Mutex<HashSet<String>>> = Arc::default();
    let s = seen.clone();
    rt.block_on(rt.spawn(async move {
        let h = RuntimeHandle::current().unwrap();
        let tasks: Vec<_> = (0..300)
            .map(|_| {
                let s = s.clone();
                h.spawn(async move {
                    let name = std::thread::current().name().unwrap().to_owned();
                    s.lock().unwrap().insert(name);
                    while s.lock().unwrap().len() < 3 {
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
    let mut names: Vec<_> = seen.lock().unwrap().iter().cloned().collect();
    names.sort();
    assert_eq!(names, ["w-0", "w-1", "w-2"]);
}

#[test]
fn default_builder_uses_the_available_cores() {
    let rt = RuntimeBuilder::new().build().unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(rt.metrics().workers.len(), cores);
}
