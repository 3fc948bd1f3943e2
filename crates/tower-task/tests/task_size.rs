//! What a spawn allocates: one allocation, of a size the task layout documents (API.md,
//! "Costs"), and a one-word handle. Counted with a per-thread recording allocator. No CPython
//! counterpart: the bytes an idle task costs, compared with the peers in `benches/benches/tasks_st.rs`.
// Under loom the header's atomics are loom's, and bigger: the sizes are those of normal builds.
#![cfg(not(loom))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tower_loop::EventLoop;
use tower_task::{Task, spawn};

/// Records the sizes of the allocations made by the current thread while `RECORDING` is set.
struct Recording;

thread_local! {
    static RECORDING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn record(size: usize) {
    if RECORDING.try_with(Cell::get).unwrap_or(false) {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
    }
}

// SAFETY: defers to `System` for every operation; the recorders are const-initialised
// thread-local `Cell`s without destructors, which do not allocate.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Recording = Recording;

/// Spawns with `spawn` on a warm loop and returns (allocations, largest size) of that spawn.
fn one_spawn<F: Fn() -> Task<()>>(spawn: F) -> (usize, usize) {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        // Warm up: the registry's first page, the ready queue's buffer (100 < 128 entries).
        let warm: Vec<_> = (0..100).map(|_| spawn()).collect();
        COUNT.with(|c| c.set(0));
        LARGEST.with(|l| l.set(0));
        RECORDING.with(|r| r.set(true));
        let t = std::hint::black_box(spawn());
        RECORDING.with(|r| r.set(false));
        drop((warm, t));
        (COUNT.with(Cell::get), LARGEST.with(Cell::get))
    })
    .unwrap()
}

// An idle task (a future of at most 3 bytes whose output is `()`) is one allocation of 88
// bytes on 64-bit targets: async-task's header and flag (40), tower's header (32: the id and
// the state, the parent and the flags, the extra slot, the home vtable and the registry's
// index), the future (the header's address, the registry slot and the user's future) or its
// output slot (16: `Result<Outcome<()>, Panic>`, the error behind one pointer) — a 96-byte
// malloc chunk (the 8 bytes malloc adds fit). A word more would make it a 112-byte chunk
// (`task_idle_bytes.rs` bounds the bytes; decision 0007 says where each word went).
#[test]
#[cfg(target_pointer_width = "64")]
fn an_idle_task_is_one_allocation_of_88_bytes() {
    let (count, largest) = one_spawn(|| spawn(std::future::pending::<()>()));
    assert_eq!(count, 1, "allocations per spawn");
    assert_eq!(largest, 88, "bytes of the task allocation");
}

// The handle `spawn` returns is one word, and so is an `Option` of it.
#[test]
fn a_task_handle_is_one_word() {
    assert_eq!(size_of::<Task<()>>(), size_of::<usize>());
    assert_eq!(size_of::<Option<Task<u64>>>(), size_of::<usize>());
}
