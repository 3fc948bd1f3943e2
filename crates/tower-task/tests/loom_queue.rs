//! Loom model of the local run queue: the owner's push/pop (and overflow) against concurrent
//! steals. No task may be lost or handed out twice.
#![cfg(loom)]

use loom::thread;
use tower_task::runtime::inject::Inject;
use tower_task::runtime::queue::{self, CAPACITY};

/// Everything the injector holds.
fn drain(inject: &Inject<usize>) -> Vec<usize> {
    inject.drain().into_iter().collect()
}

#[test]
fn pop_against_steal() {
    loom::model(|| {
        let inject = loom::sync::Arc::new(Inject::new());
        let (local, stealer) = queue::local();
        for i in 0..3 {
            assert!(!local.push_back_or_overflow(i, &inject));
        }
        let th = thread::spawn(move || {
            let (mine, _s) = queue::local();
            let mut got = Vec::new();
            if let Some(x) = stealer.steal_into(&mine) {
                got.push(x);
            }
            while let Some(x) = mine.pop() {
                got.push(x);
            }
            got
        });
        let mut got = Vec::new();
        while let Some(x) = local.pop() {
            got.push(x);
        }
        got.extend(th.join().unwrap());
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2]);
    });
}

#[test]
fn overflow_against_steal() {
    loom::model(|| {
        let inject = loom::sync::Arc::new(Inject::new());
        let (local, stealer) = queue::local();
        let n = CAPACITY + 2;
        let th = thread::spawn(move || {
            let (mine, _s) = queue::local();
            let mut got = Vec::new();
            if let Some(x) = stealer.steal_into(&mine) {
                got.push(x);
            }
            while let Some(x) = mine.pop() {
                got.push(x);
            }
            got
        });
        for i in 0..n {
            local.push_back_or_overflow(i, &inject);
        }
        let mut got = Vec::new();
        while let Some(x) = local.pop() {
            got.push(x);
        }
        got.extend(th.join().unwrap());
        got.extend(drain(&inject));
        got.sort_unstable();
        assert_eq!(got, (0..n).collect::<Vec<_>>());
    });
}

#[test]
fn two_stealers_and_the_owner() {
    loom::model(|| {
        let inject = loom::sync::Arc::new(Inject::new());
        let (local, stealer) = queue::local();
        for i in 0..4 {
            local.push_back_or_overflow(i, &inject);
        }
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let stealer = stealer.clone();
                thread::spawn(move || {
                    let (mine, _s) = queue::local();
                    let mut got = Vec::new();
                    if let Some(x) = stealer.steal_into(&mine) {
                        got.push(x);
                    }
                    while let Some(x) = mine.pop() {
                        got.push(x);
                    }
                    got
                })
            })
            .collect();
        let mut got = Vec::new();
        if let Some(x) = local.pop() {
            got.push(x);
        }
        for t in thieves {
            got.extend(t.join().unwrap());
        }
        while let Some(x) = local.pop() {
            got.push(x);
        }
        got.extend(drain(&inject));
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2, 3]);
    });
}

#[test]
fn two_stealers_while_the_owner_pushes() {
    // The owner keeps pushing (into slots a finished steal freed) while two thieves race: the
    // single-steal-in-flight rule is what keeps a slot from being overwritten mid-copy.
    loom::model(|| {
        let inject = loom::sync::Arc::new(Inject::new());
        let (local, stealer) = queue::local();
        for i in 0..3 {
            local.push_back_or_overflow(i, &inject);
        }
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let stealer = stealer.clone();
                thread::spawn(move || {
                    let (mine, _s) = queue::local();
                    let mut got = Vec::new();
                    if let Some(x) = stealer.steal_into(&mine) {
                        got.push(x);
                    }
                    while let Some(x) = mine.pop() {
                        got.push(x);
                    }
                    got
                })
            })
            .collect();
        for i in 3..5 {
            local.push_back_or_overflow(i, &inject);
        }
        let mut got = Vec::new();
        for t in thieves {
            got.extend(t.join().unwrap());
        }
        while let Some(x) = local.pop() {
            got.push(x);
        }
        got.extend(drain(&inject));
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2, 3, 4]);
    });
}
