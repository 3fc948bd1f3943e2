//! The hook the multi-thread runtime (`crate::runtime`) spawns through: the same header,
//! wrapper and [`Task`] handle as [`Builder::spawn`](crate::Builder::spawn), with the
//! runtime's own `async_task` allocation (its schedule function), its own first schedule, and
//! the runtime's one registry (so `all_tasks` and the task tree on any worker see every task of
//! the runtime: each worker loop adopts that registry, [`adopt_registry`]). Kept apart from
//! `spawn.rs` so that the single-thread path is not touched.

use std::future::Future;
use std::sync::Arc;

use async_task::Runnable;
use tower_loop::EventLoop;

use super::handle::Task;
use super::header::Header;
use super::registry::{Registry, also_list, shared_registry, with_loop};
use super::spawn::{RawTask, spawn_in};
use super::wrapper::Unbound;

/// The runtime's registry, on its first worker's loop `lp` (see [`shared_registry`]).
pub(crate) fn loop_registry(lp: &EventLoop) -> Arc<Registry> {
    shared_registry(lp)
}

/// Makes the worker loop `lp` list the runtime's tasks (`all_tasks`, the task tree) beside
/// its own `spawn_local` tasks, which stay in its own registry (their schedule function finds
/// their loop there).
pub(crate) fn adopt_registry(lp: &EventLoop, registry: Arc<Registry>) {
    also_list(lp, registry);
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
