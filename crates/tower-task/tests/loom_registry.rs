//! Loom models of the task registry's slot table (`tower_task::slots`, exported under
//! `cfg(loom)` only): the owner thread's lock-free inserts, removes and reads against inserts and
//! removals on other threads.
//!
//! The registry stores the addresses of task headers, which are freed right after their removal
//! returns; here a "task" is an index into [`Tasks`], its address is `index + 1`, and "freed" is
//! an `AtomicBool` set to dead only after `remove` returned. Every reader asserts that each
//! address it is handed is still alive, so a reader that could see a freed header fails.
//!
//! No test_asyncio scenario ports to this: asyncio's `_all_tasks` is a `WeakSet` guarded by the
//! GIL; these are the invariants behind `all_tasks`, the task tree and loop close here.
#![cfg(loom)]

use std::collections::BTreeSet;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::thread;
use tower_task::slots::{REMOTE_BIT, Slots};

/// Fake tasks: whether each is alive (its "header" not freed) and whether its removal began.
struct Tasks {
    /// Set to false only after the task's `remove` returned (its header may be freed).
    alive: Vec<AtomicBool>,
    /// Set just before the task's `remove` is called.
    removing: Vec<AtomicBool>,
}

impl Tasks {
    /// `n` live tasks.
    fn new(n: usize) -> Arc<Self> {
        Arc::new(Tasks {
            alive: (0..n).map(|_| AtomicBool::new(true)).collect(),
            removing: (0..n).map(|_| AtomicBool::new(false)).collect(),
        })
    }

    /// Task `i`'s address (non-zero and even, as the slots require).
    fn addr(i: usize) -> usize {
        (i + 1) * 8
    }

    /// The task at `addr`, asserting that it was not freed (a reader dereferences `addr`).
    fn deref(&self, addr: usize) -> usize {
        let i = addr / 8 - 1;
        assert!(
            self.alive[i].load(SeqCst),
            "a reader was handed the address of freed task {i}"
        );
        i
    }

    /// Removes task `i` (in `slot`) as its `TaskFuture`'s drop does, then frees it.
    fn remove(&self, slots: &Slots, i: usize, slot: usize) {
        self.removing[i].store(true, SeqCst);
        slots.remove(slot);
        self.alive[i].store(false, SeqCst);
    }

    /// The tasks `slots` lists on this thread (each checked alive), in listing order.
    fn list(&self, slots: &Slots) -> Vec<usize> {
        let mut out = Vec::new();
        slots.for_each(|addr| out.push(self.deref(addr)));
        out
    }
}

/// Sorted, asserting there are no duplicates.
fn set(v: &[usize]) -> BTreeSet<usize> {
    let s: BTreeSet<usize> = v.iter().copied().collect();
    assert_eq!(s.len(), v.len(), "an address listed twice: {v:?}");
    s
}

/// (a) The owner inserts while another thread inserts two tasks remotely and removes one of
/// them: each thread lists exactly the live ones it may see (the other thread only its own
/// remote ones), and afterwards the owner lists exactly the live ones.
#[test]
fn remote_inserts_and_removes_beside_the_owner() {
    loom::model(|| {
        let tasks = Tasks::new(4);
        let slots = Arc::new(Slots::new());
        let a = slots.insert(Tasks::addr(0));
        assert_eq!(a & REMOTE_BIT, 0, "the owner's insert went remote");

        let th = {
            let (tasks, slots) = (tasks.clone(), slots.clone());
            thread::spawn(move || {
                let b = slots.insert(Tasks::addr(1));
                let c = slots.insert(Tasks::addr(2));
                assert_ne!(b & REMOTE_BIT, 0, "a remote insert went to the owner slab");
                assert_ne!(c & REMOTE_BIT, 0, "a remote insert went to the owner slab");
                assert_ne!(b, c);
                tasks.remove(&slots, 1, b);
                // Off the owner thread: only the remote slab, which holds just task 2.
                assert_eq!(tasks.list(&slots), [2]);
                c
            })
        };

        let d = slots.insert(Tasks::addr(3));
        assert_ne!(a, d);
        let seen = set(&tasks.list(&slots));
        assert!(seen.contains(&0) && seen.contains(&3), "{seen:?}");
        assert!(seen.is_subset(&[0, 1, 2, 3].into()), "{seen:?}");

        let c = th.join().unwrap();
        assert_eq!(set(&tasks.list(&slots)), [0, 2, 3].into());
        // The owner removes a remote task and one of its own.
        tasks.remove(&slots, 2, c);
        tasks.remove(&slots, 0, a);
        assert_eq!(tasks.list(&slots), [3]);
    });
}

