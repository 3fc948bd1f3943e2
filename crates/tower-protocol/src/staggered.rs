//! [`staggered_race`]: asyncio's `asyncio.staggered.staggered_race` on tower-task tasks — run
//! attempts one after another, each started when the one before it fails or after a delay,
//! keep the first success, cancel and await the rest. `create_connection`'s happy eyeballs
//! runs on it.
//!
//! Each attempt is a task ([`tower_task::spawn_local`]) on the running loop, so an attempt
//! that is cancelled ends where it is suspended and drops what it owns (a socket closes). The
//! race learns of finished attempts through done callbacks and waits for the next start with
//! a [`Timer`]; it never polls an attempt itself.

use std::any::Any;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tower_loop::Timer;
use tower_task::error::TaskError;
use tower_task::{Task, catch_cancel, reraise};

/// What [`staggered_race`] returns: the winner, if any, and every attempt's error (asyncio's
/// `(winner_result, winner_index, exceptions)`).
pub struct Staggered<T, E> {
    /// The index of the first attempt that succeeded, and its value.
    pub winner: Option<(usize, T)>,
    /// One entry per attempt started, in start order: `Some(error)` for an attempt that
    /// failed, `None` for the winner and for an attempt cancelled (because another won, or
    /// cancelled from outside) before it failed.
    pub errors: Vec<Option<E>>,
}

impl<T, E: fmt::Debug> fmt::Debug for Staggered<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Staggered")
            .field("winner", &self.winner.as_ref().map(|(i, _)| *i))
            .field("errors", &self.errors)
            .finish()
    }
}

/// Runs the `attempts` in a staggered race (asyncio's `staggered_race(coro_fns, delay)`):
/// attempt 0 starts at once; attempt `i + 1` starts as soon as attempt `i` fails, or `delay`
/// after attempt `i` started, whichever comes first (`None`: only when it fails — attempts
/// run one after another). The first attempt to return `Ok` wins: every other attempt still
/// running is cancelled **and awaited** before the race returns, so whatever they owned is
/// dropped by then. Attempts not started when a winner is found are never started.
///
/// Each attempt is built (`attempt()`) when it starts and runs as a task of the running loop
/// ([`tower_task::spawn_local`]).
///
/// # Cancellation
///
/// Cancelling the task that awaits the race ([`TaskRef::cancel`](tower_task::TaskRef::cancel))
/// cancels every running attempt with the same message and awaits them all, then the
/// cancellation goes on (the awaiting task ends cancelled, or an enclosing
/// [`catch_cancel`] takes it). Dropping the race future without cancelling it (not awaited
/// any more) cancels every running attempt; they end, dropping what they own, when the loop
/// next runs them.
///
/// # Panics
///
/// Outside a running tower loop. An attempt that panicked is treated as failed (the next
/// starts); once every attempt has ended, the race resumes the first such panic.
///
/// ```
/// use std::time::Duration;
/// use tower_protocol::staggered_race;
/// use tower_task::{run, sleep};
///
/// let race = run(async {
///     // Attempt 0 hangs, attempt 1 fails at once, attempt 2 succeeds.
///     let attempts = (0..3).map(|i| move || async move {
///         match i {
///             0 => {
///                 sleep(Duration::from_secs(3600)).await;
///                 Ok("slow")
///             }
///             1 => Err("refused"),
///             _ => Ok("fast"),
///         }
///     });
///     staggered_race(attempts, Some(Duration::from_millis(10))).await
/// })
/// .unwrap();
/// // Attempt 1 started after 10 ms and failed at once, so attempt 2 started and won;
/// // attempt 0 was cancelled and awaited.
/// assert_eq!(race.winner, Some((2, "fast")));
/// assert_eq!(race.errors, [None, Some("refused"), None]);
/// ```
pub async fn staggered_race<I, F, Fut, T, E>(
    attempts: I,
    delay: Option<Duration>,
) -> Staggered<T, E>
where
    I: IntoIterator<Item = F>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: 'static,
{
    let mut race = Race {
        attempts: attempts.into_iter(),
        exhausted: false,
        delay,
        running: Vec::new(),
        errors: Vec::new(),
        winner: None,
        panic: None,
        next_start: None,
        waker: Arc::new(Mutex::new(None)),
    };
    // No cancellation-aware await inside the body: a cancellation of the awaiting task is
    // taken by `catch_cancel` at once.
    if let Err(cancelled) = catch_cancel(poll_fn(|cx| race.poll_race(cx))).await {
        race.cancel_running(cancelled.message());
        race.await_running().await;
        return reraise(cancelled).await;
    }
    race.cancel_running(None);
    race.await_running().await;
    if let Some(panic) = race.panic.take() {
        std::panic::resume_unwind(panic);
    }
    Staggered {
        winner: race.winner.take(),
        errors: std::mem::take(&mut race.errors),
    }
}

