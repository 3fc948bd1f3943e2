//! `staggered_race`: the scenarios of CPython's test_staggered, plus what tower adds —
//! losers cancelled *and awaited* before the race returns, cancelling the race awaits every
//! attempt, and a panicking attempt.

mod connect_util;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use connect_util::no_fd_leak;
use tower_protocol::staggered_race;
use tower_task::error::TaskError;
use tower_task::{run, sleep, spawn_local};

type Attempt<T, E> = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = Result<T, E>>>>>;

fn attempt<T: 'static, E: 'static>(
    f: impl Future<Output = Result<T, E>> + 'static,
) -> Attempt<T, E> {
    Box::new(move || Box::pin(f))
}

/// Sets its flag when dropped: shows an attempt's future was dropped (it owned a socket).
struct DropFlag(Rc<Cell<bool>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn empty() {
    no_fd_leak(|| {
        let race = run(staggered_race(Vec::<Attempt<u8, u8>>::new(), None)).unwrap();
        assert!(race.winner.is_none());
        assert!(race.errors.is_empty());
    });
}

#[test]
fn one_successful() {
    no_fd_leak(|| {
        let race = run(async {
            let started = Rc::new(Cell::new(0));
            let s = started.clone();
            let attempts = (0..2).map(move |i| {
                let s = s.clone();
                move || async move {
                    s.set(s.get() + 1);
                    Ok::<_, ()>(i)
                }
            });
            let race = staggered_race(attempts, None).await;
            assert_eq!(started.get(), 1, "the second attempt never starts");
            race
        })
        .unwrap();
        assert_eq!(race.winner, Some((0, 0)));
        assert_eq!(race.errors, [None]);
    });
}

#[test]
fn first_error_second_successful() {
    no_fd_leak(|| {
        let race = run(async {
            let attempts = vec![attempt(async { Err("first") }), attempt(async { Ok(1) })];
            staggered_race(attempts, None).await
        })
        .unwrap();
        assert_eq!(race.winner, Some((1, 1)));
        assert_eq!(race.errors, [Some("first"), None]);
    });
}

#[test]
fn first_timeout_second_successful() {
    no_fd_leak(|| {
        let dropped = Rc::new(Cell::new(false));
        let d = dropped.clone();
        let race = run(async move {
            let attempts = vec![
                attempt(async move {
                    let _flag = DropFlag(d);
                    sleep(Duration::from_secs(3600)).await;
                    Ok::<_, ()>(0)
                }),
                attempt(async { Ok(1) }),
            ];
            staggered_race(attempts, Some(Duration::from_millis(20))).await
        })
        .unwrap();
        assert_eq!(race.winner, Some((1, 1)));
        assert_eq!(race.errors, [None, None]);
        assert!(dropped.get(), "the loser was cancelled and awaited");
    });
}

#[test]
fn none_successful() {
    no_fd_leak(|| {
        let race = run(async {
            let attempts = vec![
                attempt(async { Err::<u8, _>(0) }),
                attempt(async { Err(1) }),
            ];
            staggered_race(attempts, None).await
        })
        .unwrap();
        assert!(race.winner.is_none());
        assert_eq!(race.errors, [Some(0), Some(1)]);
    });
}

#[test]
fn multiple_winners_first_wins() {
    no_fd_leak(|| {
        let race = run(async {
            // Both would succeed; the first finishes first, the second is cancelled.
            let attempts = vec![
                attempt(async {
                    sleep(Duration::from_millis(30)).await;
                    Ok::<_, ()>(0)
                }),
                attempt(async {
                    sleep(Duration::from_millis(3600)).await;
                    Ok(1)
                }),
            ];
            staggered_race(attempts, Some(Duration::from_millis(5))).await
        })
        .unwrap();
        assert_eq!(race.winner, Some((0, 0)));
        assert_eq!(race.errors, [None, None]);
    });
}

// On virtual time (a paused clock: an idle loop jumps to its next timer at once), so an
// implementation that waits for the delay instead fails at once (the clock moved an hour)
// rather than hanging for the hour.
#[test]
fn failure_starts_the_next_at_once() {
    no_fd_leak(|| {
        let lp = tower_loop::EventLoop::builder()
            .paused_clock()
            .build()
            .unwrap();
        let t0 = lp.time();
        let race = lp
            .run_until_complete(async {
                let attempts = vec![
                    attempt(async { Err::<u8, _>("no") }),
                    attempt(async { Ok(1) }),
                ];
                // A delay of an hour: only the failure can start attempt 1.
                staggered_race(attempts, Some(Duration::from_secs(3600))).await
            })
            .unwrap();
        assert_eq!(race.winner, Some((1, 1)));
        assert_eq!(
            lp.time() - t0,
            Duration::ZERO,
            "attempt 1 waited for the delay instead of starting on attempt 0's failure"
        );
        lp.close().unwrap();
    });
}

#[test]
fn delay_starts_the_next_while_the_first_runs() {
    no_fd_leak(|| {
        let race = run(async {
            let attempts = vec![
                attempt(async {
                    sleep(Duration::from_millis(200)).await;
                    Err::<u8, _>("late")
                }),
                attempt(async {
                    sleep(Duration::from_millis(10)).await;
                    Ok(1)
                }),
            ];
            staggered_race(attempts, Some(Duration::from_millis(10))).await
        })
        .unwrap();
        assert_eq!(race.winner, Some((1, 1)));
    });
}

#[test]
fn cancelling_the_race_cancels_and_awaits_every_attempt() {
    no_fd_leak(|| {
        let flags: Vec<Rc<Cell<bool>>> = (0..3).map(|_| Rc::new(Cell::new(false))).collect();
        let f = flags.clone();
        run(async move {
            let fl = f.clone();
            let racer = spawn_local(async move {
                let attempts = fl.into_iter().map(|flag| {
                    move || async move {
                        let _flag = DropFlag(flag);
                        sleep(Duration::from_secs(3600)).await;
                        Ok::<u8, ()>(0)
                    }
                });
                staggered_race(attempts, Some(Duration::from_millis(1))).await
            });
            sleep(Duration::from_millis(30)).await; // all three started
            racer.cancel_with("stop");
            match racer.await {
                Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("stop")),
                other => panic!("expected a cancellation, got {other:?}"),
            }
            // Awaited: every attempt's future was dropped before the race task ended.
            assert!(f.iter().all(|d| d.get()));
        })
        .unwrap();
    });
}

