//! Cancellation delivery: how a task's cancellation request reaches the innermost
//! cancellation-aware `.await` of the task, as asyncio throws `CancelledError` into the
//! coroutine at the point where it is suspended.
//!
//! A Rust future cannot be handed an exception, so the tower delivers a request *through one
//! poll*. A future that takes part in this is *cancellation-aware*; there are two kinds:
//!
//! - a **pass-through** await (awaiting a task, a loop future) looks for a request on entry
//!   ([`requested`], [`take`]) and passes it on to what it waits for — an awaited task is
//!   cancelled and waited for; a loop future is cancelled. When what it waited for ends
//!   cancelled, the await [`raise`]s the cancellation outward, as an uncaught
//!   `CancelledError` goes up the coroutine's frames. Each time it returns `Pending` it says so
//!   ([`suspended_aware`]).
//! - a **catching** scope (`catch_cancel`, `TaskGroup`, `timeout`, the task itself) keeps a
//!   [`Catcher`]: if nothing cancellation-aware was suspended inside its body, it takes the
//!   request without polling the body (so no code after the body's suspension point runs, as
//!   in asyncio); otherwise it polls the body with the request in flight, so that the aware
//!   await inside takes it, and afterwards catches a request nothing took or a cancellation
//!   raised inside it.
//!
//! The task that has a request pending polls its future inside [`deliver`] if something aware
//! was suspended in it at its last poll (it records [`Mark::aware_since`]), and otherwise drops
//! its future at once (the backstop). If the poll leaves the request untaken, or a
//! cancellation is raised out of the future, the task drops its future then.
//!
//! Everything here is per thread and per poll: nothing stays in flight after the poll that put
//! it there. Outside a [`deliver`] nothing is in flight, so futures polled by another executor
//! never see a request. Polling something that must not see the request of the poll around it
//! (a task started eagerly inside another's poll) goes through [`isolate`].
//!
//! ```
//! use std::future::Future;
//! use std::pin::pin;
//! use std::task::{Context, Waker};
//! use tower_coro::cancel::{self, Catcher, Delivery};
//! use tower_coro::error::Cancelled;
//!
//! let mut cx = Context::from_waker(Waker::noop());
//!
//! // Nothing in the future takes part: the request comes back untaken (a task drops it).
//! let mut fut = pin!(tower_coro::pending::<()>());
//! let (polled, what) = cancel::deliver(Cancelled::new(Some("stop")), || fut.as_mut().poll(&mut cx));
//! assert!(polled.is_pending());
//! assert!(matches!(what, Delivery::Untaken(c) if c.message() == Some("stop")));
//!
//! // A catching scope whose body has nothing aware inside takes it on entry.
//! let catcher = Catcher::new();
//! let (caught, what) = cancel::deliver(Cancelled::new(None), || catcher.enter());
//! assert!(caught.is_err());
//! assert!(matches!(what, Delivery::Taken));
//! assert!(!cancel::in_flight()); // nothing outlives the delivery
//! ```

use std::cell::{Cell, RefCell};

use crate::error::Cancelled;

/// `STATE`'s low bits: what is in flight.
const KIND: u32 = 0b11;
/// Nothing in flight.
const NONE: u32 = 0;
/// A request nobody has taken yet in this poll.
const REQUEST: u32 = 1;
/// A cancellation raised by an await whose inner future ended cancelled by a request it took.
const RAISE: u32 = 2;
/// `STATE`'s other bits count the aware awaits that returned `Pending` on this thread
/// (wrapping): one step of that count.
const AWARE_STEP: u32 = 1 << 2;

thread_local! {
    /// What is in flight (`KIND` bits) and the count of aware suspensions (the rest). Read on
    /// hot paths (each task poll reads it twice), so a plain word with no destructor.
    static STATE: Cell<u32> = const { Cell::new(NONE) };
    /// How many raises this thread has made (wrapping): a [`CatchScope`] catches a raise only
    /// if it happened after the scope was entered (inside its body, not in a sibling polled
    /// before it).
    static RAISES: Cell<u32> = const { Cell::new(0) };
    /// The cancellation in flight (its message), set while something is in flight.
    static WHAT: RefCell<Option<Cancelled>> = const { RefCell::new(None) };
}

