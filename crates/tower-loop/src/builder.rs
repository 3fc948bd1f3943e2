//! [`EventLoopBuilder`]: an [`EventLoop`] with a paused (virtual) clock or in debug mode.

use std::io;
use std::sync::Arc;

use crate::reactor::Poller;

use crate::clock::Clock;
use crate::core::Core;
use crate::event_loop::EventLoop;
use crate::loop_handle::Shared;

/// Builds an [`EventLoop`] with non-default settings.
///
/// ```
/// use std::time::Duration;
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// let start = lp.time();
/// lp.run_until_complete(tower_loop::Timer::after(Duration::from_secs(3600))).unwrap();
/// assert!(lp.time() - start >= Duration::from_secs(3600)); // and no real hour passed
/// ```
#[derive(Debug, Default)]
#[doc(alias = "Builder")]
pub struct EventLoopBuilder {
    /// Use a virtual clock.
    paused: bool,
    /// Start in debug mode.
    debug: bool,
}

impl EventLoopBuilder {
    /// Virtual time (asyncio's TestLoop, tokio's `time::pause`): the clock stands still while
    /// work is ready and jumps to the next timer when the loop would otherwise wait for it.
    pub fn paused_clock(mut self) -> Self {
        self.paused = true;
        self
    }

    /// Starts in debug mode (see [`EventLoop::set_debug`]).
    pub fn debug(mut self, on: bool) -> Self {
        self.debug = on;
        self
    }

    /// Creates the loop on the current thread.
    ///
    /// # Errors
    ///
    /// If the OS poller cannot be created (out of file descriptors).
    pub fn build(self) -> io::Result<EventLoop> {
        let poller = Poller::new()?;
        let shared = Arc::new(Shared::new(poller));
        let clock = if self.paused {
            Clock::paused()
        } else {
            Clock::real()
        };
        Ok(EventLoop::from_new_core(Core::new(
            shared, clock, self.debug,
        )))
    }
}
