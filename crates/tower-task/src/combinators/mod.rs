//! Tier 4's structured-concurrency combinators: [`timeout`](crate::timeout) and friends,
//! [`as_completed`](crate::as_completed), and (on tasks) `TaskGroup`, `gather`, `wait`, `shield`.

pub(crate) mod as_completed;
pub(crate) mod catch;
pub(crate) mod error;
pub(crate) mod gather;
mod set;
pub(crate) mod shield;
pub(crate) mod taskgroup;
pub(crate) mod timeout;
pub(crate) mod wait;
