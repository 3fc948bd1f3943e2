//! Task names and ids.

use tower_loop::EventLoop;
use tower_task::{TaskBuilder, spawn};

// test_tasks.py: test_task_repr_name / test_get_name (default name Task-<n>)
#[test]
fn default_name_is_task_dash_id() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let t = spawn(async {});
        assert_eq!(&*t.get_name(), format!("Task-{}", t.id()));
    })
    .unwrap();
}

// test_tasks.py: test_set_name / test_create_task_with_name
#[test]
fn builder_name_and_set_name() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let t = TaskBuilder::new().name("fetcher").spawn(async {}).unwrap();
        assert_eq!(&*t.get_name(), "fetcher");
        t.set_name("renamed");
        assert_eq!(&*t.get_name(), "renamed");
        t.await.unwrap();
    })
    .unwrap();
}

#[test]
fn ids_increase_in_spawn_order() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let a = spawn(async {});
        let b = spawn(async {});
        assert!(a.id() < b.id());
    })
    .unwrap();
}

// A finished task's record is reused by the next spawn on the thread: nothing of the old task
// (name, cancellation, callbacks) may leak into the new one.
#[test]
fn a_new_task_never_inherits_a_finished_tasks_name_or_cancellation() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        for _ in 0..3 {
            let t = TaskBuilder::new()
                .name("old")
                .spawn(tower_coro::pending::<()>())
                .unwrap();
            t.cancel_with("old cancel");
            let _ = t.await;
        }
        let t = spawn(async { 1 });
        assert_eq!(&*t.get_name(), format!("Task-{}", t.id()));
        assert_eq!(t.cancelling(), 0);
        assert!(!t.cancelled());
        assert_eq!(t.await.unwrap(), 1);
    })
    .unwrap();
}
