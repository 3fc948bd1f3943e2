//! Unix signal handlers delivered to the loop thread (asyncio's `add_signal_handler`).

use crate::event_loop::Core;

/// The loop's signal handlers and self-pipe.
#[derive(Debug, Default)]
pub(crate) struct SignalState {}

/// Removes every handler of the loop (on close).
pub(crate) fn close(core: &Core) {
    let _state = std::mem::take(&mut *core.signals.borrow_mut());
}
