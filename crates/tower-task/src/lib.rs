//! Tier 4 of the tower: tasks and the multi-core runtime — asyncio's `tasks.py`,
//! `taskgroups.py`, `timeouts.py` and `runners.py`.
//!
//! The [`runtime`] module runs one `tower_loop::EventLoop` per worker thread and balances
//! `Send` tasks between them by work stealing.
#![doc(test(attr(deny(warnings))))]

mod loom;
pub mod runtime;
