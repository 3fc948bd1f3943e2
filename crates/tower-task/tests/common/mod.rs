//! Helpers shared by tower-task's integration tests: a loop on virtual time, and drop flags.
// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tower_loop::EventLoop;

/// A loop whose clock is paused: sleeps jump to the next deadline, no real time passes.
pub(crate) fn paused() -> EventLoop {
    EventLoop::builder().paused_clock().build().unwrap()
}

/// `s` seconds.
pub(crate) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Sets its flag when dropped.
pub(crate) struct DropFlag(pub(crate) Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A new, unset flag.
pub(crate) fn flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}
