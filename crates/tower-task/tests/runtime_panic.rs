//! A panicking task: awaiting it gives an error holding the panic; the worker and the other
//! tasks go on.
//! Ports test_asyncio's test_tasks: test_exception_in_task / a failing task does not stop the
//! loop.

use tower_task::runtime::RuntimeBuilder;

#[test]
fn a_panic_becomes_a_join_error_and_the_runtime_continues() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let bad = rt.spawn(async {
        tower_coro::yield_now().await;
        if true {
            panic!("boom");
        }
        1
    });
    let err = rt.block_on(bad).unwrap().unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.to_string(), "the task panicked: boom");
    // Both workers still run tasks.
    let handles: Vec<_> = (0..100).map(|i| rt.spawn(async move { i })).collect();
    let sum = rt
        .block_on(async {
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        })
        .unwrap();
    assert_eq!(sum, 4950);
}

#[test]
fn the_payload_can_be_resumed() {
    let rt = RuntimeBuilder::new().worker_threads(1).build().unwrap();
    let err = rt
        .block_on(rt.spawn(async { std::panic::panic_any(7_u32) }))
        .unwrap()
        .unwrap_err();
    let payload = err.into_panic().unwrap();
    assert_eq!(payload.downcast_ref::<u32>(), Some(&7));
}
