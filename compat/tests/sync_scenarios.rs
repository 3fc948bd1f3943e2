//! tower-sync's scenarios, written once as generic async fns, run under tokio (current-thread
//! and multi-thread), smol (a multi-threaded `Executor`) and tower's own loop: the claim that
//! tier 6 is runtime-agnostic, tested. Each scenario names the CPython test_asyncio test it
//! ports (test_locks / test_queues).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use tower_sync::error::{BrokenBarrierError, QueueShutDown};
use tower_sync::{Barrier, Condition, Event, Lock, Queue, Semaphore, oneshot};

/// A boxed task body.
type BoxFut = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Spawns on the runtime under test; the returned future completes with the task.
#[derive(Clone)]
struct Spawner(Arc<dyn Fn(BoxFut) -> BoxFut + Send + Sync>);

impl Spawner {
    fn spawn(&self, f: impl Future<Output = ()> + Send + 'static) -> BoxFut {
        (self.0)(Box::pin(f))
    }
}

/// Yields to the runtime once.
async fn yield_now() {
    tower_coro::yield_now().await;
}

/// Awaits `fut`, signalling `queued` right after its first poll (so the caller knows the
/// waiter is queued before starting the next one, on any runtime, any thread count).
async fn queued_then<F: Future + Unpin>(mut fut: F, queued: oneshot::Sender<()>) -> F::Output {
    let mut tx = Some(queued);
    std::future::poll_fn(move |cx| {
        let r = Pin::new(&mut fut).poll(cx);
        if let Some(tx) = tx.take() {
            let _ = tx.send(());
        }
        r
    })
    .await
}

// --- the scenarios -----------------------------------------------------------------------

// test_locks.LockTests.test_acquire: queued waiters get the lock in arrival order.
async fn lock_fifo(sp: Spawner) {
    let lock = Arc::new(Lock::new(Vec::new()));
    let held = lock.try_lock_arc().unwrap();
    let mut tasks = Vec::new();
    for i in 0..4 {
        let (tx, rx) = oneshot::channel();
        let l = lock.clone();
        tasks.push(sp.spawn(async move {
            let mut g = queued_then(l.lock_arc(), tx).await;
            g.push(i);
        }));
        rx.await.unwrap();
    }
    drop(held);
    for t in tasks {
        t.await;
    }
    assert_eq!(*lock.lock().await, [0, 1, 2, 3]);
}

// test_locks.LockTests.test_cancel_release_race: waiters cancelled (dropped) around a release
// never strand the lock.
async fn lock_cancellation(sp: Spawner) {
    let lock = Arc::new(Lock::new(0usize));
    let stop = Arc::new(Event::new());
    let held = lock.try_lock_arc().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (l, s) = (lock.clone(), stop.clone());
        tasks.push(sp.spawn(async move {
            // Cancel-by-drop: whichever finishes first, the other future is dropped.
            match tower_coro::select(l.lock(), s.wait()).await {
                tower_coro::Either::Left(mut g) => *g += 1,
                tower_coro::Either::Right(()) => {}
            }
        }));
    }
    yield_now().await;
    drop(held);
    stop.set();
    for t in tasks {
        t.await;
    }
    assert!(
        lock.try_lock().is_some(),
        "a cancelled waiter stranded the lock"
    );
}

