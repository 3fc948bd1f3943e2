//! [`Core`]: the loop-thread half of an event loop, one field per owner of a piece of state.
//!
//! Each field is a small type in its own file that alone changes its state, through its
//! methods: the ready queue (`ready.rs`), the timer queue (`timer_queue.rs`), the reactor
//! (`reactor.rs`), the run state (`run.rs`), the exception handler (`exception.rs`), debug mode
//! (`debug.rs`), the work source (`work_source.rs`), signals (`signals.rs`), the close hooks
//! (`close.rs`) and higher tiers' data (`attached.rs`). `Core` hands out its owners and does
//! what needs two of them at once (a push that first merges the injector, which may cancel a
//! timer).

use std::sync::Arc;

use crate::attached::Attached;
use crate::clock::Clock;
use crate::close::CloseHooks;
use crate::debug::DebugSettings;
use crate::exception::HandlerSlot;
use crate::loop_handle::Shared;
use crate::reactor::LocalReactor;
use crate::ready::{Ready, ReadyQueue};
use crate::run::RunState;
use crate::signals::Signals;
use crate::timer_queue::TimerQueue;
use crate::work_source::WorkSourceSlot;

/// The loop-thread half of an event loop (the [`EventLoop`](crate::EventLoop) is an `Rc` of
/// it; the other half, [`Shared`], is what other threads reach).
pub(crate) struct Core {
    /// The half other threads reach through [`LoopHandle`](crate::LoopHandle).
    shared: Arc<Shared>,
    /// Callbacks and runnables ready to run, FIFO; whether the loop is closed.
    ready: ReadyQueue,
    /// `call_later`/`call_at` callbacks and [`Timer`](crate::Timer) wakers.
    timers: TimerQueue,
    /// File-descriptor registrations of this loop (`add_reader`, `sock_*` waits), the
    /// reusable events buffer and when the reactor is next polled for fairness.
    reactor: LocalReactor,
    /// Real or virtual time.
    clock: Clock,
    /// Whether a `run_*` call is in progress, and whether it was asked to stop.
    run: RunState,
    /// The installed exception handler, if any.
    handler: HandlerSlot,
    /// Debug mode settings.
    debug: DebugSettings,
    /// The installed work source, if any, and whether it said it has more.
    work_source: WorkSourceSlot,
    /// Signal handlers and the self-pipe.
    signals: Signals,
    /// [`EventLoop::on_close`](crate::EventLoop::on_close) hooks.
    close_hooks: CloseHooks,
    /// Higher tiers' per-loop data ([`EventLoop::attached`](crate::EventLoop::attached)).
    attached: Attached,
}

impl Core {
    /// A new, idle loop core around `shared`.
    pub(crate) fn new(shared: Arc<Shared>, clock: Clock, debug: bool) -> Core {
        let core = Core {
            shared,
            ready: ReadyQueue::default(),
            timers: TimerQueue::default(),
            reactor: LocalReactor::default(),
            clock,
            run: RunState::default(),
            handler: HandlerSlot::default(),
            debug: DebugSettings::default(),
            work_source: WorkSourceSlot::default(),
            signals: Signals::default(),
            close_hooks: CloseHooks::default(),
            attached: Attached::default(),
        };
        core.debug.set_enabled(debug);
        core
    }

    /// The half other threads reach.
    #[inline(always)]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The ready queue (its pops and the iteration's own pushes; other pushes go through
    /// [`push_ready`](Self::push_ready) and [`push_ready_if_open`](Self::push_ready_if_open)).
    #[inline(always)]
    pub(crate) fn ready(&self) -> &ReadyQueue {
        &self.ready
    }

    /// The timer queue.
    #[inline(always)]
    pub(crate) fn timers(&self) -> &TimerQueue {
        &self.timers
    }

    /// The reactor's loop-thread half.
    #[inline(always)]
    pub(crate) fn reactor(&self) -> &LocalReactor {
        &self.reactor
    }

    /// The loop's clock.
    #[inline(always)]
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Whether the loop runs and was asked to stop.
    #[inline(always)]
    pub(crate) fn run_state(&self) -> &RunState {
        &self.run
    }

    /// The installed exception handler.
    #[inline(always)]
    pub(crate) fn handler(&self) -> &HandlerSlot {
        &self.handler
    }

    /// Debug mode settings.
    #[inline(always)]
    pub(crate) fn debug(&self) -> &DebugSettings {
        &self.debug
    }

    /// The installed work source.
    #[inline(always)]
    pub(crate) fn work_source(&self) -> &WorkSourceSlot {
        &self.work_source
    }

    /// Signal handlers and the self-pipe.
    #[inline(always)]
    pub(crate) fn signals(&self) -> &Signals {
        &self.signals
    }

    /// The `on_close` hooks.
    #[inline(always)]
    pub(crate) fn close_hooks(&self) -> &CloseHooks {
        &self.close_hooks
    }

    /// Higher tiers' per-loop data.
    #[inline(always)]
    pub(crate) fn attached(&self) -> &Attached {
        &self.attached
    }

    /// Whether the loop was closed.
    #[inline(always)]
    pub(crate) fn is_closed(&self) -> bool {
        self.ready.is_closed()
    }

    /// Appends `item` to the ready queue after the work other threads handed over before
    /// ([`ReadyQueue::push`]).
    #[inline(always)]
    pub(crate) fn push_ready(&self, item: Ready) {
        self.ready.push(item, &self.shared, &self.timers);
    }

    /// Queues the value in `slot` unless the loop is closed ([`ReadyQueue::push_if_open`]).
    #[inline(always)]
    pub(crate) fn push_ready_if_open<T>(
        &self,
        slot: &mut Option<T>,
        into: impl FnOnce(T) -> Ready,
    ) {
        self.ready
            .push_if_open(slot, into, &self.shared, &self.timers);
    }

    /// Moves the work other threads handed over into the ready queue
    /// ([`ReadyQueue::collect_remote`]).
    #[inline(always)]
    pub(crate) fn collect_remote(&self) {
        self.ready.collect_remote(&self.shared, &self.timers);
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        crate::signals::close(self);
        self.release();
    }
}