/// What is in flight.
#[inline(always)]
fn kind() -> u32 {
    STATE.get() & KIND
}

/// Puts `kind` in flight, keeping the count.
#[inline(always)]
fn set_kind(kind: u32) {
    STATE.set(STATE.get() & !KIND | kind);
}

/// What became of a request [`deliver`]ed through one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Something inside took it (and handled it, or passed it on).
    Taken,
    /// Nothing inside took it: the poller should drop the future (the backstop).
    Untaken(Cancelled),
    /// It (or another cancellation) was raised out of the future and nothing inside caught it.
    Raised(Cancelled),
}

/// Saves this thread's in-flight state and restores it when dropped (also on unwind).
struct Saved {
    /// The outer kind.
    kind: u32,
    /// The outer cancellation.
    what: Option<Cancelled>,
}

impl Saved {
    /// Saves the outer state and puts `kind`/`what` in flight instead.
    fn swap(kind: u32, what: Option<Cancelled>) -> Saved {
        let outer_kind = self::kind();
        set_kind(kind);
        let outer_what = WHAT.with(|w| w.replace(what));
        Saved {
            kind: outer_kind,
            what: outer_what,
        }
    }
}

impl Drop for Saved {
    fn drop(&mut self) {
        set_kind(self.kind);
        let what = self.what.take();
        let _ = WHAT.try_with(|w| w.replace(what));
    }
}

/// Polls (runs `poll`) with the request `c` in flight and says what became of it; the state
/// around the call (a delivery of an outer poll) is restored afterwards, even if `poll` panics.
///
/// This is what a task does at the first poll after `cancel(msg)`; a combinator that asks its
/// body to stop (a timeout at its deadline, a group after a child failed) may do the same
/// where there is no task to cancel.
pub fn deliver<R>(c: Cancelled, poll: impl FnOnce() -> R) -> (R, Delivery) {
    let saved = Saved::swap(REQUEST, Some(c));
    let out = poll();
    let what = leftover();
    drop(saved);
    (out, what)
}

/// Polls (runs `poll`) with nothing in flight, whatever the poll around it is delivering, and
/// restores that afterwards. A cancellation raised inside and not caught is returned.
pub fn isolate<R>(poll: impl FnOnce() -> R) -> (R, Option<Cancelled>) {
    let saved = Saved::swap(NONE, None);
    let out = poll();
    let raised = match leftover() {
        Delivery::Taken => None,
        Delivery::Untaken(c) | Delivery::Raised(c) => Some(c),
    };
    drop(saved);
    (out, raised)
}

/// Clears what is in flight and says what it was.
fn leftover() -> Delivery {
    let kind = kind();
    set_kind(NONE);
    if kind == NONE {
        return Delivery::Taken;
    }
    let c = WHAT.with(|w| w.take()).unwrap_or_default();
    if kind == REQUEST {
        Delivery::Untaken(c)
    } else {
        Delivery::Raised(c)
    }
}

/// Whether anything (a request or a raise) is in flight on this thread.
#[inline]
pub fn in_flight() -> bool {
    kind() != NONE
}

/// Whether a request nobody has taken yet is in flight (a pass-through await asks this on
/// entry, then [`take`]s it).
#[inline]
pub fn requested() -> bool {
    kind() == REQUEST
}

/// Says that a cancellation-aware await is returning `Pending`: the task (or catching scope)
/// around it will deliver its next request through a poll instead of dropping the future.
#[inline]
pub fn suspended_aware() {
    STATE.set(STATE.get().wrapping_add(AWARE_STEP));
}

/// A point in a poll, to ask later whether an aware await was suspended since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Mark(u32);

