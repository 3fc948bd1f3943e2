//! The park/notify protocol between a loop about to block in its reactor and the threads that
//! hand it work, factored out so loom can check it with a pluggable "notify".
//!
//! # The protocol
//!
//! One word, three bits: [`PARKED`] (the loop is, or is about to be, blocked in the reactor),
//! [`NOTIFIED`] (someone handed the loop work it has not yet collected) and [`POSTED`] (someone
//! handed the loop a message that needs no wake-up). All transitions are read-modify-writes of
//! that one word, so they are totally ordered and need no fences:
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
//! - **A remote thread** with a message the loop need not wake for (a timer entry cancelled
//!   from another thread: left in place, it only wakes its task once more, spuriously) pushes
//!   it, then calls [`ParkState::post`], which sets `POSTED` and never makes the syscall. A
//!   running loop collects it at its next `begin_collect` (which clears `POSTED` too); a loop
//!   about to block fails `try_park` and collects it first; a blocked loop collects it when it
//!   wakes for anything else. `notify` ignores `POSTED` when it decides whether to wake (a
//!   posted message must not hide a parked loop from a real notification).
//!
//! A reactor that must prepare before it blocks (the Linux reactor confirming registrations
//! it trusted without a syscall) first polls without blocking; that poll may consume the
//! wake-up of a notify that raced it, so it then blocks only if `NOTIFIED` is still clear
//! ([`probe_then_block`]).
//!
//! # The loop's side, in order
//!
//! [`turn`] is the first half of every loop iteration (asyncio's `_run_once` up to the
//! selector's return): collect, decide whether to block, poll, collect again. The event loop
//! runs it with its reactor, timers and ready queue as the [`Turn`]; the loom model
//! (`tests/loom_park.rs`) runs the same function with a `loom::sync::Notify` for the poller, so
//! a reordering of its steps is checked, not only the word's transitions.

use std::time::{Duration, Instant};

use crate::loom::{AtomicUsize, Ordering};

