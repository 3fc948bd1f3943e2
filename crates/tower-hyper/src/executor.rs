//! hyper's `Executor` on tower tasks: [`TowerExecutor`] for `Send` futures (the running loop,
//! or the multi-thread runtime's workers), [`LocalExecutor`] for `!Send` ones on one loop.
//!
//! hyper spawns a connection's background work with them (HTTP/2 streams and its connection
//! task; the client's pooled connections). The spawned task is detached (its handle is dropped,
//! ARCHITECTURE.md rule 5): it runs to its end, or until its loop or runtime closes.

use std::fmt;
use std::future::Future;

use crate::RuntimeHandle;

/// Spawns `Send` futures as tower tasks: on the running loop, or, inside a multi-thread
/// runtime (on a worker, or in `block_on`), on the runtime's work-stealing queues, as
/// [`tower_task::spawn`] does; or on the runtime of a [`RuntimeHandle`] from any thread
/// ([`on_runtime`](Self::on_runtime)).
///
/// ```
/// use hyper::rt::Executor;
/// use tower_hyper::TowerExecutor;
/// use tower_task::runtime::RuntimeBuilder;
///
/// let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
/// let (tx, rx) = std::sync::mpsc::channel();
/// TowerExecutor::on_runtime(rt.handle().clone()).execute(async move { tx.send(7).unwrap() });
/// assert_eq!(rx.recv().unwrap(), 7);
/// ```
#[derive(Clone, Default)]
pub struct TowerExecutor {
    /// Where to spawn; `None`: where `tower_task::spawn` would.
    runtime: Option<RuntimeHandle>,
}

impl TowerExecutor {
    /// Spawns where [`tower_task::spawn`] would, at the time of each spawn.
    pub fn new() -> TowerExecutor {
        TowerExecutor { runtime: None }
    }

    /// Spawns on the multi-thread runtime of `handle`, from any thread.
    pub fn on_runtime(handle: RuntimeHandle) -> TowerExecutor {
        TowerExecutor {
            runtime: Some(handle),
        }
    }
}

impl fmt::Debug for TowerExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TowerExecutor")
            .field("on_runtime", &self.runtime.is_some())
            .finish()
    }
}

impl<F> hyper::rt::Executor<F> for TowerExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// # Panics
    ///
    /// Without a runtime handle, if no tower loop runs on this thread (hyper spawns from inside
    /// the connection it drives, so it does).
    fn execute(&self, fut: F) {
        match &self.runtime {
            Some(rt) => drop(rt.spawn(fut)),
            None => drop(tower_task::spawn(fut)),
        }
    }
}

/// Spawns `!Send` futures as tasks on the running loop ([`tower_task::spawn_local`]): hyper on
/// one loop, with `Rc` state in its services (HTTP/2 included).
///
/// ```
/// use hyper::rt::Executor;
/// use std::rc::Rc;
/// use tower_hyper::LocalExecutor;
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// let v = lp.run_until_complete(async {
///     let shared = Rc::new(std::cell::Cell::new(0));
///     let s = shared.clone();
///     LocalExecutor::new().execute(async move { s.set(5) });
///     tower_coro::yield_now().await;
///     tower_coro::yield_now().await;
///     shared.get()
/// });
/// assert_eq!(v.unwrap(), 5);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalExecutor {
    /// Not `Send`: it spawns on the loop of the thread it is used on.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl LocalExecutor {
    /// An executor for the running loop (the loop of whichever thread spawns).
    pub fn new() -> LocalExecutor {
        LocalExecutor::default()
    }
}

impl<F> hyper::rt::Executor<F> for LocalExecutor
where
    F: Future + 'static,
{
    /// # Panics
    ///
    /// If no tower loop runs on this thread.
    fn execute(&self, fut: F) {
        drop(tower_task::spawn_local(fut));
    }
}
