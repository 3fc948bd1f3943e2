//! Eager start (asyncio's `eager_task_factory` / `eager_start=True`).

use std::sync::{Arc, Mutex};

use tower_loop::{EventLoop, get_running_loop};
use tower_task::{LoopTaskOptions, TaskBuilder, set_task_factory, spawn};

/// The length of the running loop's ready queue, from its `Debug` output.
fn ready_len() -> usize {
    let s = format!("{:?}", get_running_loop().unwrap());
    let i = s.find("ready: ").unwrap() + 7;
    s[i..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

// test_eager_task_factory.py: test_eager_task_factory_set (runs synchronously up to its first
// suspension)
#[test]
fn an_eager_task_runs_inside_spawn_until_its_first_suspension() {
    let lp = EventLoop::new().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    lp.run_until_complete(async move {
        let l2 = l.clone();
        let t = TaskBuilder::new()
            .eager(true)
            .spawn(async move {
                l2.lock().unwrap().push("task: before await");
                tower_coro::yield_now().await;
                l2.lock().unwrap().push("task: after await");
            })
            .unwrap();
        l.lock().unwrap().push("spawner: after spawn");
        t.await.unwrap();
    })
    .unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        [
            "task: before await",
            "spawner: after spawn",
            "task: after await"
        ]
    );
}

// test_eager_task_factory.py: test_eager_completion (a task that completes at once never
// touches the ready queue)
#[test]
fn an_eager_task_that_completes_at_once_never_touches_the_ready_queue() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let before = ready_len();
        let t = TaskBuilder::new().eager(true).spawn(async { 9 }).unwrap();
        assert!(t.done());
        assert_eq!(ready_len(), before);
        assert_eq!(t.await.unwrap(), 9);

        // A lazy task is queued and not done.
        let lazy = spawn(async { 1 });
        assert!(!lazy.done());
        assert_eq!(ready_len(), before + 1);
        lazy.await.unwrap();
    })
    .unwrap();
}

// test_eager_task_factory.py: test_eager_task_factory_set via loop.set_task_factory
#[test]
fn the_loop_task_factory_makes_every_spawn_eager_and_sees_each_task() {
    let lp = EventLoop::new().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    set_task_factory(
        &lp,
        Some(
            LoopTaskOptions::eager_task_factory().on_spawn(move |t| s.lock().unwrap().push(t.id())),
        ),
    );
    let id = lp
        .run_until_complete(async {
            let t = spawn(async { 2 });
            assert!(t.done());
            let lazy = TaskBuilder::new().eager(false).spawn(async {}).unwrap();
            assert!(!lazy.done());
            lazy.await.unwrap();
            t.id()
        })
        .unwrap();
    assert_eq!(seen.lock().unwrap()[0], id);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

// test_eager_task_factory.py: test_current_task (current_task inside an eager task, restored after)
#[test]
fn current_task_is_the_eager_task_inside_it_and_restored_after() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let outer = spawn(async {
            let me = tower_task::current_task().unwrap().id();
            let inner = TaskBuilder::new()
                .eager(true)
                .spawn(async { tower_task::current_task().unwrap().id() })
                .unwrap();
            let inner_id = inner.id();
            assert_eq!(tower_task::current_task().unwrap().id(), me);
            assert_eq!(inner.await.unwrap(), inner_id);
        });
        outer.await.unwrap();
    })
    .unwrap();
}
