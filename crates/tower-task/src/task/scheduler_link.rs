//! What the task core knows of a multi-thread scheduler (the runtime, `runtime/`): the
//! [`SchedulerLink`] a worker loop's registry holds, through which a task's schedule function
//! finds the scheduler from the task's header. The task core defines it and the scheduler fills
//! it in as a worker starts, so the dependency goes one way: the scheduler uses the task core,
//! the task core names nothing of the scheduler.

use std::fmt;
use std::sync::Weak;

use async_task::Runnable;

use super::header::Header;

/// A scheduler as a wake-up from a thread that is none of its workers reaches it (the rare path
/// of a wake-up: on a worker, the scheduler pushes onto that worker's own queues).
pub(crate) trait RemoteScheduler: Send + Sync {
    /// Queues `runnable` where a worker will take it, or drops it (and with it the task's
    /// future) if the scheduler is shutting down.
    fn push_remote(&self, runnable: Runnable<Header>);
}

/// How the tasks of a worker loop's registry find their scheduler (`Registry::scheduler`, set
/// once as the worker starts, before any task is registered there).
pub(crate) struct SchedulerLink {
    /// The scheduler's identity (the address of its shared state): the scheduler compares it
    /// with that of the worker running on this thread, if any, to push a wake-up locally.
    /// Never dereferenced.
    pub(crate) id: usize,
    /// The scheduler, for wake-ups from other threads. Weak: the scheduler owns the registries
    /// that hold this link, and a task may outlive the scheduler (its wake-up then drops the
    /// runnable, as the scheduler's shutdown would have).
    pub(crate) remote: Weak<dyn RemoteScheduler>,
}

impl fmt::Debug for SchedulerLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchedulerLink")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
