//! A loop's task options ([`LoopTaskOptions`]): what asyncio's task factory is used for — eager
//! start for every task spawned on the loop, and a hook called with each new task — set with
//! asyncio's `set_task_factory`/`get_task_factory`.
//!
//! tower-loop cannot name the type, so the options live in tier 4's data attached to the loop
//! (`LoopTasks` in `registry.rs`, through `EventLoop::attached`), set and read on the loop's
//! thread.

use std::fmt;
use std::rc::Rc;

use tower_loop::EventLoop;

use super::registry::loop_tasks_of;
use super::task_ref::TaskRef;

/// The hook the options call with each new task.
pub(crate) type SpawnHook = Rc<dyn Fn(&TaskRef)>;

/// What a loop does with each task spawned on it: a configuration, not a factory callable. It
/// takes the place of asyncio's task factory (hence [`set_task_factory`] and
/// [`get_task_factory`], asyncio's names): Rust cannot hand a factory an arbitrary future to
/// wrap, so the options are the choices a factory is used for — eager start, and a hook called
/// with every new task (to name it, count it, log it).
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use tower_loop::EventLoop;
/// use tower_task::{set_task_factory, spawn, LoopTaskOptions};
///
/// let lp = EventLoop::new().unwrap();
/// let spawned = Rc::new(Cell::new(0));
/// let s = spawned.clone();
/// set_task_factory(&lp, Some(LoopTaskOptions::new().eager(true).on_spawn(move |_| s.set(s.get() + 1))));
/// lp.run_until_complete(async {
///     let t = spawn(async { 1 });
///     assert!(t.done()); // eager: completed inside spawn
/// })
/// .unwrap();
/// assert_eq!(spawned.get(), 1);
/// ```
#[doc(alias = "TaskFactory")]
#[derive(Clone, Default)]
pub struct LoopTaskOptions {
    /// Start tasks eagerly.
    pub(crate) eager: bool,
    /// Called with each new task.
    pub(crate) on_spawn: Option<SpawnHook>,
}

impl fmt::Debug for LoopTaskOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopTaskOptions")
            .field("eager", &self.eager)
            .field("on_spawn", &self.on_spawn.is_some())
            .finish()
    }
}

impl LoopTaskOptions {
    /// Options that change nothing.
    pub fn new() -> Self {
        LoopTaskOptions::default()
    }

    /// asyncio's `eager_task_factory`: every task starts running inside `spawn`, up to its
    /// first suspension; one that completes without suspending never touches the ready queue.
    pub fn eager_task_factory() -> Self {
        LoopTaskOptions::new().eager(true)
    }

    /// Whether tasks start eagerly (a [`TaskBuilder::eager`](crate::TaskBuilder::eager) choice wins).
    pub fn eager(mut self, on: bool) -> Self {
        self.eager = on;
        self
    }

    /// Calls `f` with each task spawned on the loop (after it was created, before `spawn`
    /// returns; for an eager task, after its first poll).
    pub fn on_spawn(mut self, f: impl Fn(&TaskRef) + 'static) -> Self {
        self.on_spawn = Some(Rc::new(f));
        self
    }
}

/// Sets (or with `None` removes) the task options of `lp` (asyncio's `loop.set_task_factory`).
/// Call it on the loop's thread.
pub fn set_task_factory(lp: &EventLoop, options: Option<LoopTaskOptions>) {
    let tasks = loop_tasks_of(lp);
    tasks.registry.set_has_options(options.is_some());
    let old = tasks.options.replace(options);
    drop(old);
}

/// The task options of `lp`, if some were set (asyncio's `loop.get_task_factory`).
pub fn get_task_factory(lp: &EventLoop) -> Option<LoopTaskOptions> {
    loop_tasks_of(lp).options.borrow().clone()
}
