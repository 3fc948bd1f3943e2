//! `FutureSet`: a set of futures each polled only when its own waker fired (the internal engine
//! of `as_completed` and the gathers; tokio's `IdleNotifiedSet`, asyncio's done callbacks).
//!
//! Each slot owns a boxed future and a waker that, when woken, pushes the slot's index on a
//! shared ready list and wakes the set's owner. A poll of the set polls only the slots on that
//! list, so a completion costs O(1) however many futures wait.
//!
//! The set knows nothing of cancellation delivery (`tower_coro::cancel`): its owner makes sure a
//! member never takes the request of the poll around it — the gathers hold their children's
//! handles behind `Task::poll_output`, `as_completed` polls the set inside
//! `tower_coro::cancel::isolate`.
//!
//! Who touches what: the slots (`slots`, `len`) belong to the owner and are touched only in
//! `&mut self` methods; the ready list is shared with the slot wakers (any thread) behind a
//! poison-free mutex that is never held while waking or polling.
//!
//! The shared state (ready list, `queued` flags) comes from the crate's loom shim, so
//! `tests/as_completed_loom.rs` checks the wake protocol under loom; only the `Arc` that turns a
//! slot's state into a `Waker` is std's (`Waker::from` needs it), and it holds no state of its
//! own. The protocol: a waker sets `queued` and, if it was clear, pushes its index and takes the
//! owner's waker (waking it after unlocking); the owner swaps the list out under the lock, then
//! clears each slot's `queued` flag *before* polling it, so a wake during or after that poll
//! queues the slot again — no wake-up is lost.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::loom::{self, AtomicBool, Mutex, MutexGuard, Ordering};

/// The list of slots woken since the owner last looked, and the owner's waker.
struct ReadyList {
    /// Guarded state; never held while waking or polling.
    state: Mutex<ReadyState>,
}

/// What [`ReadyList`] guards.
#[derive(Default)]
struct ReadyState {
    /// Indices of woken slots, in wake order.
    queue: Vec<usize>,
    /// The owner's waker, taken by the first slot wake after the owner registered it.
    waker: Option<Waker>,
}

impl ReadyList {
    /// Locks the state, ignoring poisoning (no user code runs under this lock).
    fn lock(&self) -> MutexGuard<'_, ReadyState> {
        self.state.lock()
    }

    /// An empty list, shared.
    fn new_shared() -> loom::Arc<ReadyList> {
        loom::Arc::new(ReadyList {
            state: Mutex::new(ReadyState::default()),
        })
    }
}

/// A slot's waker: queues the slot once per wake-up and wakes the owner.
struct SlotWaker {
    /// The slot's index in `FutureSet::slots`.
    index: usize,
    /// Set while the index is on the ready list (so a slot is queued at most once).
    queued: AtomicBool,
    /// The set's ready list.
    list: loom::Arc<ReadyList>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let owner = {
            let mut st = self.list.lock();
            st.queue.push(self.index);
            st.waker.take()
        };
        // Woken after the guard is dropped: never wake under a lock.
        if let Some(w) = owner {
            w.wake();
        }
    }
}

/// One member of the set.
struct Slot<F> {
    /// The future, until it completes or is removed.
    fut: Option<Pin<Box<F>>>,
    /// Its waker's state (the `queued` flag).
    state: Arc<SlotWaker>,
    /// Its waker, built once and reused for every poll of this slot.
    waker: Waker,
}

/// A growable set of futures, polled on their own wake-ups; see the module docs.
pub(crate) struct FutureSet<F> {
    /// The members; a finished member's slot stays (as `None`) so indices remain stable.
    slots: Vec<Slot<F>>,
    /// Members still pending.
    len: usize,
    /// Shared with every slot waker.
    list: loom::Arc<ReadyList>,
    /// Scratch buffer the ready list is swapped into, kept to avoid reallocating.
    scratch: Vec<usize>,
}

impl<F> fmt::Debug for FutureSet<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FutureSet")
            .field("pending", &self.len)
            .field("total", &self.slots.len())
            .finish()
    }
}

impl<F: Future> FutureSet<F> {
    /// An empty set.
    pub(crate) fn new() -> Self {
        FutureSet {
            slots: Vec::new(),
            len: 0,
            list: ReadyList::new_shared(),
            scratch: Vec::new(),
        }
    }

    /// A set of `futs`, indexed in iteration order.
    pub(crate) fn from_iter<I: IntoIterator<Item = F>>(futs: I) -> Self {
        let mut set = FutureSet::new();
        for f in futs {
            set.push(f);
        }
        set
    }

    /// Adds `fut` (polled at the next [`poll_next`](Self::poll_next)); returns its index.
    pub(crate) fn push(&mut self, fut: F) -> usize {
        let index = self.slots.len();
        // Queued from the start: a new member is polled once without being woken.
        let state = Arc::new(SlotWaker {
            index,
            queued: AtomicBool::new(true),
            list: self.list.clone(),
        });
        let waker = Waker::from(state.clone());
        let owner = {
            let mut st = self.list.lock();
            st.queue.push(index);
            st.waker.take()
        };
        if let Some(w) = owner {
            w.wake();
        }
        self.slots.push(Slot {
            fut: Some(Box::pin(fut)),
            state,
            waker,
        });
        self.len += 1;
        index
    }

    /// Members still pending.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether no member is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops every pending member.
    pub(crate) fn clear(&mut self) {
        for s in &mut self.slots {
            s.fut = None;
        }
        self.len = 0;
    }

    /// Polls the members woken since the last call; calls `on_ready(index, output)` for each
    /// that completed (in the order they were woken) and stops early if it returns `false`
    /// (the members not yet polled stay queued). Returns `Ready` once no member is pending, or
    /// once `on_ready` returned `false`.
    ///
    /// Each call polls at most the members queued when it started, so a member that wakes
    /// itself while polled is polled again at the next call, not in a loop.
    pub(crate) fn poll_each(
        &mut self,
        cx: &mut Context<'_>,
        mut on_ready: impl FnMut(usize, F::Output) -> bool,
    ) -> Poll<()> {
        {
            let mut st = self.list.lock();
            match &st.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => st.waker = Some(cx.waker().clone()),
            }
            std::mem::swap(&mut st.queue, &mut self.scratch);
        }
        let mut batch = std::mem::take(&mut self.scratch);
        let mut stopped_at = None;
        for (pos, &index) in batch.iter().enumerate() {
            let Some(slot) = self.slots.get_mut(index) else {
                continue;
            };
            slot.state.queued.store(false, Ordering::Release);
            let Some(fut) = slot.fut.as_mut() else {
                continue;
            };
            let mut scx = Context::from_waker(&slot.waker);
            if let Poll::Ready(out) = fut.as_mut().poll(&mut scx) {
                slot.fut = None;
                self.len -= 1;
                if !on_ready(index, out) {
                    stopped_at = Some(pos + 1);
                    break;
                }
            }
        }
        if let Some(pos) = stopped_at {
            // Put the unpolled rest back at the front of the queue (their `queued` flags are
            // still set: they were never taken off).
            let rest: Vec<usize> = batch[pos..]
                .iter()
                .copied()
                .filter(|&i| {
                    let s = &self.slots[i];
                    s.fut.is_some()
                })
                .collect();
            if !rest.is_empty() {
                let mut st = self.list.lock();
                let later = std::mem::take(&mut st.queue);
                st.queue = rest;
                st.queue.extend(later);
            }
            batch.clear();
            self.scratch = batch;
            return Poll::Ready(());
        }
        batch.clear();
        self.scratch = batch;
        if self.len == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
