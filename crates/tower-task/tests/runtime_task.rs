//! `Runtime::spawn` returns the task core's `Task`: cancel with a message, names, done
//! callbacks, `Result<T, TaskError>` when awaited, detach on drop.
//! Ports test_tasks' test_cancel_with_message_then_future_result, test_task_set_name /
//! test_task_default_name and test_task_add_done_callback onto the multi-thread runtime.

use std::sync::mpsc;

use tower_task::runtime::RuntimeBuilder;
use tower_task::{TaskBuilder, current_task};

// test_tasks.test_cancel_with_message_then_future_result, for a task on a worker.
#[test]
fn cancel_with_a_message_reaches_the_awaiter() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let t = rt.spawn(tower_coro::pending::<()>());
    assert!(t.cancel_with("stop now"));
    let err = rt.block_on(t).unwrap().unwrap_err();
    assert!(err.is_cancelled());
    match err {
        tower_task::error::TaskError::Cancelled(c) => assert_eq!(c.message(), Some("stop now")),
        other => panic!("expected a cancellation, got {other:?}"),
    }
}

// test_tasks.test_task_set_name / test_task_default_name.
#[test]
fn runtime_tasks_have_names() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let t = rt.spawn(async { current_task().unwrap().get_name().to_string() });
    assert_eq!(&*t.get_name(), &*format!("Task-{}", t.id()));
    t.set_name("renamed");
    // The name seen from inside is the one set before or after it started.
    let inside = rt.block_on(t).unwrap().unwrap();
    assert!(inside == "renamed" || inside.starts_with("Task-"));
    let named = rt
        .block_on(async {
            TaskBuilder::new()
                .name("fetcher")
                .spawn(async { current_task().unwrap().get_name().to_string() })
                .unwrap()
                .await
        })
        .unwrap()
        .unwrap();
    assert_eq!(named, "fetcher");
}

// test_tasks.test_task_add_done_callback: the callback runs (on a worker's loop) with the task.
#[test]
fn done_callbacks_run_for_runtime_tasks() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let (tx, rx) = mpsc::channel();
    let t = rt.spawn(async { 7 });
    t.set_name("seven");
    let id = t.id();
    t.add_done_callback(move |t| {
        let _ = tx.send((t.id(), t.get_name().to_string(), t.done()));
    });
    assert_eq!(rt.block_on(t).unwrap().unwrap(), 7);
    assert_eq!(rx.recv().unwrap(), (id, "seven".to_owned(), true));
}

// test_tasks: a task whose handle is dropped keeps running (asyncio's semantics).
#[test]
fn dropping_the_handle_detaches_the_task() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let (tx, rx) = mpsc::channel();
    drop(rt.spawn(async move {
        tower_coro::yield_now().await;
        let _ = tx.send(42);
    }));
    assert_eq!(rx.recv().unwrap(), 42);
}