/// The loop is blocked (or about to block) in the reactor.
pub const PARKED: usize = 0b01;
/// Work was handed to the loop since it last collected.
pub const NOTIFIED: usize = 0b10;
/// A message that needs no wake-up was handed to the loop since it last collected.
pub const POSTED: usize = 0b100;

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
    /// `PARKED | NOTIFIED | POSTED` bits.
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
        // `POSTED` does not count: a loop blocked with a posted message still needs the wake.
        if prev & !POSTED == PARKED {
            wake();
            true
        } else {
            false
        }
    }

    /// Remote side, after pushing a message the loop need not wake for: records it (the
    /// loop's next collect takes it, and it keeps the loop from blocking before that), without
    /// a syscall even if the loop is blocked.
    ///
    /// ```
    /// use tower_loop::park::ParkState;
    ///
    /// let state = ParkState::new();
    /// state.post(); // the loop runs: its next collect takes the message
    /// assert!(state.begin_collect());
    /// assert!(state.try_park()); // the loop blocks
    /// state.post(); // no syscall: the message waits for the loop's next wake-up
    /// let mut syscalls = 0;
    /// state.notify(|| syscalls += 1); // a real notification still wakes it
    /// assert_eq!(syscalls, 1);
    /// ```
    pub fn post(&self) {
        self.state.fetch_or(POSTED, Ordering::AcqRel);
    }

    /// Loop side, before draining remote work: clears every bit. Returns whether `NOTIFIED` or
    /// `POSTED` was set (there may be remote work to collect).
    #[inline]
    pub fn begin_collect(&self) -> bool {
        // Nothing set (the common case of a busy loop): no read-modify-write. A notification
        // that lands just after this load is seen by the next `begin_collect`, or makes the
        // next `try_park` fail — as one landing just after the swap would.
        if self.state.load(Ordering::Relaxed) == 0 {
            return false;
        }
        self.state.swap(0, Ordering::AcqRel) & (NOTIFIED | POSTED) != 0
    }

    /// Loop side, before blocking: `true` if the loop may block (nothing was handed to it since
    /// [`begin_collect`](Self::begin_collect), posted messages included); `false` means
    /// "collect again, do not block".
    pub fn try_park(&self) -> bool {
        self.state
            .compare_exchange(0, PARKED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Loop side, after the reactor returned: clears `PARKED`, keeps `NOTIFIED` and `POSTED`.
    pub fn unpark(&self) {
        self.state.fetch_and(!PARKED, Ordering::AcqRel);
    }

    /// Whether any bit is set (a relaxed load): the loop's cheap test before
    /// [`begin_collect`](Self::begin_collect) on its hot path (a local push). A set bit is
    /// `NOTIFIED` or `POSTED`, or `PARKED` while the loop dispatches the events of a blocking
    /// poll; the `begin_collect` that follows clears them all, which is harmless then: the
    /// loop is awake.
    #[inline(always)]
    pub fn is_set(&self) -> bool {
        self.state.load(Ordering::Relaxed) != 0
    }

    /// Whether work was handed over since the last collect (a hint; may be stale at once).
    pub fn is_notified(&self) -> bool {
        self.state.load(Ordering::Acquire) & NOTIFIED != 0
    }
}

/// What [`turn`] needs from a loop: the parts it orders around the [`ParkState`].
///
/// The event loop implements it with its reactor, timers, ready queue and
/// [`WorkSource`](crate::WorkSource); a loom model implements it with a stand-in poller.
pub trait Turn {
    /// Whether anything can run now (ready items, a stop request, a work source with more):
    /// the loop must not block.
    fn has_work(&self) -> bool;
    /// With work ready: polls the reactor with a zero timeout if the fairness interval
    /// since the last poll has passed.
    fn poll_if_due(&self);
    /// With nothing ready: how the loop may wait (until the next timer, or virtual time).
    fn wait(&self) -> Wait;
    /// The work source may veto blocking (`false`); see [`WorkSource::before_park`](crate::WorkSource::before_park).
    fn before_park(&self) -> bool;
    /// Answers every `before_park` that returned `true`, blocked or not.
    fn after_unpark(&self);
    /// Polls the reactor for at most `timeout` (`None`: until woken) and queues what its
    /// events make ready; returns the number of events.
    fn poll(&self, timeout: Option<Duration>) -> usize;
    /// Moves a virtual clock to `deadline`.
    fn advance_to(&self, deadline: Instant);
    /// Moves the work other threads handed over (the injector) into the ready queue.
    fn collect(&self);
}

/// How a loop with nothing ready may wait (see [`Turn::wait`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// A timer is due: poll without blocking.
    Now,
    /// Virtual time: poll without blocking, then jump the clock to this deadline unless
    /// something happened.
    Virtual(Instant),
    /// Block in the reactor for at most this long (`None`: until woken).
    Block(Option<Duration>),
}

/// The first half of one loop iteration: collect remote work, then either poll the reactor
/// without blocking (work is ready) or wait as [`Turn::wait`] says, then collect again.
///
/// The order is the protocol's (see the module docs):
///
/// 1. [`begin_collect`](ParkState::begin_collect) and collect *before* asking
///    [`has_work`](Turn::has_work): what other threads handed over before this point is then
///    seen as ready work (and queued ahead of the reactor's events, as asyncio's
///    `call_soon_threadsafe` appends to `_ready` before the selector runs); a hand-over after
///    it sets `NOTIFIED`, which makes `try_park` fail.
/// 2. [`try_park`](ParkState::try_park) just before the blocking poll, and
///    [`unpark`](ParkState::unpark) after it.
/// 3. Collect again, for what arrived while the loop waited.
///
/// ```
/// use std::cell::Cell;
/// use std::time::{Duration, Instant};
/// use tower_loop::park::{ParkState, Turn, Wait, turn};
///
/// /// A loop with nothing to do but wait.
/// #[derive(Default)]
/// struct Idle { waited: Cell<Option<Option<Duration>>> }
///
/// impl Turn for Idle {
///     fn has_work(&self) -> bool { false }
///     fn poll_if_due(&self) {}
///     fn wait(&self) -> Wait { Wait::Block(Some(Duration::from_millis(5))) }
///     fn before_park(&self) -> bool { true }
///     fn after_unpark(&self) {}
///     fn poll(&self, timeout: Option<Duration>) -> usize { self.waited.set(Some(timeout)); 0 }
///     fn advance_to(&self, _: Instant) {}
///     fn collect(&self) {}
/// }
///
/// let (state, idle) = (ParkState::new(), Idle::default());
/// turn(&state, &idle);
/// assert_eq!(idle.waited.get(), Some(Some(Duration::from_millis(5)))); // it blocked
/// state.notify(|| {});
/// turn(&state, &idle); // collects, then blocks again: nothing was ready
/// assert!(!state.is_notified());
/// ```
#[inline(always)]
pub fn turn<T: Turn + ?Sized>(park: &ParkState, t: &T) {
    if park.begin_collect() {
        t.collect();
    }
    if t.has_work() {
        t.poll_if_due();
    } else {
        match t.wait() {
            Wait::Now => {
                t.poll(Some(Duration::ZERO));
            }
            Wait::Virtual(deadline) => {
                let n = t.poll(Some(Duration::ZERO));
                if n == 0 && !park.is_notified() {
                    t.advance_to(deadline);
                }
            }
            Wait::Block(timeout) => {
                let may_park = t.before_park();
                if may_park && park.try_park() {
                    t.poll(timeout);
                    park.unpark();
                } else {
                    t.poll(Some(Duration::ZERO));
                }
                if may_park {
                    t.after_unpark();
                }
            }
        }
    }
    if park.begin_collect() {
        t.collect();
    }
}

