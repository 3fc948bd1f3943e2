//! The LIFO slot: a task woken by the running task runs next on the same worker, ahead of the
//! queue (message passing), and yields go to the back.
//! Ports test_asyncio's test_tasks ping-pong pattern (a task waking the task that awaits it).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tower_task::runtime::{RuntimeBuilder, RuntimeHandle};

/// A minimal one-shot channel: a value and the receiver's waker behind a mutex.
#[derive(Default)]
struct Slot {
    value: Option<u32>,
    waker: Option<Waker>,
}

struct Recv(Arc<Mutex<Slot>>);

impl Future for Recv {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut s = self.0.lock().unwrap();
        match s.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

fn send(slot: &Arc<Mutex<Slot>>, v: u32) {
    let waker = {
        let mut s = slot.lock().unwrap();
        s.value = Some(v);
        s.waker.take()
    };
    // Woken after the lock is released.
    if let Some(w) = waker {
        w.wake();
    }
}

#[test]
fn a_woken_task_runs_before_queued_tasks() {
    let rt = RuntimeBuilder::new().worker_threads(1).build().unwrap();
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let l = log.clone();
    rt.block_on(rt.spawn(async move {
        let h = RuntimeHandle::current().unwrap();
        let slot: Arc<Mutex<Slot>> = Arc::default();
        let (s, ll) = (slot.clone(), l.clone());
        let receiver = h.spawn(async move {
            let v = Recv(s).await;
            ll.lock().unwrap().push(format!("recv {v}"));
        });
        // Let the receiver run and wait on the slot.
        tower_coro::yield_now().await;
        let fillers: Vec<_> = (0..10)
            .map(|i| {
                let ll = l.clone();
                h.spawn(async move { ll.lock().unwrap().push(format!("filler {i}")) })
            })
            .collect();
        send(&slot, 42);
        receiver.await.unwrap();
        for f in fillers {
            f.await.unwrap();
        }
    }))
    .unwrap()
    .unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 11);
    assert_eq!(log[0], "recv 42", "{log:?}");
}

#[test]
fn a_yielding_task_goes_behind_the_queue() {
    // test_tasks: yield (asyncio.sleep(0)) lets every other ready task run first.
    let rt = RuntimeBuilder::new().worker_threads(1).build().unwrap();
    let log: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let l = log.clone();
    rt.block_on(rt.spawn(async move {
        let h = RuntimeHandle::current().unwrap();
        let ll = l.clone();
        let other = h.spawn(async move { ll.lock().unwrap().push("other") });
        tower_coro::yield_now().await;
        l.lock().unwrap().push("after yield");
        other.await.unwrap();
    }))
    .unwrap()
    .unwrap();
    assert_eq!(*log.lock().unwrap(), ["other", "after yield"]);
}

#[test]
fn ping_pong_pairs_complete() {
    // 100 pairs exchanging one message each, on two workers.
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let total = rt
        .block_on(rt.spawn(async {
            let h = RuntimeHandle::current().unwrap();
            let pairs: Vec<_> = (0..100u32)
                .map(|i| {
                    let slot: Arc<Mutex<Slot>> = Arc::default();
                    let s = slot.clone();
                    let rx = h.spawn(Recv(s));
                    let tx = h.spawn(async move { send(&slot, i) });
                    (rx, tx)
                })
                .collect();
            let mut total = 0;
            for (rx, tx) in pairs {
                tx.await.unwrap();
                total += rx.await.unwrap();
            }
            total
        }))
        .unwrap()
        .unwrap();
    assert_eq!(total, (0..100).sum::<u32>());
}

#[test]
fn a_child_spawned_by_each_task_of_a_long_batch_runs_right_after_its_parent() {
    // test_tasks' ping-pong again, many pairs in one loop iteration: the LIFO budget is per
    // task taken from the queue (as tokio counts it), not per iteration, so the sixth parent's
    // child runs right after it just as the first one's does.
    const N: usize = 6;
    let rt = RuntimeBuilder::new().worker_threads(1).build().unwrap();
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let l = log.clone();
    rt.block_on(rt.spawn(async move {
        let h = RuntimeHandle::current().unwrap();
        let done: Arc<Mutex<Slot>> = Arc::default();
        let children = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for i in 0..N {
            let (h2, ll, done, children) = (h.clone(), l.clone(), done.clone(), children.clone());
            h.spawn(async move {
                // Twice to the back of the queue: every parent is queued, in one batch, when
                // they log and spawn below.
                tower_coro::yield_now().await;
                tower_coro::yield_now().await;
                ll.lock().unwrap().push(format!("parent {i}"));
                h2.spawn(async move {
                    ll.lock().unwrap().push(format!("child {i}"));
                    if children.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == N {
                        send(&done, 0);
                    }
                })
                .detach();
            })
            .detach();
        }
        Recv(done).await;
    }))
    .unwrap()
    .unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 2 * N);
    for pair in log.chunks(2) {
        let parent = pair[0].strip_prefix("parent ");
        assert_eq!(parent, pair[1].strip_prefix("child "), "{log:?}");
    }
}
