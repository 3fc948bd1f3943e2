//! `Barrier`'s filling and draining phases, and `reset`/`abort` while parties drain (CPython
//! test_locks.BarrierTests): every party of a round leaves before the next round fills.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use common::{Executor, Probe};
use tower_sync::Barrier;
use tower_sync::error::BrokenBarrierError;

/// Parties per barrier, as `BarrierTests.N`.
const N: usize = 5;

/// Spawns `n` copies of the task `make` builds and runs them all to the end.
fn gather<F, Fut>(ex: &Executor, n: usize, make: F) -> Vec<Fut::Output>
where
    F: Fn() -> Fut,
    Fut: std::future::Future + 'static,
    Fut::Output: 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| ex.spawn(make())).collect();
    tasks.into_iter().map(|t| ex.block_on(t)).collect()
}

/// The barrier's state as its `Debug` shows it (asyncio's repr): "filling", "draining",
/// "resetting" or "broken".
fn state(barrier: &Barrier) -> String {
    let shown = format!("{barrier:?}");
    shown
        .split_once("state: ")
        .and_then(|(_, rest)| rest.split([',', ' ']).next())
        .unwrap_or("?")
        .to_owned()
}

// BarrierTests.test_draining_state: inside the barrier every party but the last one out sees
// "draining"; the last one out has turned it back to "filling".
#[test]
fn parties_leave_while_the_barrier_drains() {
    let ex = Executor::new();
    let barrier = Rc::new(Barrier::new(N));
    let seen = Rc::new(RefCell::new(Vec::new()));
    gather(&ex, N, || {
        let (b, seen) = (barrier.clone(), seen.clone());
        async move {
            b.wait().await.unwrap();
            seen.borrow_mut().push(state(&b));
        }
    });
    let seen = seen.borrow();
    assert_eq!(seen.len(), N);
    assert!(seen[..N - 1].iter().all(|s| s == "draining"), "{seen:?}");
    assert_eq!(seen[N - 1], "filling");
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

// BarrierTests.test_repr, step by step: filling (n_waiting counts arrivals), draining once
// the last party arrives (n_waiting 0, newcomers wait outside), filling again when the last
// released party has left, and the newcomer then joins the new round.
#[test]
fn newcomer_waits_outside_until_the_round_has_drained() {
    let barrier = Barrier::new(2);
    let mut a = Probe::new(barrier.wait());
    a.pending();
    assert_eq!(
        (state(&barrier), barrier.n_waiting()),
        ("filling".into(), 1)
    );
    assert_eq!(Probe::new(barrier.wait()).ready(), Ok(1));
    assert_eq!(
        (state(&barrier), barrier.n_waiting()),
        ("draining".into(), 0)
    );
    let mut c = Probe::new(barrier.wait());
    c.pending();
    assert_eq!(
        barrier.n_waiting(),
        0,
        "a newcomer joined a round still draining"
    );
    assert!(!c.woken());
    assert_eq!(a.ready(), Ok(0));
    assert_eq!(state(&barrier), "filling");
    assert!(c.woken(), "the newcomer was not told the barrier drained");
    c.pending();
    assert_eq!(barrier.n_waiting(), 1);
    assert_eq!(Probe::new(barrier.wait()).ready(), Ok(1));
    assert_eq!(c.ready(), Ok(0));
}

// A released party dropped before it runs counts as having left: the barrier stops draining.
#[test]
fn released_party_dropped_before_it_runs_has_left() {
    let barrier = Barrier::new(2);
    let mut a = Probe::new(barrier.wait());
    a.pending();
    assert_eq!(Probe::new(barrier.wait()).ready(), Ok(1));
    let mut c = Probe::new(barrier.wait());
    c.pending();
    drop(a);
    assert_eq!(state(&barrier), "filling");
    assert!(c.woken());
    c.pending();
    assert_eq!(barrier.n_waiting(), 1);
}

// A newcomer dropped while it waits outside a draining barrier leaves no trace.
#[test]
fn newcomer_dropped_outside_leaves_no_trace() {
    let barrier = Barrier::new(2);
    let mut a = Probe::new(barrier.wait());
    a.pending();
    assert_eq!(Probe::new(barrier.wait()).ready(), Ok(1));
    let mut c = Probe::new(barrier.wait());
    c.pending();
    drop(c);
    assert_eq!(a.ready(), Ok(0));
    assert_eq!(
        (state(&barrier), barrier.n_waiting()),
        ("filling".into(), 0)
    );
}

// BarrierTests.test_filling_tasks_wait_twice / test_filling_tasks_check_return_value: each
// party passes the barrier twice in a row; the second round gets all N parties, indices
// 0..N, and nobody is left behind.
#[test]
fn parties_pass_twice_in_a_row() {
    let ex = Executor::new();
    let barrier = Rc::new(Barrier::new(N));
    let first = Rc::new(Cell::new(0));
    let mut second: Vec<usize> = gather(&ex, N, || {
        let (b, first) = (barrier.clone(), first.clone());
        async move {
            b.wait().await.unwrap();
            first.set(first.get() + 1);
            b.wait().await.unwrap()
        }
    });
    second.sort_unstable();
    assert_eq!(first.get(), N);
    assert_eq!(second, (0..N).collect::<Vec<_>>());
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

// BarrierTests.test_blocking_tasks_while_draining: two parties wait again at once (blocked
// while the barrier drains); the other three first meet on a second barrier of three, then
// join them. Success is that everyone finishes.
#[test]
fn parties_blocked_while_draining_join_the_next_round() {
    let ex = Executor::new();
    let barrier = Rc::new(Barrier::new(N));
    let others = Rc::new(Barrier::new(N - 2));
    let rewait = Rc::new(Cell::new(2));
    gather(&ex, N, || {
        let (b, others, rewait) = (barrier.clone(), others.clone(), rewait.clone());
        async move {
            b.wait().await.unwrap();
            if rewait.get() > 0 {
                rewait.set(rewait.get() - 1);
            } else {
                others.wait().await.unwrap();
            }
            b.wait().await.unwrap();
        }
    });
    assert_eq!(barrier.n_waiting(), 0);
}

// BarrierTests.test_reset_barrier_while_tasks_draining: the last party out of the first round
// resets the (already refilling) barrier and waits again; the others had started a second
// wait. Nobody is broken and a third round completes for all N: no party waits forever.
#[test]
fn reset_by_the_last_party_out_leaves_nobody_behind() {
    let ex = Executor::new();
    let barrier = Rc::new(Barrier::new(N));
    let count = Rc::new(Cell::new(0));
    let second_ok = Rc::new(Cell::new(0));
    let second_broken = Rc::new(Cell::new(0));
    let third = Rc::new(Cell::new(0));
    gather(&ex, N, || {
        let b = barrier.clone();
        let (count, ok, broken, third) = (
            count.clone(),
            second_ok.clone(),
            second_broken.clone(),
            third.clone(),
        );
        async move {
            b.wait().await.unwrap();
            count.set(count.get() + 1);
            if count.get() == N {
                b.reset();
                b.wait().await.unwrap();
            } else {
                match b.wait().await {
                    Ok(_) => ok.set(ok.get() + 1),
                    Err(BrokenBarrierError) => broken.set(broken.get() + 1),
                }
            }
            b.wait().await.unwrap();
            third.set(third.get() + 1);
        }
    });
    assert!(!barrier.broken());
    assert_eq!(second_ok.get(), N - 1);
    assert_eq!(second_broken.get(), 0);
    assert_eq!(third.get(), N);
    assert_eq!(barrier.n_waiting(), 0);
}

// BarrierTests.test_reset_barrier_when_tasks_half_draining: when all but N/2 released parties
// have left, one resets; the N/2 that were released but had not run yet get
// BrokenBarrierError, and the barrier ends filling.
#[test]
fn reset_while_half_drained_breaks_the_parties_still_inside() {
    let ex = Executor::new();
    let barrier = Rc::new(Barrier::new(N));
    let left = Rc::new(Cell::new(0));
    let broken = Rc::new(Cell::new(0));
    gather(&ex, N, || {
        let (b, left, broken) = (barrier.clone(), left.clone(), broken.clone());
        async move {
            match b.wait().await {
                Err(BrokenBarrierError) => broken.set(broken.get() + 1),
                Ok(_) => {
                    left.set(left.get() + 1);
                    if N - left.get() == N / 2 {
                        b.reset();
                    }
                }
            }
        }
    });
    assert_eq!(broken.get(), N / 2);
    assert_eq!(barrier.n_waiting(), 0);
    assert_eq!(state(&barrier), "filling");
    assert!(!barrier.broken());
}

// BarrierTests.test_reset_barrier_when_tasks_half_draining_half_blocking: the first N/2 out
// wait again (blocked while draining); the next one out resets and waits again; the parties
// still inside are broken and wait again. The blocked ones are not broken: they wait outside
// until the barrier is filling again, and then all N meet.
#[test]
fn reset_while_draining_spares_the_parties_waiting_outside() {
    let ex = Executor::new();
    let barrier = Rc::new(Barrier::new(N));
    let count = Rc::new(Cell::new(0));
    let broken_inside = Rc::new(Cell::new(0));
    let broken_outside = Rc::new(Cell::new(0));
    gather(&ex, N, || {
        let b = barrier.clone();
        let (count, inside, outside) =
            (count.clone(), broken_inside.clone(), broken_outside.clone());
        async move {
            match b.wait().await {
                Err(BrokenBarrierError) => {
                    inside.set(inside.get() + 1);
                    b.wait().await.unwrap();
                }
                Ok(_) => {
                    count.set(count.get() + 1);
                    if count.get() > N / 2 {
                        b.reset();
                        b.wait().await.unwrap();
                    } else if b.wait().await.is_err() {
                        outside.set(outside.get() + 1);
                    }
                }
            }
        }
    });
    assert_eq!(broken_inside.get(), N / 2);
    assert_eq!(broken_outside.get(), 0);
    assert_eq!(barrier.n_waiting(), 0);
    assert_eq!(state(&barrier), "filling");
}

// BarrierTests.test_reset_barrier_while_tasks_waiting_and_waiting_again: N-1 waiting parties
// are reset, and each waits again at once (outside, while the barrier resets); with one more
// party all N pass.
#[test]
fn parties_reset_while_waiting_wait_again() {
    let ex = Executor::new();
    let barrier = Rc::new(Barrier::new(N));
    let broken = Rc::new(Cell::new(0));
    let passed = Rc::new(Cell::new(0));
    let tasks: Vec<_> = (0..N - 1)
        .map(|_| {
            let (b, broken, passed) = (barrier.clone(), broken.clone(), passed.clone());
            ex.spawn(async move {
                if b.wait().await.is_err() {
                    broken.set(broken.get() + 1);
                }
                b.wait().await.unwrap();
                passed.set(passed.get() + 1);
            })
        })
        .collect();
    ex.run();
    barrier.reset();
    assert_eq!(state(&barrier), "resetting");
    let (b, p) = (barrier.clone(), passed.clone());
    let last = ex.spawn(async move {
        b.wait().await.unwrap();
        p.set(p.get() + 1);
    });
    for t in tasks {
        ex.block_on(t);
    }
    ex.block_on(last);
    assert!(!barrier.broken());
    assert_eq!(broken.get(), N - 1);
    assert_eq!(passed.get(), N);
    assert_eq!(barrier.n_waiting(), 0);
}

// BarrierTests.test_abort_barrier_when_tasks_half_draining_half_blocking: the first N/2 out
// wait again (outside, draining); the next one out aborts. The parties still inside and the
// ones waiting outside all get BrokenBarrierError; the barrier stays broken.
#[test]
fn abort_while_draining_breaks_everyone_inside_and_outside() {
    let ex = Executor::new();
    let barrier = Rc::new(Barrier::new(N));
    let count = Rc::new(Cell::new(0));
    let broken_inside = Rc::new(Cell::new(0));
    let broken_outside = Rc::new(Cell::new(0));
    gather(&ex, N, || {
        let b = barrier.clone();
        let (count, inside, outside) =
            (count.clone(), broken_inside.clone(), broken_outside.clone());
        async move {
            match b.wait().await {
                Err(BrokenBarrierError) => inside.set(inside.get() + 1),
                Ok(_) => {
                    count.set(count.get() + 1);
                    if count.get() > N / 2 {
                        b.abort();
                    } else if b.wait().await.is_err() {
                        outside.set(outside.get() + 1);
                    }
                }
            }
        }
    });
    assert!(barrier.broken());
    assert_eq!(broken_inside.get(), N / 2);
    assert_eq!(broken_outside.get(), N - N / 2 - 1);
    assert_eq!(barrier.n_waiting(), 0);
    assert_eq!(state(&barrier), "broken");
}

// BarrierTests.test_abort_barrier_when_exception (threading's test_reset): the party with
// index N/2 fails and aborts instead of waiting a second time; every other party's second
// wait is broken, whether it was still inside or already waiting outside.
#[test]
fn abort_by_a_failing_party_breaks_the_second_round() {
    let ex = Executor::new();
    let barrier = Rc::new(Barrier::new(N));
    let passed = Rc::new(Cell::new(0));
    let broken = Rc::new(Cell::new(0));
    gather(&ex, N, || {
        let (b, passed, broken) = (barrier.clone(), passed.clone(), broken.clone());
        async move {
            let result = async {
                if b.wait().await? == N / 2 {
                    b.abort();
                    return Ok(false);
                }
                b.wait().await?;
                Ok::<_, BrokenBarrierError>(true)
            };
            match result.await {
                Ok(true) => passed.set(passed.get() + 1),
                Ok(false) => {}
                Err(BrokenBarrierError) => broken.set(broken.get() + 1),
            }
        }
    });
    assert!(barrier.broken());
    assert_eq!(passed.get(), 0);
    assert_eq!(broken.get(), N - 1);
    assert_eq!(barrier.n_waiting(), 0);
}

// BarrierTests.test_abort_barrier_when_exception_then_resetting (threading's
// test_abort_and_reset): as above, then everyone meets on a second barrier, the party with
// index N/2 resets the first one between two rounds of the second, and all N pass the first
// barrier again.
#[test]
fn reset_after_abort_makes_the_barrier_usable_again() {
    let ex = Executor::new();
    let barrier1 = Rc::new(Barrier::new(N));
    let barrier2 = Rc::new(Barrier::new(N));
    let passed = Rc::new(Cell::new(0));
    let broken = Rc::new(Cell::new(0));
    let again = Rc::new(Cell::new(0));
    gather(&ex, N, || {
        let (b1, b2) = (barrier1.clone(), barrier2.clone());
        let (passed, broken, again) = (passed.clone(), broken.clone(), again.clone());
        async move {
            let first = async {
                if b1.wait().await? == N / 2 {
                    b1.abort();
                    return Ok(false);
                }
                b1.wait().await?;
                Ok::<_, BrokenBarrierError>(true)
            };
            match first.await {
                Ok(true) => passed.set(passed.get() + 1),
                Ok(false) => {}
                Err(BrokenBarrierError) => broken.set(broken.get() + 1),
            }
            if b2.wait().await.unwrap() == N / 2 {
                b1.reset();
            }
            b2.wait().await.unwrap();
            b1.wait().await.unwrap();
            again.set(again.get() + 1);
        }
    });
    assert!(!barrier1.broken());
    assert_eq!(passed.get(), 0);
    assert_eq!(broken.get(), N - 1);
    assert_eq!(again.get(), N);
    assert_eq!(barrier1.n_waiting(), 0);
}

// BarrierTests.test_filling_task_by_task / test_filling_one_task_twice: n_waiting counts the
// arrivals of the round being filled; a one-party barrier passes at once every time.
#[test]
fn filling_task_by_task() {
    let barrier = Barrier::new(3);
    let mut a = Probe::new(barrier.wait());
    a.pending();
    assert_eq!(barrier.n_waiting(), 1);
    let mut b = Probe::new(barrier.wait());
    b.pending();
    assert_eq!(barrier.n_waiting(), 2);
    assert_eq!(Probe::new(barrier.wait()).ready(), Ok(2));
    assert_eq!((a.ready(), b.ready()), (Ok(0), Ok(1)));
    assert_eq!(barrier.n_waiting(), 0);
    let one = Barrier::new(1);
    assert_eq!(Probe::new(one.wait()).ready(), Ok(0));
    assert_eq!(Probe::new(one.wait()).ready(), Ok(0));
    assert_eq!(one.n_waiting(), 0);
    assert_eq!(state(&one), "filling");
}

// BarrierTests.test_repr's states, in order: filling, draining, resetting (a reset while
// released parties are still inside), broken (an abort), and filling after a reset with
// nobody inside.
#[test]
fn states_in_order() {
    let barrier = Barrier::new(2);
    assert_eq!(state(&barrier), "filling");
    let mut a = Probe::new(barrier.wait());
    a.pending();
    assert_eq!(Probe::new(barrier.wait()).ready(), Ok(1));
    assert_eq!(state(&barrier), "draining");
    barrier.reset();
    assert_eq!(state(&barrier), "resetting");
    let mut c = Probe::new(barrier.wait());
    c.pending();
    barrier.abort();
    assert_eq!(state(&barrier), "broken");
    assert!(barrier.broken());
    assert_eq!(a.ready(), Err(BrokenBarrierError));
    assert_eq!(c.ready(), Err(BrokenBarrierError));
    barrier.reset();
    assert_eq!(state(&barrier), "filling");
    assert!(!barrier.broken());
}
