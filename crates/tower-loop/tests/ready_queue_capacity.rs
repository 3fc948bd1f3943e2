//! A burst of ready work gives its queue memory back once it has drained. CPython's loop keeps
//! its ready callbacks in a `collections.deque`, which frees its blocks as it empties; a loop that
//! once ran 10^5 callbacks in one iteration must not keep megabytes of queue for its whole life.
//! Counted with a global allocator that tracks live bytes (the test is alone in its binary).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use tower_loop::EventLoop;

/// Tracks the bytes currently allocated by the process.
struct Live;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counter only observes sizes.
unsafe impl GlobalAlloc for Live {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: the caller's contract for `alloc` is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::SeqCst);
        // SAFETY: the caller's contract for `realloc` is `System.realloc`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Live = Live;

/// Queues `n` callbacks, then runs the loop until they have all run.
fn burst(lp: &EventLoop, n: usize) {
    for _ in 0..n {
        drop(lp.call_soon(|| {}));
    }
    lp.run_until_complete(async {}).unwrap();
}

#[test]
fn a_drained_burst_gives_its_queue_capacity_back() {
    let lp = EventLoop::new().unwrap();
    burst(&lp, 10); // first-use allocations (thread-locals, the loop's own buffers)
    let before = LIVE.load(Ordering::SeqCst);
    burst(&lp, 100_000);
    let kept = LIVE.load(Ordering::SeqCst) - before;
    // 10^5 entries of the queue are ~2.4 MB; what may stay is the kept capacity (a few KB).
    assert!(
        kept < 64 * 1024,
        "{kept} bytes still held after the burst drained"
    );
    // And the loop still works with the smaller queue.
    burst(&lp, 5_000);
    lp.close().unwrap();
}
