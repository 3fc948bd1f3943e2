//! The workers' exit rendezvous at shutdown: a worker closes its loop — whose task registry
//! then wakes, and so drops, every runtime task registered there — only once no worker polls
//! tasks any more.
//!
//! Why: a task is registered in the registry of the worker that spawned it, but may run on any
//! worker. If worker A closed its registry while worker B still ran its last batch, B could
//! poll a task A had just taken out of its registry (one A's wake-up found already scheduled
//! on B), and that task, pending again, would be in no registry and in no queue: never dropped.
//! After the rendezvous no worker polls, so every task is either queued (dropped with the
//! queue) or idle in a registry (woken by its close, then dropped by the schedule function,
//! which sees `shutdown`).
//!
//! # Who may touch which field
//!
//! Everything is behind one mutex, taken a few times per worker per runtime life (start,
//! stop, shutdown), never on a task's path. Loom-modelled in `tests/loom_exit.rs` (through
//! `model::ExitModel`, without the deadline: loom has no clock).

use std::fmt;
use std::time::Instant;

use crate::loom::{Condvar, Mutex, MutexGuard};

/// Which workers may still poll tasks, and until when the others wait for them.
#[derive(Default)]
struct State {
    /// `polling[i]`: worker `i` has started and may still poll tasks.
    polling: Vec<bool>,
    /// Set by shutdown with a timeout: waiters give up at this instant.
    deadline: Option<Instant>,
}

/// The rendezvous (see the module docs).
pub(crate) struct Exit {
    /// The state.
    state: Mutex<State>,
    /// Notified when a worker stops polling.
    stopped: Condvar,
}

impl fmt::Debug for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exit").finish_non_exhaustive()
    }
}

impl Exit {
    /// The rendezvous of `n` workers, none started yet.
    pub(crate) fn new(n: usize) -> Exit {
        Exit {
            state: Mutex::new(State {
                polling: vec![false; n],
                deadline: None,
            }),
            stopped: Condvar::new(),
        }
    }

    /// Locks the state, ignoring poisoning (nothing panics under the lock).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Worker `i` runs its loop and may poll tasks from now on.
    pub(crate) fn started(&self, i: usize) {
        self.lock().polling[i] = true;
    }

    /// Worker `i` polls no task any more (idempotent). Called by the worker when its loop
    /// stopped, or by a shutdown that runs on worker `i` itself (which cannot wait for its own
    /// worker: the tasks left in its current batch may still run, which the others do not wait
    /// for).
    pub(crate) fn stopped(&self, i: usize) {
        let mut g = self.lock();
        g.polling[i] = false;
        let none_left = !g.polling.iter().any(|&p| p);
        drop(g);
        if none_left {
            self.stopped.notify_all();
        }
    }

    /// Shutdown with a timeout: workers waiting in [`wait_all_stopped`](Self::wait_all_stopped)
    /// give up at `deadline` (a worker still polling then is detached by the shutdown anyway).
    pub(crate) fn set_deadline(&self, deadline: Instant) {
        self.lock().deadline = Some(deadline);
        self.stopped.notify_all();
    }

    /// Blocks until no worker polls tasks any more, or the deadline passed.
    pub(crate) fn wait_all_stopped(&self) {
        let mut g = self.lock();
        while g.polling.iter().any(|&p| p) {
            g = match g.deadline {
                None => self.stopped.wait(g),
                #[cfg(not(loom))]
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return;
                    }
                    self.stopped.wait_timeout(g, left).0
                }
                // Loom has no clock (and its condvar no timed wait): the models set no
                // deadline; were one set, waiters would give up at once.
                #[cfg(loom)]
                Some(_) => return,
            };
        }
    }
}
