//! Done callbacks: scheduled on the loop (never inline), in order, removable.

use std::sync::{Arc, Mutex};

use tower_future::{LoopFuture, create_future};
use tower_loop::EventLoop;

fn log() -> Arc<Mutex<Vec<u32>>> {
    Arc::new(Mutex::new(Vec::new()))
}

fn push(l: &Arc<Mutex<Vec<u32>>>, v: u32) -> impl FnOnce(&LoopFuture<u32>) + Send + 'static {
    let l = l.clone();
    move |_| l.lock().unwrap().push(v)
}

/// One loop iteration: callbacks scheduled so far run.
fn turn(lp: &EventLoop) {
    lp.run_until_complete(tower_coro::yield_now()).unwrap();
}

// test_futures.py: BaseFutureDoneCallbackTests.test_callbacks_invoked_on_set_result
#[test]
fn callbacks_run_in_order_on_the_loop_after_set_result() {
    let lp = EventLoop::new().unwrap();
    let fut = LoopFuture::new(&lp.handle());
    let l = log();
    for v in [1, 2, 3] {
        fut.add_done_callback(push(&l, v));
    }
    fut.set_result(10).unwrap();
    assert!(
        l.lock().unwrap().is_empty(),
        "callbacks must not run inline"
    );
    turn(&lp);
    assert_eq!(*l.lock().unwrap(), [1, 2, 3]);
}

// test_futures.py: BaseFutureDoneCallbackTests.test_callbacks_invoked_on_set_exception
#[test]
fn callbacks_run_after_set_exception() {
    let lp = EventLoop::new().unwrap();
    let fut = LoopFuture::<u32>::new(&lp.handle());
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    fut.add_done_callback(move |f| {
        *s.lock().unwrap() = Some(f.exception().unwrap().unwrap().to_string())
    });
    fut.set_exception(std::io::Error::other("bad")).unwrap();
    turn(&lp);
    assert_eq!(seen.lock().unwrap().as_deref(), Some("bad"));
}

// test_futures.py: BaseFutureDoneCallbackTests.test_remove_done_callback (first/second/third)
#[test]
fn remove_done_callback_removes_only_that_one_and_counts() {
    let lp = EventLoop::new().unwrap();
    let fut = LoopFuture::new(&lp.handle());
    let l = log();
    let a = fut.add_done_callback(push(&l, 1));
    let b = fut.add_done_callback(push(&l, 2));
    fut.add_done_callback(push(&l, 3));
    assert_eq!(fut.remove_done_callback(b), 1);
    assert_eq!(fut.remove_done_callback(b), 0);
    assert_eq!(fut.remove_done_callback(a), 1);
    fut.set_result(0).unwrap();
    turn(&lp);
    assert_eq!(*l.lock().unwrap(), [3]);
}

// test_futures.py: test_schedule_callbacks_early (add_done_callback on a done future)
#[test]
fn callback_added_after_done_is_scheduled_not_inline() {
    let lp = EventLoop::new().unwrap();
    let fut = LoopFuture::new(&lp.handle());
    fut.set_result(1).unwrap();
    let l = log();
    fut.add_done_callback(push(&l, 7));
    assert!(l.lock().unwrap().is_empty());
    turn(&lp);
    assert_eq!(*l.lock().unwrap(), [7]);
}

// test_futures.py: test_cancel -> callbacks run on cancel too
#[test]
fn callbacks_run_on_cancel() {
    let lp = EventLoop::new().unwrap();
    let l = log();
    let l2 = l.clone();
    lp.run_until_complete(async move {
        let fut = create_future::<u32>().unwrap();
        let l3 = l2.clone();
        fut.add_done_callback(move |f| {
            assert!(f.cancelled());
            l3.lock().unwrap().push(9)
        });
        assert!(fut.cancel());
        tower_coro::yield_now().await;
    })
    .unwrap();
    assert_eq!(*l.lock().unwrap(), [9]);
}

// A callback id belongs to its future: removing with another future's id removes nothing
// (ids used to be counted per future, so the first callback of every future had the same id).
#[test]
fn an_id_from_another_future_removes_nothing() {
    let lp = EventLoop::new().unwrap();
    let a = LoopFuture::new(&lp.handle());
    let b = LoopFuture::new(&lp.handle());
    let l = log();
    let id_a = a.add_done_callback(push(&l, 1));
    let id_b = b.add_done_callback(push(&l, 2));
    assert_ne!(id_a, id_b);
    assert_eq!(b.remove_done_callback(id_a), 0);
    assert_eq!(a.remove_done_callback(id_b), 0);
    a.set_result(0).unwrap();
    b.set_result(0).unwrap();
    turn(&lp);
    assert_eq!(*l.lock().unwrap(), [1, 2]);
}

// test_futures.py: test_wrap_future_cancel — cancelling the loop side is seen by the thread
// side, which can stop its work; its late result is dropped.
#[test]
fn the_thread_side_sees_the_loop_side_cancelled() {
    let lp = EventLoop::new().unwrap();
    let r = lp
        .run_until_complete(async {
            let (fut, completer) = tower_future::wrap_future::<u32>().unwrap();
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let worker = std::thread::spawn(move || {
                rx.recv().unwrap();
                let seen = completer.is_cancelled();
                completer.set_result(5); // too late: dropped
                seen
            });
            assert!(fut.cancel_with("stop"));
            tx.send(()).unwrap();
            let seen = tower_exec_free_join(worker).await;
            tower_coro::yield_now().await;
            (seen, fut.await.unwrap_err().is_cancelled())
        })
        .unwrap();
    assert_eq!(r, (true, true));
}

/// Joins a std thread without blocking the loop for long (polls `is_finished`).
async fn tower_exec_free_join<T>(h: std::thread::JoinHandle<T>) -> T {
    while !h.is_finished() {
        std::thread::yield_now();
        tower_coro::yield_now().await;
    }
    h.join().unwrap()
}
