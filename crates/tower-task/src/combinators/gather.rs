//! `gather`, `gather_settled` and `try_gather`: run futures as tasks and collect their outputs in
//! input order (asyncio's `gather(*aws, return_exceptions=...)`).
//!
//! As asyncio does, each future is spawned as a task on the running loop when `gather` is
//! called, so they run concurrently whether or not the gather is awaited yet (a gather made
//! where no loop runs, e.g. for `run_until_complete`, spawns them at its first poll).
//!
//! - Without `return_exceptions` ([`gather`], [`try_gather`]) the first failure is returned as
//!   soon as it is seen, and — as in asyncio — **the other tasks are not cancelled**: they are
//!   detached and run on (cancel them yourself, or use a [`TaskGroup`](crate::TaskGroup) for
//!   fail-fast semantics).
//! - With it ([`gather_settled`]) every outcome is returned, failures included, once all are
//!   done.
//!
//! # Cancellation (asyncio's `_GatheringFuture`)
//!
//! A gather is a cancellation-aware await (`tower_coro::cancel`). When the task awaiting it is
//! cancelled, the gather cancels every child still running with the same message and *keeps
//! waiting* until every child is done — their cleanup, awaits included, runs first — and then
//! raises the cancellation out of the `.await` (to the nearest
//! [`catch_cancel`](crate::catch_cancel), or the awaiting task ends cancelled). It does so
//! whatever the children did with their own cancellation, and for all three gathers alike
//! (asyncio's issue 32684: `return_exceptions=True` does not swallow the cancellation): a
//! child that caught it and returned a value does not turn the awaiter's cancellation into a
//! result. One thing wins over the cancellation: a child that panicked is returned as
//! [`gather`]'s or [`try_gather`]'s failure (errors raised during a cancellation are not lost);
//! [`gather_settled`] raises the cancellation and reports such panics to the loop's exception
//! handler.
//!
//! A child cancelled by someone else, not through the gather, is an outcome like any other:
//! `Err(TaskError::Cancelled)` in [`gather_settled`]'s list, the failure of [`gather`].
//!
//! Dropping a gather before it completed (a hard cancel: a `select` whose other side won, a
//! task cancelled before its first poll reached the gather, a loop that closed) cancels every
//! child still running; it cannot wait for them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower_coro::cancel;
use tower_loop::{ContextKind, ExceptionContext};

use super::error::GatherError;
use super::set::FutureSet;
use crate::error::{Cancelled, TaskError};
use crate::{Task, TaskRef, spawn};

/// Message given to the children of a gather dropped before it completed.
const CANCEL_MSG: &str = "the gather awaiting this task was cancelled";

/// What the shared engine reports.
enum Step<T> {
    /// A child's outcome made the gather stop early.
    Stop(Result<T, TaskError>),
    /// Every child is done; outcomes in input order.
    All(Vec<Result<T, TaskError>>),
    /// The awaiter was cancelled, the gather cancelled its children, and every child is done
    /// now: the cancellation to raise, and the outcomes in input order.
    Cancelled(Cancelled, Vec<Result<T, TaskError>>),
}

/// A child's handle, polled for its outcome without taking part in cancellation delivery
/// (`Task::poll_output`): the gather decides what its awaiter's cancellation does to it.
struct Child<T>(Task<T>);

impl<T> Future for Child<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().0.poll_output(cx)
    }
}

/// A future waiting to be spawned (a gather made outside a running loop).
type Deferred<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The engine shared by the three gathers: the children's tasks, polled on their own wake-ups.
struct Core<T> {
    /// Futures not spawned yet: a gather made where no loop runs spawns them at its first poll.
    deferred: Vec<Deferred<T>>,
    /// The children's handles, polled for their outcomes.
    set: FutureSet<Child<T>>,
    /// Their untyped handles, to cancel them (the awaiter's cancellation, or a drop before
    /// completion).
    refs: Vec<TaskRef>,
    /// Outcomes so far, by input index.
    results: Vec<Option<Result<T, TaskError>>>,
    /// The cancellation of the awaiter that the gather passed on to its children (asyncio's
    /// `_cancel_requested`), raised once every child is done.
    cancelling: Option<Cancelled>,
    /// Whether the gather has returned or raised (then dropping it cancels nothing).
    done: bool,
}