/// (b) A task the owner inserted is removed (then freed) on another thread while the owner
/// lists and inserts: the owner never lists it after its removal returned, and its slot is
/// handed out again only after the removal began (and was drained).
#[test]
fn remote_removal_of_an_owner_task() {
    loom::model(|| {
        let tasks = Tasks::new(3);
        let slots = Arc::new(Slots::new());
        let a = slots.insert(Tasks::addr(0));

        let th = {
            let (tasks, slots) = (tasks.clone(), slots.clone());
            thread::spawn(move || tasks.remove(&slots, 0, a))
        };

        let before = set(&tasks.list(&slots));
        assert!(before.is_subset(&[0].into()), "{before:?}");
        let b = slots.insert(Tasks::addr(1));
        assert_eq!(b & REMOTE_BIT, 0);
        if b == a {
            assert!(
                tasks.removing[0].load(SeqCst),
                "slot {a} handed out again while its task is live"
            );
        }
        let during = set(&tasks.list(&slots));
        assert!(
            during.contains(&1) && during.is_subset(&[0, 1].into()),
            "{during:?}"
        );

        th.join().unwrap();
        let c = slots.insert(Tasks::addr(2));
        assert!(c != b && c & REMOTE_BIT == 0);
        assert_eq!(set(&tasks.list(&slots)), [1, 2].into());
        tasks.remove(&slots, 1, b);
        tasks.remove(&slots, 2, c);
        assert!(tasks.list(&slots).is_empty());
    });
}

/// (b2) Removals of owner tasks on another thread are applied by the owner's next insert even
/// when nothing lists (no slot leak): once they returned, the owner's inserts reuse their slots.
///
/// The owner makes no `has_removed` swap while the other thread runs: loom 0.7 lets a store
/// that races an earlier swap slip between the swap's read and write (tokio-rs/loom#254), so
/// a racing insert followed by this check could fail in loom only.
#[test]
fn remote_removals_are_applied_by_the_next_insert() {
    loom::model(|| {
        let tasks = Tasks::new(5);
        let slots = Arc::new(Slots::new());
        let a = slots.insert(Tasks::addr(0));
        let x = slots.insert(Tasks::addr(1));
        let y = slots.insert(Tasks::addr(2));

        let th = {
            let (tasks, slots) = (tasks.clone(), slots.clone());
            thread::spawn(move || {
                tasks.remove(&slots, 0, a);
                tasks.remove(&slots, 1, x);
            })
        };
        // The owner finishes one of its own meanwhile (no lock, no atomics).
        tasks.remove(&slots, 2, y);
        th.join().unwrap();

        let b = slots.insert(Tasks::addr(3));
        let c = slots.insert(Tasks::addr(4));
        assert!(
            BTreeSet::from([b, c]).is_subset(&[a, x, y].into()),
            "a slot removed on another thread leaked: new slots {b} and {c}"
        );
        assert_eq!(set(&tasks.list(&slots)), [3, 4].into());
    });
}

