//! Tier 1 of the tower: coroutine plumbing — what asyncio calls coroutines and `await`.
//!
//! `tower-coro` owns everything a future needs before there is an event loop: running one to
//! completion on the current thread ([`block_on`], on a [`Parker`]), the leaf futures
//! ([`poll_fn`], [`yield_now`], [`pending`], [`ready`]), running several at once on one task
//! ([`join`], [`try_join`], [`join_all`], ...; asyncio's `gather`), waiting for the first of
//! several and dropping the rest ([`race`], [`select`], [`race_all`]), turning a panic into a
//! value ([`catch_unwind`]), and the [`stream`] helpers the tower uses. It depends on std,
//! `futures-core` and `pin-project-lite` only, and works under any executor.
//!
//! Two kinds of cancellation meet here. Rust's own is drop: a future dropped before it completes
//! stops at its last suspension point; each combinator's `# Cancel safety` section says what it
//! drops and when. asyncio's is a request delivered into the task (its `CancelledError`), which
//! the tiers above build on the [`cancel`] module: the request reaches the innermost
//! cancellation-aware `.await` of the task's poll, which may pass it on, catch it or raise it
//! further out; [`error::Cancelled`] is what it carries.
//!
//! # Examples
//!
//! ```
//! use tower_coro::{block_on, join, race, pending, stream, yield_now};
//!
//! let (a, b) = block_on(join(
//!     async { yield_now().await; 1 },
//!     async { 2 },
//! ));
//! assert_eq!((a, b), (1, 2));
//!
//! // The loser of a race is dropped.
//! assert_eq!(block_on(race(pending(), async { "won" })), "won");
//!
//! let items = block_on(stream::collect(stream::iter(1..=3)));
//! assert_eq!(items, [1, 2, 3]);
//! ```
#![doc(test(attr(deny(warnings))))]

mod block_on;
pub mod cancel;
mod either;
pub mod error;
mod join;
mod leaf;
mod loom;
mod maybe_done;
mod parker;
pub mod poison_free;
mod race;
pub mod stream;
mod unwind;
mod yield_now;

pub use crate::block_on::block_on;
pub use crate::either::Either;
pub use crate::join::{
    Join, Join3, Join4, JoinAll, TryJoin, TryJoin3, TryJoin4, TryJoinAll, join, join_all, join3,
    join4, try_join, try_join_all, try_join3, try_join4,
};
pub use crate::leaf::{Pending, PollFn, Ready, pending, poll_fn, ready};
pub use crate::parker::{Parker, Unparker};
pub use crate::race::{Race, RaceAll, Select, race, race_all, select};
pub use crate::stream::Stream;
pub use crate::unwind::{CatchUnwind, PanicPayload, catch_unwind, panic_message};
pub use crate::yield_now::{YieldNow, yield_now};
