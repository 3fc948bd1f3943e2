//! `current_task`, names, `all_tasks` and the task tree for tasks of the multi-thread runtime:
//! every worker loop shares the runtime's registry, so the tree seen from any worker holds
//! every live task of the runtime, wherever it was spawned or stolen to.
//! Ports test_tasks' test_current_task / test_all_tasks and the pstree scenario of
//! test_asyncio.test_tools (who spawned and who awaits whom).

use std::sync::mpsc;

use tower_task::runtime::RuntimeBuilder;
use tower_task::{TaskBuilder, all_tasks, current_task, task_tree};

// test_tasks.test_current_task, on a worker.
#[test]
fn current_task_is_the_runtime_task() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let t = rt.spawn(async { current_task().map(|t| t.id()) });
    let id = t.id();
    assert_eq!(rt.block_on(t).unwrap().unwrap(), Some(id));
}

// The pstree scenario: a named parent on the runtime spawns a named child and awaits it; the
// tree taken inside the child shows both, the child under the parent, awaited by it.
#[test]
fn the_task_tree_shows_runtime_parents_and_children() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let (tx, rx) = mpsc::channel();
    let parent = rt
        .block_on(async move {
            TaskBuilder::new()
                .name("parent")
                .spawn(async move {
                    let me = current_task().unwrap().id();
                    let child = TaskBuilder::new()
                        .name("child")
                        .spawn(async move {
                            // Wait until the parent awaits us (an event, not a sleep).
                            let me = current_task().unwrap();
                            while me.awaited_by().is_none() {
                                tower_coro::yield_now().await;
                            }
                            let _ = tx.send((
                                me.parent_id(),
                                me.get_name().to_string(),
                                task_tree().to_string(),
                                all_tasks().len(),
                            ));
                        })
                        .unwrap();
                    child.await.unwrap();
                    me
                })
                .unwrap()
                .await
        })
        .unwrap()
        .unwrap();
    let (child_parent, child_name, tree, live) = rx.recv().unwrap();
    assert_eq!(child_parent, Some(parent));
    assert_eq!(child_name, "child");
    assert!(live >= 2, "{tree}");
    assert!(tree.contains("\"parent\" [suspended]"), "{tree}");
    assert!(tree.contains("\"child\" [running]"), "{tree}");
    assert!(tree.contains(&format!("awaited by #{parent}")), "{tree}");
    // The child is drawn under the parent.
    let p = tree.find("\"parent\"").unwrap();
    let c = tree.find("\"child\"").unwrap();
    assert!(p < c, "{tree}");
}
