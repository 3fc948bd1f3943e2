//! `TaskGroup`, `gather` and `timeout` on the multi-threaded runtime (one loop per worker):
//! children spawned from a worker go to the runtime's work-stealing queues (so any worker may
//! run them); the group's shared record is `Send + Sync`, so a group future can itself be
//! spawned onto any worker.

use std::time::Duration;

use tower_task::runtime::RuntimeBuilder;
use tower_task::{TaskGroup, gather, sleep, timeout};

// test_taskgroups' basic scenario (test_taskgroup_01), on two workers.
#[test]
fn group_runs_on_the_multi_thread_runtime() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let r = rt
        .block_on(async {
            let h = rt.spawn(TaskGroup::run(|tg| async move {
                let mut handles = Vec::new();
                for i in 0..10u64 {
                    handles.push(
                        tg.create_task(async move {
                            tower_coro::yield_now().await;
                            Ok::<_, ()>(i)
                        })
                        .unwrap(),
                    );
                }
                let mut sum = 0;
                for h in handles {
                    sum += h.await.unwrap();
                }
                Ok(sum)
            }));
            h.await.unwrap()
        })
        .unwrap();
    assert_eq!(r, Ok(45));
}

// A failing child on a worker aborts its group there too (test_taskgroup_05 on workers).
#[test]
fn failure_aborts_on_the_multi_thread_runtime() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let r = rt
        .block_on(async {
            rt.spawn(TaskGroup::run(|tg| async move {
                tg.create_task(async { Err::<(), _>("boom") }).unwrap();
                tg.create_task(async {
                    tower_coro::pending::<()>().await;
                    Ok(())
                })
                .unwrap();
                tower_coro::pending::<()>().await;
                Ok(())
            }))
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(
        r.unwrap_err().errors().copied().collect::<Vec<_>>(),
        ["boom"]
    );
}

// gather and timeout inside a runtime task (futures that are Send).
#[test]
fn gather_and_timeout_on_the_multi_thread_runtime() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let (g, t) = rt
        .block_on(async {
            rt.spawn(async {
                let g = gather((0..4u32).map(|i| async move { i * 2 })).await;
                // A deadline already due: no real waiting in the test.
                let t = timeout(Duration::ZERO, sleep(Duration::from_secs(3600))).await;
                (g, t.is_err())
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(g.unwrap(), [0, 2, 4, 6]);
    assert!(t);
}
