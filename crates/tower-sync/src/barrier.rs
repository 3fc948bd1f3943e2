//! `Barrier`: asyncio's barrier (3.11+) — `parties` tasks wait until all have arrived, then
//! all leave before the next round fills; it can be reset or aborted while they wait or
//! leave, which fails those still inside with `BrokenBarrierError`.
//!
//! The state machine is asyncio's: *filling* (parties arrive and wait), *draining* (the round
//! is complete; released parties leave, newcomers wait outside), *resetting* (a reset while
//! parties were inside; they leave with the error, newcomers wait outside), *broken* (after
//! `abort`, until `reset`). Draining and resetting end, back to filling, when the last party
//! inside has left. A released party leaves when its future is next polled (as an asyncio
//! task leaves when it next runs), so its outcome is decided then: a reset or abort in the
//! meantime fails it, as in asyncio.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::blocking::block_on;
use crate::error::BrokenBarrierError;
use crate::loom::Mutex;
use crate::waitlist::{WaitList, wake_all};

/// The barrier's phase (asyncio's `_BarrierState`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Parties arrive and wait for the round to complete.
    Filling,
    /// The round completed; the parties inside leave, newcomers wait outside.
    Draining,
    /// Reset while parties were inside; they leave with the error, newcomers wait outside.
    Resetting,
    /// Aborted: every wait fails until `reset`.
    Broken,
}

impl fmt::Debug for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // asyncio's names, as its repr shows them.
        f.write_str(match self {
            Phase::Filling => "filling",
            Phase::Draining => "draining",
            Phase::Resetting => "resetting",
            Phase::Broken => "broken",
        })
    }
}

/// The state under the barrier's lock.
#[derive(Debug)]
struct State {
    /// The phase.
    phase: Phase,
    /// Parties inside: arrived and not yet left (waiting while filling, leaving afterwards).
    count: usize,
    /// The parties inside that wait for the round to end; all are notified when the phase
    /// leaves `Filling` (their outcome is read from the phase when they are polled).
    inside: WaitList<()>,
    /// Newcomers waiting outside while the barrier drains or resets; all are notified when
    /// it fills again or breaks, and then arrive afresh.
    outside: WaitList<()>,
}

impl State {
    /// A party inside leaves; the last one out ends draining or resetting (asyncio's
    /// `_exit`) and lets the newcomers outside arrive.
    fn leave(&mut self, wakers: &mut Vec<Waker>) {
        self.count = self.count.saturating_sub(1);
        if self.count == 0 {
            if matches!(self.phase, Phase::Draining | Phase::Resetting) {
                self.phase = Phase::Filling;
            }
            self.outside.notify_all(|| (), wakers);
        }
    }
}

/// A barrier for a fixed number of parties (asyncio's `Barrier`).
///
/// Each `wait` returns the party's arrival index, `0..parties`. When the last party arrives
/// the round is complete and every party inside is released; the barrier *drains*: newcomers
/// wait outside until every released party has left (its `wait` has returned or been
/// dropped), then the next round fills. A party dropped while the round fills leaves it (the
/// count goes down, as when an asyncio task waiting on a barrier is cancelled).
///
/// [`reset`](Barrier::reset) fails the parties still inside, including released ones that
/// have not returned yet, and [`abort`](Barrier::abort) fails them and every later `wait`,
/// exactly as asyncio's do. Its `Debug` shows asyncio's state names (`filling`, `draining`,
/// `resetting`, `broken`).
///
/// # Examples
///
/// ```
/// use tower_sync::Barrier;
///
/// # tower_coro::block_on(async {
/// let barrier = Barrier::new(1);
/// assert_eq!(barrier.wait().await, Ok(0));
/// barrier.abort();
/// assert!(barrier.broken());
/// assert!(barrier.wait().await.is_err());
/// barrier.reset();
/// assert_eq!(barrier.wait().await, Ok(0));
/// # });
/// ```
pub struct Barrier {
    /// How many parties each round needs (at least one).
    parties: usize,
    /// Everything else.
    state: Mutex<State>,
}

impl Barrier {
    /// A barrier for `parties` parties (0 is taken as 1).
    pub fn new(parties: usize) -> Self {
        Self {
            parties: parties.max(1),
            state: Mutex::new(State {
                phase: Phase::Filling,
                count: 0,
                inside: WaitList::new(),
                outside: WaitList::new(),
            }),
        }
    }

