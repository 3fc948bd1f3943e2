//! A task's outcome: its value, its panic (the loop goes on), its `result()`.

use std::cell::Cell;
use std::rc::Rc;

use tower_loop::EventLoop;
use tower_task::error::TaskError;
use tower_task::{spawn, spawn_local};

// test_tasks.py: test_task_basics / test_create_task (awaiting a task gives its result)
#[test]
fn awaiting_a_task_gives_its_value() {
    let lp = EventLoop::new().unwrap();
    let v = lp
        .run_until_complete(async { spawn(async { "ok" }).await.unwrap() })
        .unwrap();
    assert_eq!(v, "ok");
}

// test_tasks.py: test_exception_traceback / test_task_exception (exception in a task does not
// kill the loop; the awaiter gets it)
#[test]
fn a_panicking_task_gives_the_panic_to_its_awaiter_and_the_loop_goes_on() {
    let lp = EventLoop::new().unwrap();
    let (err, other) = lp
        .run_until_complete(async {
            let bad = spawn(async {
                tower_coro::yield_now().await;
                panic!("task blew up");
            });
            let good = spawn(async {
                tower_coro::yield_now().await;
                tower_coro::yield_now().await;
                7
            });
            (bad.await.unwrap_err(), good.await.unwrap())
        })
        .unwrap();
    assert_eq!(other, 7);
    match err {
        TaskError::Panicked(p) => assert_eq!(p.message(), "task blew up"),
        e => panic!("{e:?}"),
    }
    // The loop still runs.
    assert_eq!(
        lp.run_until_complete(async { spawn(async { 1 }).await.unwrap() })
            .unwrap(),
        1
    );
}

// test_tasks.py: test_result_before_done (Task.result raises InvalidStateError until done)
#[test]
fn result_is_none_until_done_then_gives_the_value_once() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let mut t = spawn(async { 3 });
        assert!(t.result().is_none());
        tower_coro::yield_now().await;
        tower_coro::yield_now().await;
        assert!(t.done());
        assert_eq!(t.result().unwrap().unwrap(), 3);
        assert!(t.result().is_none());
    })
    .unwrap();
}

// test_tasks.py: test_create_task_with_noncoroutine — here: !Send futures via spawn_local
#[test]
fn spawn_local_runs_a_non_send_future() {
    let lp = EventLoop::new().unwrap();
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    lp.run_until_complete(async move {
        spawn_local(async move { h.set(h.get() + 1) })
            .await
            .unwrap();
    })
    .unwrap();
    assert_eq!(hits.get(), 1);
}

#[test]
fn builder_spawn_outside_a_loop_is_an_error() {
    assert!(tower_task::TaskBuilder::new().spawn(async {}).is_err());
}

// test_tasks.py: test_exception_logging / "Task exception was never retrieved" (a detached
// task's panic goes to the loop's exception handler, with the task's name)
#[test]
fn a_detached_tasks_panic_is_reported_to_the_exception_handler() {
    use std::sync::{Arc, Mutex};
    let lp = EventLoop::new().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    lp.set_exception_handler(move |_, ctx| s.lock().unwrap().push(ctx.message.clone()));
    lp.run_until_complete(async {
        tower_task::TaskBuilder::new()
            .name("lonely")
            .spawn(async {
                tower_coro::yield_now().await;
                panic!("nobody listens");
            })
            .unwrap()
            .detach();
        // An awaited task's panic goes to its awaiter, not to the handler.
        let awaited = spawn(async {
            tower_coro::yield_now().await;
            panic!("caught by the awaiter");
        });
        assert!(awaited.await.unwrap_err().is_panic());
        tower_coro::yield_now().await;
    })
    .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].contains("\"lonely\"") && seen[0].contains("nobody listens"),
        "{seen:?}"
    );
}
