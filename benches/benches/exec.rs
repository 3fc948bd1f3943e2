//! Tier 5 side by side with its peers, in one run.
//!
//! - `subprocess`: 200 × `/bin/true` spawned, then every exit status awaited — tower's `Command`
//!   (`tower`: `spawn_off_loop`, asyncio's awaited `create_subprocess_exec`, forking on the
//!   blocking pool; `tower-spawn-on-loop`: `spawn`, forking on the loop thread as the peers do),
//!   `tokio::process`, `async-process`.
//! - `blocking`: 10^4 blocking calls submitted at once and then awaited in order — tower's
//!   `to_thread` on its event loop, tokio's `spawn_blocking` (current-thread runtime), and the
//!   `blocking` crate's `unblock` (on async-io's `block_on`). Each pool stays warm between
//!   iterations (all keep idle threads for seconds).
//!
//! `TOWER_EXEC_PROFILE=<group>/<id>` runs five iterations of one id (for `perf`, `strace -c -f`).
//! `TOWER_EXEC_INTERLEAVED=<rounds>` runs every id round-robin instead and prints the best time of
//! each with its ratio to the best peer: on a shared, noisy machine the minimum of interleaved
//! runs is a steadier ratio than criterion's separate samples.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;

/// Blocking calls per iteration.
const CALLS: u64 = 10_000;
/// Children per iteration.
const CHILDREN: usize = 200;

/// The groups and their ids, in run order (subprocesses first: the blocking peers leave hundreds
/// of idle pool threads behind for seconds).
const GROUPS: [(&str, &[&str]); 2] = [
    (
        "subprocess",
        &["tower", "tower-spawn-on-loop", "tokio", "async-process"],
    ),
    ("blocking", &["tower", "tokio", "blocking"]),
];

/// The runtimes, built once.
struct Rts {
    /// tower's loop.
    lp: tower_loop::EventLoop,
    /// tokio's current-thread runtime.
    rt: tokio::runtime::Runtime,
}

impl Rts {
    fn new() -> Rts {
        Rts {
            lp: tower_loop::EventLoop::new().expect("tower loop"),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime"),
        }
    }

    /// One iteration of `group`/`id`.
    fn run(&self, group: &str, id: &str) {
        match (group, id) {
            ("blocking", "tower") => self.blocking_tower(),
            ("blocking", "tokio") => self.blocking_tokio(),
            ("blocking", _) => blocking_blocking(),
            ("subprocess", "tower") => self.subprocess_tower(),
            ("subprocess", "tower-spawn-on-loop") => self.subprocess_tower_on_loop(),
            ("subprocess", "tokio") => self.subprocess_tokio(),
            _ => subprocess_async_process(),
        }
    }

    fn blocking_tower(&self) {
        let sum = self
            .lp
            .run_until_complete(async {
                let futs: Vec<_> = (0..CALLS)
                    .map(|i| tower_exec::to_thread(move || black_box(i)))
                    .collect();
                let mut sum = 0;
                for f in futs {
                    sum += f.await.unwrap();
                }
                sum
            })
            .unwrap();
        black_box(sum);
    }

    fn blocking_tokio(&self) {
        let sum = self.rt.block_on(async {
            let handles: Vec<_> = (0..CALLS)
                .map(|i| tokio::task::spawn_blocking(move || black_box(i)))
                .collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        });
        black_box(sum);
    }

    /// asyncio's way: `create_subprocess_exec` is awaited, the fork/exec runs off the loop.
    fn subprocess_tower(&self) {
        self.lp
            .run_until_complete(async {
                let cmd = tower_exec::Command::new("/bin/true");
                let spawns = (0..CHILDREN).map(|_| cmd.spawn_off_loop());
                let mut children = tower_coro::try_join_all(spawns).await.unwrap();
                for c in &mut children {
                    assert_eq!(c.wait().await.unwrap(), 0);
                }
            })
            .unwrap();
    }

    /// The peers' way: fork/exec on the loop thread.
    fn subprocess_tower_on_loop(&self) {
        self.lp
            .run_until_complete(async {
                let mut children: Vec<_> = (0..CHILDREN)
                    .map(|_| tower_exec::Command::new("/bin/true").spawn().unwrap())
                    .collect();
                for c in &mut children {
                    assert_eq!(c.wait().await.unwrap(), 0);
                }
            })
            .unwrap();
    }

    fn subprocess_tokio(&self) {
        self.rt.block_on(async {
            let mut children: Vec<_> = (0..CHILDREN)
                .map(|_| tokio::process::Command::new("/bin/true").spawn().unwrap())
                .collect();
            for c in &mut children {
                assert!(c.wait().await.unwrap().success());
            }
        });
    }
}

fn blocking_blocking() {
    let sum = async_io::block_on(async {
        let tasks: Vec<_> = (0..CALLS)
            .map(|i| blocking::unblock(move || black_box(i)))
            .collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await;
        }
        sum
    });
    black_box(sum);
}

fn subprocess_async_process() {
    async_io::block_on(async {
        let mut children: Vec<_> = (0..CHILDREN)
            .map(|_| async_process::Command::new("/bin/true").spawn().unwrap())
            .collect();
        for c in &mut children {
            assert!(c.status().await.unwrap().success());
        }
    });
}

/// The criterion groups.
fn benches(c: &mut Criterion, rts: &Rts) {
    for (group, ids) in GROUPS {
        let mut g = c.benchmark_group(group);
        g.sample_size(10).measurement_time(Duration::from_secs(3));
        for id in ids {
            g.bench_function(*id, |b| b.iter(|| rts.run(group, id)));
        }
        g.finish();
    }
}

/// `TOWER_EXEC_INTERLEAVED=<rounds>`: every id of every group run round-robin `rounds` times;
/// prints the best time of each and its ratio to the best peer.
fn interleaved(rts: &Rts, rounds: usize) {
    println!("| group | id | best of {rounds} | / best peer |");
    println!("|---|---|---|---|");
    for (group, ids) in GROUPS {
        let mut best = vec![Duration::MAX; ids.len()];
        for _ in 0..rounds {
            for (i, id) in ids.iter().enumerate() {
                let start = Instant::now();
                rts.run(group, id);
                best[i] = best[i].min(start.elapsed());
            }
        }
        let peer = ids
            .iter()
            .zip(&best)
            .filter(|(id, _)| !id.starts_with("tower"))
            .map(|(_, t)| *t)
            .min()
            .unwrap_or(Duration::MAX);
        for (id, t) in ids.iter().zip(&best) {
            println!(
                "| {group} | {id} | {t:.2?} | {:.2} |",
                t.as_secs_f64() / peer.as_secs_f64()
            );
        }
    }
}

fn main() {
    let rts = Rts::new();
    if let Ok(which) = std::env::var("TOWER_EXEC_PROFILE") {
        // `TOWER_EXEC_PROFILE=<group>/<id>`: five iterations of one id, for perf/strace/callgrind.
        let (group, id) = which
            .split_once('/')
            .expect("TOWER_EXEC_PROFILE=<group>/<id>");
        for _ in 0..5 {
            rts.run(group, id);
        }
        return;
    }
    if let Ok(rounds) = std::env::var("TOWER_EXEC_INTERLEAVED") {
        interleaved(&rts, rounds.parse().unwrap_or(10));
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c, &rts);
    c.final_summary();
}
