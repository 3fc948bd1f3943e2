//! `current_task` and `all_tasks`.

use tower_loop::EventLoop;
use tower_task::{TaskId, all_tasks, current_task, spawn};

// test_tasks.py: test_current_task (None outside tasks, the task inside it)
#[test]
fn current_task_is_the_polled_task_and_none_outside() {
    assert!(current_task().is_none());
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        assert!(current_task().is_none());
        let a = spawn(async {
            let me = current_task().unwrap();
            tower_coro::yield_now().await;
            assert_eq!(current_task().unwrap(), me);
            me.id()
        });
        let b = spawn(async { current_task().unwrap().id() });
        let (ida, idb) = (a.id(), b.id());
        assert_eq!(a.await.unwrap(), ida);
        assert_eq!(b.await.unwrap(), idb);
        assert!(current_task().is_none());
    })
    .unwrap();
}

/// A future that is ready at its first poll and records, when it is dropped, which task was
/// current.
struct RecordsCurrentOnDrop(std::sync::Arc<std::sync::Mutex<Option<Option<TaskId>>>>);

impl std::future::Future for RecordsCurrentOnDrop {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::task::Poll::Ready(())
    }
}

impl Drop for RecordsCurrentOnDrop {
    fn drop(&mut self) {
        let id = current_task().map(|t| t.id());
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(id);
    }
}

// A task's future is dropped with the task current (asyncio runs a coroutine's `finally`
// blocks inside the task): here, the drop of a future that just completed.
#[test]
fn a_completed_future_is_dropped_with_its_task_current() {
    let lp = EventLoop::new().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let rec = RecordsCurrentOnDrop(seen.clone());
    lp.run_until_complete(async move {
        let t = spawn(rec);
        let id = t.id();
        t.await.unwrap();
        let seen = *seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert_eq!(seen, Some(Some(id)));
    })
    .unwrap();
}

// test_tasks.py: test_all_tasks / test_task_all_tasks (not-done tasks of the running loop)
#[test]
fn all_tasks_lists_the_tasks_not_done() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        assert!(all_tasks().is_empty());
        let a = spawn(tower_coro::pending::<()>());
        let b = spawn(async {});
        let ids: Vec<_> = all_tasks().iter().map(|t| t.id()).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&a.id()) && ids.contains(&b.id()));
        b.await.unwrap();
        let ids: Vec<_> = all_tasks().iter().map(|t| t.id()).collect();
        assert_eq!(ids, [a.id()]);
        a.cancel();
        let _ = a.await;
        assert!(all_tasks().is_empty());
    })
    .unwrap();
    assert!(all_tasks().is_empty(), "no running loop: nothing");
}

// test_tasks.py: test_all_tasks_different_loops (each loop sees its own tasks)
#[test]
fn all_tasks_is_per_loop() {
    let lp1 = EventLoop::new().unwrap();
    let lp2 = EventLoop::new().unwrap();
    lp1.run_until_complete(async { spawn(tower_coro::pending::<()>()).detach() })
        .unwrap();
    let n = lp2.run_until_complete(async { all_tasks().len() }).unwrap();
    assert_eq!(n, 0);
    let n = lp1.run_until_complete(async { all_tasks().len() }).unwrap();
    assert_eq!(n, 1);
}
