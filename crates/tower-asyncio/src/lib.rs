//! The tower: Python's `asyncio`, tier by tier, in Rust.
//!
//! This facade re-exports each tier behind a cargo feature of the same name (all on by default),
//! so `tower_asyncio::coro` is tier 1 ([`tower_coro`]) and `tower_asyncio::r#loop` is tier 2
//! ([`tower_loop`]). Depend on a single tier's crate instead to pull in only that tier.
#![forbid(unsafe_code)]

#[cfg(feature = "coro")]
#[doc(inline)]
pub use tower_coro as coro;

#[cfg(feature = "loop")]
#[doc(inline)]
pub use tower_loop as r#loop;
