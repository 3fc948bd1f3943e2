//! What the multi-thread runtime (`crate::runtime`) needs to spawn through
//! [`spawn_in`](super::spawn::spawn_in) — the same header, wrapper and `Task` handle as
//! [`Builder::spawn`](crate::Builder::spawn), with the runtime's own `async_task` allocation
//! (its schedule function), its own first schedule, the running loop's task factory, and
//! the registry of the worker that spawns (each worker loop lists every worker's registry, so
//! `all_tasks` and the task tree on any worker see every task of the runtime,
//! [`list_runtime_tasks`]). Kept apart from `spawn.rs` so that the single-thread path is not
//! touched.

use std::sync::Arc;

use tower_loop::EventLoop;

use super::factory::TaskFactory;
use super::registry::{Registry, RegistrySet, also_list, own_registry, with_loop};

/// The registry of the worker loop `lp`: the worker registers the `Send` tasks spawned on it
/// there (no lock: it is the registry's owner thread), beside the loop's `spawn_local` tasks.
pub(crate) fn worker_registry(lp: &EventLoop) -> Arc<Registry> {
    own_registry(lp)
}

/// Makes the worker loop `lp` list the tasks of every worker of its runtime (`all_tasks`, the
/// task tree), not only its own.
pub(crate) fn list_runtime_tasks(lp: &EventLoop, set: RegistrySet) {
    also_list(lp, set);
}

/// The task factory of `lp` (the loop running on the spawning thread, if any): a runtime
/// spawn from a worker or `block_on` honours it as a loop spawn does.
pub(crate) fn factory_of(lp: Option<&EventLoop>) -> Option<TaskFactory> {
    lp.and_then(|lp| with_loop(lp, |e| e.factory.clone()))
}