impl<T: Send + 'static> Core<T> {
    /// Spawns every future in `futs` (at the first poll if no loop runs now).
    fn spawn<I>(futs: I) -> Self
    where
        I: IntoIterator,
        I::Item: Future<Output = T> + Send + 'static,
    {
        let mut core = Core {
            deferred: Vec::new(),
            set: FutureSet::new(),
            refs: Vec::new(),
            results: Vec::new(),
            cancelling: None,
            done: false,
        };
        if tower_loop::get_running_loop().is_ok() {
            for f in futs {
                core.push(spawn(f));
            }
        } else {
            core.deferred = futs
                .into_iter()
                .map(|f| Box::pin(f) as Deferred<T>)
                .collect();
        }
        core
    }

    /// Adds a spawned child.
    fn push(&mut self, t: Task<T>) {
        self.refs.push(t.task_ref().clone());
        self.set.push(Child(t));
        self.results.push(None);
    }

    /// Spawns the deferred futures (first poll of a gather made outside a loop).
    fn spawn_deferred(&mut self) {
        if !self.deferred.is_empty() {
            for f in std::mem::take(&mut self.deferred) {
                self.push(spawn(f));
            }
        }
    }
}

impl<T> Core<T> {
    /// Polls the children; stops at the first outcome `stop` accepts, unless the awaiter was
    /// cancelled (then it waits for every child). Takes a cancellation request on entry and
    /// passes it on to the children; records an aware suspension whenever it is pending.
    fn poll_step(
        &mut self,
        cx: &mut Context<'_>,
        stop: impl Fn(&Result<T, TaskError>) -> bool,
    ) -> Poll<Step<T>> {
        if self.done {
            return self.polled_again();
        }
        if let Some(c) = cancel::take() {
            self.cancel_children(&c);
            self.cancelling = Some(c);
        }
        let cancelling = self.cancelling.is_some();
        let mut stopped = None;
        let results = &mut self.results;
        let _ = self.set.poll_each(cx, |i, out| {
            if !cancelling && stop(&out) {
                stopped = Some(out);
                false
            } else {
                results[i] = Some(out);
                true
            }
        });
        if let Some(out) = stopped {
            self.done = true;
            return Poll::Ready(Step::Stop(out));
        }
        if !self.set.is_empty() {
            cancel::suspended_aware();
            return Poll::Pending;
        }
        self.done = true;
        let all = std::mem::take(&mut self.results)
            .into_iter()
            .map(|r| r.expect("every child is done"))
            .collect();
        Poll::Ready(match &self.cancelling {
            Some(c) => Step::Cancelled(c.clone(), all),
            None => Step::All(all),
        })
    }

    /// The awaiter is being cancelled (asyncio's `_GatheringFuture.cancel`): cancels every
    /// child still running with the request's message; the gather then waits for them all.
    /// A second request cancels those still running again (their counts go up, as asyncio's).
    #[cold]
    #[inline(never)]
    fn cancel_children(&self, c: &Cancelled) {
        for t in &self.refs {
            t.cancel_opt(c.message());
        }
    }

    /// Polled after it completed. After it raised its cancellation, the raise goes on (a
    /// combinator around it that does not know about cancellation may poll it once more);
    /// anything else is a misuse.
    #[cold]
    #[inline(never)]
    fn polled_again(&self) -> Poll<Step<T>> {
        match &self.cancelling {
            Some(c) => {
                cancel::raise(c.clone());
                Poll::Pending
            }
            None => panic!("gather polled after it completed"),
        }
    }
}

/// Raises `c` out of the gather's poll (the gather then counts as completed).
fn raise<O>(c: Cancelled) -> Poll<O> {
    cancel::raise(c);
    Poll::Pending
}

/// The first panic among `all` (input order), if any; the later ones are reported to the
/// loop's exception handler so that none is lost.
fn first_panic<T>(all: Vec<Result<T, TaskError>>) -> Option<TaskError> {
    let mut first = None;
    for r in all {
        if let Err(e @ TaskError::Panicked(_)) = r {
            if first.is_none() {
                first = Some(e);
            } else {
                report_panic(&e);
            }
        }
    }
    first
}

