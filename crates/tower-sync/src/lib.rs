//! Tier 6 of the tower: asyncio's queues and locks, and the channels Rust users expect.
//!
//! This tier owns `queues.py` and `locks.py`: [`Queue`], [`PriorityQueue`], [`LifoQueue`],
//! [`Lock`], [`Event`], [`Condition`], [`Semaphore`], [`BoundedSemaphore`], [`Barrier`] — with
//! asyncio's names, ordering and cancellation semantics — beside [`oneshot`], [`mpsc`],
//! [`broadcast`], [`watch`] and [`RwLock`]. It needs no event loop: everything is built on
//! wakers, [`event-listener`](event_listener) and [`concurrent-queue`](concurrent_queue), so it
//! runs under tower's loop, tokio, smol or a plain `block_on`.
//!
//! Conventions, for every primitive:
//! - waiters are served in arrival order, and a waiter that is dropped (cancelled) while queued
//!   passes on whatever it was handed: no item, permit or notification is lost;
//! - every async method returns a named future (`#[must_use]`, `Debug`) and documents its
//!   cancel safety; each has a `try_` form and a `_blocking` form for synchronous code;
//! - guards are RAII; `_arc` forms give guards that own an `Arc` of the primitive;
//! - errors are types, in [`error`].
//!
//! How it is built: the fair primitives (`Lock`, the semaphores, `Condition`, `Barrier`,
//! `RwLock`, the queues' getters and putters) keep their waiters in a FIFO list under a small
//! mutex and *hand off* what they grant (the lock, a permit, a notification) to the oldest
//! waiter, which is what makes arrival order and pass-on-cancel exact; `Lock` and the
//! semaphores add a lock-free fast path when nobody waits. Broadcast-style wake-ups (`Event`,
//! `join`, `watch`, `broadcast`) and the `mpsc` channel use `event-listener`, and `mpsc`
//! buffers in a `concurrent-queue`. Every atomic and internal mutex goes through a loom shim.
//!
//! # Examples
//!
//! ```
//! use tower_sync::{Lock, Queue};
//!
//! # tower_coro::block_on(async {
//! let queue = Queue::new(2);
//! let total = Lock::new(0);
//! queue.put(1).await.unwrap();
//! queue.put(2).await.unwrap();
//! while let Ok(item) = queue.get_nowait() {
//!     *total.lock().await += item;
//!     queue.task_done().unwrap();
//! }
//! queue.join().await;
//! assert_eq!(*total.lock().await, 3);
//! # });
//! ```
#![doc(test(attr(deny(warnings))))]

mod blocking;
mod loom;
mod raw_sem;
mod waitlist;

pub mod error;

mod barrier;
mod condition;
mod event;
mod lock;
mod queue;
mod rwlock;
mod semaphore;

pub mod broadcast;
pub mod mpsc;
pub mod oneshot;
pub mod watch;

pub use barrier::{Barrier, BarrierWait};
pub use condition::{CondWait, CondWaitFor, Condition};
pub use event::{Event, EventWait};
pub use lock::{Acquire, AcquireArc, Lock, LockGuard, LockGuardArc};
pub use queue::{Get, Join, LifoQueue, PriorityQueue, Put, Queue, QueueStream};

pub use rwlock::{
    Read, ReadArc, RwLock, RwLockReadGuard, RwLockReadGuardArc, RwLockWriteGuard,
    RwLockWriteGuardArc, Write, WriteArc,
};
pub use semaphore::{
    BoundedSemaphore, SemAcquire, SemAcquireArc, Semaphore, SemaphoreGuard, SemaphoreGuardArc,
    SemaphoreKind,
};
