//! The ready queue holds runnables next to callbacks (tier 4's tasks; test_tasks' basic
//! scheduling order: a task step is a callback in the same FIFO).

use std::cell::RefCell;
use std::rc::Rc;

use tower_loop::EventLoop;

// test_tasks.test_task_basics-style: tasks scheduled with call_soon-like FIFO order.
#[test]
fn runnables_and_callbacks_share_one_fifo() {
    let lp = EventLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    lp.call_soon(move || l.borrow_mut().push("cb1"));
    let l = log.clone();
    let (r, t) = async_task::spawn_local(
        async move { l.borrow_mut().push("task") },
        lp.handle().scheduler(),
    );
    r.schedule();
    t.detach();
    let l = log.clone();
    lp.call_soon(move || l.borrow_mut().push("cb2"));
    let l2 = lp.clone();
    lp.call_soon(move || l2.stop());
    lp.run_forever().unwrap();
    assert_eq!(*log.borrow(), ["cb1", "task", "cb2"]);
}

// A task woken from another thread runs on its loop (the injector path).
#[test]
fn runnable_scheduled_from_another_thread_runs() {
    let lp = EventLoop::new().unwrap();
    let (r, t) = async_task::spawn(
        async { std::thread::current().id() },
        lp.handle().scheduler(),
    );
    std::thread::spawn(move || r.schedule()).join().unwrap();
    let ran_on = lp.run_until_complete(t).unwrap();
    assert_eq!(ran_on, std::thread::current().id());
}

// Many tasks, each yielding once: all complete (the loop keeps iterating while work is ready).
#[test]
fn many_tasks_run_to_completion() {
    let lp = EventLoop::new().unwrap();
    let count = Rc::new(RefCell::new(0));
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let c = count.clone();
        let (r, t) = async_task::spawn_local(
            async move {
                tower_coro::yield_now().await;
                *c.borrow_mut() += 1;
            },
            lp.handle().scheduler(),
        );
        r.schedule();
        tasks.push(t);
    }
    lp.run_until_complete(async move {
        for t in tasks {
            t.await;
        }
    })
    .unwrap();
    assert_eq!(*count.borrow(), 1000);
}
