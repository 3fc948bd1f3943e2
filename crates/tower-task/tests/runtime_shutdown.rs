//! Shutdown: dropping the runtime drops every task still pending (their memory is freed) and
//! joins every worker.
//! Ports test_asyncio's test_runners: run() cancels the remaining tasks at exit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tower_task::runtime::RuntimeBuilder;

/// Counts its drops.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn pending_tasks_are_dropped_at_shutdown() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let dropped = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let n = 50;
    for i in 0..n {
        let (d, s, tx) = (DropCounter(dropped.clone()), started.clone(), tx.clone());
        // Detached: the handles are dropped at once.
        drop(rt.spawn(async move {
            let _d = d;
            s.fetch_add(1, Ordering::SeqCst);
            tx.send(()).unwrap();
            if i % 2 == 0 {
                // Waits on a timer of its worker's loop.
                tower_loop::Timer::after(Duration::from_secs(3600)).await;
            } else {
                // Waits forever, no waker kept anywhere.
                tower_coro::pending::<()>().await;
            }
        }));
    }
    for _ in 0..n {
        rx.recv().unwrap();
    }
    assert_eq!(started.load(Ordering::SeqCst), n);
    drop(rt);
    assert_eq!(dropped.load(Ordering::SeqCst), n);
}

#[test]
fn queued_tasks_that_never_ran_are_dropped() {
    let rt = RuntimeBuilder::new().worker_threads(1).build().unwrap();
    let dropped = Arc::new(AtomicUsize::new(0));
    let (block_tx, block_rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    // Occupy the only worker until shutdown has begun, so the others stay queued.
    let blocker = rt.spawn(async move {
        ready_tx.send(()).unwrap();
        let _ = block_rx.recv();
    });
    ready_rx.recv().unwrap();
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let d = DropCounter(dropped.clone());
            rt.spawn(async move {
                let _d = d;
            })
        })
        .collect();
    drop(blocker);
    let unblock = std::thread::spawn(move || {
        // Not a synchronisation sleep: shutdown works whatever the order; this only releases
        // the blocked worker so that the runtime can join it.
        drop(block_tx);
    });
    drop(rt);
    unblock.join().unwrap();
    // Each task either ran (and dropped its counter) or was dropped unrun.
    assert_eq!(dropped.load(Ordering::SeqCst), 20);
    let rt2 = RuntimeBuilder::new().worker_threads(1).build().unwrap();
    for h in handles {
        // Awaiting a task dropped at shutdown gives Cancelled; one that ran gives Ok.
        let r = rt2.block_on(h).unwrap();
        assert!(r.is_ok() || r.unwrap_err().is_cancelled());
    }
}

#[test]
fn shutdown_timeout_returns_and_drops_tasks() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = DropCounter(dropped.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    drop(rt.spawn(async move {
        let _d = d;
        tx.send(()).unwrap();
        tower_coro::pending::<()>().await;
    }));
    rx.recv().unwrap();
    rt.shutdown_timeout(Duration::from_secs(30));
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn completed_tasks_leave_no_registration_behind() {
    // Every task's memory is freed once it completes: the live-task registry is empty again.
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let handles: Vec<_> = (0..1000).map(|i| rt.spawn(async move { i })).collect();
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    })
    .unwrap();
    assert_eq!(rt.metrics().live_tasks, 0);
}

#[test]
fn live_tasks_counts_every_task_not_yet_dropped() {
    // Pending tasks (spawned from outside and from a worker, never woken) are live until
    // shutdown drops them; a finished task is not.
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..5 {
        let tx = tx.clone();
        drop(rt.spawn(async move {
            tx.send(()).unwrap();
            tower_coro::pending::<()>().await;
        }));
    }
    let inner = rt
        .block_on(rt.spawn(async move {
            for _ in 0..3 {
                let tx = tx.clone();
                drop(tower_task::spawn(async move {
                    tx.send(()).unwrap();
                    tower_coro::pending::<()>().await;
                }));
            }
        }))
        .unwrap();
    inner.unwrap();
    for _ in 0..8 {
        rx.recv().unwrap();
    }
    assert_eq!(rt.metrics().live_tasks, 8);
}

/// Parks its task for good, handing its waker out once.
fn park_and_hand_out_waker(
    tx: std::sync::mpsc::Sender<std::task::Waker>,
) -> impl std::future::Future<Output = ()> {
    let mut tx = Some(tx);
    std::future::poll_fn(move |cx| {
        if let Some(tx) = tx.take() {
            tx.send(cx.waker().clone()).unwrap();
        }
        std::task::Poll::Pending
    })
}

#[test]
fn a_wake_from_another_thread_after_the_runtime_is_dropped_does_nothing() {
    // The task's waker outlives the runtime: shutdown dropped the task's future, and a later
    // wake-up from a thread that never was a worker neither schedules nor frees anything twice.
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = DropCounter(dropped.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    drop(rt.spawn(async move {
        let _d = d;
        park_and_hand_out_waker(tx).await;
    }));
    let waker = rx.recv().unwrap();
    drop(rt);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    std::thread::spawn(move || {
        waker.wake_by_ref();
        waker.wake();
    })
    .join()
    .unwrap();
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn a_wake_from_another_thread_runs_the_task_on_a_worker() {
    // The remote path of the runtime's schedule function: the injector, then a worker.
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let woken = Arc::new(AtomicUsize::new(0));
    let w = woken.clone();
    let task = rt.spawn(async move {
        let mut tx = Some(tx);
        std::future::poll_fn(move |cx| {
            if w.load(Ordering::SeqCst) > 0 {
                return std::task::Poll::Ready(std::thread::current().name().map(String::from));
            }
            if let Some(tx) = tx.take() {
                tx.send(cx.waker().clone()).unwrap();
            }
            std::task::Poll::Pending
        })
        .await
    });
    let waker = rx.recv().unwrap();
    std::thread::spawn(move || {
        woken.store(1, Ordering::SeqCst);
        waker.wake();
    })
    .join()
    .unwrap();
    let name = rt.block_on(task).unwrap().unwrap();
    assert_eq!(name.as_deref(), Some("tower-worker"));
}
