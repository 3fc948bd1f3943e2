//! The hook the multi-thread runtime (`crate::runtime`) spawns through: the same header,
//! wrapper and [`Task`] handle as [`Builder::spawn`](crate::Builder::spawn), with the
//! runtime's own `async_task` allocation (its schedule function), its own first schedule, and
//! the registry of the worker that spawns (each worker loop lists every worker's registry, so
//! `all_tasks` and the task tree on any worker see every task of the runtime,
//! [`list_runtime_tasks`]). Kept apart from `spawn.rs` so that the single-thread path is not
//! touched.

use std::future::Future;
use std::sync::Arc;

use async_task::Runnable;
use tower_loop::EventLoop;

use super::handle::Task;
use super::header::Header;
use super::registry::{Registry, RegistrySet, also_list, own_registry, with_loop};
use super::spawn::{RawTask, spawn_in};
use super::wrapper::Unbound;

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

/// Spawns `future` as a task registered in `registry` (with the task factory of `lp`, the loop
/// running on this thread, if any): `alloc` makes the `async_task` allocation (with the
/// caller's schedule function; see [`spawn_in`]), `first` schedules it the first time (unless
/// it starts eagerly: `eager`, else the loop's task factory, decides).
pub(crate) fn spawn_hooked<F, A, S>(
    name: Option<String>,
    eager: Option<bool>,
    lp: Option<&EventLoop>,
    registry: Arc<Registry>,
    future: F,
    alloc: A,
    first: S,
) -> Task<F::Output>
where
    F: Future,
    A: FnOnce(async_task::Builder<Header>, Unbound<F>) -> (Runnable<Header>, RawTask<F::Output>),
    S: FnOnce(Runnable<Header>),
{
    let factory = lp.and_then(|lp| with_loop(lp, |e| e.factory.clone()));
    spawn_in(name, eager, factory, registry, future, alloc, first)
}