/// Reports to the loop's exception handler a child's panic that a cancelled gather does not
/// return (asyncio's "exception was never retrieved"; nothing raised during a cancellation is
/// lost).
#[cold]
fn report_panic(e: &TaskError) {
    let TaskError::Panicked(p) = e else { return };
    if let Ok(lp) = tower_loop::get_running_loop() {
        let mut ctx = ExceptionContext::new(format!(
            "a task gathered by a cancelled gather panicked: {}",
            p.message()
        ));
        ctx.kind = ContextKind::Panic;
        ctx.source = Some("a gather's child");
        lp.call_exception_handler(&ctx);
    }
}

impl<T> Drop for Core<T> {
    fn drop(&mut self) {
        if !self.done {
            for t in &self.refs {
                t.cancel_with(CANCEL_MSG);
            }
        }
    }
}

/// Runs every future as a task and returns their outputs in input order (asyncio's
/// `gather(*aws)`); the first task that is cancelled or panics ends the gather with its
/// [`TaskError`], *without* cancelling the others.
///
/// For futures returning `Result`, [`try_gather`] also stops at the first `Err`; to get every
/// outcome, [`gather_settled`].
///
/// # Cancellation
///
/// As asyncio's gather: when the task awaiting it is cancelled, every child still running is
/// cancelled with the same message, the gather waits until *all* of them are done (their
/// cleanup runs first, awaits included), then raises the cancellation out of the `.await` — to
/// the nearest [`catch_cancel`](crate::catch_cancel), or the awaiting task ends cancelled —
/// even if some children caught their cancellation and returned values. A child that panicked
/// wins over the cancellation: the gather returns that failure. A child cancelled by someone
/// else (not through the gather) is a failure like any other.
///
/// ```
/// use std::time::Duration;
/// use tower_task::{catch_cancel, gather, reraise, run, sleep, spawn};
///
/// run(async {
///     let awaiter = spawn(async {
///         gather([1, 2].map(|_| async {
///             if let Err(c) = catch_cancel(sleep(Duration::from_secs(3600))).await {
///                 sleep(Duration::from_millis(1)).await; // cleanup that awaits
///                 reraise::<()>(c).await;
///             }
///         }))
///         .await
///     });
///     sleep(Duration::from_millis(1)).await;
///     awaiter.cancel_with("enough");
///     // Resolves only once both children finished their cleanup.
///     assert!(awaiter.await.unwrap_err().is_cancelled());
/// })
/// .unwrap();
/// ```
///
/// # Cancel safety
///
/// Dropping the [`Gather`] before it completed (a hard cancel) cancels every task still
/// running, without waiting for them. After an early `Err`, the tasks still running are
/// detached and run on.
///
/// # Panics
///
/// If it is polled where no tower event loop runs (made outside a loop, it spawns the futures
/// at its first poll instead of at once).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_loop::EventLoop;
/// use tower_task::{gather, sleep};
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// let out = lp
///     .run_until_complete(async {
///         gather([3u64, 1, 2].map(|s| async move {
///             sleep(Duration::from_secs(s)).await;
///             s * 10
///         }))
///         .await
///     })
///     .unwrap();
/// assert_eq!(out.unwrap(), [30, 10, 20]); // input order, not completion order
/// ```
pub fn gather<I>(futures: I) -> Gather<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future + Send + 'static,
    <I::Item as Future>::Output: Send + 'static,
{
    Gather {
        core: Core::spawn(futures),
    }
}

/// The future of [`gather`].
///
/// # Cancel safety
///
/// Dropping it before it completed cancels every task still running, without waiting for them
/// (awaited, it waits: see the function's `# Cancellation`).
///
/// # Examples
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::{gather, Gather};
///
/// let lp = EventLoop::new().unwrap();
/// let v = lp.run_until_complete(async {
///     let g: Gather<u8> = gather([1, 2].map(|i| async move { i }));
///     g.await
/// });
/// assert_eq!(v.unwrap().unwrap(), [1, 2]);
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them (the tasks run regardless)"]
pub struct Gather<T> {
    /// The engine.
    core: Core<T>,
}

impl<T> fmt::Debug for Gather<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("tasks", &self.core.refs.len())
            .field("pending", &self.core.set.len())
            .finish()
    }
}

