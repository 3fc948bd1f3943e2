//! Shared pieces of the tower's benchmarks, chiefly the **floor**.
//!
//! Each bench file under `benches/` is one workload; each criterion group inside is one flavour
//! (`_st` single-thread, `_mt` multi-thread), with ids `tower…`, `floor`, and the peers' names,
//! which `cargo xtask table` turns into ratios.
//!
//! The floor is the cheapest executor that can run a workload at all: a thread-local `VecDeque`
//! of `async_task::Runnable`s, a `block_on` that polls the main future only when it was woken,
//! and `Rc` primitives. It has no reactor, no timers and no cross-thread path; the tower's time
//! over the floor's says how close a path is to nothing at all (BENCHMARKS.md).
//!
//! [`load_client`] is the native load client of the protocol echo benches (`proto_echo`): N
//! connections on one epoll thread, ping-pong or pipelined, every echoed byte checked;
//! [`server_process`] runs each server under test in its own process (tower's, tokio's, smol's,
//! and CPython asyncio's and uvloop's from `benches/python/`).

pub mod floor;
#[cfg(target_os = "linux")]
pub mod load_client;
pub mod oneshot;
pub mod server_process;
