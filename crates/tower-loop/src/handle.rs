//! The cancellable results of `call_soon` ([`CallbackHandle`]), `call_later`/`call_at`
//! ([`TimerHandle`]) and `call_soon_threadsafe` ([`ThreadsafeHandle`]): asyncio's `Handle` and
//! `TimerHandle`. (The handle to a loop itself is [`LoopHandle`](crate::LoopHandle).)

use std::fmt;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Instant;

use crate::callback::{Callback, SendCallback};
use crate::core::Core;
use crate::timer_queue::TimerId;

/// A callback scheduled with `call_soon` (asyncio's `Handle`). Dropping it does not cancel.
///
/// ```
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// let handle = lp.call_soon(|| unreachable!("cancelled before it ran"));
/// handle.cancel();
/// assert!(handle.cancelled());
/// let l2 = lp.clone();
/// lp.call_soon(move || l2.stop());
/// lp.run_forever().unwrap();
/// ```
#[doc(alias = "Handle")]
pub struct CallbackHandle {
    /// The callback cell shared with the ready queue.
    pub(crate) cb: Rc<dyn Callback>,
}

impl CallbackHandle {
    /// Cancels the callback: it will not run, and its closure is dropped now.
    pub fn cancel(&self) {
        self.cb.cancel();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn cancelled(&self) -> bool {
        self.cb.is_cancelled()
    }
}

impl fmt::Debug for CallbackHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackHandle")
            .field("callback", &self.cb.name())
            .field("cancelled", &self.cancelled())
            .finish()
    }
}

/// A callback scheduled with `call_later`/`call_at` (asyncio's `TimerHandle`).
pub struct TimerHandle {
    /// The callback cell shared with the timer queue.
    pub(crate) cb: Rc<dyn Callback>,
    /// When it is due.
    pub(crate) when: Instant,
    /// Its entry in the loop's timers (`None`: scheduled on a closed loop).
    pub(crate) id: Option<TimerId>,
    /// The loop, to remove the entry on cancel.
    pub(crate) core: Weak<Core>,
}

impl TimerHandle {
    /// Cancels the timer: the callback will not run; its closure and its timer entry are freed
    /// now.
    pub fn cancel(&self) {
        self.cb.cancel();
        if let (Some(core), Some(id)) = (self.core.upgrade(), self.id) {
            core.timers().cancel(id);
        }
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn cancelled(&self) -> bool {
        self.cb.is_cancelled()
    }

    /// When the callback is scheduled to run (by the loop's clock).
    pub fn when(&self) -> Instant {
        self.when
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle")
            .field("callback", &self.cb.name())
            .field("when", &self.when)
            .field("cancelled", &self.cancelled())
            .finish()
    }
}

/// A callback scheduled with `call_soon_threadsafe`; `Send + Sync`, cancellable from any thread.
#[derive(Clone)]
pub struct ThreadsafeHandle {
    /// The callback cell shared with the loop.
    pub(crate) cb: Arc<dyn SendCallback>,
}

impl ThreadsafeHandle {
    /// Cancels the callback: it will not run, and its closure is dropped now.
    pub fn cancel(&self) {
        self.cb.cancel();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn cancelled(&self) -> bool {
        self.cb.is_cancelled()
    }
}

impl fmt::Debug for ThreadsafeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadsafeHandle")
            .field("callback", &self.cb.name())
            .field("cancelled", &self.cancelled())
            .finish()
    }
}