impl<T> Gather<T> {
    /// The children's handles, in input order (empty until the first poll if it was made where
    /// no loop runs): to cancel the others yourself after an early failure, or one child.
    pub fn task_refs(&self) -> &[TaskRef] {
        &self.core.refs
    }
}

impl<T> Unpin for Gather<T> {}

impl<T: Send + 'static> Future for Gather<T> {
    type Output = Result<Vec<T>, TaskError>;

    /// # Panics
    ///
    /// If polled again after it completed.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.core.spawn_deferred();
        match this.core.poll_step(cx, Result::is_err) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Step::Stop(out)) => Poll::Ready(out.map(|_| Vec::new())),
            Poll::Ready(Step::All(all)) => Poll::Ready(all.into_iter().collect()),
            Poll::Ready(Step::Cancelled(c, all)) => match first_panic(all) {
                Some(e) => Poll::Ready(Err(e)),
                None => raise(c),
            },
        }
    }
}

/// Runs every future as a task and returns every outcome in input order once all are done,
/// failures included (asyncio's `gather(*aws, return_exceptions=True)`).
///
/// # Cancellation
///
/// As [`gather`]'s: cancelling the awaiting task cancels every child still running, waits
/// for all, then raises the cancellation — not a list of outcomes, whatever the children did
/// (asyncio's issue 32684: `return_exceptions` does not swallow the awaiter's cancellation).
/// A child's panic seen then is reported to the loop's exception handler. A child cancelled by
/// someone else is an `Err(TaskError::Cancelled)` in the list.
///
/// # Cancel safety
///
/// Dropping the [`GatherSettled`] before it completed (a hard cancel) cancels every task still
/// running, without waiting for them.
///
/// # Panics
///
/// If it is polled where no tower event loop runs.
///
/// # Examples
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::gather_settled;
///
/// let lp = EventLoop::new().unwrap();
/// let out = lp
///     .run_until_complete(gather_settled([
///         Box::pin(async { 1 }) as std::pin::Pin<Box<dyn Future<Output = i32> + Send>>,
///         Box::pin(async { if true { panic!("boom") } else { 2 } }),
///     ]))
///     .unwrap();
/// assert_eq!(*out[0].as_ref().unwrap(), 1);
/// assert!(out[1].as_ref().unwrap_err().is_panic());
/// ```
pub fn gather_settled<I>(futures: I) -> GatherSettled<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future + Send + 'static,
    <I::Item as Future>::Output: Send + 'static,
{
    GatherSettled {
        core: Core::spawn(futures),
    }
}

/// The future of [`gather_settled`].
///
/// # Cancel safety
///
/// Dropping it before it completed cancels every task still running, without waiting for them
/// (awaited, it waits: see the function's `# Cancellation`).
///
/// # Examples
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::{gather_settled, GatherSettled};
///
/// let lp = EventLoop::new().unwrap();
/// let out = lp.run_until_complete(async {
///     let g: GatherSettled<u8> = gather_settled([async { 1 }]);
///     g.await
/// });
/// assert_eq!(out.unwrap()[0].as_ref().unwrap(), &1);
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them (the tasks run regardless)"]
pub struct GatherSettled<T> {
    /// The engine.
    core: Core<T>,
}

impl<T> fmt::Debug for GatherSettled<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherSettled")
            .field("tasks", &self.core.refs.len())
            .field("pending", &self.core.set.len())
            .finish()
    }
}

impl<T> GatherSettled<T> {
    /// The children's handles, in input order (empty until the first poll if it was made where
    /// no loop runs): to cancel the others yourself after an early failure, or one child.
    pub fn task_refs(&self) -> &[TaskRef] {
        &self.core.refs
    }
}

impl<T> Unpin for GatherSettled<T> {}

impl<T: Send + 'static> Future for GatherSettled<T> {
    type Output = Vec<Result<T, TaskError>>;

    /// # Panics
    ///
    /// If polled again after it completed.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.core.spawn_deferred();
        match this.core.poll_step(cx, |_| false) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Step::Stop(_)) => unreachable!("gather_settled never stops early"),
            Poll::Ready(Step::All(all)) => Poll::Ready(all),
            Poll::Ready(Step::Cancelled(c, all)) => {
                for e in all.iter().filter_map(|r| r.as_ref().err()) {
                    report_panic(e);
                }
                raise(c)
            }
        }
    }
}