/// A reactor that must prepare before it blocks (see [`probe_then_block`]): the Linux reactor
/// confirms the registrations it trusted without a syscall (`reactor.rs`, "Trusting a
/// registration").
pub trait Probe {
    /// What a failed poll reports.
    type Error;
    /// Polls without blocking; returns the number of events (wake-ups not counted: a wake-up
    /// this poll took is *consumed*, and a later blocking poll will not see it).
    fn probe(&mut self) -> Result<usize, Self::Error>;
    /// Prepares to block; returns how many waiters that woke (then the loop must not block).
    fn prepare(&mut self) -> usize;
    /// Polls, blocking as the loop's [`Wait`] said; returns the number of events.
    fn block(&mut self) -> Result<usize, Self::Error>;
}

/// A blocking poll that must [`prepare`](Probe::prepare) first, without losing a wake-up: it
/// probes without blocking, and returns if that brought events, **or if another thread handed
/// work over** (`NOTIFIED`: its wake-up may have been the one the probe consumed, and it will
/// not come again); only then prepares, and blocks unless preparing woke someone. Called with
/// the loop parked ([`ParkState::try_park`] succeeded, or the wait is a zero-timeout one); a
/// notification after the `NOTIFIED` check is a new one, which the blocking poll sees. The
/// loom model `tests/loom_park.rs` runs this function with a poller whose wake-ups are consumed
/// by the poll that sees them.
///
/// ```
/// use tower_loop::park::{ParkState, Probe, probe_then_block};
///
/// /// A reactor with nothing to report.
/// struct Quiet { blocked: bool }
///
/// impl Probe for Quiet {
///     type Error = ();
///     fn probe(&mut self) -> Result<usize, ()> { Ok(0) }
///     fn prepare(&mut self) -> usize { 0 }
///     fn block(&mut self) -> Result<usize, ()> { self.blocked = true; Ok(0) }
/// }
///
/// let park = ParkState::new();
/// let mut quiet = Quiet { blocked: false };
/// assert_eq!(probe_then_block(&park, &mut quiet), Ok(0));
/// assert!(quiet.blocked);
/// // Work was handed over: the loop does not block (the wake-up may have been consumed).
/// park.notify(|| {});
/// let mut quiet = Quiet { blocked: false };
/// assert_eq!(probe_then_block(&park, &mut quiet), Ok(0));
/// assert!(!quiet.blocked);
/// ```
///
/// # Errors
///
/// What the probe or the blocking poll reports.
pub fn probe_then_block<P: Probe + ?Sized>(park: &ParkState, p: &mut P) -> Result<usize, P::Error> {
    let n = p.probe()?;
    if n != 0 || park.is_notified() {
        return Ok(n);
    }
    let woken = p.prepare();
    if woken != 0 {
        return Ok(woken);
    }
    p.block()
}
