//! # tower-future — Tier 3 of the tower: the loop-bound future
//!
//! asyncio's `futures.py` in Rust: [`LoopFuture`], a one-shot result cell bound to an event
//! loop (tier 2). It is completed once — [`set_result`](LoopFuture::set_result),
//! [`set_exception`](LoopFuture::set_exception) or [`cancel`](LoopFuture::cancel) — and a
//! second attempt is an [`InvalidStateError`](error::InvalidStateError), not a panic. Done
//! callbacks are scheduled on the loop (never run inline), in the order they were added;
//! awaiting any clone gives `Result<T, FutureError>`. Another thread completes a future
//! through the loop's `call_soon_threadsafe` with a [`Completer`] ([`wrap_future`]).
//!
//! The type is called `LoopFuture` so that it never shadows `std::future::Future`.
//!
//! ```
//! use tower_loop::EventLoop;
//! use tower_future::{create_future, error::FutureError};
//!
//! let lp = EventLoop::new().unwrap();
//! lp.run_until_complete(async {
//!     let fut = create_future::<&str>().unwrap();
//!     fut.add_done_callback(|f| println!("done: {:?}", f.result()));
//!     let f2 = fut.clone();
//!     tower_loop::get_running_loop().unwrap().call_soon(move || {
//!         f2.set_result("hello").unwrap();
//!     });
//!     assert_eq!(fut.clone().await.unwrap(), "hello");
//!     assert!(fut.set_result("again").is_err());
//!
//!     let cancelled = create_future::<()>().unwrap();
//!     cancelled.cancel_with("bye");
//!     assert!(matches!(cancelled.await, Err(FutureError::Cancelled(_))));
//! })
//! .unwrap();
//! ```
#![doc(test(attr(deny(warnings))))]

pub mod error;
mod future;

pub use future::{CallbackId, Completer, LoopFuture, create_future, wrap_future};