/// [`gather`] for futures returning `Result`: the values in input order, or the first failure —
/// a child's `Err(e)` ([`GatherError::Failed`]) or a task cancelled or panicked
/// ([`GatherError::Task`]) — as soon as it is seen, *without* cancelling the others.
///
/// # Cancellation
///
/// As [`gather`]'s: cancelling the awaiting task cancels every child still running, waits for
/// all, then raises the cancellation. A child that returned `Err(e)` meanwhile is an outcome
/// the cancellation wins over; a child that panicked is returned as
/// `GatherError::Task(TaskError::Panicked(_))`.
///
/// # Cancel safety
///
/// Dropping the [`TryGather`] before it completed (a hard cancel) cancels every task still
/// running, without waiting for them. After an early `Err`, the tasks still running are
/// detached and run on.
///
/// # Panics
///
/// If it is polled where no tower event loop runs.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_loop::EventLoop;
/// use tower_task::{error::GatherError, sleep, try_gather};
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// let out = lp
///     .run_until_complete(try_gather([1u64, 2, 3].map(|s| async move {
///         sleep(Duration::from_secs(s)).await;
///         if s == 2 { Err("two") } else { Ok(s) }
///     })))
///     .unwrap();
/// assert!(matches!(out, Err(GatherError::Failed("two"))));
/// ```
pub fn try_gather<I, T, E>(futures: I) -> TryGather<T, E>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    TryGather {
        core: Core::spawn(futures),
    }
}

/// The future of [`try_gather`].
///
/// # Cancel safety
///
/// Dropping it before it completed cancels every task still running, without waiting for them
/// (awaited, it waits: see the function's `# Cancellation`).
///
/// # Examples
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::{try_gather, TryGather};
///
/// let lp = EventLoop::new().unwrap();
/// let out = lp.run_until_complete(async {
///     let g: TryGather<u8, ()> = try_gather([1, 2].map(|i| async move { Ok(i) }));
///     g.await
/// });
/// assert_eq!(out.unwrap().unwrap(), [1, 2]);
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them (the tasks run regardless)"]
pub struct TryGather<T, E> {
    /// The engine.
    core: Core<Result<T, E>>,
}

impl<T, E> fmt::Debug for TryGather<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGather")
            .field("tasks", &self.core.refs.len())
            .field("pending", &self.core.set.len())
            .finish()
    }
}

impl<T, E> TryGather<T, E> {
    /// The children's handles, in input order (empty until the first poll if it was made where
    /// no loop runs): to cancel the others yourself after an early failure, or one child.
    pub fn task_refs(&self) -> &[TaskRef] {
        &self.core.refs
    }
}

impl<T, E> Unpin for TryGather<T, E> {}

impl<T: Send + 'static, E: Send + 'static> Future for TryGather<T, E> {
    type Output = Result<Vec<T>, GatherError<E>>;

    /// # Panics
    ///
    /// If polled again after it completed.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.core.spawn_deferred();
        let failed = |r: &Result<Result<T, E>, TaskError>| !matches!(r, Ok(Ok(_)));
        match this.core.poll_step(cx, failed) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Step::Stop(Err(e))) => Poll::Ready(Err(GatherError::Task(e))),
            Poll::Ready(Step::Stop(Ok(Err(e)))) => Poll::Ready(Err(GatherError::Failed(e))),
            Poll::Ready(Step::Stop(Ok(Ok(_)))) => unreachable!("only failures stop a try_gather"),
            Poll::Ready(Step::Cancelled(c, all)) => match first_panic(all) {
                Some(e) => Poll::Ready(Err(GatherError::Task(e))),
                None => raise(c),
            },
            Poll::Ready(Step::All(all)) => Poll::Ready(
                all.into_iter()
                    .map(|r| match r {
                        Ok(Ok(v)) => Ok(v),
                        Ok(Err(e)) => Err(GatherError::Failed(e)),
                        Err(e) => Err(GatherError::Task(e)),
                    })
                    .collect(),
            ),
        }
    }
}
