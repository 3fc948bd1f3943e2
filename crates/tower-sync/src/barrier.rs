//! `Barrier`: asyncio's barrier (3.11+) — `parties` tasks wait until all have arrived; it
//! can be reset or aborted while they wait, which fails them with `BrokenBarrierError`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::blocking::block_on;
use crate::error::BrokenBarrierError;
use crate::loom::Mutex;
use crate::waitlist::{WaitList, wake_all};

/// The state under the barrier's lock.
#[derive(Debug)]
struct State {
    /// Parties waiting in the current round.
    count: usize,
    /// Set by `abort`, cleared by `reset`.
    broken: bool,
    /// The waiting parties; the grant says whether the round completed (`true`) or broke.
    waiters: WaitList<bool>,
}

/// A barrier for a fixed number of parties (asyncio's `Barrier`).
///
/// Each `wait` returns the party's arrival index, `0..parties`. When the last party arrives
/// every waiter is released and the barrier starts a new round at once. A waiter dropped
/// before the round completes leaves it (the count goes down, as when an asyncio task waiting
/// on a barrier is cancelled).
///
/// Difference from asyncio: rounds are generations, so there is no "draining" or
/// "resetting" phase in which newcomers wait for the previous round's parties to leave — a
/// newcomer simply joins the next round. Results per party are the same.
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
                count: 0,
                broken: false,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Waits until all parties have arrived; returns this party's arrival index.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before the round completes takes this party out of the round
    /// (`n_waiting` goes down); dropping it after the round completed changes nothing.
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            key: None,
            index: 0,
        }
    }

    /// [`Barrier::wait`], blocking the thread (never inside a task).
    pub fn wait_blocking(&self) -> Result<usize, BrokenBarrierError> {
        block_on(self.wait())
    }

    /// Fails every waiting party with [`BrokenBarrierError`] and starts afresh; a broken
    /// barrier becomes usable again.
    pub fn reset(&self) {
        self.break_round(false);
    }

    /// Breaks the barrier: waiting and future `wait`s fail until [`Barrier::reset`].
    pub fn abort(&self) {
        self.break_round(true);
    }

    /// Releases every waiter with an error and sets `broken`.
    fn break_round(&self, broken: bool) {
        let mut wakers = Vec::new();
        {
            let mut state = self.state.lock();
            state.broken = broken;
            state.count = 0;
            state.waiters.notify_all(|| false, &mut wakers);
        }
        wake_all(wakers);
    }

    /// Parties needed per round.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// Parties waiting in the current round.
    pub fn n_waiting(&self) -> usize {
        self.state.lock().count
    }

    /// True after `abort`, until `reset`.
    pub fn broken(&self) -> bool {
        self.state.lock().broken
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &state.count)
            .field("broken", &state.broken)
            .finish()
    }
}

/// The future of [`Barrier::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct BarrierWait<'a> {
    /// The barrier.
    barrier: &'a Barrier,
    /// Our entry, while waiting.
    key: Option<usize>,
    /// Our arrival index, once arrived.
    index: usize,
}

impl Future for BarrierWait<'_> {
    type Output = Result<usize, BrokenBarrierError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut state = this.barrier.state.lock();
        if let Some(key) = this.key {
            return match state.waiters.take_notified(key) {
                Some(completed) => {
                    this.key = None;
                    Poll::Ready(if completed {
                        Ok(this.index)
                    } else {
                        Err(BrokenBarrierError)
                    })
                }
                None => {
                    state.waiters.set_waker(key, cx.waker());
                    Poll::Pending
                }
            };
        }
        if state.broken {
            return Poll::Ready(Err(BrokenBarrierError));
        }
        let index = state.count;
        if index + 1 == this.barrier.parties {
            state.count = 0;
            let mut wakers = Vec::new();
            state.waiters.notify_all(|| true, &mut wakers);
            drop(state);
            wake_all(wakers);
            return Poll::Ready(Ok(index));
        }
        state.count += 1;
        this.index = index;
        this.key = Some(state.waiters.push_back(cx.waker().clone(), 0));
        Poll::Pending
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut state = self.barrier.state.lock();
            if let crate::waitlist::Removed::Waiting = state.waiters.remove(key) {
                state.count = state.count.saturating_sub(1);
            }
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("waiting", &self.key.is_some())
            .finish_non_exhaustive()
    }
}
