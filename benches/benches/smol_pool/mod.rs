//! smol's multi-thread executor as the benches run it: an `async_executor::Executor` driven by
//! [`WORKERS`] threads (each in `async_io::block_on`, as `smol` runs its executor), stopped when
//! dropped. Shared by `runtime_mt.rs` and `io_work/mod.rs`.
#![allow(dead_code)]

use std::sync::Arc;

/// Executor threads.
pub(crate) const WORKERS: usize = 2;

/// smol's executor on [`WORKERS`] threads, stopped on drop.
pub(crate) struct Smol {
    /// The executor.
    pub(crate) ex: Arc<async_executor::Executor<'static>>,
    /// Dropped to stop the threads.
    stop: Option<async_channel::Sender<()>>,
    /// The executor threads.
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Smol {
    /// Starts the threads.
    pub(crate) fn new() -> Smol {
        let ex = Arc::new(async_executor::Executor::new());
        let (tx, rx) = async_channel::bounded::<()>(1);
        let threads = (0..WORKERS)
            .map(|_| {
                let (ex, rx) = (ex.clone(), rx.clone());
                std::thread::spawn(move || {
                    let _ = async_io::block_on(ex.run(rx.recv()));
                })
            })
            .collect();
        Smol {
            ex,
            stop: Some(tx),
            threads,
        }
    }
}

impl Drop for Smol {
    fn drop(&mut self) {
        drop(self.stop.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
