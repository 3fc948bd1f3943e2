//! The schedule functions of the runtime's tasks: where a task goes when it is woken (or
//! spawned): on one of the runtime's workers, that worker's LIFO slot or local queue; from
//! anywhere else, the injector. And the [`SchedulerLink`] through which a task finds its
//! runtime: a task's schedule function captures nothing, so it reads the link from the
//! registry its header points at.

use async_task::ScheduleInfo;
use tower_loop::AnyRunnable as Runnable;

use super::context::with_current_id;
use super::shared::{Shared, runtime_id};
use super::worker::Worker;
use crate::loom::{Arc, Ordering};
use crate::task::{Header, RemoteScheduler, SchedulerLink, schedule_home};

impl RemoteScheduler for Shared {
    fn push_remote(&self, runnable: async_task::Runnable<Header>) {
        self.schedule_remote(runnable.into());
    }
}

/// The link a worker loop's registry keeps to `shared` (`Registry::scheduler`).
pub(crate) fn link(shared: &Arc<Shared>) -> SchedulerLink {
    // Under loom, whose `Arc` has no `Weak`, an empty link: never made there (the models spawn
    // bare tasks with `model::spawn_raw`, without registries or loops).
    #[cfg(not(loom))]
    let remote: std::sync::Weak<dyn RemoteScheduler> = Arc::<Shared>::downgrade(shared);
    #[cfg(loom)]
    let remote: std::sync::Weak<dyn RemoteScheduler> = std::sync::Weak::<Shared>::new();
    SchedulerLink {
        id: runtime_id(shared),
        remote,
    }
}

/// Schedules `runnable` on the worker of runtime `id` running on this thread, if any: a local
/// push (the LIFO slot for a wake, the back of the queue for a yield). Elsewhere, hands it
/// back.
#[inline]
fn schedule_local<R: Into<Runnable>>(id: usize, runnable: R, info: ScheduleInfo) -> Option<R> {
    let mut runnable = Some(runnable);
    with_current_id(id, |w| {
        // Take the runnable only when there is a worker to give it to.
        if let Some(w) = w {
            if let Some(r) = runnable.take() {
                w.schedule_local(r.into(), info.woken_while_running);
            }
        }
    });
    runnable
}

/// The schedule function of every `Send` task of a runtime (`WithInfo(schedule_task)`). It
/// captures nothing — so async-task takes no extra reference count around each wake-up, as it
/// does for a schedule closure with state — and finds the runtime through the task's header:
/// the registry of the worker loop it was spawned on links to it ([`SchedulerLink`]). On one
/// of the runtime's workers, a local push (an address compare finds it); elsewhere, the
/// injector of the runtime, if it still exists (else the runnable is dropped, and with it
/// the task's future).
pub(crate) fn schedule_task(runnable: async_task::Runnable<Header>, info: ScheduleInfo) {
    let Some(id) = runnable.metadata().registry().scheduler.get().map(|l| l.id) else {
        // Not a worker loop's registry (`spawn_on` never makes such a task): its loop's.
        return schedule_home(runnable);
    };
    if let Some(runnable) = schedule_local(id, runnable, info) {
        schedule_task_remote(runnable);
    }
}

/// The remote path of [`schedule_task`] (out of line: the common case is the local push).
#[cold]
#[inline(never)]
fn schedule_task_remote(runnable: async_task::Runnable<Header>) {
    let scheduler = runnable
        .metadata()
        .registry()
        .scheduler
        .get()
        .and_then(|l| l.remote.upgrade());
    match scheduler {
        Some(scheduler) => scheduler.push_remote(runnable),
        // The runtime is gone (it dropped the task's queues already): dropping the runnable
        // drops the future, as the runtime's shutdown would have.
        None => drop(runnable),
    }
}

/// The schedule function of a task spawned with `model::spawn_raw` (the
/// loom models' bare tasks, which have no header), whose closure holds the runtime: as
/// [`schedule_task`].
#[cfg(loom)]
pub(crate) fn schedule(shared: &Arc<Shared>, runnable: Runnable, info: ScheduleInfo) {
    if let Some(r) = schedule_local(runtime_id(shared), runnable, info) {
        shared.schedule_remote(r);
    }
}

/// Schedules a new task for the first time: the LIFO slot of `worker` (this thread's worker of
/// `shared`, if it is one), else the injector.
pub(crate) fn schedule_first(shared: &Arc<Shared>, worker: Option<&Worker>, runnable: Runnable) {
    match worker {
        Some(w) => {
            w.count_spawn();
            w.schedule_local(runnable, false);
        }
        None => {
            shared.spawned_remote.fetch_add(1, Ordering::Relaxed);
            shared.schedule_remote(runnable);
        }
    }
}
