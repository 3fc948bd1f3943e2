//! asyncio's write flow control (`transports._FlowControlMixin`): the water marks, their
//! defaults and check, and whether the protocol is paused.

use std::cell::Cell;

use crate::error::InvalidLimits;

/// The default high-water mark: 64 KiB.
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;

/// The marks and the paused flag of one transport.
#[derive(Debug)]
pub(crate) struct FlowControl {
    /// Pause when the buffer is strictly above this.
    high: Cell<usize>,
    /// Resume when the buffer drains to this or below.
    low: Cell<usize>,
    /// Whether `pause_writing` was delivered (or queued) and `resume_writing` not yet.
    paused: Cell<bool>,
}

/// What a check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// Nothing to tell the protocol.
    None,
    /// Call `pause_writing`.
    Pause,
    /// Call `resume_writing`.
    Resume,
}

/// asyncio's `_set_write_buffer_limits`: the marks from what was given.
pub(crate) fn limits(
    high: Option<usize>,
    low: Option<usize>,
) -> Result<(usize, usize), InvalidLimits> {
    let high = match (high, low) {
        (Some(h), _) => h,
        (None, None) => DEFAULT_HIGH_WATER,
        (None, Some(l)) => l.saturating_mul(4),
    };
    let low = low.unwrap_or(high / 4);
    if high >= low {
        Ok((high, low))
    } else {
        Err(InvalidLimits { high, low })
    }
}

impl Default for FlowControl {
    fn default() -> Self {
        FlowControl {
            high: Cell::new(DEFAULT_HIGH_WATER),
            low: Cell::new(DEFAULT_HIGH_WATER / 4),
            paused: Cell::new(false),
        }
    }
}

impl FlowControl {
    /// Sets the marks (no check of the buffer: the caller runs [`maybe_pause`](Self::maybe_pause)).
    pub(crate) fn set(&self, high: Option<usize>, low: Option<usize>) -> Result<(), InvalidLimits> {
        let (high, low) = limits(high, low)?;
        self.high.set(high);
        self.low.set(low);
        Ok(())
    }

    /// `(low, high)`.
    pub(crate) fn get(&self) -> (usize, usize) {
        (self.low.get(), self.high.get())
    }

    /// asyncio's `_maybe_pause_protocol`: after buffering.
    pub(crate) fn maybe_pause(&self, size: usize) -> Transition {
        if size > self.high.get() && !self.paused.replace(true) {
            Transition::Pause
        } else {
            Transition::None
        }
    }

    /// asyncio's `_maybe_resume_protocol`: after a drain.
    pub(crate) fn maybe_resume(&self, size: usize) -> Transition {
        if self.paused.get() && size <= self.low.get() {
            self.paused.set(false);
            Transition::Resume
        } else {
            Transition::None
        }
    }

    /// Whether the protocol is paused.
    pub(crate) fn is_paused(&self) -> bool {
        self.paused.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_derived_marks_are_asyncios() {
        assert_eq!(limits(None, None), Ok((65536, 16384)));
        assert_eq!(limits(Some(100), None), Ok((100, 25)));
        assert_eq!(limits(None, Some(10)), Ok((40, 10)));
        assert_eq!(limits(Some(0), Some(0)), Ok((0, 0)));
        assert_eq!(
            limits(Some(1), Some(2)),
            Err(InvalidLimits { high: 1, low: 2 })
        );
    }

    #[test]
    fn pause_strictly_above_high_resume_at_or_below_low() {
        let f = FlowControl::default();
        f.set(Some(10), Some(4)).unwrap();
        assert_eq!(f.maybe_pause(10), Transition::None);
        assert_eq!(f.maybe_pause(11), Transition::Pause);
        assert_eq!(f.maybe_pause(12), Transition::None);
        assert_eq!(f.maybe_resume(5), Transition::None);
        assert_eq!(f.maybe_resume(4), Transition::Resume);
        assert_eq!(f.maybe_resume(0), Transition::None);
    }
}
