//! `wait`: wait for some or all of several tasks, optionally with a timeout, and get them back
//! split into done and pending (asyncio's `wait(fs, timeout=None, return_when=ALL_COMPLETED)`).
//!
//! The tasks are not consumed: both lists hold the same handles, done ones with their outcome
//! still inside ([`Task::result`] takes it, or await it: it is ready). Nothing is cancelled,
//! neither on timeout nor when the [`Wait`] is dropped. Completion is learnt through done
//! callbacks (asyncio does the same), which hold only a weak reference to the waiter.
//!
//! Cancellation, as asyncio's `wait`: when the task awaiting a [`Wait`] is cancelled, the
//! cancellation is raised at the `.await` at once (it takes the request on entry and raises
//! it, so a [`catch_cancel`](crate::catch_cancel) around it catches it) and the tasks are not
//! told: they run on.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tower_coro::poison_free::Mutex;
use tower_loop::Timer;

use super::timeout::timer_after;
use crate::{Task, TaskState};

/// When [`wait`] returns (asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`).
///
/// ```
/// use tower_task::ReturnWhen;
///
/// assert_eq!(ReturnWhen::default(), ReturnWhen::AllCompleted);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReturnWhen {
    /// As soon as any task is done (finished, cancelled or panicked).
    FirstCompleted,
    /// As soon as any task panicked ("raised"); if none does, when all are done. A task that
    /// *returns* an `Err` value completed normally, as a coroutine returning an error object
    /// does in asyncio; a cancelled task is not an exception either.
    FirstException,
    /// When every task is done.
    #[default]
    AllCompleted,
}

/// What the done callbacks share with the [`Wait`].
#[derive(Debug, Default)]
struct Progress {
    /// Tasks seen done.
    done: usize,
    /// Whether one of them panicked.
    exception: bool,
    /// The waiter's waker.
    waker: Option<Waker>,
}

/// Waits for the `tasks` as `return_when` says, or until `timeout` passes, and returns them as
/// `(done, pending)`, each in input order (asyncio's `wait`). An empty input returns at once.
///
/// # Cancellation
///
/// As asyncio's `wait`, it does not cancel the tasks when the task awaiting it is cancelled:
/// the cancellation is raised at the `.await` at once and the tasks run on. To keep their
/// handles, catch it around a borrowed `Wait` and take them back with [`Wait::into_tasks`]:
///
/// ```
/// use std::time::Duration;
/// use tower_task::{catch_cancel, run, sleep, spawn, wait, ReturnWhen};
///
/// run(async {
///     let awaiter = spawn(async {
///         let job = spawn(async { sleep(Duration::from_secs(5)).await; "finished" });
///         let mut w = wait(vec![job], ReturnWhen::AllCompleted, None);
///         let caught = catch_cancel(&mut w).await;
///         assert!(caught.is_err()); // cancelled at once, the job untouched...
///         let job = w.into_tasks().pop().unwrap();
///         job.await.unwrap() // ...and still there to await
///     });
///     sleep(Duration::from_secs(1)).await;
///     awaiter.cancel();
///     assert_eq!(awaiter.await.unwrap(), "finished");
/// })
/// .unwrap();
/// ```
///
/// # Cancel safety
///
/// Cancel-safe: dropping the [`Wait`] drops the task handles, which detaches the tasks; nothing
/// is lost but the handles (to keep them, see `# Cancellation` above).
///
/// # Panics
///
/// Polling it where no tower event loop runs panics if a `timeout` is given.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_loop::EventLoop;
/// use tower_task::{sleep, spawn, wait, ReturnWhen};
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// lp.run_until_complete(async {
///     let tasks: Vec<_> = [1u64, 5, 9]
///         .map(|s| spawn(async move { sleep(Duration::from_secs(s)).await; s }))
///         .into();
///     let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted, None).await;
///     assert_eq!((done.len(), pending.len()), (1, 2));
///     let two = Some(Duration::from_secs(2));
///     let (done, pending) = wait(pending, ReturnWhen::AllCompleted, two).await;
///     assert_eq!((done.len(), pending.len()), (0, 2)); // timed out; nothing cancelled
///     for t in pending { t.cancel(); }
/// })
/// .unwrap();
/// ```
pub fn wait<T, I>(tasks: I, return_when: ReturnWhen, timeout: Option<Duration>) -> Wait<T>
where
    I: IntoIterator<Item = Task<T>>,
{
    Wait {
        tasks: tasks.into_iter().collect(),
        return_when,
        timer: timeout.map(timer_after),
        progress: None,
        done: false,
    }
}

