//! Spawning onto a runtime: [`spawn_on`], the path of every `Send` task of a runtime (what
//! [`RuntimeHandle::spawn`](super::RuntimeHandle::spawn) and, inside a runtime,
//! `tower_task::spawn` come to), and [`spawn_local`], a `!Send` task on this thread's loop.

use std::future::Future;

use async_task::WithInfo;

use super::context::with_current;
use super::error::ContextError;
use super::schedule::{schedule_first, schedule_task};
use super::shared::Shared;
use crate::Task;
use crate::loom::Arc;
use crate::task::{get_task_factory, schedule_home, spawn_in, spawn_on_loop};

/// The spawn path of every `Send` task: one `async_task` allocation (the task core's wrapper
/// around the future, with the runtime's schedule function, which captures nothing) plus the
/// task's header, then a local push on a worker of `shared`, or the injector. The current
/// worker is found by a compare of a thread-local (`context::with_current`), once for the
/// registry and once for the first schedule.
pub(crate) fn spawn_on<F>(
    shared: &Arc<Shared>,
    name: Option<String>,
    eager: Option<bool>,
    future: F,
) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // The spawning worker's registry (its owner thread: no lock), and whether its loop has a
    // task options.
    let own = with_current(shared, |w| {
        w.and_then(|w| w.registry.as_ref())
            .map(|r| (r.clone(), r.has_options()))
    });
    let (registry, own_options) = match own {
        Some((r, has_options)) => (r, has_options),
        // Not on a worker of `shared`: the first worker's registry.
        None => match shared.registries.iter().find_map(|r| r.get().cloned()) {
            Some(r) => (r, true),
            None => no_registry(),
        },
    };
    // The running loop's task options. On a worker the running loop is the worker's (one loop
    // runs per thread), whose registry says whether it has one: most spawns skip the lookup.
    let options = if own_options {
        tower_loop::with_running_loop(get_task_factory)
            .ok()
            .flatten()
    } else {
        None
    };
    spawn_in(
        name,
        eager,
        options,
        registry,
        future,
        |builder, unbound| builder.spawn(move |h| unbound.bind(h), WithInfo(schedule_task)),
        // Looked up again (a compare of a thread-local): spawning may have run user code (a
        // task options' hook, an eager first poll).
        |r| with_current(shared, |w| schedule_first(shared, w, r.into())),
    )
}

/// Every worker sets its registry before `build` returns; only the loom models (which spawn
/// with `model::spawn_raw`) run without.
#[cold]
fn no_registry() -> ! {
    unreachable!("tower_task::runtime: a runtime without worker loops")
}

/// Spawns a `!Send` task on the event loop running on this thread (a runtime worker's, or
/// `block_on`'s): it is polled only on this thread, through the loop's own ready queue.
///
/// # Errors
///
/// [`ContextError::NoRunningLoop`] if no event loop runs on this thread.
///
/// ```
/// use std::rc::Rc;
/// use tower_task::runtime::{spawn_local, RuntimeBuilder};
///
/// let rt = RuntimeBuilder::new().worker_threads(1).build().unwrap();
/// let out = rt.block_on(async {
///     let shared = Rc::new(21); // not Send
///     let s = shared.clone();
///     spawn_local(async move { *s * 2 }).unwrap().await.unwrap()
/// });
/// assert_eq!(out.unwrap(), 42);
/// ```
pub fn spawn_local<F>(future: F) -> Result<Task<F::Output>, ContextError>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_on_loop(None, None, future, |builder, unbound| {
        builder.spawn_local(move |h| unbound.bind(h), schedule_home)
    })
    .map_err(|_| ContextError::NoRunningLoop)
}
