//! Making a task: [`spawn_in`], the one path every task (the runtime's too) is made by — its
//! [`Header`], its `async_task` allocation with the header as metadata, its registry slot, its
//! first schedule — and [`spawn_on_loop`], which makes one on the running loop, scheduled with
//! the loop's `schedule` (a push on the loop's ready queue) through [`schedule_home`]. The
//! public functions (`spawn`, `TaskBuilder`, ...) are in the crate's `spawning.rs`.

use std::cell::Cell;
use std::future::Future;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_task::Runnable;
use tower_loop::{LoopHandle, with_running_loop};

use super::handle::Task;
use super::header::{Extra, Header, MAX_ID};
use super::layout;
use super::loop_options::LoopTaskOptions;
use super::outcome::Outcome;
use super::registry::{Registry, loop_tasks_of};
use super::state::TaskId;
use super::wrapper::{Unbound, current_id};
use crate::error::SpawnError;

/// The `async_task` handle of a task whose output is `T`.
pub(crate) type RawTask<T> = async_task::Task<Outcome<T>, Header>;

/// The next block of task ids (ids start at 1; 0 means "no task" in atomics).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// How many ids a thread takes from [`NEXT_ID`] at once.
const ID_BLOCK: u64 = 1024;

thread_local! {
    /// This thread's block of ids: the next one and the end of the block.
    static IDS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// A fresh task id: unique in the process, increasing on each thread (one atomic operation
/// per [`ID_BLOCK`] spawns), at most [`MAX_ID`] (a header keeps 56 bits of it: 7·10^16 spawns,
/// 2000 years at 10^6 a second).
#[inline]
pub(crate) fn next_id() -> TaskId {
    let id = IDS.try_with(|ids| {
        let (next, end) = ids.get();
        if next < end {
            ids.set((next + 1, end));
            next
        } else {
            let start = checked_id(NEXT_ID.fetch_add(ID_BLOCK, Ordering::Relaxed), ID_BLOCK);
            ids.set((start + 1, start + ID_BLOCK));
            start
        }
    });
    TaskId(id.unwrap_or_else(|_| checked_id(NEXT_ID.fetch_add(1, Ordering::Relaxed), 1)))
}

/// `start`, the first of `n` ids just taken, if the last of them is at most [`MAX_ID`].
#[inline]
fn checked_id(start: u64, n: u64) -> u64 {
    if start > MAX_ID + 1 - n {
        ids_exhausted();
    }
    start
}

/// Every task id up to [`MAX_ID`] was handed out.
#[cold]
#[inline(never)]
fn ids_exhausted() -> ! {
    panic!("tower_task: task ids exhausted (more than 2^56 spawns)")
}

/// Makes a task of the running loop (its registry, its task options), allocated by `alloc`
/// (given the `async_task` builder and the future to bind, it calls `spawn` or `spawn_local`
/// with [`schedule_home`]), first scheduled on the loop's ready queue: the common part of
/// `spawn` and `spawn_local` on a loop.
///
/// # Errors
///
/// [`SpawnError::NoRunningLoop`] if no tower event loop runs on this thread.
#[inline]
pub(crate) fn spawn_on_loop<F, A>(
    name: Option<String>,
    eager: Option<bool>,
    future: F,
    alloc: A,
) -> Result<Task<F::Output>, SpawnError>
where
    F: Future,
    A: FnOnce(async_task::Builder<Header>, Unbound<F>) -> (Runnable<Header>, RawTask<F::Output>),
{
    let spawned = with_running_loop(|lp| {
        let tasks = loop_tasks_of(lp);
        let options = tasks.options.borrow().clone();
        spawn_in(
            name,
            eager,
            options,
            tasks.registry.clone(),
            future,
            alloc,
            |r| lp.schedule(r),
        )
    });
    Ok(spawned?)
}

/// The schedule function of every loop task. It captures nothing — so async-task takes no
/// extra reference count around each wake-up, as it does for a schedule closure with state —
/// and finds the task's loop in its header (the registry of the loop it was spawned on).
pub(crate) fn schedule_home(runnable: Runnable<Header>) {
    // The handle lives in the registry, of which the header holds a reference count; the
    // header is in the task's allocation, alive while `runnable` exists. `try_schedule_local`
    // either hands
    // `runnable` back (we own it again, so the handle is still alive for the slow path) or
    // pushes it onto this thread's ready queue, from which it cannot run (nor its task be
    // freed) before this function returns, and the handle is not used after that push.
    let handle: *const LoopHandle = &runnable.metadata().registry().handle;
    // SAFETY: see above: `handle` is alive for every use below.
    let handle = unsafe { &*handle };
    if let Err(runnable) = handle.try_schedule_local(runnable) {
        let handle = handle.clone();
        handle.schedule(runnable);
    }
}

/// Makes a task: its header (registered in `registry`) and `async_task` allocation — `alloc`
/// calls the `async_task` builder it is given with the caller's schedule function and
/// `unbound.bind` as the future — then starts it: eagerly (`eager`, else the loop's task
/// `options` decide) inside this call, or by handing its runnable to `first`. Calls the options'
/// `on_spawn` hook last.
#[inline]
pub(crate) fn spawn_in<F, A, S>(
    name: Option<String>,
    eager: Option<bool>,
    options: Option<LoopTaskOptions>,
    registry: Arc<Registry>,
    future: F,
    alloc: A,
    first: S,
) -> Task<F::Output>
where
    F: Future,
    A: FnOnce(async_task::Builder<Header>, Unbound<F>) -> (Runnable<Header>, RawTask<F::Output>),
    S: FnOnce(Runnable<Header>),
{
    let extra = name.map(|n| {
        Box::new(Extra {
            name: Some(Arc::from(n)),
            ..Extra::default()
        })
    });
    // The registry slot, stored in the future: taken now, filled once the header is in place.
    let reserved = registry.reserve();
    let unbound = Unbound::new(future, reserved.slot as u32);
    let reg = NonNull::from(&*registry);
    let header = Header::new(next_id(), current_id(), extra, registry);
    let (runnable, raw) = alloc(async_task::Builder::new().metadata(header), unbound);
    let raw = raw.fallible();
    let h = runnable.metadata();
    // The registry's reference count: a waker the header keeps the vtable of (its home waker,
    // whose data is the allocation `layout::task_of` finds) and that `TaskFuture`'s drop
    // releases, so a task nothing else references lives until its future is dropped
    // (async-task frees a task without wakers, leaking its future).
    let waker = runnable.waker();
    // Before anything derives the allocation from the header, or reads `raw` as a `TaskRef`.
    layout::check_spawned(h, &waker, &raw);
    h.set_home(&waker);
    std::mem::forget(waker);
    // SAFETY: `reg` is the header's registry, of which the header holds a count. Reserved
    // above, on this thread; nothing since touched the registry (the header, the allocation,
    // the layout check and the home record do not).
    unsafe { reg.as_ref().fill(reserved, h) };
    let task = Task::new(raw);
    let eager = eager.unwrap_or_else(|| options.as_ref().is_some_and(|o| o.eager));
    if eager {
        // Inside the spawner's poll: the new task must not see a cancellation that poll is
        // delivering (its own, if any, it delivers itself).
        let ((), _) = tower_coro::cancel::isolate(|| {
            runnable.run();
        });
    } else {
        first(runnable);
    }
    if let Some(hook) = options.and_then(|o| o.on_spawn) {
        hook(&task);
    }
    task
}
