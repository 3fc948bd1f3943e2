//! Tasks whose `async_task` allocation carries metadata (tier 4 keeps its task header there)
//! are scheduled on the loop like any other: same thread, from another thread, and dropped
//! (with their future) when the loop closes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tower_loop::{AnyRunnable, EventLoop};

/// Metadata with a drop counter, to see the allocation freed.
struct Meta {
    tag: u64,
    drops: Arc<AtomicUsize>,
}

impl Meta {
    /// Metadata tagged `tag`, counting its drop in `drops`.
    fn new(tag: u64, drops: &Arc<AtomicUsize>) -> Meta {
        Meta {
            tag,
            drops: drops.clone(),
        }
    }
}

impl Drop for Meta {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_task_with_metadata_runs_and_sees_it() {
    let lp = EventLoop::new().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let h = lp.handle();
    let (runnable, task) = async_task::Builder::new()
        .metadata(Meta::new(41, &drops))
        .spawn(
            |m: &Meta| {
                let tag = m.tag;
                async move {
                    tower_coro::yield_now().await;
                    tag + 1
                }
            },
            move |r| h.schedule(r),
        );
    runnable.schedule();
    assert_eq!(lp.run_until_complete(task).unwrap(), 42);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "the allocation was freed");
}

#[test]
fn a_task_woken_from_another_thread_runs_on_the_loop() {
    let lp = EventLoop::new().unwrap();
    let h = lp.handle();
    let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
    let (runnable, task) = async_task::Builder::new().metadata(7u8).spawn(
        move |_: &u8| {
            let mut parked = false;
            std::future::poll_fn(move |cx| {
                if parked {
                    std::task::Poll::Ready(std::thread::current().id())
                } else {
                    parked = true;
                    tx.send(cx.waker().clone()).unwrap();
                    std::task::Poll::Pending
                }
            })
        },
        move |r| h.schedule(r),
    );
    runnable.schedule();
    let waker_thread = std::thread::spawn(move || rx.recv().unwrap().wake());
    let ran_on = lp.run_until_complete(task).unwrap();
    waker_thread.join().unwrap();
    assert_eq!(ran_on, std::thread::current().id());
}

#[test]
fn a_dropped_any_runnable_drops_its_future() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (runnable, task) = async_task::Builder::new()
        .metadata(Meta::new(0, &drops))
        .spawn(|_: &Meta| std::future::pending::<()>(), |_| {});
    let any = AnyRunnable::from(runnable);
    drop(task);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(any);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "closing the task freed it");
}

#[test]
fn tasks_left_on_a_closed_loop_are_freed() {
    let lp = EventLoop::new().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let h = lp.handle();
        let (runnable, task) = async_task::Builder::new()
            .metadata(Meta::new(0, &drops))
            .spawn(
                |_: &Meta| std::future::pending::<()>(),
                move |r| h.schedule(r),
            );
        task.detach();
        runnable.schedule();
    }
    lp.close().unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}
