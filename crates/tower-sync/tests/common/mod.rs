//! A tiny test harness: manual polling with a counting waker (for exact cancellation points)
//! and a single-threaded `async-task` executor (for scenarios with several tasks).

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// Counts its wake-ups.
#[derive(Debug, Default)]
pub struct Counter(AtomicUsize);

impl Counter {
    /// Wake-ups so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future under manual control: poll it by hand, see whether it was woken.
pub struct Probe<F: Future> {
    /// The future, pinned on the heap.
    pub fut: Pin<Box<F>>,
    /// Its waker's counter.
    pub wakes: Arc<Counter>,
    /// The waker.
    waker: Waker,
}

impl<F: Future> Probe<F> {
    /// Wraps `fut`.
    pub fn new(fut: F) -> Self {
        let wakes = Arc::new(Counter::default());
        let waker = Waker::from(wakes.clone());
        Self {
            fut: Box::pin(fut),
            wakes,
            waker,
        }
    }

    /// Polls once.
    pub fn poll(&mut self) -> Poll<F::Output> {
        self.fut
            .as_mut()
            .poll(&mut Context::from_waker(&self.waker))
    }

    /// Polls once, expecting `Pending`.
    #[track_caller]
    pub fn pending(&mut self) {
        assert!(self.poll().is_pending(), "expected the future to wait");
    }

    /// Polls once, expecting completion.
    #[track_caller]
    pub fn ready(&mut self) -> F::Output {
        match self.poll() {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("expected the future to be ready"),
        }
    }

    /// True if woken since created.
    pub fn woken(&self) -> bool {
        self.wakes.count() > 0
    }

    /// The output, given `first` (an earlier poll's result): that result if it was ready, else
    /// the next poll's, which must follow a wake-up (no wake-up may be lost).
    #[track_caller]
    pub fn settle(&mut self, first: Poll<F::Output>) -> F::Output {
        match first {
            Poll::Ready(v) => v,
            Poll::Pending => {
                assert!(self.woken(), "pending without a wake-up");
                self.ready()
            }
        }
    }
}

/// Polls a fresh future once with a waker that does nothing.
pub fn poll_once<F: Future>(fut: F) -> Poll<F::Output> {
    let mut fut = std::pin::pin!(fut);
    fut.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

/// A single-threaded executor: a queue of `async-task` runnables.
#[derive(Clone, Default)]
pub struct Executor {
    /// Runnables scheduled to run.
    queue: Arc<Mutex<VecDeque<async_task::Runnable>>>,
}

impl Executor {
    /// A new executor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Spawns a task; it starts on the next `run`.
    pub fn spawn<F>(&self, fut: F) -> async_task::Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let queue = self.queue.clone();
        let schedule = move |r| queue.lock().unwrap().push_back(r);
        let (runnable, task) = async_task::spawn_local(fut, schedule);
        runnable.schedule();
        task
    }

    /// Runs scheduled tasks until none is ready; returns how many polls ran.
    pub fn run(&self) -> usize {
        let mut polls = 0;
        loop {
            let next = self.queue.lock().unwrap().pop_front();
            match next {
                Some(r) => {
                    r.run();
                    polls += 1;
                }
                None => return polls,
            }
        }
    }

    /// Runs until `task` finishes; panics if everything stalls first.
    #[track_caller]
    pub fn block_on<T: 'static>(&self, task: async_task::Task<T>) -> T {
        let mut task = task;
        loop {
            self.run();
            if let Poll::Ready(v) = poll_once(&mut task) {
                return v;
            }
            assert!(
                !self.queue.lock().unwrap().is_empty(),
                "deadlock: the task waits and nothing is ready"
            );
        }
    }
}

/// Yields once to the executor.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}