#[test]
fn dropping_the_race_cancels_the_attempts() {
    no_fd_leak(|| {
        let dropped = Rc::new(Cell::new(false));
        let d = dropped.clone();
        run(async move {
            let attempts = vec![attempt(async move {
                let _flag = DropFlag(d);
                sleep(Duration::from_secs(3600)).await;
                Ok::<u8, ()>(0)
            })];
            let out =
                tower_task::timeout(Duration::from_millis(10), staggered_race(attempts, None))
                    .await;
            assert!(out.is_err(), "timed out");
            sleep(Duration::from_millis(5)).await;
        })
        .unwrap();
        assert!(dropped.get());
    });
}

#[test]
fn a_panicking_attempt_counts_as_failed_then_resumes() {
    no_fd_leak(|| {
        let out = run(async {
            let ran_second = Rc::new(Cell::new(false));
            let r = ran_second.clone();
            let attempts = vec![
                attempt(async { panic!("attempt 0 broke") }),
                attempt(async move {
                    r.set(true);
                    Err::<u8, ()>(())
                }),
            ];
            let race = spawn_local(staggered_race(attempts, None));
            let outcome = race.await;
            (outcome.map(|_| ()), ran_second.get())
        })
        .unwrap();
        assert!(out.1, "the next attempt started after the panic");
        assert!(matches!(out.0, Err(TaskError::Panicked(_))));
    });
}

#[test]
fn starts_are_staggered_by_the_delay_on_virtual_time() {
    no_fd_leak(|| {
        let lp = tower_loop::EventLoop::builder()
            .paused_clock()
            .build()
            .unwrap();
        let l = lp.clone();
        let (race, starts) = lp
            .run_until_complete(async move {
                let t0 = l.time();
                let starts = Rc::new(std::cell::RefCell::new(Vec::new()));
                let s = starts.clone();
                let attempts = (0..3u64).map(move |i| {
                    let s = s.clone();
                    let l = l.clone();
                    move || async move {
                        s.borrow_mut().push(l.time() - t0);
                        // Attempt 0 hangs, attempt 1 fails after 3 s, attempt 2 succeeds.
                        match i {
                            0 => {
                                sleep(Duration::from_secs(3600)).await;
                                Ok(0)
                            }
                            1 => {
                                sleep(Duration::from_secs(3)).await;
                                Err(1)
                            }
                            _ => Ok(2),
                        }
                    }
                });
                let race = staggered_race(attempts, Some(Duration::from_secs(10))).await;
                let starts = starts.borrow().clone();
                (race, starts)
            })
            .unwrap();
        assert_eq!(race.winner, Some((2, 2)));
        assert_eq!(race.errors, [None, Some(1), None]);
        // Attempt 1 after the delay; attempt 2 when attempt 1 failed, before its delay.
        assert_eq!(
            starts,
            [
                Duration::ZERO,
                Duration::from_secs(10),
                Duration::from_secs(13)
            ]
        );
        lp.close().unwrap();
    });
}
