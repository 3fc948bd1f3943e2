//! `catch_unwind` turns a panic in a future into a value, as asyncio stores a coroutine's
//! exception in its task. Ports test_asyncio/test_tasks.py `test_exception_marking`-style
//! scenarios: the error is delivered to the awaiter, not raised through the runner.

use std::panic::AssertUnwindSafe;

use tower_coro::{block_on, catch_unwind, panic_message, yield_now};

#[test]
fn passes_the_output_through() {
    assert_eq!(block_on(catch_unwind(async { 3 })).ok(), Some(3));
}

#[test]
fn catches_a_panic_after_a_suspension() {
    let r = block_on(catch_unwind(async {
        yield_now().await;
        if true {
            panic!("late {}", 1);
        }
    }));
    let payload = r.unwrap_err();
    assert_eq!(panic_message(&payload), "late 1");
}

#[test]
fn panic_message_reads_static_str_and_other_payloads() {
    let r = block_on(catch_unwind(async {
        if true {
            panic!("static");
        }
    }));
    assert_eq!(panic_message(&r.unwrap_err()), "static");
    let r = block_on(catch_unwind(async {
        if true {
            std::panic::panic_any(17_i32);
        }
    }));
    let payload = r.unwrap_err();
    assert_eq!(panic_message(&payload), "Box<dyn Any>");
    assert_eq!(payload.downcast_ref::<i32>(), Some(&17));
}

#[test]
fn works_with_assert_unwind_safe() {
    let mut n = 0;
    let r = block_on(catch_unwind(AssertUnwindSafe(async {
        n += 1;
        if n == 1 {
            panic!("once");
        }
    })));
    assert!(r.is_err());
    assert_eq!(n, 1);
}
