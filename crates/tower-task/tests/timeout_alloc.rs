//! `timeout` allocates nothing per use beyond its timer entry in the loop's (reused) timer
//! storage: counted with a per-thread counting allocator. No CPython counterpart (a budget of
//! ARCHITECTURE.md: 10^5–10^6 pending timeouts, most cancelled).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use tower_loop::{EventLoop, Timer};
use tower_task::timeout;

/// Counts the allocations made by the current thread.
struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers to `System` for every operation; the counter is a const-initialised
// thread-local `Cell` without destructor, which does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.with(Cell::get)
}

// A timeout that completes and one that expires: after a warm-up (the timer storage has grown
// once), neither allocates.
#[test]
fn timeouts_allocate_nothing_after_warm_up() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let counts = lp
        .run_until_complete(async {
            let secs = Duration::from_secs;
            // The counter sees this thread's allocations.
            let before = allocs();
            drop(std::hint::black_box(Box::new(7u64)));
            assert_eq!(allocs() - before, 1);
            // Warm up: the timer storage grows to hold an entry.
            let _ = timeout(secs(1), tower_coro::yield_now()).await;
            let _ = timeout(secs(1), Timer::after(secs(5))).await;

            let before = allocs();
            let ok = timeout(secs(10), tower_coro::yield_now()).await;
            let completed = allocs() - before;

            let before = allocs();
            let expired = timeout(secs(1), Timer::after(secs(5))).await;
            let timed_out = allocs() - before;

            assert!(ok.is_ok() && expired.is_err());
            (completed, timed_out)
        })
        .unwrap();
    assert_eq!(counts, (0, 0));
}
