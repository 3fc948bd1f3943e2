//! Spawning on the multi-threaded runtime and awaiting the results.
//! Ports test_asyncio's test_tasks scenarios: create_task / await a task's result.

use tower_task::runtime::Builder;

#[test]
fn spawn_one_from_block_on() {
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let out = rt.block_on(rt.spawn(async { 1 })).unwrap();
    assert_eq!(out.unwrap(), 1);
}