// Mutual exclusion under contention with suspension inside the critical section.
async fn lock_counter(sp: Spawner) {
    let lock = Arc::new(Lock::new(0usize));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let l = lock.clone();
            sp.spawn(async move {
                for _ in 0..50 {
                    let mut g = l.lock().await;
                    let v = *g;
                    yield_now().await;
                    *g = v + 1;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await;
    }
    assert_eq!(*lock.lock().await, 400);
}

// test_locks.SemaphoreTests.test_acquire: never more holders than permits.
async fn semaphore_limit(sp: Spawner) {
    let sem = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (sem, inside, peak) = (sem.clone(), inside.clone(), peak.clone());
            sp.spawn(async move {
                for _ in 0..20 {
                    let _p = sem.acquire().await;
                    let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    yield_now().await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await;
    }
    assert!(peak.load(Ordering::SeqCst) <= 3);
    assert_eq!(sem.available_permits(), 3);
}

// test_locks.SemaphoreTests.test_acquire_cancel_before_awoken: a permit released to a waiter
// that is then cancelled reaches the next waiter.
async fn semaphore_cancel_before_awoken(sp: Spawner) {
    let sem = Arc::new(Semaphore::new(0));
    let (tx, rx) = oneshot::channel();
    let s = sem.clone();
    let first = sem.acquire_arc();
    // Queue `first` (polled once here), then the task behind it.
    let mut first = Box::pin(first);
    assert!(tower_coro::poll_fn(|cx| Poll::Ready(first.as_mut().poll(cx).is_pending())).await);
    let second = sp.spawn(async move {
        drop(queued_then(s.acquire_arc(), tx).await);
    });
    rx.await.unwrap();
    sem.release();
    drop(first); // woken but cancelled before it ran
    second.await;
    assert_eq!(sem.available_permits(), 1);
}

// test_locks.EventTests.test_wait: set releases every waiter.
async fn event_wakes_all(sp: Spawner) {
    let ev = Arc::new(Event::new());
    let count = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (ev, count) = (ev.clone(), count.clone());
            sp.spawn(async move {
                ev.wait().await;
                count.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    yield_now().await;
    ev.set();
    for t in tasks {
        t.await;
    }
    assert_eq!(count.load(Ordering::SeqCst), 5);
}

// test_locks.ConditionTests.test_wait_for: consumers wait for a predicate the producer makes
// true, notified under the lock.
async fn condition_producer_consumer(sp: Spawner) {
    let cond = Arc::new(Condition::new(Vec::<u32>::new()));
    let consumers: Vec<_> = (0..4)
        .map(|_| {
            let cond = cond.clone();
            sp.spawn(async move {
                let mut g = cond.wait_for(cond.lock().await, |v| !v.is_empty()).await;
                g.pop().unwrap();
            })
        })
        .collect();
    for i in 0..4 {
        let mut g = cond.lock().await;
        g.push(i);
        cond.notify(1);
        drop(g);
        yield_now().await;
    }
    // Consumers that checked before a push and were notified for another item re-check.
    for _ in 0..4 {
        cond.notify_all();
        yield_now().await;
    }
    for t in consumers {
        t.await;
    }
    assert!(cond.lock().await.is_empty());
}

// test_locks.ConditionTests.test_cancelled_wakeup (gh-112202): a notified waiter that is
// cancelled passes its notification on.
async fn condition_cancel_after_notify(sp: Spawner) {
    let cond = Arc::new(Condition::new(()));
    let mut first = Box::pin({
        let cond = cond.clone();
        async move { drop(cond.wait(cond.lock().await).await) }
    });
    assert!(tower_coro::poll_fn(|cx| Poll::Ready(first.as_mut().poll(cx).is_pending())).await);
    let (tx, rx) = oneshot::channel();
    let c = cond.clone();
    let second = sp.spawn(async move {
        let g = c.lock().await;
        drop(queued_then(Box::pin(c.wait(g)), tx).await);
    });
    rx.await.unwrap();
    assert_eq!(cond.notify(1), 1);
    drop(first);
    second.await;
}

// test_locks.BarrierTests.test_filling_tasks_wait_twice + test_abort_barrier.
async fn barrier_rounds_then_abort(sp: Spawner) {
    let barrier = Arc::new(Barrier::new(3));
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let b = barrier.clone();
            sp.spawn(async move {
                for _ in 0..5 {
                    b.wait().await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await;
    }
    let (tx, rx) = oneshot::channel();
    let b = barrier.clone();
    let waiter = sp.spawn(async move {
        let r = queued_then(Box::pin(b.wait()), tx).await;
        assert_eq!(r, Err(BrokenBarrierError));
    });
    rx.await.unwrap();
    barrier.abort();
    waiter.await;
    assert!(barrier.broken());
}

// test_queues._QueueJoinTestMixin.test_task_done: workers process every item; join returns.
async fn queue_join_task_done(sp: Spawner) {
    let q = Queue::new(4);
    let sum = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (q, sum) = (q.clone(), sum.clone());
            sp.spawn(async move {
                while let Ok(v) = q.get().await {
                    sum.fetch_add(v, Ordering::SeqCst);
                    q.task_done().unwrap();
                }
            })
        })
        .collect();
    for i in 1..=100 {
        q.put(i).await.unwrap();
    }
    q.join().await;
    assert_eq!(sum.load(Ordering::SeqCst), 5050);
    q.shutdown(false);
    for w in workers {
        w.await;
    }
}

// test_queues._QueueShutdownTestMixin: shutdown while getters and putters wait.
async fn queue_shutdown_with_waiters(sp: Spawner) {
    let q = Queue::new(1);
    q.put(0).await.unwrap();
    let mut tasks = Vec::new();
    for i in 1..=3 {
        let (tx, rx) = oneshot::channel();
        let q2 = q.clone();
        tasks.push(sp.spawn(async move {
            let r = queued_then(q2.put(i), tx).await;
            assert_eq!(r, Err(QueueShutDown(i)));
        }));
        rx.await.unwrap();
    }
    q.shutdown(false);
    for t in tasks {
        t.await;
    }
    assert_eq!(q.get().await, Ok(0));
    let empty = Queue::<u8>::new(0);
    let mut getters = Vec::new();
    for _ in 0..3 {
        let (tx, rx) = oneshot::channel();
        let q2 = empty.clone();
        getters.push(sp.spawn(async move {
            assert_eq!(queued_then(q2.get(), tx).await, Err(QueueShutDown(())));
        }));
        rx.await.unwrap();
    }
    empty.shutdown(true);
    for g in getters {
        g.await;
    }
}

// test_queues.QueueGetTests.test_get_cancelled_race: a getter woken and then cancelled passes
// the item to the next getter.
async fn queue_get_cancelled_race(sp: Spawner) {
    let q = Queue::new(0);
    let mut first = Box::pin({
        let q = q.clone();
        async move { q.get().await }
    });
    assert!(tower_coro::poll_fn(|cx| Poll::Ready(first.as_mut().poll(cx).is_pending())).await);
    let (tx, rx) = oneshot::channel();
    let q2 = q.clone();
    let second = sp.spawn(async move {
        assert_eq!(queued_then(q2.get(), tx).await, Ok(7));
    });
    rx.await.unwrap();
    q.put_nowait(7).unwrap();
    drop(first);
    second.await;
}

// --- the runtimes ------------------------------------------------------------------------

fn tokio_current_thread(body: fn(Spawner) -> BoxFut) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let sp = Spawner(Arc::new(|f| {
            let h = tokio::spawn(f);
            Box::pin(async move { h.await.unwrap() })
        }));
        body(sp).await;
    });
}

fn tokio_multi_thread(body: fn(Spawner) -> BoxFut) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let sp = Spawner(Arc::new(|f| {
            let h = tokio::spawn(f);
            Box::pin(async move { h.await.unwrap() })
        }));
        // Run the body itself on a worker too, so every party is on the pool.
        tokio::spawn(body(sp)).await.unwrap();
    });
}

