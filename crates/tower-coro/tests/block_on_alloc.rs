//! `block_on` allocates nothing after the first call on a thread (async-io's driver does the
//! same). A counting global allocator counts this thread's allocations only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tower_coro::{block_on, join, yield_now};

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to `System`, only counting; the thread-local is const-initialised, so
// touching it never allocates (no recursion into the allocator).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

#[test]
fn no_allocation_after_the_first_call() {
    let work = || {
        let n = block_on(async {
            for _ in 0..10 {
                yield_now().await;
            }
            let (a, b) = join(async { 1 }, async {
                yield_now().await;
                2
            })
            .await;
            a + b
        });
        assert_eq!(n, 3);
    };
    // The first call creates this thread's parker and waker.
    let first = allocations_in(work);
    assert!(first > 0, "the counter sees the first call's allocations");
    assert_eq!(allocations_in(work), 0);
    assert_eq!(allocations_in(work), 0);
}
