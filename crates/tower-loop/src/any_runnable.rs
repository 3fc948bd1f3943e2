//! [`AnyRunnable`]: an `async_task::Runnable<M>` with its metadata type erased, so that one
//! ready queue holds tasks whose allocations carry different metadata (tier 4 keeps each task's
//! header there) without a second allocation or a box per wake-up.
//!
//! `Runnable<M>` is a pointer to the task's allocation; what depends on `M` is only how
//! `run`/`drop` find the task's vtable, so erasing `M` is a pointer plus a `&'static` table of
//! the two functions for that `M`.

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;

use async_task::Runnable;

/// What an [`AnyRunnable`] can do with its pointer, for one metadata type.
struct RunVTable {
    /// Runs the task (`Runnable::run`); returns whether it was woken while running.
    ///
    /// # Safety
    ///
    /// Called once, with the pointer of a `Runnable` of this table's metadata type.
    run: unsafe fn(NonNull<()>) -> bool,
    /// Drops the runnable (`Runnable`'s `Drop`: the task is closed and its future dropped).
    ///
    /// # Safety
    ///
    /// As for `run`.
    drop: unsafe fn(NonNull<()>),
}

/// The [`RunVTable`] of `Runnable<M>`.
struct VTableOf<M>(PhantomData<M>);

impl<M: Send + Sync + 'static> VTableOf<M> {
    /// The table (a promoted constant: one `&'static` per `M`).
    const TABLE: &'static RunVTable = &RunVTable {
        run: Self::run,
        drop: Self::drop,
    };

    /// # Safety
    ///
    /// `ptr` came from `Runnable::<M>::into_raw` and is used once.
    unsafe fn run(ptr: NonNull<()>) -> bool {
        // SAFETY: the caller passes the pointer of a `Runnable<M>` (same `M`: the table was
        // chosen by `AnyRunnable::new::<M>`) and gives up its ownership.
        unsafe { Runnable::<M>::from_raw(ptr) }.run()
    }

    /// # Safety
    ///
    /// As for [`run`](Self::run).
    unsafe fn drop(ptr: NonNull<()>) {
        // SAFETY: as in `run`.
        drop(unsafe { Runnable::<M>::from_raw(ptr) });
    }
}

/// A scheduled task of any metadata type: what the loop's ready queue and a
/// [`WorkSource`](crate::WorkSource) hand around. Build one with `AnyRunnable::from(runnable)`.
///
/// Running it runs the task once; dropping it drops the runnable (async-task then closes the
/// task and drops its future, as for a dropped `Runnable`).
///
/// ```
/// use tower_loop::AnyRunnable;
///
/// let (runnable, task) = async_task::Builder::new()
///     .metadata(7u32)
///     .spawn(|meta: &u32| { let m = *meta; async move { m + 1 } }, |_| {});
/// let any = AnyRunnable::from(runnable);
/// any.run();
/// assert_eq!(futures_lite_block_on(task), 8);
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tower_coro::block_on(f)
/// # }
/// ```
pub struct AnyRunnable {
    /// `Runnable::<M>::into_raw` of the task.
    ptr: NonNull<()>,
    /// The functions for that `M`.
    vtable: &'static RunVTable,
}

// SAFETY: an `AnyRunnable` is only built from a `Runnable<M>` with `M: Send + Sync`, which is
// `Send` and `Sync` itself (async-task checks at run and drop that a `spawn_local` task stays on
// its thread); the erased pointer is used exactly as that runnable would be.
unsafe impl Send for AnyRunnable {}
// SAFETY: as above; `&AnyRunnable` gives no access to the task at all.
unsafe impl Sync for AnyRunnable {}

impl AnyRunnable {
    /// Erases the metadata type of `runnable`.
    #[inline]
    pub fn new<M: Send + Sync + 'static>(runnable: Runnable<M>) -> AnyRunnable {
        AnyRunnable {
            ptr: Runnable::into_raw(runnable),
            vtable: VTableOf::<M>::TABLE,
        }
    }

    /// Runs the task once (`Runnable::run`); returns whether it was woken while it ran.
    #[inline]
    pub fn run(self) -> bool {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `ptr` came from `into_raw` of a `Runnable<M>` whose functions `vtable`
        // holds; `ManuallyDrop` keeps our `Drop` from using it a second time.
        unsafe { (this.vtable.run)(this.ptr) }
    }
}

impl<M: Send + Sync + 'static> From<Runnable<M>> for AnyRunnable {
    fn from(runnable: Runnable<M>) -> AnyRunnable {
        AnyRunnable::new(runnable)
    }
}

impl Drop for AnyRunnable {
    fn drop(&mut self) {
        // SAFETY: as in `run`; this is the pointer's only use (`run` skips this `Drop`).
        unsafe { (self.vtable.drop)(self.ptr) }
    }
}

impl fmt::Debug for AnyRunnable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyRunnable")
            .field("task", &self.ptr)
            .finish()
    }
}
