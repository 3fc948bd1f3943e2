//! The WorkSource hook for the multi-threaded runtime, with a toy source (no asyncio
//! counterpart; the scenario is tier 4's worker feeding its loop).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use async_task::Runnable;
use tower_loop::{EventLoop, FILL_BUDGET, WorkSource};

/// A FIFO of runnables with counters of what the loop asked.
#[derive(Default)]
struct Toy {
    /// Queued runnables.
    queue: RefCell<VecDeque<Runnable>>,
    /// fill calls.
    fills: Cell<usize>,
    /// Largest budget seen.
    budget: Cell<usize>,
    /// before_park calls.
    parks: Cell<usize>,
    /// after_unpark calls.
    unparks: Cell<usize>,
    /// Told once, at the first before_park call (so another thread can act while the loop parks).
    first_park: RefCell<Option<std::sync::mpsc::Sender<()>>>,
}

impl WorkSource for Toy {
    fn fill(&self, push: &mut dyn FnMut(tower_loop::AnyRunnable), budget: usize) -> bool {
        self.fills.set(self.fills.get() + 1);
        self.budget.set(self.budget.get().max(budget));
        let mut q = self.queue.borrow_mut();
        for _ in 0..budget {
            match q.pop_front() {
                Some(r) => push(r.into()),
                None => break,
            }
        }
        !q.is_empty()
    }
    fn before_park(&self) -> bool {
        self.parks.set(self.parks.get() + 1);
        if let Some(tx) = self.first_park.borrow_mut().take() {
            let _ = tx.send(());
        }
        self.queue.borrow().is_empty()
    }
    fn after_unpark(&self) {
        self.unparks.set(self.unparks.get() + 1);
    }
}

/// Queues `n` tasks on `toy` that each bump `done`.
fn queue_tasks(toy: &Toy, n: usize, done: &Rc<Cell<usize>>) -> Vec<async_task::Task<()>> {
    (0..n)
        .map(|_| {
            let d = done.clone();
            let (r, t) = async_task::spawn_local(async move { d.set(d.get() + 1) }, |_| {});
            toy.queue.borrow_mut().push_back(r);
            t
        })
        .collect()
}

// The loop pulls runnables from the source in batches of at most the budget, and runs them all.
#[test]
fn loop_runs_work_from_the_source_in_budgeted_batches() {
    let lp = EventLoop::new().unwrap();
    let toy = Rc::new(Toy::default());
    lp.set_work_source(Some(toy.clone()));
    let done = Rc::new(Cell::new(0));
    let n = FILL_BUDGET * 3 + 5;
    let tasks = queue_tasks(&toy, n, &done);
    lp.run_until_complete(async move {
        for t in tasks {
            t.await;
        }
    })
    .unwrap();
    assert_eq!(done.get(), n);
    assert_eq!(toy.budget.get(), FILL_BUDGET);
    assert!(toy.fills.get() >= 4, "fills: {}", toy.fills.get());
}

// A source that vetoes parking keeps the loop polling (never blocking); when it allows parking,
// after_unpark follows each blocking poll.
#[test]
fn before_park_and_after_unpark_bracket_blocking_polls() {
    let lp = EventLoop::new().unwrap();
    let toy = Rc::new(Toy::default());
    lp.set_work_source(Some(toy.clone()));
    let handle = lp.handle();
    // A cross-thread wake-up once the loop is about to park (not before: a stop that arrives
    // before the loop runs out of work would end the run without any park).
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    *toy.first_park.borrow_mut() = Some(tx);
    let t = std::thread::spawn(move || {
        rx.recv().unwrap();
        handle.stop();
    });
    lp.run_forever().unwrap();
    t.join().unwrap();
    assert!(toy.parks.get() >= 1);
    assert!(toy.unparks.get() <= toy.parks.get());
}
