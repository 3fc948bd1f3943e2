//! The park/notify protocol between a loop about to block in its reactor and the threads that
//! hand it work, factored out so loom can check it with a pluggable "notify".
//!
//! # The protocol
//!
//! One word, two bits: [`PARKED`] (the loop is, or is about to be, blocked in the reactor) and
//! [`NOTIFIED`] (someone handed the loop work it has not yet collected). All transitions are
//! read-modify-writes of that one word, so they are totally ordered and need no fences:
//!
//! - **A remote thread** pushes its work (to the injector), then calls [`ParkState::notify`],
//!   which sets `NOTIFIED` and calls the real notify (a `Poller::notify` syscall) *only if* the
//!   previous state was exactly `PARKED` — parked, and nobody has notified yet.
//! - **The loop**, before it collects remote work, calls [`ParkState::begin_collect`], which
//!   clears both bits. Work pushed before that swap is then visible to the loop (the push
//!   happens-before the remote's `fetch_or`, which precedes the loop's acquiring swap); work pushed
//!   after it sets `NOTIFIED` again.
//! - **The loop**, before blocking, calls [`ParkState::try_park`], a compare-and-swap from `0` to
//!   `PARKED`. It fails if `NOTIFIED` was set since `begin_collect`: the loop then polls with a
//!   zero timeout and collects again instead of blocking. If it succeeds, any later remote push
//!   sees `PARKED` and notifies, so no wake-up is lost.
//! - After the reactor returns, the loop calls [`ParkState::unpark`], clearing `PARKED` so that
//!   remote threads stop issuing syscalls while the loop runs.

use crate::loom::{AtomicUsize, Ordering};

/// The loop is blocked (or about to block) in the reactor.
pub const PARKED: usize = 0b01;
/// Work was handed to the loop since it last collected.
pub const NOTIFIED: usize = 0b10;

/// The atomic word of the park/notify protocol (see the module docs).
///
/// ```
/// use tower_loop::park::ParkState;
///
/// let state = ParkState::new();
/// state.begin_collect();
/// assert!(state.try_park());
/// let mut syscalls = 0;
/// state.notify(|| syscalls += 1); // parked: notifies
/// state.notify(|| syscalls += 1); // already notified: no second syscall
/// state.unpark();
/// assert_eq!(syscalls, 1);
/// ```
#[derive(Debug)]
pub struct ParkState {
    /// `PARKED | NOTIFIED` bits.
    state: AtomicUsize,
}

impl Default for ParkState {
    fn default() -> Self {
        Self::new()
    }
}

impl ParkState {
    /// A loop that is running and has nothing pending.
    pub fn new() -> Self {
        ParkState {
            state: AtomicUsize::new(0),
        }
    }

    /// Remote side, after pushing work: records it, and runs `wake` (the syscall) only if the
    /// loop is parked and not yet notified. Returns whether `wake` ran.
    pub fn notify(&self, wake: impl FnOnce()) -> bool {
        let prev = self.state.fetch_or(NOTIFIED, Ordering::AcqRel);
        if prev == PARKED {
            wake();
            true
        } else {
            false
        }
    }

    /// Loop side, before draining remote work: clears both bits. Returns whether `NOTIFIED` was
    /// set (there may be remote work to collect).
    #[inline]
    pub fn begin_collect(&self) -> bool {
        // Nothing set (the common case of a busy loop): no read-modify-write. A notification
        // that lands just after this load is seen by the next `begin_collect`, or makes the
        // next `try_park` fail — as one landing just after the swap would.
        if self.state.load(Ordering::Relaxed) == 0 {
            return false;
        }
        self.state.swap(0, Ordering::AcqRel) & NOTIFIED != 0
    }

    /// Loop side, before blocking: `true` if the loop may block (nothing was handed to it since
    /// [`begin_collect`](Self::begin_collect)); `false` means "collect again, do not block".
    pub fn try_park(&self) -> bool {
        self.state
            .compare_exchange(0, PARKED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Loop side, after the reactor returned: clears `PARKED`, keeps `NOTIFIED`.
    pub fn unpark(&self) {
        self.state.fetch_and(!PARKED, Ordering::AcqRel);
    }

    /// Whether work was handed over since the last collect (a hint; may be stale at once).
    pub fn is_notified(&self) -> bool {
        self.state.load(Ordering::Acquire) & NOTIFIED != 0
    }
}