fn smol_executor(body: fn(Spawner) -> BoxFut) {
    let ex = Arc::new(smol::Executor::new());
    let (stop_tx, stop_rx) = smol::channel::unbounded::<()>();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (ex, stop_rx) = (ex.clone(), stop_rx.clone());
            std::thread::spawn(move || smol::block_on(ex.run(stop_rx.recv())))
        })
        .collect();
    let ex2 = ex.clone();
    let sp = Spawner(Arc::new(move |f| Box::pin(ex2.spawn(f))));
    smol::block_on(ex.run(body(sp)));
    drop(stop_tx);
    for t in threads {
        let _ = t.join();
    }
}

fn tower_loop(body: fn(Spawner) -> BoxFut) {
    let lp = tower_loop::EventLoop::new().unwrap();
    let handle = lp.handle();
    let sp = Spawner(Arc::new(move |f| {
        let (runnable, task) = async_task::spawn(f, handle.scheduler());
        runnable.schedule();
        Box::pin(task)
    }));
    lp.run_until_complete(body(sp)).unwrap();
    lp.close().unwrap();
}

/// One test per runtime for each scenario.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;

            fn body(sp: Spawner) -> BoxFut {
                Box::pin(super::$name(sp))
            }

            #[test]
            fn tokio_current_thread() {
                super::tokio_current_thread(body);
            }

            #[test]
            fn tokio_multi_thread() {
                super::tokio_multi_thread(body);
            }

            #[test]
            fn smol() {
                super::smol_executor(body);
            }

            #[test]
            fn tower_loop() {
                super::tower_loop(body);
            }
        }
    )*};
}

scenarios!(
    lock_fifo,
    lock_cancellation,
    lock_counter,
    semaphore_limit,
    semaphore_cancel_before_awoken,
    event_wakes_all,
    condition_producer_consumer,
    condition_cancel_after_notify,
    barrier_rounds_then_abort,
    queue_join_task_done,
    queue_shutdown_with_waiters,
    queue_get_cancelled_race,
);
