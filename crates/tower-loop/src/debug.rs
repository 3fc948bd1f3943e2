//! Debug mode: reports callbacks and task polls slower than `slow_callback_duration`.
//!
//! Off by default; when off, the loop reads no clock per callback.

use std::cell::Cell;
use std::time::Duration;

/// asyncio's default `slow_callback_duration`: 100 ms.
pub const DEFAULT_SLOW_CALLBACK_DURATION: Duration = Duration::from_millis(100);

/// The loop's debug settings.
#[derive(Debug)]
pub(crate) struct DebugSettings {
    /// `set_debug`.
    pub(crate) enabled: Cell<bool>,
    /// Items slower than this are reported.
    pub(crate) slow_callback_duration: Cell<Duration>,
}

impl Default for DebugSettings {
    fn default() -> Self {
        DebugSettings {
            enabled: Cell::new(false),
            slow_callback_duration: Cell::new(DEFAULT_SLOW_CALLBACK_DURATION),
        }
    }
}