/// The future of [`wait`]: `(done, pending)`.
///
/// # Cancellation
///
/// Cancelling the task awaiting it raises the cancellation at the `.await` at once; the tasks
/// are not told (see [`wait`]).
///
/// # Cancel safety
///
/// Dropping it detaches the tasks it holds; it cancels nothing.
///
/// # Panics
///
/// If polled again after it completed.
///
/// # Examples
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::{spawn, wait, ReturnWhen, Wait};
///
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     let w: Wait<u8> = wait(vec![spawn(async { 1 })], ReturnWhen::AllCompleted, None);
///     let (mut done, pending) = w.await;
///     assert!(pending.is_empty());
///     assert_eq!(done[0].result().unwrap().unwrap(), 1);
/// })
/// .unwrap();
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Wait<T> {
    /// The tasks, in input order.
    tasks: Vec<Task<T>>,
    /// The condition.
    return_when: ReturnWhen,
    /// The timeout, if any.
    timer: Option<Timer>,
    /// Shared with the done callbacks, once registered (first poll).
    progress: Option<Arc<Mutex<Progress>>>,
    /// Whether it has completed.
    done: bool,
}

impl<T> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("tasks", &self.tasks.len())
            .field("return_when", &self.return_when)
            .field("timeout", &self.timer.as_ref().and_then(Timer::deadline))
            .finish()
    }
}

impl<T> Unpin for Wait<T> {}

impl<T> Wait<T> {
    /// Gives the tasks back, in input order, without waiting (e.g. after a cancellation was
    /// caught around a borrowed `Wait`). Their done callbacks registered by the wait stay and
    /// do nothing.
    pub fn into_tasks(mut self) -> Vec<Task<T>> {
        self.done = true;
        std::mem::take(&mut self.tasks)
    }

    /// Registers a done callback on every task not done yet and counts the done ones.
    fn register(&mut self) -> Arc<Mutex<Progress>> {
        let progress = Arc::new(Mutex::new(Progress::default()));
        let (mut done, mut exception) = (0, false);
        for t in &self.tasks {
            match t.state() {
                TaskState::Panicked => {
                    done += 1;
                    exception = true;
                }
                s if s.is_done() => done += 1,
                _ => {
                    let weak: Weak<Mutex<Progress>> = Arc::downgrade(&progress);
                    t.add_done_callback(move |t| {
                        let Some(p) = weak.upgrade() else { return };
                        let waker = {
                            let mut p = p.lock();
                            p.done += 1;
                            p.exception |= t.state() == TaskState::Panicked;
                            p.waker.take()
                        };
                        if let Some(w) = waker {
                            w.wake();
                        }
                    });
                }
            }
        }
        {
            let mut p = progress.lock();
            p.done += done;
            p.exception |= exception;
        }
        progress
    }

    /// Splits the tasks into `(done, pending)`, in input order.
    fn split(&mut self) -> (Vec<Task<T>>, Vec<Task<T>>) {
        self.done = true;
        std::mem::take(&mut self.tasks)
            .into_iter()
            .partition(|t| t.done())
    }
}

impl<T> Future for Wait<T> {
    type Output = (Vec<Task<T>>, Vec<Task<T>>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(c) = tower_coro::cancel::take() {
            // The awaiter is being cancelled: it sees it here at once; the tasks are not told
            // (asyncio's `wait`).
            tower_coro::cancel::raise(c);
            return Poll::Pending;
        }
        let this = self.get_mut();
        assert!(!this.done, "`Wait` polled after completion");
        let total = this.tasks.len();
        if total == 0 {
            return Poll::Ready(this.split());
        }
        let progress = match &this.progress {
            Some(p) => p.clone(),
            None => {
                let p = this.register();
                this.progress = Some(p.clone());
                p
            }
        };
        let ready = {
            let mut p = progress.lock();
            let ready = match this.return_when {
                ReturnWhen::FirstCompleted => p.done > 0,
                ReturnWhen::FirstException => p.exception || p.done >= total,
                ReturnWhen::AllCompleted => p.done >= total,
            };
            if !ready {
                match &p.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => p.waker = Some(cx.waker().clone()),
                }
            }
            ready
        };
        if ready {
            return Poll::Ready(this.split());
        }
        if let Some(timer) = this.timer.as_mut() {
            if Pin::new(timer).poll(cx).is_ready() {
                return Poll::Ready(this.split());
            }
        }
        tower_coro::cancel::suspended_aware();
        Poll::Pending
    }
}
