//! The printable task tree (`python -m asyncio pstree`).

use tower_loop::EventLoop;
use tower_task::{TaskBuilder, TaskState, task_tree};

// test_tools/test_asyncio pstree (Lib/test/test_asyncio/test_tools.py): names, states, who
// spawned whom, who awaits whom
#[test]
fn the_tree_shows_names_states_parents_and_awaiters() {
    let lp = EventLoop::new().unwrap();
    let (text, tree) = lp
        .run_until_complete(async {
            let root = TaskBuilder::new()
                .name("root")
                .spawn(async {
                    let a = TaskBuilder::new()
                        .name("worker-a")
                        .spawn(tower_coro::pending::<()>())
                        .unwrap();
                    let _b = TaskBuilder::new()
                        .name("worker-b")
                        .spawn(tower_coro::pending::<()>())
                        .unwrap();
                    let _ = a.await;
                })
                .unwrap();
            for _ in 0..3 {
                tower_coro::yield_now().await;
            }
            let tree = task_tree();
            let text = tree.to_string();
            root.cancel();
            (text, tree)
        })
        .unwrap();
    let root = tree.nodes().iter().find(|n| &*n.name == "root").unwrap();
    let a = tree
        .nodes()
        .iter()
        .find(|n| &*n.name == "worker-a")
        .unwrap();
    let b = tree
        .nodes()
        .iter()
        .find(|n| &*n.name == "worker-b")
        .unwrap();
    assert_eq!(a.parent, Some(root.id));
    assert_eq!(b.parent, Some(root.id));
    assert_eq!(a.awaited_by, Some(root.id));
    assert_eq!(b.awaited_by, None);
    assert_eq!(root.state, TaskState::Suspended);
    let expected = format!(
        "task tree: 3 live task(s)\n\
         └── #{r} \"root\" [suspended]\n    \
             ├── #{a} \"worker-a\" [suspended] awaited by #{r}\n    \
             └── #{b} \"worker-b\" [suspended]\n",
        r = root.id,
        a = a.id,
        b = b.id
    );
    assert_eq!(text, expected);
}

// A task whose spawner is done is shown as a root.
#[test]
fn orphans_are_roots() {
    let lp = EventLoop::new().unwrap();
    let text = lp
        .run_until_complete(async {
            TaskBuilder::new()
                .name("short-lived")
                .spawn(async {
                    TaskBuilder::new()
                        .name("orphan")
                        .spawn(tower_coro::pending::<()>())
                        .unwrap()
                        .detach();
                })
                .unwrap()
                .await
                .unwrap();
            tower_coro::yield_now().await;
            task_tree().to_string()
        })
        .unwrap();
    assert!(
        text.starts_with("task tree: 1 live task(s)\n└── #"),
        "{text}"
    );
    assert!(text.contains("\"orphan\" [suspended]"), "{text}");
}

// install_task_tree_dump: the handler is installed on the loop (printing goes to stderr).
#[test]
fn the_dump_handler_installs_on_a_signal() {
    let lp = EventLoop::new().unwrap();
    tower_task::install_task_tree_dump(&lp, 12 /* SIGUSR2 */).unwrap();
    assert!(lp.remove_signal_handler(12).unwrap());
}

/// Polls `t` once from the current task (it records itself as the awaiter), without waiting.
async fn poll_once(t: &mut tower_task::Task<()>) {
    use std::future::Future as _;
    std::future::poll_fn(|cx| {
        let _ = std::pin::Pin::new(&mut *t).poll(cx);
        std::task::Poll::Ready(())
    })
    .await;
}

// `awaited_by` is the task last seen awaiting the handle: a task other than the parent (the
// handle was handed to it), then the parent again once it awaits the handle itself.
// (test_tools.py: the awaited-by graph follows whoever awaits now.)
#[test]
fn awaited_by_follows_the_latest_awaiter_parent_or_not() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let root = tower_task::spawn(async {
            let me = tower_task::current_task().unwrap().id();
            let child = tower_task::spawn(tower_coro::pending::<()>());
            assert_eq!(child.parent_id(), Some(me));
            assert_eq!(child.awaited_by(), None);
            let child_ref = (*child).clone();
            let other = tower_task::spawn(async move {
                let mut child = child;
                poll_once(&mut child).await;
                // Handed back inside an `Option`: the handle itself is awaitable.
                Some(child)
            });
            let other_id = other.id();
            let mut child = other.await.unwrap().unwrap();
            assert_eq!(child_ref.awaited_by(), Some(other_id));
            poll_once(&mut child).await;
            assert_eq!(child.awaited_by(), Some(me));
            child.cancel();
        });
        root.await.unwrap();
    })
    .unwrap();
}