/// The mark of now.
#[inline]
pub fn mark() -> Mark {
    Mark(STATE.get() >> 2)
}

impl Mark {
    /// Whether an aware await returned `Pending` since this mark was made.
    #[inline]
    pub fn aware_since(self) -> bool {
        STATE.get() >> 2 != self.0
    }

    /// At the end of a task's poll: what is in flight and whether an aware await returned
    /// `Pending` since the mark, from one read of the thread's state.
    #[inline]
    pub fn end(self) -> PollEnd {
        let now = STATE.get();
        PollEnd {
            in_flight: now & KIND != NONE,
            aware: now >> 2 != self.0,
        }
    }
}

/// What [`Mark::end`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollEnd {
    /// Something (a request or a raise) is in flight: see [`take_escaped`].
    pub in_flight: bool,
    /// An aware await returned `Pending` since the mark.
    pub aware: bool,
}

/// Takes the request in flight, if any, for a pass-through await to pass on.
pub fn take() -> Option<Cancelled> {
    if kind() != REQUEST {
        return None;
    }
    set_kind(NONE);
    WHAT.with(|w| w.take())
}

/// Withdraws a request in flight that nobody took yet (the task's last request was
/// `uncancel`led during the poll that delivers it). A raise stays.
pub fn withdraw() {
    if kind() == REQUEST {
        set_kind(NONE);
        WHAT.with(|w| w.take());
    }
}

/// Raises `c` outward: the next enclosing [`CatchScope`] on the way out of this poll catches
/// it; if none does, the task that [`deliver`]ed (or, with nothing delivered, the task being
/// polled) ends cancelled. A raise replaces a request still in flight (both cancel).
pub fn raise(c: Cancelled) {
    set_kind(RAISE);
    RAISES.set(RAISES.get().wrapping_add(1));
    WHAT.with(|w| *w.borrow_mut() = Some(c));
}

/// Takes whatever is in flight once a task's own poll returned (no [`deliver`] around it): a
/// cancellation raised out of its future, to end the task with. Rare: check [`in_flight`]
/// first.
pub fn take_escaped() -> Option<Cancelled> {
    match leftover() {
        Delivery::Taken => None,
        Delivery::Untaken(c) | Delivery::Raised(c) => Some(c),
    }
}

/// A catching scope: made on entry to a poll of a body, asked on the way out.
///
/// [`catch`](Self::catch) takes a request that is still in flight (nothing inside the body
/// took it) or a cancellation raised after the scope was entered (inside the body). A raise
/// from a sibling polled before the scope is not caught.
#[derive(Debug, Clone, Copy)]
#[must_use = "ask the scope with `catch` after polling the body"]
pub struct CatchScope {
    /// `RAISES` on entry.
    raises: u32,
    /// The aware count on entry.
    mark: Mark,
}

impl CatchScope {
    /// Enters a scope (call before polling the body).
    #[inline]
    pub fn enter() -> CatchScope {
        CatchScope {
            raises: RAISES.get(),
            mark: mark(),
        }
    }

    /// After the body returned `Pending`: the cancellation this scope catches, if any (it is
    /// no longer in flight).
    #[inline]
    pub fn catch(self) -> Option<Cancelled> {
        match kind() {
            NONE => None,
            REQUEST => take(),
            _ if RAISES.get() != self.raises => {
                set_kind(NONE);
                WHAT.with(|w| w.take())
            }
            _ => None,
        }
    }
}

/// The state a catching scope keeps between polls: whether something cancellation-aware was
/// suspended inside its body when it last returned `Pending`.
///
/// ```
/// use tower_coro::cancel::{self, Catcher};
/// use tower_coro::error::Cancelled;
///
/// let mut catcher = Catcher::new();
/// // A poll of the body in which an aware await inside suspends:
/// let scope = catcher.enter().unwrap();
/// cancel::suspended_aware();
/// assert_eq!(catcher.exit(scope), None);
/// // The next request is delivered into the body, to that await, not taken on entry.
/// let (entered, _) = cancel::deliver(Cancelled::new(None), || catcher.enter().is_ok());
/// assert!(entered);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Catcher {
    /// Whether an aware await was suspended inside the body at its last `Pending`.
    inner_aware: bool,
}