/// (c) The owner closes (takes every address) while another thread registers a task remotely
/// and removes (then frees) an owner task: close is never handed a freed task, takes every
/// task registered (and not removing) before it exactly once, and leaves nothing behind but
/// what was registered after it.
#[test]
fn close_racing_a_remote_removal() {
    loom::model(|| {
        let tasks = Tasks::new(3);
        let slots = Arc::new(Slots::new());
        let a = slots.insert(Tasks::addr(0));
        let _b = slots.insert(Tasks::addr(1));
        let registered = Arc::new(AtomicBool::new(false));

        let th = {
            let (tasks, slots, registered) = (tasks.clone(), slots.clone(), registered.clone());
            thread::spawn(move || {
                let _r = slots.insert(Tasks::addr(2));
                registered.store(true, SeqCst);
                tasks.remove(&slots, 0, a);
            })
        };

        let r_registered = registered.load(SeqCst);
        let mut taken = Vec::new();
        slots.take_all(|addr| taken.push(tasks.deref(addr)));
        let taken = set(&taken);
        assert!(taken.contains(&1), "close missed a live task: {taken:?}");
        // Task 0 may be missing only if its removal had begun (and was drained) before.
        assert!(
            taken.contains(&0) || tasks.removing[0].load(SeqCst),
            "close missed a live task: {taken:?}"
        );
        assert!(
            !r_registered || taken.contains(&2),
            "close missed a remote task: {taken:?}"
        );

        th.join().unwrap();
        // Task 2 was taken by close, or (registered after it) is still listed; nothing else is.
        let left = set(&tasks.list(&slots));
        assert!(left.is_subset(&[2].into()), "{left:?}");
        assert!(taken.is_disjoint(&left), "taken {taken:?}, left {left:?}");
        let all: BTreeSet<usize> = taken.union(&left).copied().collect();
        assert!(all.contains(&2), "the remote task was lost: {all:?}");
        assert!(all.is_subset(&[0, 1, 2].into()), "{all:?}");
    });
}

/// (e) A task spawned on another thread takes a remote slot before it is allocated
/// (`reserve`) and stores its address there after (`fill`), while the owner lists the tasks and
/// then closes the loop (`take_all`): the owner lists it only filled, the close takes it only
/// filled, and a fill that comes after the close of a slot reserved before it stores nothing
/// (the slot is retired: no later reader lists it, and its removal frees nothing). The owner's
/// own reserve and fill, with nothing in between, list it.
#[test]
fn a_remote_reservation_filled_beside_the_close() {
    loom::model(|| {
        let tasks = Tasks::new(2);
        let slots = Arc::new(Slots::new());
        let own = slots.reserve();
        assert_eq!(
            own.slot & REMOTE_BIT,
            0,
            "the owner's reservation went remote"
        );
        // SAFETY: reserved just above on this (the owner) thread; nothing touched the set since.
        unsafe { slots.fill(own, Tasks::addr(0)) };
        assert_eq!(tasks.list(&slots), [0]);

        let th = {
            let slots = slots.clone();
            thread::spawn(move || {
                let r = slots.reserve();
                assert_ne!(
                    r.slot & REMOTE_BIT,
                    0,
                    "a remote reservation went to the owner slab"
                );
                // SAFETY: a slot of the remote slab, filled once (under the mutex).
                unsafe { slots.fill(r, Tasks::addr(1)) };
                r.slot
            })
        };

        let seen = set(&tasks.list(&slots));
        assert!(
            seen.is_subset(&[0, 1].into()) && seen.contains(&0),
            "{seen:?}"
        );
        let mut closed = Vec::new();
        slots.take_all(|addr| closed.push(tasks.deref(addr)));
        let closed = set(&closed);
        assert!(
            closed.is_subset(&[0, 1].into()) && closed.contains(&0),
            "{closed:?}"
        );

        let remote = th.join().unwrap();
        // Filled before the close: taken by it. Reserved before it and filled after: retired,
        // never listed. Reserved after it: an ordinary slot, listed.
        let after = set(&tasks.list(&slots));
        assert!(after.is_subset(&[1].into()), "{after:?}");
        assert!(
            !(after.contains(&1) && closed.contains(&1)),
            "taken by the close and listed after it"
        );
        tasks.remove(&slots, 1, remote);
        tasks.remove(&slots, 0, own.slot);
        assert_eq!(slots.len(), 0);
    });
}
