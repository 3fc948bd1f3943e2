//! `race`, `select` and `race_all`: the first to finish wins and the losers are dropped at
//! once. Ports test_asyncio/test_tasks.py `test_wait_first_completed` (first done wins) and
//! `test_wait_for_cancellation` (the losing awaitable is cancelled, here dropped).

use std::cell::RefCell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use tower_coro::error::EmptyRace;
use tower_coro::{Either, block_on, pending, race, race_all, select, yield_now};

struct DropFlag(Rc<RefCell<bool>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        *self.0.borrow_mut() = true;
    }
}

fn guarded_pending<T>(flag: &Rc<RefCell<bool>>) -> impl Future<Output = T> + use<T> {
    // The guard is captured, so it drops with the future even if never polled.
    let g = DropFlag(flag.clone());
    async move {
        let _g = g;
        pending::<T>().await
    }
}

#[test]
fn race_returns_the_first_to_finish() {
    let slow = async {
        yield_now().await;
        yield_now().await;
        "slow"
    };
    let fast = async {
        yield_now().await;
        "fast"
    };
    assert_eq!(block_on(race(slow, fast)), "fast");
}

#[test]
fn race_drops_the_loser_when_the_winner_finishes() {
    let flag = Rc::new(RefCell::new(false));
    let mut r = pin!(race(guarded_pending(&flag), async {
        yield_now().await;
        1
    }));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(r.as_mut().poll(&mut cx).is_pending());
    assert!(!*flag.borrow(), "the loser is alive while the race runs");
    assert_eq!(r.as_mut().poll(&mut cx), Poll::Ready(1));
    assert!(
        *flag.borrow(),
        "the loser was dropped before the race returned"
    );
}

#[test]
fn race_is_biased_to_the_first_argument() {
    assert_eq!(block_on(race(async { 'a' }, async { 'b' })), 'a');
}

#[test]
fn select_says_which_side_won() {
    assert_eq!(
        block_on(select(pending::<u8>(), async { "r" })),
        Either::Right("r")
    );
    assert_eq!(
        block_on(select(async { 1u8 }, pending::<&str>())),
        Either::Left(1)
    );
}

#[test]
fn select_drops_the_loser() {
    let flag = Rc::new(RefCell::new(false));
    let mut s = pin!(select(async { 1 }, guarded_pending::<()>(&flag)));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(s.as_mut().poll(&mut cx), Poll::Ready(Either::Left(1)));
    assert!(*flag.borrow());
}

#[test]
fn race_all_returns_the_first_and_drops_the_rest() {
    let flags: Vec<_> = (0..2).map(|_| Rc::new(RefCell::new(false))).collect();
    let futs: Vec<Pin<Box<dyn Future<Output = u8>>>> = vec![
        Box::pin(guarded_pending(&flags[0])),
        Box::pin(async {
            yield_now().await;
            9
        }),
        Box::pin(guarded_pending(&flags[1])),
    ];
    let mut r = pin!(race_all(futs));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(r.as_mut().poll(&mut cx).is_pending());
    assert_eq!(r.as_mut().poll(&mut cx), Poll::Ready(Ok(9)));
    assert!(*flags[0].borrow() && *flags[1].borrow());
}

#[test]
fn race_all_of_nothing_is_an_error() {
    // asyncio.wait(set()) raises ValueError; here an error value, never a hang.
    let none: Vec<std::future::Pending<u8>> = Vec::new();
    assert_eq!(block_on(race_all(none)), Err(EmptyRace));
    assert_eq!(
        EmptyRace.to_string(),
        "race_all was given no futures; pass at least one"
    );
}
