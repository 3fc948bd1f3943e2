//! The floor executor: a thread-local run queue, `block_on`, `spawn`, `yield_now`, a oneshot.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use async_task::{Runnable, Task};

thread_local! {
    /// The run queue of the current thread's floor executor.
    static QUEUE: RefCell<VecDeque<Runnable>> = const { RefCell::new(VecDeque::new()) };
}

/// Spawns a `!Send` future onto the current thread's floor queue.
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let (runnable, task) = async_task::spawn_local(future, |r| {
        QUEUE.with(|q| q.borrow_mut().push_back(r));
    });
    runnable.schedule();
    task
}

/// The main future's waker: a flag the run loop checks between runnables.
struct MainWaker(AtomicBool);

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs `future` to completion on this thread, running spawned tasks in FIFO order.
///
/// # Panics
///
/// If the main future is pending, never woken, and no task is runnable: the floor has no
/// reactor, so that is a deadlock of the workload.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let flag = Arc::new(MainWaker(AtomicBool::new(true)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if flag.0.swap(false, Ordering::Relaxed)
            && let Poll::Ready(out) = future.as_mut().poll(&mut cx)
        {
            return out;
        }
        let next = QUEUE.with(|q| q.borrow_mut().pop_front());
        match next {
            Some(r) => {
                r.run();
            }
            None if flag.0.load(Ordering::Relaxed) => {}
            None => panic!("floor: the main future is pending and nothing is runnable"),
        }
    }
}

/// Yields once to the other runnables.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
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

/// The shared state of a single-thread oneshot.
struct Slot<T> {
    value: Cell<Option<T>>,
    waker: Cell<Option<Waker>>,
}

/// The sending half of a floor oneshot.
pub struct Sender<T>(Rc<Slot<T>>);

/// The receiving half of a floor oneshot; a future of the value.
pub struct Receiver<T>(Rc<Slot<T>>);

/// A single-thread oneshot channel on `Rc` and `Cell`.
pub fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    let slot = Rc::new(Slot {
        value: Cell::new(None),
        waker: Cell::new(None),
    });
    (Sender(slot.clone()), Receiver(slot))
}

impl<T> Sender<T> {
    /// Sends the value and wakes the receiver.
    pub fn send(self, value: T) {
        self.0.value.set(Some(value));
        if let Some(w) = self.0.waker.take() {
            w.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.0.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                self.0.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        }
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("floor::Sender")
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("floor::Receiver")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_spawned_tasks_and_oneshots() {
        let got = block_on(async {
            let (tx, rx) = oneshot();
            let a = spawn(async move {
                yield_now().await;
                tx.send(7u32);
            });
            let b = spawn(async move { rx.await + 1 });
            a.await;
            b.await
        });
        assert_eq!(got, 8);
    }
}