    /// Waits until all parties have arrived; returns this party's arrival index.
    ///
    /// While the barrier drains or resets this first waits outside for it to fill again.
    /// Fails with [`BrokenBarrierError`] if the barrier is broken, or is reset or aborted
    /// before this party has left it.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future while the round fills takes this party out of the round
    /// (`n_waiting` goes down); dropping it after the round completed counts as leaving (the
    /// barrier stops draining once every released party has left); dropping it while it
    /// waits outside changes nothing.
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            stage: Stage::Start,
        }
    }

    /// [`Barrier::wait`], blocking the thread (never inside a task).
    pub fn wait_blocking(&self) -> Result<usize, BrokenBarrierError> {
        block_on(self.wait())
    }

    /// Resets the barrier (asyncio's `reset()`): parties still inside — waiting, or released
    /// but not yet returned — fail with [`BrokenBarrierError`], and the barrier fills afresh
    /// once they have left (at once if none is inside). A broken barrier becomes usable again.
    pub fn reset(&self) {
        let mut wakers = Vec::new();
        {
            let mut state = self.state.lock();
            if state.count > 0 {
                state.phase = Phase::Resetting;
                state.inside.notify_all(|| (), &mut wakers);
            } else {
                state.phase = Phase::Filling;
                state.outside.notify_all(|| (), &mut wakers);
            }
        }
        wake_all(wakers);
    }

    /// Breaks the barrier (asyncio's `abort()`): parties inside or waiting outside, and every
    /// later `wait`, fail with [`BrokenBarrierError`] until [`Barrier::reset`].
    pub fn abort(&self) {
        let mut wakers = Vec::new();
        {
            let mut state = self.state.lock();
            state.phase = Phase::Broken;
            state.inside.notify_all(|| (), &mut wakers);
            state.outside.notify_all(|| (), &mut wakers);
        }
        wake_all(wakers);
    }

    /// Parties needed per round.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// Parties waiting in the round being filled; 0 while the barrier drains, resets or is
    /// broken (as asyncio's `n_waiting`).
    pub fn n_waiting(&self) -> usize {
        let state = self.state.lock();
        if state.phase == Phase::Filling {
            state.count
        } else {
            0
        }
    }

    /// True after `abort`, until `reset`.
    pub fn broken(&self) -> bool {
        self.state.lock().phase == Phase::Broken
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        let n_waiting = if state.phase == Phase::Filling {
            state.count
        } else {
            0
        };
        f.debug_struct("Barrier")
            .field("state", &state.phase)
            .field("n_waiting", &n_waiting)
            .field("parties", &self.parties)
            .finish()
    }
}

/// Where a [`BarrierWait`] is.
#[derive(Debug, Clone, Copy)]
enum Stage {
    /// Not arrived yet.
    Start,
    /// Waiting outside while the barrier drains or resets; the entry in `outside`.
    Outside(usize),
    /// Arrived with `index`, inside the barrier; the entry in `inside`.
    Inside {
        /// The entry in `inside`.
        key: usize,
        /// The arrival index.
        index: usize,
    },
    /// Returned.
    Done,
}

/// The future of [`Barrier::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct BarrierWait<'a> {
    /// The barrier.
    barrier: &'a Barrier,
    /// Where this party is.
    stage: Stage,
}

impl BarrierWait<'_> {
    /// Arrives (asyncio's `_block` then the count): fails on a broken barrier, waits outside
    /// one that drains or resets, else takes the next index and either completes the round
    /// or waits inside.
    fn arrive(
        &mut self,
        state: &mut State,
        cx: &mut Context<'_>,
        wakers: &mut Vec<Waker>,
    ) -> Poll<Result<usize, BrokenBarrierError>> {
        match state.phase {
            Phase::Broken => {
                self.stage = Stage::Done;
                Poll::Ready(Err(BrokenBarrierError))
            }
            Phase::Draining | Phase::Resetting => {
                self.stage = Stage::Outside(state.outside.push_back(cx.waker().clone(), 0));
                Poll::Pending
            }
            Phase::Filling => {
                let index = state.count;
                state.count += 1;
                if state.count < self.barrier.parties {
                    let key = state.inside.push_back(cx.waker().clone(), 0);
                    self.stage = Stage::Inside { key, index };
                    return Poll::Pending;
                }
                // The last party: release the round, and leave at once.
                state.phase = Phase::Draining;
                state.inside.notify_all(|| (), wakers);
                state.leave(wakers);
                self.stage = Stage::Done;
                Poll::Ready(Ok(index))
            }
        }
    }
}

impl Future for BarrierWait<'_> {
    type Output = Result<usize, BrokenBarrierError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut wakers = Vec::new();
        let mut state = this.barrier.state.lock();
        let out = match this.stage {
            Stage::Start => this.arrive(&mut state, cx, &mut wakers),
            Stage::Outside(key) => {
                if state.outside.take_notified(key).is_some() {
                    this.arrive(&mut state, cx, &mut wakers)
                } else {
                    state.outside.set_waker(key, cx.waker());
                    Poll::Pending
                }
            }
            Stage::Inside { key, index } => {
                if state.phase == Phase::Filling {
                    // Still filling: every phase change away from it notifies all inside,
                    // and it cannot come back while this party is inside (count > 0).
                    state.inside.set_waker(key, cx.waker());
                    Poll::Pending
                } else {
                    // Leave (asyncio's `_wait` returning, then `_exit`): released if the
                    // barrier drains, failed if it was reset or aborted meanwhile.
                    state.inside.remove(key);
                    let out = if state.phase == Phase::Draining {
                        Ok(index)
                    } else {
                        Err(BrokenBarrierError)
                    };
                    state.leave(&mut wakers);
                    this.stage = Stage::Done;
                    Poll::Ready(out)
                }
            }
            Stage::Done => Poll::Pending,
        };
        drop(state);
        wake_all(wakers);
        out
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        let mut wakers = Vec::new();
        match self.stage {
            Stage::Start | Stage::Done => return,
            Stage::Outside(key) => {
                // All outside are notified together, so there is nothing to pass on.
                self.barrier.state.lock().outside.remove(key);
            }
            Stage::Inside { key, .. } => {
                let mut state = self.barrier.state.lock();
                state.inside.remove(key);
                state.leave(&mut wakers);
            }
        }
        wake_all(wakers);
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}
