//! Loom models of the [`IoDriver`](tower_loop::IoDriver)'s role word
//! ([`DriverRole`]): which member loop polls the shared poller `S`
//! (docs/decisions/0011-multi-thread-io.md).
//!
//! - `someone_blocks_on_the_shared_poller`: members deciding to block at the same time, one of
//!   them the holder that just ran: once all are blocked, one of them is blocked on `S` (else
//!   the shared sources' events would reach nobody).
//! - `a_consumed_edge_is_never_stranded`: the former holder, in the window where it still polls
//!   `S`, consumes the edge of member 1's own poller while member 1 takes the role and blocks
//!   on `S`. The real `edge_lost`/`take_lost` run; the pollers are modelled as in
//!   `loom_park.rs` (an edge is a flag consumed by the poll that sees it; a blocking poll waits
//!   on a condvar). A lost edge shows up as a deadlock (member 1 waits forever).
#![cfg(loom)]

use loom::sync::{Arc, Condvar, Mutex};
use tower_loop::io_driver::DriverRole;

#[test]
fn someone_blocks_on_the_shared_poller() {
    loom::model(|| {
        let role = Arc::new(DriverRole::new(2));
        // Member 0 held the role blocked, and woke up: it holds it and runs.
        assert!(role.begin_block(0));
        role.end_block(0);
        let r0 = role.clone();
        let t0 = loom::thread::spawn(move || {
            // It polls `S` while it runs (if it still holds the role), then blocks.
            let _ = r0.holds(0);
            r0.begin_block(0)
        });
        let r1 = role.clone();
        let t1 = loom::thread::spawn(move || r1.begin_block(1));
        let on_s0 = t0.join().unwrap();
        let on_s1 = t1.join().unwrap();
        assert!(
            on_s0 || on_s1,
            "every member blocked, none on the shared poller"
        );
        assert!(
            !(on_s0 && on_s1),
            "two members blocked on the shared poller"
        );
    });
}

/// An edge-triggered poller's readiness: a flag that the poll seeing it consumes.
struct Edge {
    /// An edge no poll has seen yet.
    pending: Mutex<bool>,
    /// Signalled on a new edge.
    cv: Condvar,
}

impl Edge {
    fn new(pending: bool) -> Edge {
        Edge {
            pending: Mutex::new(pending),
            cv: Condvar::new(),
        }
    }

    /// A new edge (the eventfd write, seen by `S` through the nesting).
    fn raise(&self) {
        *self.pending.lock().unwrap() = true;
        self.cv.notify_all();
    }

    /// A zero-timeout poll: whether an edge was pending (consumed).
    fn poll_now(&self) -> bool {
        std::mem::replace(&mut *self.pending.lock().unwrap(), false)
    }

    /// A blocking poll: returns once an edge is pending, consuming it.
    fn wait(&self) {
        let mut pending = self.pending.lock().unwrap();
        while !*pending {
            pending = self.cv.wait(pending).unwrap();
        }
        *pending = false;
    }
}

#[test]
fn a_consumed_edge_is_never_stranded() {
    loom::model(|| {
        let role = Arc::new(DriverRole::new(2));
        // Member 0 holds the role and runs; member 1's own poller has an event, whose edge
        // `S` reports (to whoever polls it first).
        assert!(role.begin_block(0));
        role.end_block(0);
        let s_edge_of_1 = Arc::new(Edge::new(true));
        let own_event_of_1 = Arc::new(Mutex::new(true));

        let (r0, s0) = (role.clone(), s_edge_of_1.clone());
        let former = loom::thread::spawn(move || {
            // Its zero-timeout poll of `S`, begun while it still held the role.
            if s0.poll_now() && r0.edge_lost(1) {
                // `IoDriver::wake_member`: member 1's eventfd, a new edge in `S`.
                s0.raise();
            }
        });

        // Member 1 has nothing to run: it takes the role and blocks on `S` (`wait_any`).
        assert!(role.begin_block(1));
        let mut own = role.take_lost(1);
        if !own {
            s_edge_of_1.wait();
            own = true;
        }
        role.end_block(1);
        // Its own poller, without blocking: the event is there.
        assert!(own);
        assert!(std::mem::replace(
            &mut *own_event_of_1.lock().unwrap(),
            false
        ));
        former.join().unwrap();
    });
}
