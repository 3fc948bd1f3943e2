//! `EventLoop::attached` (a higher tier's per-loop data) and `with_running_loop`.
//!
//! asyncio keeps per-loop state on the loop object (`_task_factory`, the task registry keyed by
//! loop in `all_tasks`); these tests pin down the lifetime rules that state relies on: one value
//! per type and loop, made once, dropped when the loop closes — after its `on_close` hooks, which
//! may still use it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tower_loop::{EventLoop, with_running_loop};

/// Counts its drops into a shared cell.
struct Probe {
    value: Cell<u32>,
    drops: Rc<Cell<u32>>,
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
    }
}

fn probe(drops: &Rc<Cell<u32>>) -> impl FnOnce() -> Probe + '_ {
    move || Probe {
        value: Cell::new(0),
        drops: drops.clone(),
    }
}

#[test]
fn one_value_per_type_made_once() {
    let lp = EventLoop::new().unwrap();
    let drops = Rc::new(Cell::new(0));
    let made = Cell::new(0);
    let a = lp.attached(|| {
        made.set(made.get() + 1);
        probe(&drops)()
    });
    a.value.set(7);
    let b = lp.attached(|| {
        made.set(made.get() + 1);
        probe(&drops)()
    });
    assert_eq!(made.get(), 1);
    assert_eq!(b.value.get(), 7);
    // Another type is another value.
    let other = lp.attached(|| 5u64);
    assert_eq!(*other, 5);
    assert_eq!(lp.attached(|| 0u64).as_ref(), &5);
}

#[test]
fn each_loop_has_its_own_value() {
    let one = EventLoop::new().unwrap();
    let two = EventLoop::new().unwrap();
    one.attached(|| Cell::new(1u8)).set(10);
    assert_eq!(two.attached(|| Cell::new(2u8)).get(), 2);
    assert_eq!(one.attached(|| Cell::new(3u8)).get(), 10);
}

#[test]
fn dropped_at_close_after_the_close_hooks() {
    let lp = EventLoop::new().unwrap();
    let drops = Rc::new(Cell::new(0));
    let held = lp.attached(probe(&drops));
    drop(held);
    let seen_in_hook = Rc::new(RefCell::new(None));
    let seen = seen_in_hook.clone();
    let lp2 = lp.clone();
    let d = drops.clone();
    lp.on_close(move || {
        // The hook still finds the value (not yet dropped), and it is the same one.
        let v = lp2.attached(probe(&d));
        *seen.borrow_mut() = Some((d.get(), v.value.get()));
        v.value.set(9);
    });
    lp.attached(probe(&drops)).value.set(4);
    lp.close().unwrap();
    assert_eq!(*seen_in_hook.borrow(), Some((0, 4)));
    assert_eq!(drops.get(), 1, "the loop's close drops its attached value");
}

#[test]
fn dropped_with_an_unclosed_loop() {
    let drops = Rc::new(Cell::new(0));
    {
        let lp = EventLoop::new().unwrap();
        lp.attached(probe(&drops));
    }
    assert_eq!(drops.get(), 1);
}

#[test]
fn init_may_attach_other_values() {
    let lp = EventLoop::new().unwrap();
    let outer = lp.attached(|| {
        let inner = lp.attached(|| 3u32);
        u64::from(*inner) + 1
    });
    assert_eq!(*outer, 4);
    assert_eq!(*lp.attached(|| 0u32), 3);
}

#[test]
fn with_running_loop_lends_the_running_loop() {
    assert!(with_running_loop(|_| ()).is_err());
    let lp = EventLoop::new().unwrap();
    let lp2 = lp.clone();
    lp.run_until_complete(async move {
        let same = with_running_loop(|running| {
            // The same loop: what is attached through one is seen through the other.
            running.attached(|| Cell::new(11u16));
            lp2.attached(|| Cell::new(0u16)).get()
        })
        .unwrap();
        assert_eq!(same, 11);
        // Nested calls see the same loop.
        let nested = with_running_loop(|_| with_running_loop(|l| l.is_running())).unwrap();
        assert_eq!(nested, Ok(true));
    })
    .unwrap();
    assert!(with_running_loop(|_| ()).is_err());
}
