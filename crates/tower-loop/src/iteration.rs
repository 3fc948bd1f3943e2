//! One iteration of the loop (asyncio's `_run_once`).
//!
//! Collect remote work, poll the reactor (zero timeout if work is ready, else until the next
//! timer), collect again ([`park::turn`]), fire due timers, ask the work source, then run
//! exactly the items that were ready at that point — callbacks scheduled meanwhile run in the
//! next iteration. From the end of the wait to the end of the batch the loop's time for new
//! deadlines is read once and cached ([`Clock::cached_now`](crate::clock::Clock::cached_now)).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use crate::event_loop::EventLoop;
use crate::exception::{ContextKind, ExceptionContext};
use crate::park::{self, Turn, Wait};
use crate::reactor::PollFailed;
use crate::ready::Ready;
use crate::timer_queue::Payload;
use crate::work_source::{FILL_BUDGET, WorkSource};

impl EventLoop {
    /// One iteration (asyncio's `_run_once`): [`park::turn`] (collect, poll the reactor,
    /// collect), due timers, the work source, then the ready batch. `poll_main` polls
    /// `run_until_complete`'s future for a [`Ready::Main`] entry of the batch.
    #[inline]
    pub(crate) fn run_once(&self, mut poll_main: impl FnMut(u64)) {
        let core = &**self.core();
        let ws = core.work_source().get();
        park::turn(
            core.shared().park(),
            &LoopTurn {
                lp: self,
                ws: ws.as_deref(),
            },
        );
        core.clock().start_batch();
        self.fire_timers();
        if let Some(w) = &ws {
            let more = w.fill(
                &mut |r| core.ready().push_after_collect(Ready::Runnable(r)),
                FILL_BUDGET,
            );
            core.work_source().set_has_more(more);
        }
        let ntodo = core.ready().len();
        for _ in 0..ntodo {
            let item = core.ready().pop();
            match item {
                Some(item) => self.run_item(item, &mut poll_main),
                None => break,
            }
            // The work source's LIFO task, woken by the item just run, runs now.
            if let Some(w) = &ws {
                while let Some(r) = w.next_in_batch() {
                    self.run_item(Ready::Runnable(r), &mut poll_main);
                }
            }
        }
        core.reactor().count_run(ntodo);
        core.ready().trim();
        core.clock().end_batch();
    }

    /// Polls the reactor and dispatches its events; returns the number of events. If the
    /// poller fails, the loop stops (the error comes out of the `run_*` call).
    fn poll_io(&self, timeout: Option<Duration>) -> usize {
        let core = self.core();
        match core.reactor().poll(core.shared(), core.ready(), timeout) {
            Ok(n) => n,
            Err(PollFailed) => {
                core.run_state().stop();
                0
            }
        }
    }

    /// Moves due `call_later` callbacks to the ready queue and wakes due timers, in deadline
    /// order (bounded by the number pending when it started). Inline: most iterations of a
    /// busy loop have no timer, and pay one load for it.
    #[inline]
    fn fire_timers(&self) {
        let n = self.core().timers().len();
        if n != 0 {
            self.fire_due_timers(n);
        }
    }

    /// [`fire_timers`](Self::fire_timers) with `n` timers pending.
    #[inline(never)]
    fn fire_due_timers(&self, n: usize) {
        let core = self.core();
        let now = core.timers().due_at(core.clock().cached_now());
        for _ in 0..n {
            let due = core.timers().pop_due(now);
            match due {
                None => break,
                Some(Payload::Callback(cb)) => core.ready().push_after_collect(Ready::Callback(cb)),
                Some(Payload::Waker(w)) => w.wake(),
            }
        }
    }

