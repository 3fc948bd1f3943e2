//! The printable task tree (what `python -m asyncio pstree` shows): every live task of a loop
//! with its name and state, under the task that spawned it, annotated with the task awaiting
//! it. Printable from inside the program ([`task_tree`]) and on a signal
//! ([`install_task_tree_dump`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use tower_loop::EventLoop;
use tower_loop::error::SignalError;

use super::registry::{loop_tasks, running_tasks};
use super::state::{TaskId, TaskState};
use super::task_ref::TaskRef;

/// One task in a [`TaskTree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskNode {
    /// The task's id.
    pub id: TaskId,
    /// Its name.
    pub name: Arc<str>,
    /// Its state when the tree was taken.
    pub state: TaskState,
    /// The task that spawned it.
    pub parent: Option<TaskId>,
    /// The task last seen awaiting it.
    pub awaited_by: Option<TaskId>,
}

/// A snapshot of a loop's live tasks as a tree (spawner → spawned), printable with `{}`.
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::{TaskBuilder, task_tree};
///
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     let parent = TaskBuilder::new().name("parent").spawn(async {
///         let child = TaskBuilder::new().name("child").spawn(tower_coro::pending::<()>()).unwrap();
///         child.await.ok();
///     }).unwrap();
///     for _ in 0..3 {
///         tower_coro::yield_now().await; // the parent runs, then the child
///     }
///     let tree = task_tree().to_string();
///     assert!(tree.contains("\"parent\" [suspended]"));
///     assert!(tree.contains("\"child\" [suspended]"));
///     assert!(tree.contains(&format!("awaited by #{}", parent.id())));
///     parent.cancel();
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct TaskTree {
    /// The tasks, by id.
    nodes: Vec<TaskNode>,
}

impl TaskTree {
    /// Builds the tree of `tasks`.
    fn from_tasks(tasks: Vec<TaskRef>) -> TaskTree {
        let mut nodes: Vec<TaskNode> = tasks
            .into_iter()
            .filter(|t| !t.done())
            .map(|t| TaskNode {
                id: t.id(),
                name: t.get_name(),
                state: t.state(),
                parent: t.parent_id(),
                awaited_by: t.awaited_by(),
            })
            .collect();
        nodes.sort_by_key(|n| n.id);
        TaskTree { nodes }
    }

    /// The tasks, in id (spawn) order.
    pub fn nodes(&self) -> &[TaskNode] {
        &self.nodes
    }

    /// How many tasks.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Writes `node` and its children, indented under `prefix`.
    fn write_node(
        &self,
        f: &mut fmt::Formatter<'_>,
        children: &BTreeMap<TaskId, Vec<usize>>,
        idx: usize,
        prefix: &str,
        last: bool,
    ) -> fmt::Result {
        let n = &self.nodes[idx];
        let branch = if last { "└── " } else { "├── " };
        write!(f, "{prefix}{branch}#{} {:?} [{}]", n.id, n.name, n.state)?;
        if let Some(a) = n.awaited_by {
            write!(f, " awaited by #{a}")?;
        }
        writeln!(f)?;
        let child_prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
        if let Some(kids) = children.get(&n.id) {
            for (i, &k) in kids.iter().enumerate() {
                self.write_node(f, children, k, &child_prefix, i + 1 == kids.len())?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for TaskTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "task tree: {} live task(s)", self.nodes.len())?;
        let ids: BTreeSet<TaskId> = self.nodes.iter().map(|n| n.id).collect();
        let mut children: BTreeMap<TaskId, Vec<usize>> = BTreeMap::new();
        let mut roots = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            match n.parent {
                Some(p) if ids.contains(&p) => children.entry(p).or_default().push(i),
                _ => roots.push(i),
            }
        }
        for (i, &r) in roots.iter().enumerate() {
            self.write_node(f, &children, r, "", i + 1 == roots.len())?;
        }
        Ok(())
    }
}

/// The task tree of the running loop (empty outside a loop).
pub fn task_tree() -> TaskTree {
    TaskTree::from_tasks(running_tasks())
}

/// The task tree of `lp` (call it on the loop's thread; the loop need not be running).
///
/// ```
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// assert!(tower_task::task_tree_of(&lp).is_empty());
/// ```
pub fn task_tree_of(lp: &EventLoop) -> TaskTree {
    TaskTree::from_tasks(loop_tasks(lp))
}

/// Prints the task tree of `lp` to stderr whenever the process receives `signal` (opt-in,
/// through the loop's `add_signal_handler`): for a program that seems stuck,
/// `kill -USR1 <pid>` shows who is waiting on whom.
///
/// ```no_run
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// tower_task::install_task_tree_dump(&lp, 10 /* SIGUSR1 */).unwrap();
/// ```
///
/// # Errors
///
/// [`SignalError`] if the loop refuses the handler (closed loop, uncatchable signal).
pub fn install_task_tree_dump(lp: &EventLoop, signal: i32) -> Result<(), SignalError> {
    lp.add_signal_handler(signal, || eprint!("{}", task_tree()))
}
