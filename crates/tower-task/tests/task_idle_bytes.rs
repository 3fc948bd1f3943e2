//! How many bytes an idle task keeps alive: its allocation and its registry slot, counted as
//! malloc chunks (what the resident set grows by), at most 104 per task (issue 14 asks at most
//! 128, and at or below smol's). Counted with a global allocator that tracks live bytes (the
//! test is alone in its binary, as `task_memory.rs`). `benches/benches/tasks_st.rs` (`TASKS_ST_MEM=1`) prints the
//! same figure from the resident set, next to tokio's and smol's, with the loop's ready-queue
//! room and the benchmark's vector of handles on top. No CPython counterpart.
// Under loom the header's atomics are loom's, and bigger: the sizes are those of normal builds.
#![cfg(not(loom))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tower_loop::EventLoop;
use tower_task::spawn;

/// Tracks the live bytes of the process twice: as requested, and rounded up to glibc's malloc
/// chunks on 64-bit targets (8 bytes of size field, 16-byte steps, 32 at least).
struct Live;

static REQUESTED: AtomicUsize = AtomicUsize::new(0);
static CHUNKS: AtomicUsize = AtomicUsize::new(0);

fn chunk(size: usize) -> usize {
    ((size + 8 + 15) & !15).max(32)
}

fn add(size: usize) {
    REQUESTED.fetch_add(size, Ordering::Relaxed);
    CHUNKS.fetch_add(chunk(size), Ordering::Relaxed);
}

fn sub(size: usize) {
    REQUESTED.fetch_sub(size, Ordering::Relaxed);
    CHUNKS.fetch_sub(chunk(size), Ordering::Relaxed);
}

// SAFETY: defers to `System` for every operation; the counters are plain atomics.
unsafe impl GlobalAlloc for Live {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        sub(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        sub(layout.size());
        add(new_size);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Live = Live;

/// Idle tasks per batch: a whole number of registry pages (512 slots each).
const N: usize = 20 * 512;

/// Spawns `N` tasks that stay pending into `into` (reserved beforehand), then lets each run
/// its first poll.
async fn idle_batch(into: &mut Vec<tower_task::Task<()>>) {
    for _ in 0..N {
        into.push(spawn(std::future::pending::<()>()));
    }
    tower_coro::yield_now().await;
    tower_coro::yield_now().await;
}

// A batch of idle tasks first grows the loop's ready queue (the loop's room, not the tasks':
// the benchmark counts it apart) and fills the registry's first pages; a second batch, in the
// loop it left, costs each task its allocation and its registry slot: 96 + 8 bytes of chunks
// on 64-bit targets (an 88-byte allocation, see `task_size.rs`). The bound is that figure, not
// issue 14's 128 (and smol's 123-124 in `TASKS_ST_MEM`, which adds the benchmark's vector and
// the ready queue's room): a word more in the header or the future/output union is a 112-byte
// chunk, and fails here (decision 0007).
#[test]
#[cfg(target_pointer_width = "64")]
fn an_idle_task_keeps_at_most_104_bytes_alive() {
    let lp = EventLoop::new().unwrap();
    let (requested, chunks) = lp
        .run_until_complete(async {
            let mut first = Vec::with_capacity(N);
            idle_batch(&mut first).await;
            let mut second = Vec::with_capacity(N);
            let before = (
                REQUESTED.load(Ordering::SeqCst),
                CHUNKS.load(Ordering::SeqCst),
            );
            idle_batch(&mut second).await;
            let after = (
                REQUESTED.load(Ordering::SeqCst),
                CHUNKS.load(Ordering::SeqCst),
            );
            drop((first, second));
            (
                (after.0 - before.0) as f64 / N as f64,
                (after.1 - before.1) as f64 / N as f64,
            )
        })
        .unwrap();
    lp.close().unwrap();
    println!("bytes per idle task: {requested:.1} requested, {chunks:.1} in malloc chunks");
    assert!(
        chunks <= 104.5,
        "an idle task keeps {chunks:.1} bytes of malloc chunks alive (bound: 96 + 8)"
    );
    assert!(
        requested <= 96.5,
        "an idle task keeps {requested:.1} requested bytes alive (88 + its registry slot)"
    );
}
