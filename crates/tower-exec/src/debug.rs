//! Debug mode for blocking calls (tier 2's debug mode, seen from tier 5): [`blocking_call`]
//! names a blocking call made on the loop thread when it exceeds the loop's slow-callback
//! threshold, so the report says *what* blocked, not only that "a task poll" was slow.

use std::time::Instant;

use tower_loop::{ContextKind, ExceptionContext, get_running_loop};

/// Runs `f` right here — on the loop thread if called from a callback or task — and, when the
/// running loop is in debug mode and `f` took at least its
/// [`slow_callback_duration`](tower_loop::EventLoop::slow_callback_duration), reports it by
/// `name` to the loop's exception handler (kind [`ContextKind::SlowCallback`], `source` =
/// `name`), with a hint to move it to [`to_thread`](crate::to_thread). Inside a callback or
/// task poll (which the loop itself times and reports when slow) there is one report for the
/// stall: the loop's report of that item, naming the call and with `source` = `name`.
///
/// Outside debug mode, or with no running loop, it only calls `f` (no clock read).
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use tower_exec::blocking_call;
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::builder().debug(true).build().unwrap();
/// lp.set_slow_callback_duration(Duration::ZERO); // report everything, for the example
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let s = seen.clone();
/// lp.set_exception_handler(move |_, ctx| s.borrow_mut().push(ctx.source));
/// let n = lp
///     .run_until_complete(async { blocking_call("read config", || std::fs::read_dir(".").unwrap().count()) })
///     .unwrap();
/// assert!(n > 0);
/// assert!(seen.borrow().contains(&Some("read config")));
/// ```
pub fn blocking_call<T>(name: &'static str, f: impl FnOnce() -> T) -> T {
    let Ok(lp) = get_running_loop() else {
        return f();
    };
    if !lp.get_debug() {
        return f();
    }
    let start = Instant::now();
    let out = f();
    let elapsed = start.elapsed();
    if elapsed >= lp.slow_callback_duration() {
        let detail = format!(
            "blocking call {name} on the loop thread took {:.3} seconds; run it with \
             tower_exec::to_thread instead",
            elapsed.as_secs_f64()
        );
        // Inside a callback or task poll that the loop times, the loop's one report of that
        // item names this call; elsewhere (`run_until_complete`'s own future) report it here.
        if !tower_loop::add_poll_detail(detail.clone(), name) {
            let mut ctx = ExceptionContext::new(detail);
            ctx.kind = ContextKind::SlowCallback { elapsed };
            ctx.source = Some(name);
            lp.call_exception_handler(&ctx);
        }
    }
    out
}
