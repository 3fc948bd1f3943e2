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
//! - `a_level_eof_after_data_is_never_lost` and `..._with_a_former_holder`: member 1 holds the
//!   role and reads a pipe registered level-triggered in its own poller `E_1` (a subprocess
//!   transport's `add_reader`), one chunk per readiness; another thread writes data, then
//!   closes (the end of stream). Each write raises `E_1`'s edge in `S`; `E_1` reporting the
//!   pipe puts it back in its ready list with no new edge (the kernel's level-triggered
//!   re-queue), so what the first read left (the end of stream) reaches member 1 only through
//!   `own_ready` and [`DriverRole::must_poll_own`], the real function. Checked: the end of
//!   stream is read (a lost one is a deadlock: member 1 blocked on `S`), and member 1 never
//!   blocks on `S` while the pipe is ready with nothing written since its own poller last
//!   reported it (no new edge would come). In the second model a former holder, still polling
//!   `S`, may also consume `E_1`'s edges (`edge_lost`, and the wake-up it makes).
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

/// A pipe registered level-triggered in member 1's own poller `E_1`: what is unread, and how
/// many writes were made (each raises `E_1`'s edge in `S` after it).
#[derive(Default)]
struct Pipe {
    /// A chunk of data is unread.
    data: bool,
    /// The end of stream is unread.
    eof: bool,
    /// Writes made (the data, then the close).
    writes: u32,
}

impl Pipe {
    /// Level-triggered: readable while anything is unread.
    fn ready(&self) -> bool {
        self.data || self.eof
    }
}

/// Member 1's loop until it reads the end of stream (see the module docs): it holds the
/// role; each turn it asks [`DriverRole::must_poll_own`] with `own_ready`, blocks on `S` unless
/// told not to, polls `E_1` without blocking, and runs the reader callback once (one chunk).
fn level_reader(role: &DriverRole, s_edge_of_1: &Edge, pipe: &Mutex<Pipe>) {
    // Set by a poll whose events held a level-triggered fd (`LocalReactor::poll`).
    let mut own_ready = false;
    // The pipe's write count when `E_1` last reported (or polled empty).
    let mut seen_writes = 0;
    loop {
        assert!(role.begin_block(1));
        let mut own = role.must_poll_own(1, own_ready);
        if own {
            // A zero-timeout poll of `S`: it may also carry a new edge of `E_1`.
            s_edge_of_1.poll_now();
        } else {
            {
                let p = pipe.lock().unwrap();
                assert!(
                    !(p.ready() && p.writes == seen_writes),
                    "blocked on S while the own poller holds a level-ready fd that makes no new edge"
                );
            }
            s_edge_of_1.wait();
            own = true;
        }
        role.end_block(1);
        assert!(own);
        // `E_1`, without blocking: level-triggered, it reports the pipe while it is readable.
        let mut p = pipe.lock().unwrap();
        seen_writes = p.writes;
        own_ready = p.ready();
        // The reader callback: one chunk per readiness, the end of stream after the data.
        if p.data {
            p.data = false;
        } else if p.eof {
            return;
        }
    }
}

#[test]
fn a_level_eof_after_data_is_never_lost() {
    loom::model(|| {
        let role = Arc::new(DriverRole::new(2));
        let s_edge_of_1 = Arc::new(Edge::new(false));
        let pipe = Arc::new(Mutex::new(Pipe::default()));

        let (e, p) = (s_edge_of_1.clone(), pipe.clone());
        let writer = loom::thread::spawn(move || {
            {
                let mut p = p.lock().unwrap();
                p.data = true;
                p.writes += 1;
            }
            e.raise();
            {
                let mut p = p.lock().unwrap();
                p.eof = true;
                p.writes += 1;
            }
            e.raise();
        });

        level_reader(&role, &s_edge_of_1, &pipe);
        writer.join().unwrap();
    });
}

#[test]
fn a_level_eof_after_data_is_never_lost_with_a_former_holder() {
    loom::model(|| {
        let role = Arc::new(DriverRole::new(2));
        // Member 0 held the role and runs: its next zero-timeout poll of `S` may take `E_1`'s
        // edge.
        assert!(role.begin_block(0));
        role.end_block(0);
        let s_edge_of_1 = Arc::new(Edge::new(false));
        // The data was written before; its edge is pending in `S`. The close comes later.
        let pipe = Arc::new(Mutex::new(Pipe {
            data: true,
            eof: false,
            writes: 1,
        }));
        s_edge_of_1.raise();

        let (r0, s0) = (role.clone(), s_edge_of_1.clone());
        let former = loom::thread::spawn(move || {
            if s0.poll_now() && r0.edge_lost(1) {
                // `IoDriver::wake_member`: member 1's eventfd, a new edge in `S`.
                s0.raise();
            }
        });
        let (e, p) = (s_edge_of_1.clone(), pipe.clone());
        let writer = loom::thread::spawn(move || {
            {
                let mut p = p.lock().unwrap();
                p.eof = true;
                p.writes += 1;
            }
            e.raise();
        });

        level_reader(&role, &s_edge_of_1, &pipe);
        former.join().unwrap();
        writer.join().unwrap();
    });
}
