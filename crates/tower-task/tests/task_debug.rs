//! Debug mode names a task whose single poll ran longer than `slow_callback_duration`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tower_loop::{ContextKind, EventLoop, get_running_loop};
use tower_task::TaskBuilder;

// test_base_events.py: test_slow_callback_duration / test_run_once_logging (debug mode logs
// slow callbacks) — for tasks, with the task's name
#[test]
fn a_slow_task_poll_is_reported_with_the_task_name() {
    let lp = EventLoop::builder()
        .paused_clock()
        .debug(true)
        .build()
        .unwrap();
    lp.set_slow_callback_duration(Duration::from_millis(50));
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    lp.set_exception_handler(move |_, ctx| {
        if matches!(ctx.kind, ContextKind::SlowCallback { .. }) {
            r.lock().unwrap().push(ctx.message.clone());
        }
    });
    lp.run_until_complete(async {
        TaskBuilder::new()
            .name("number-cruncher")
            .spawn(async {
                // The poll "takes" 200 ms of virtual time.
                get_running_loop()
                    .unwrap()
                    .advance(Duration::from_millis(200));
            })
            .unwrap()
            .await
            .unwrap();
        TaskBuilder::new()
            .name("quick")
            .spawn(async {})
            .unwrap()
            .await
            .unwrap();
    })
    .unwrap();
    let reports = reports.lock().unwrap();
    assert!(
        reports.iter().any(|m| m.contains("\"number-cruncher\"")),
        "{reports:?}"
    );
    assert!(
        !reports.iter().any(|m| m.contains("\"quick\"")),
        "{reports:?}"
    );
}

// Debug mode off: nothing reported.
#[test]
fn no_report_without_debug_mode() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let reports = Arc::new(Mutex::new(0));
    let r = reports.clone();
    lp.set_exception_handler(move |_, _| *r.lock().unwrap() += 1);
    lp.run_until_complete(async {
        TaskBuilder::new()
            .name("slow")
            .spawn(async { get_running_loop().unwrap().advance(Duration::from_secs(1)) })
            .unwrap()
            .await
            .unwrap();
    })
    .unwrap();
    assert_eq!(*reports.lock().unwrap(), 0);
}

// test_base_events.py: test_run_once_logging — one slow poll, one report (the loop times it
// and the task only names it; no second, nameless "a task poll" report).
#[test]
fn a_slow_task_poll_is_reported_once() {
    let lp = EventLoop::builder()
        .paused_clock()
        .debug(true)
        .build()
        .unwrap();
    lp.set_slow_callback_duration(Duration::from_millis(50));
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    lp.set_exception_handler(move |_, ctx| {
        if matches!(ctx.kind, ContextKind::SlowCallback { .. }) {
            r.lock().unwrap().push(ctx.message.clone());
        }
    });
    lp.run_until_complete(async {
        TaskBuilder::new()
            .name("slowpoke")
            .spawn(async {
                get_running_loop()
                    .unwrap()
                    .advance(Duration::from_millis(200));
            })
            .unwrap()
            .await
            .unwrap();
    })
    .unwrap();
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("\"slowpoke\""), "{reports:?}");
}
