//! The state machine of a future: results, errors, cancellation, invalid transitions.

use tower_future::LoopFuture;
use tower_future::error::{FutureError, InvalidStateError};
use tower_loop::EventLoop;

fn fut<T: Send + 'static>(lp: &EventLoop) -> LoopFuture<T> {
    LoopFuture::new(&lp.handle())
}

// test_futures.py: test_initial_state
#[test]
fn a_new_future_is_pending() {
    let lp = EventLoop::new().unwrap();
    let f = fut::<()>(&lp);
    assert!(!f.done());
    assert!(!f.cancelled());
}

// test_futures.py: test_result (result before done raises InvalidStateError)
#[test]
fn result_before_done_is_invalid_state() {
    let lp = EventLoop::new().unwrap();
    let f = fut::<u8>(&lp);
    assert!(matches!(
        f.result(),
        Err(FutureError::InvalidState(InvalidStateError::NotDone))
    ));
    assert!(matches!(
        f.exception(),
        Err(FutureError::InvalidState(InvalidStateError::NotDone))
    ));
    f.set_result(42).unwrap();
    assert_eq!(f.result().unwrap(), 42);
    assert!(f.exception().unwrap().is_none());
}

// test_futures.py: test_cancel (cancel then set_result raises InvalidStateError)
#[test]
fn set_result_after_cancel_is_invalid_state() {
    let lp = EventLoop::new().unwrap();
    let f = fut::<u8>(&lp);
    assert!(f.cancel());
    assert!(f.cancelled() && f.done());
    assert_eq!(f.set_result(1), Err(InvalidStateError::AlreadyDone));
    assert!(f.set_exception(std::io::Error::other("x")).is_err());
    assert!(!f.cancel());
    assert!(matches!(f.result(), Err(FutureError::Cancelled(_))));
    assert!(matches!(f.exception(), Err(FutureError::Cancelled(_))));
}

// test_futures.py: test_result (set_result twice)
#[test]
fn set_result_twice_is_invalid_state_not_a_panic() {
    let lp = EventLoop::new().unwrap();
    let f = fut::<u8>(&lp);
    f.set_result(1).unwrap();
    assert_eq!(f.set_result(2), Err(InvalidStateError::AlreadyDone));
    assert!(!f.cancel());
    assert_eq!(f.result().unwrap(), 1);
}

// test_futures.py: test_exception
#[test]
fn set_exception_gives_the_error_to_awaiters() {
    let lp = EventLoop::new().unwrap();
    let f = fut::<u8>(&lp);
    f.set_exception(std::io::Error::other("boom")).unwrap();
    assert_eq!(f.exception().unwrap().unwrap().to_string(), "boom");
    match lp.run_until_complete(f).unwrap() {
        Err(FutureError::Exception(e)) => assert_eq!(e.to_string(), "boom"),
        other => panic!("{other:?}"),
    }
}

// test_futures.py: test_future_cancel_message_getter / test_cancel_message
#[test]
fn cancel_message_reaches_every_awaiter() {
    let lp = EventLoop::new().unwrap();
    let f = fut::<u8>(&lp);
    let a = f.clone();
    let b = f.clone();
    let out = lp
        .run_until_complete(async move {
            let h = tower_loop::get_running_loop().unwrap();
            h.call_soon(move || {
                f.cancel_with("my message");
            });
            let ea = a.await.unwrap_err();
            let eb = b.await.unwrap_err();
            (ea, eb)
        })
        .unwrap();
    for e in [out.0, out.1] {
        match e {
            FutureError::Cancelled(c) => assert_eq!(c.message(), Some("my message")),
            other => panic!("{other:?}"),
        }
    }
}

// test_futures.py: test_yield_from_twice / awaiting a pending future suspends until set
#[test]
fn awaiting_waits_for_set_result_from_a_callback() {
    let lp = EventLoop::new().unwrap();
    let v = lp
        .run_until_complete(async {
            let f = tower_future::create_future::<String>().unwrap();
            let g = f.clone();
            tower_loop::get_running_loop().unwrap().call_later(
                std::time::Duration::from_millis(1),
                move || {
                    g.set_result("late".into()).unwrap();
                },
            );
            f.await.unwrap()
        })
        .unwrap();
    assert_eq!(v, "late");
}

#[test]
fn create_future_outside_a_loop_is_an_error() {
    assert!(tower_future::create_future::<()>().is_err());
}

// test_futures.py: test_cancel / test_future_cancel_message_getter: `cancel()` carries no
// message, `cancel_with(msg)` carries `msg`; both refuse a done future.
#[test]
fn cancel_carries_no_message_and_cancel_with_carries_its_own() {
    let lp = EventLoop::new().unwrap();
    let plain = fut::<u8>(&lp);
    let with = fut::<u8>(&lp);
    assert!(plain.cancel());
    assert!(with.cancel_with("stop"));
    assert!(!plain.cancel_with("again"));
    assert!(!with.cancel());
    match (plain.result(), with.result()) {
        (Err(FutureError::Cancelled(p)), Err(FutureError::Cancelled(w))) => {
            assert_eq!(p.message(), None);
            assert_eq!(w.message(), Some("stop"));
        }
        other => panic!("{other:?}"),
    }
}