impl Catcher {
    /// A catcher whose body has not run yet.
    pub fn new() -> Catcher {
        Catcher::default()
    }

    /// On entry, before polling the body: if a request is in flight and nothing aware was
    /// suspended in the body, takes it (`Err`): drop the body without polling it. Otherwise
    /// the scope to [`exit`](Self::exit) with after the body returned `Pending`.
    #[inline]
    pub fn enter(&self) -> Result<CatchScope, Cancelled> {
        if requested() && !self.inner_aware {
            return Err(take().unwrap_or_default());
        }
        Ok(CatchScope::enter())
    }

    /// After the body returned `Pending`: the cancellation this scope catches (a request
    /// nothing inside took, or one raised inside); `None` if there is none, and then this
    /// scope counts as an aware await suspended (for the scopes around it).
    #[inline]
    pub fn exit(&mut self, scope: CatchScope) -> Option<Cancelled> {
        self.inner_aware = scope.mark.aware_since();
        let caught = scope.catch();
        if caught.is_none() {
            suspended_aware();
        }
        caught
    }

    /// Whether an aware await was suspended inside the body at its last `Pending`.
    pub fn inner_aware(&self) -> bool {
        self.inner_aware
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_through_takes_and_a_raise_reaches_the_scope_around_it() {
        let ((), d) = deliver(Cancelled::new(Some("m")), || {
            let outer = CatchScope::enter();
            let inner = CatchScope::enter();
            // The innermost pass-through takes it: neither scope sees it.
            assert_eq!(take(), Some(Cancelled::new(Some("m"))));
            assert_eq!(inner.catch(), None);
            assert_eq!(outer.catch(), None);
        });
        assert_eq!(d, Delivery::Taken);

        // A later poll: the pass-through raises; the scope around it catches.
        let scope = CatchScope::enter();
        raise(Cancelled::new(Some("m")));
        assert!(in_flight());
        assert_eq!(scope.catch(), Some(Cancelled::new(Some("m"))));
        assert!(!in_flight());
    }

    #[test]
    fn a_scope_does_not_catch_a_sibling_s_earlier_raise() {
        let ((), d) = deliver(Cancelled::new(None), || {
            raise(Cancelled::new(Some("sibling")));
            let later = CatchScope::enter();
            assert_eq!(later.catch(), None);
        });
        assert_eq!(d, Delivery::Raised(Cancelled::new(Some("sibling"))));
    }

    #[test]
    fn deliveries_nest_and_isolate_hides_the_outer_one() {
        let ((), d) = deliver(Cancelled::new(Some("outer")), || {
            let ((), inner) = deliver(Cancelled::new(Some("inner")), || {});
            assert_eq!(inner, Delivery::Untaken(Cancelled::new(Some("inner"))));
            let (seen, raised) = isolate(requested);
            assert!(!seen);
            assert_eq!(raised, None);
            assert!(requested());
        });
        assert_eq!(d, Delivery::Untaken(Cancelled::new(Some("outer"))));
        assert!(!in_flight());
    }

    #[test]
    fn withdraw_clears_a_request_but_not_a_raise() {
        let ((), d) = deliver(Cancelled::new(None), withdraw);
        assert_eq!(d, Delivery::Taken);
        let ((), d) = deliver(Cancelled::new(None), || {
            raise(Cancelled::new(Some("r")));
            withdraw();
        });
        assert_eq!(d, Delivery::Raised(Cancelled::new(Some("r"))));
    }

    #[test]
    fn a_panicking_poll_restores_the_outer_state() {
        let r = std::panic::catch_unwind(|| deliver(Cancelled::new(None), || panic!("boom")));
        assert!(r.is_err());
        assert!(!in_flight());
    }
}
