//! The hook the multi-thread runtime (`crate::runtime`) spawns through: the same header,
//! wrapper and [`Task`] handle as [`Builder::spawn`](crate::Builder::spawn), with the
//! runtime's own `async_task` allocation (its schedule function), its own first schedule, and
//! the runtime's one registry (so `all_tasks` and the task tree on any worker see every task of
//! the runtime: each worker loop adopts that registry, [`adopt_registry`]). Kept apart from
//! `spawn.rs` so that the single-thread path is not touched.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex, OnceLock};

use tower_loop::EventLoop;

use super::handle::Task;
use super::header::{Extra, Header, ST_PENDING, TaskId, TaskRef};
use super::registry::{Registry, with_loop};
use super::spawn::next_id;
use super::wrapper::{TaskFuture, current_id};
use crate::error::TaskError;

/// The registry of `lp` (created on first use), for the runtime to hand to [`Home::Registry`].
pub(crate) fn loop_registry(lp: &EventLoop) -> Arc<Registry> {
    let handle = lp.handle();
    with_loop(lp, &handle, |e| e.registry.clone())
}

/// Makes `registry` the registry of `lp` on this thread: tasks spawned on `lp` are registered
/// there, and `all_tasks`/`task_tree` on `lp` read it. (The loop's own registry, now empty and
/// unused, is closed with the loop as before.)
pub(crate) fn adopt_registry(lp: &EventLoop, registry: Arc<Registry>) {
    let handle = lp.handle();
    let old = with_loop(lp, &handle, |e| {
        std::mem::replace(&mut e.registry, registry)
    });
    drop(old);
}

/// Spawns `future` as a task registered in `registry` (with the task factory of `lp`, the loop
/// running on this thread, if any): `alloc` makes the `async_task` allocation
/// (with the caller's schedule function), `first` schedules it the first time (unless it starts
/// eagerly: `eager`, else the loop's task factory, decides).
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
    A: FnOnce(
        TaskFuture<F>,
    ) -> (
        async_task::Runnable,
        async_task::Task<Result<F::Output, TaskError>>,
    ),
    S: FnOnce(async_task::Runnable),
{
    let parent = match current_id() {
        0 => None,
        id => Some(TaskId(id)),
    };
    let id = next_id();
    let extra = name.map(|n| {
        Box::new(Extra {
            name: Some(Arc::from(n)),
            ..Extra::default()
        })
    });
    let reg = registry.clone();
    let header = registry.insert(move |slot| Header {
        id,
        parent,
        state: AtomicU8::new(ST_PENDING),
        must_cancel: AtomicBool::new(false),
        num_cancels: AtomicU32::new(0),
        awaited_by: AtomicU64::new(0),
        has_callbacks: AtomicBool::new(false),
        detached: AtomicBool::new(false),
        waker: OnceLock::new(),
        extra: Mutex::new(extra),
        registry: reg,
        slot,
    });
    let factory = lp.and_then(|lp| {
        let handle = lp.handle();
        with_loop(lp, &handle, |e| e.factory.clone())
    });
    let eager = eager.unwrap_or_else(|| factory.as_ref().is_some_and(|f| f.eager));
    let task_ref = TaskRef {
        header: header.clone(),
    };
    let (runnable, raw) = alloc(TaskFuture::new(header, future));
    let task = Task::new(raw, task_ref);
    if eager {
        runnable.run();
    } else {
        first(runnable);
    }
    if let Some(hook) = factory.and_then(|f| f.on_spawn) {
        hook(&task);
    }
    task
}