/// The race's state.
struct Race<It, T, E> {
    /// The attempts not started yet.
    attempts: It,
    /// `attempts` gave `None`.
    exhausted: bool,
    /// Time between starts.
    delay: Option<Duration>,
    /// Attempts running (or done and not looked at yet), with their index.
    running: Vec<(usize, Task<Result<T, E>>)>,
    /// One per attempt started.
    errors: Vec<Option<E>>,
    /// The first success.
    winner: Option<(usize, T)>,
    /// The first panic of an attempt.
    panic: Option<Box<dyn Any + Send>>,
    /// When the next attempt starts unless the last one fails first.
    next_start: Option<Timer>,
    /// The race's waker, for the attempts' done callbacks.
    waker: Arc<Mutex<Option<Waker>>>,
}

impl<It, F, Fut, T, E> Race<It, T, E>
where
    It: Iterator<Item = F>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: 'static,
{
    /// Starts the next attempt; `false` if there is none.
    fn start_next(&mut self) -> bool {
        let next = if self.exhausted {
            None
        } else {
            self.attempts.next()
        };
        let Some(attempt) = next else {
            self.exhausted = true;
            self.next_start = None;
            return false;
        };
        let index = self.errors.len();
        self.errors.push(None);
        let task = tower_task::spawn_local(attempt());
        let waker = Arc::clone(&self.waker);
        task.add_done_callback(move |_| {
            let w = waker.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(w) = w {
                w.wake();
            }
        });
        self.running.push((index, task));
        self.next_start = self.delay.map(Timer::after);
        true
    }

    /// Runs until a winner is found or every attempt has failed.
    fn poll_race(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        *self.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
        if self.errors.is_empty() && !self.start_next() {
            return Poll::Ready(());
        }
        loop {
            let last = self.errors.len() - 1;
            let mut start_now = false;
            let mut i = 0;
            while i < self.running.len() {
                if !self.running[i].1.done() {
                    i += 1;
                    continue;
                }
                let (index, mut task) = self.running.remove(i);
                match task.result() {
                    Some(Ok(Ok(value))) => {
                        self.winner = Some((index, value));
                        return Poll::Ready(());
                    }
                    Some(Ok(Err(err))) => self.errors[index] = Some(err),
                    Some(Err(err)) => self.take_panic(err),
                    None => {}
                }
                start_now |= index == last;
            }
            if !start_now && let Some(timer) = self.next_start.as_mut() {
                start_now = Pin::new(timer).poll(cx).is_ready();
            }
            if start_now && self.start_next() {
                continue;
            }
            if self.running.is_empty() && self.exhausted {
                return Poll::Ready(());
            }
            return Poll::Pending;
        }
    }

    /// Keeps the first panic of an attempt.
    fn take_panic(&mut self, err: TaskError) {
        if let Some(p) = err.into_panic()
            && self.panic.is_none()
        {
            self.panic = Some(p);
        }
    }

    /// Cancels every running attempt.
    fn cancel_running(&self, msg: Option<&str>) {
        for (_, task) in &self.running {
            match msg {
                Some(m) => task.cancel_with(m),
                None => task.cancel(),
            };
        }
    }

    /// Awaits every running attempt (after [`cancel_running`](Self::cancel_running)); an
    /// error it reported before the cancellation reached it is kept, a late success dropped.
    async fn await_running(&mut self) {
        while let Some((index, task)) = self.running.pop() {
            match task.await {
                Ok(Ok(_late_winner)) => {}
                Ok(Err(err)) => self.errors[index] = Some(err),
                Err(err) => self.take_panic(err),
            }
        }
    }
}

impl<It, T, E> Drop for Race<It, T, E> {
    fn drop(&mut self) {
        // Dropped mid-way without a cancellation: the attempts cannot be awaited here.
        for (_, task) in &self.running {
            task.cancel();
        }
    }
}