    /// Runs one ready item, catching a panic (and, in debug mode, timing it: see
    /// [`run_item_debug`](Self::run_item_debug)); a [`Ready::Main`] entry is passed to
    /// `poll_main`. Always inlined into the iteration: it is the per-item hot path, and a call
    /// frame for it was ~17 instructions per item.
    #[inline(always)]
    fn run_item(&self, item: Ready, poll_main: &mut impl FnMut(u64)) {
        if self.core().debug().is_enabled() {
            return match item {
                Ready::Main(id) => poll_main(id),
                Ready::Stop => self.core().run_state().stop(),
                item => self.run_item_debug(item),
            };
        }
        let (source, result) = match item {
            Ready::Runnable(r) => (
                "a task poll",
                catch_unwind(AssertUnwindSafe(|| {
                    r.run();
                })),
            ),
            Ready::Callback(cb) if cb.is_cancelled() => return,
            Ready::Remote(cb) if cb.is_cancelled() => return,
            Ready::Callback(cb) => (cb.name(), catch_unwind(AssertUnwindSafe(|| cb.run()))),
            Ready::Remote(cb) => (cb.name(), catch_unwind(AssertUnwindSafe(|| cb.run()))),
            // The main future's own panic propagates: not caught.
            Ready::Main(id) => return poll_main(id),
            Ready::Stop => return self.core().run_state().stop(),
        };
        if let Err(payload) = result {
            self.report_panic(source, payload);
        }
    }

    /// Reports the panic of a ready item to the exception handler.
    #[cold]
    #[inline(never)]
    pub(crate) fn report_panic(&self, source: &'static str, payload: Box<dyn Any + Send>) {
        let ctx = ExceptionContext {
            message: format!("panic in {source}"),
            kind: ContextKind::Panic,
            payload: Some(payload),
            source: Some(source),
        };
        self.call_exception_handler(&ctx);
    }
}

/// The event loop's parts of [`park::turn`]: its reactor, timers, ready queue and work source.
struct LoopTurn<'a> {
    /// The loop.
    lp: &'a EventLoop,
    /// The installed work source, if any.
    ws: Option<&'a dyn WorkSource>,
}

impl Turn for LoopTurn<'_> {
    #[inline(always)]
    fn has_work(&self) -> bool {
        let core = self.lp.core();
        !core.ready().is_empty() || core.run_state().is_stopping() || core.work_source().has_more()
    }

    #[inline(always)]
    fn poll_if_due(&self) {
        let core = self.lp.core();
        let reactor = core.reactor();
        if reactor.is_poll_due() {
            if reactor.has_registrations(core.shared()) {
                self.lp.poll_io(Some(Duration::ZERO));
            } else {
                reactor.skip_due_poll();
            }
        }
    }

    fn wait(&self) -> Wait {
        let core = self.lp.core();
        let deadline = core.timers().next_deadline();
        let timeout =
            deadline.map(|d| round_up_ms(d.saturating_duration_since(core.clock().now())));
        match (timeout, deadline) {
            (Some(Duration::ZERO), _) => Wait::Now,
            (Some(_), Some(deadline)) if core.clock().is_paused() => Wait::Virtual(deadline),
            _ => Wait::Block(timeout),
        }
    }

    fn before_park(&self) -> bool {
        self.ws.is_none_or(|w| w.before_park())
    }

    fn after_unpark(&self) {
        if let Some(w) = self.ws {
            w.after_unpark();
        }
    }

    fn poll(&self, timeout: Option<Duration>) -> usize {
        self.lp.poll_io(timeout)
    }

    fn advance_to(&self, deadline: Instant) {
        self.lp.core().clock().advance_to(deadline);
    }

    fn collect(&self) {
        self.lp.core().collect_remote();
    }
}

/// Rounds a blocking timeout up to whole milliseconds (epoll's own granularity, and tokio's
/// timer resolution): timers fire at most 1 ms late, and timers due within the same millisecond
/// fire in one iteration instead of one wake-up each.
fn round_up_ms(d: Duration) -> Duration {
    let ms = d.as_nanos().div_ceil(1_000_000);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}
