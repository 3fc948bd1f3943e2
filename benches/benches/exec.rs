//! Tier 5 side by side with its peers, in one run.
//!
//! - `subprocess` (the headline): 200 × `/bin/true` spawned one by one on the event-loop thread,
//!   then every exit status awaited — tower's `Command::spawn`, `tokio::process`,
//!   `async-process`: the same work everywhere.
//! - `subprocess_parallel`: the same 200 children, each forked on the runtime's blocking pool so
//!   the forks run in parallel and the loop keeps running — tower's `Command::spawn_off_loop`
//!   (asyncio's awaited `create_subprocess_exec`), tokio's `spawn_blocking` around
//!   `tokio::process::Command::spawn`, and `blocking::unblock` around `async_process`'s. The
//!   pools differ in size as in `blocking` below.
//! - `blocking`: 10^4 blocking calls submitted at once and then awaited in order — tower's
//!   `to_thread` on its event loop, tokio's `spawn_blocking` (current-thread runtime), and the
//!   `blocking` crate's `unblock` (on async-io's `block_on`), each with its default pool, whose
//!   size is in the id: tower at most `min(32, cpus + 4)` threads (`concurrent.futures`' choice:
//!   6 on 2 cores), tokio 512 (`max_blocking_threads`), `blocking` 500 (`BLOCKING_MAX_THREADS`).
//!   These are not the same size, so beside it:
//! - `blocking_max<N>`: the same workload with every pool capped at tower's default size `N`:
//!   tokio's runtime built with `max_blocking_threads(N)`, the `blocking` crate with
//!   `BLOCKING_MAX_THREADS=N`. The crate reads that variable once per process, so each id of
//!   this group runs in a fresh child process of this binary with it set (all three alike, so
//!   none shares its process with the other pools' idle threads); the child runs one untimed
//!   iteration to warm its pool, then times the iterations criterion asked for.
//!
//! Each pool stays warm between iterations (idle threads stay for 10 s in tower and tokio; the
//! `blocking` crate keeps up to its maximum).
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
/// tokio's default `max_blocking_threads` (its `Builder` docs: 512).
const TOKIO_MAX_BLOCKING: usize = 512;
/// The `blocking` crate's default maximum (its docs: 500, unless `BLOCKING_MAX_THREADS` is set).
const BLOCKING_MAX: usize = 500;
/// Set in a child process of `blocking_max<N>`: `<pool>:<iterations to time>`.
const CHILD_ENV: &str = "TOWER_EXEC_CAPPED_CHILD";

/// The workload of an id.
#[derive(Clone, Copy, Debug)]
enum Work {
    /// `subprocess`, tower: `Command::spawn` on the loop thread.
    SubprocessTower,
    /// `subprocess`, tokio.
    SubprocessTokio,
    /// `subprocess`, async-process.
    SubprocessAsyncProcess,
    /// `subprocess_parallel`, tower: `Command::spawn_off_loop`.
    ParallelTower,
    /// `subprocess_parallel`, tokio: `spawn_blocking(Command::spawn)`.
    ParallelTokio,
    /// `subprocess_parallel`, async-process: `unblock(Command::spawn)`.
    ParallelAsyncProcess,
    /// `blocking*`, tower's `to_thread` on its default pool.
    BlockingTower,
    /// `blocking`, tokio's `spawn_blocking` with its default pool.
    BlockingTokio,
    /// `blocking`, the `blocking` crate with its default pool.
    BlockingBlocking,
    /// tokio's `spawn_blocking` with at most `N` threads.
    BlockingTokioCapped,
    /// `blocking_max<N>`: the pool's workload in a child process where every pool is capped.
    Capped(Pool),
}

/// A pool of `blocking_max<N>`.
#[derive(Clone, Copy, Debug)]
enum Pool {
    /// tower's default executor.
    Tower,
    /// tokio's blocking pool.
    Tokio,
    /// The `blocking` crate's.
    Blocking,
}

impl Pool {
    /// Its name in [`CHILD_ENV`].
    fn name(self) -> &'static str {
        match self {
            Pool::Tower => "tower",
            Pool::Tokio => "tokio",
            Pool::Blocking => "blocking",
        }
    }

    /// Its workload, in the child (whose `blocking` pool the environment caps).
    fn work(self) -> Work {
        match self {
            Pool::Tower => Work::BlockingTower,
            Pool::Tokio => Work::BlockingTokioCapped,
            Pool::Blocking => Work::BlockingBlocking,
        }
    }
}

/// The groups and their ids, in run order (subprocesses first: the blocking peers leave hundreds
/// of idle pool threads behind).
fn groups() -> Vec<(String, Vec<(String, Work)>)> {
    let n = tower_exec::default_max_threads();
    let ids = |v: &[(&str, Work)]| v.iter().map(|(id, w)| ((*id).to_owned(), *w)).collect();
    vec![
        (
            "subprocess".to_owned(),
            ids(&[
                ("tower", Work::SubprocessTower),
                ("tokio", Work::SubprocessTokio),
                ("async-process", Work::SubprocessAsyncProcess),
            ]),
        ),
        (
            "subprocess_parallel".to_owned(),
            ids(&[
                ("tower", Work::ParallelTower),
                ("tokio", Work::ParallelTokio),
                ("async-process", Work::ParallelAsyncProcess),
            ]),
        ),
        (
            "blocking".to_owned(),
            vec![
                (format!("tower-max{n}"), Work::BlockingTower),
                (
                    format!("tokio-max{TOKIO_MAX_BLOCKING}"),
                    Work::BlockingTokio,
                ),
                (
                    format!("blocking-max{BLOCKING_MAX}"),
                    Work::BlockingBlocking,
                ),
            ],
        ),
        (
            format!("blocking_max{n}"),
            ids(&[
                ("tower", Work::Capped(Pool::Tower)),
                ("tokio", Work::Capped(Pool::Tokio)),
                ("blocking", Work::Capped(Pool::Blocking)),
            ]),
        ),
    ]
}

/// The runtimes, built once.
struct Rts {
    /// tower's loop.
    lp: tower_loop::EventLoop,
    /// tokio's current-thread runtime (default blocking pool).
    rt: tokio::runtime::Runtime,
    /// tokio's current-thread runtime with its blocking pool capped at tower's default size.
    rt_capped: tokio::runtime::Runtime,
}

impl Rts {
    fn new() -> Rts {
        Rts {
            lp: tower_loop::EventLoop::new().expect("tower loop"),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime"),
            rt_capped: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .max_blocking_threads(tower_exec::default_max_threads())
                .build()
                .expect("tokio runtime"),
        }
    }

    /// `iters` iterations of `work`, timed.
    fn time(&self, work: Work, iters: u64) -> Duration {
        if let Work::Capped(pool) = work {
            return capped_in_child(pool, iters);
        }
        let start = Instant::now();
        for _ in 0..iters {
            self.run(work);
        }
        start.elapsed()
    }

    /// One iteration of `work` (in this process).
    fn run(&self, work: Work) {
        match work {
            Work::SubprocessTower => self.subprocess_tower(),
            Work::SubprocessTokio => self.subprocess_tokio(),
            Work::SubprocessAsyncProcess => subprocess_async_process(),
            Work::ParallelTower => self.parallel_tower(),
            Work::ParallelTokio => self.parallel_tokio(),
            Work::ParallelAsyncProcess => parallel_async_process(),
            Work::BlockingTower => self.blocking_tower(),
            Work::BlockingTokio => blocking_tokio(&self.rt),
            Work::BlockingTokioCapped => blocking_tokio(&self.rt_capped),
            Work::BlockingBlocking => blocking_blocking(),
            Work::Capped(pool) => {
                capped_in_child(pool, 1);
            }
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

    /// The peers' way: fork/exec on the loop thread, one child after another.
    fn subprocess_tower(&self) {
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

    /// asyncio's way: `create_subprocess_exec` is awaited, the fork/exec runs off the loop.
    fn parallel_tower(&self) {
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

    /// tokio's way to fork off the runtime thread: `spawn_blocking` (its threads enter the
    /// runtime, so the child registers with its process driver).
    fn parallel_tokio(&self) {
        self.rt.block_on(async {
            let spawns: Vec<_> = (0..CHILDREN)
                .map(|_| {
                    tokio::task::spawn_blocking(|| {
                        tokio::process::Command::new("/bin/true").spawn().unwrap()
                    })
                })
                .collect();
            let mut children = Vec::with_capacity(CHILDREN);
            for s in spawns {
                children.push(s.await.unwrap());
            }
            for c in &mut children {
                assert!(c.wait().await.unwrap().success());
            }
        });
    }
}

fn blocking_tokio(rt: &tokio::runtime::Runtime) {
    let sum = rt.block_on(async {
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

/// `iters` iterations of `pool`'s blocking workload in a child process of this binary where every
/// pool is capped at tower's default size: the child's timed loop, after one untimed warm-up.
fn capped_in_child(pool: Pool, iters: u64) -> Duration {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let out = std::process::Command::new(exe)
        .env(CHILD_ENV, format!("{}:{iters}", pool.name()))
        .env(
            "BLOCKING_MAX_THREADS",
            tower_exec::default_max_threads().to_string(),
        )
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("the blocking_max child");
    assert!(out.status.success(), "blocking_max child: {}", out.status);
    let nanos: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the child prints its nanoseconds");
    Duration::from_nanos(nanos)
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

/// smol's way to fork off the executor thread: `blocking::unblock`.
fn parallel_async_process() {
    async_io::block_on(async {
        let spawns: Vec<_> = (0..CHILDREN)
            .map(|_| {
                blocking::unblock(|| async_process::Command::new("/bin/true").spawn().unwrap())
            })
            .collect();
        let mut children = Vec::with_capacity(CHILDREN);
        for s in spawns {
            children.push(s.await);
        }
        for c in &mut children {
            assert!(c.status().await.unwrap().success());
        }
    });
}

/// The criterion groups.
fn benches(c: &mut Criterion, rts: &Rts) {
    for (group, ids) in groups() {
        let mut g = c.benchmark_group(&group);
        g.sample_size(10).measurement_time(Duration::from_secs(3));
        for (id, work) in ids {
            g.bench_function(&id, |b| b.iter_custom(|iters| rts.time(work, iters)));
        }
        g.finish();
    }
}

/// `TOWER_EXEC_INTERLEAVED=<rounds>`: every id of every group run round-robin `rounds` times;
/// prints the best time of each and its ratio to the best peer.
fn interleaved(rts: &Rts, rounds: usize) {
    println!("| group | id | best of {rounds} | / best peer |");
    println!("|---|---|---|---|");
    for (group, ids) in groups() {
        let mut best = vec![Duration::MAX; ids.len()];
        for _ in 0..rounds {
            for (i, (_, work)) in ids.iter().enumerate() {
                best[i] = best[i].min(rts.time(*work, 1));
            }
        }
        let peer = ids
            .iter()
            .zip(&best)
            .filter(|((id, _), _)| !id.starts_with("tower"))
            .map(|(_, t)| *t)
            .min()
            .unwrap_or(Duration::MAX);
        for ((id, _), t) in ids.iter().zip(&best) {
            println!(
                "| {group} | {id} | {t:.2?} | {:.2} |",
                t.as_secs_f64() / peer.as_secs_f64()
            );
        }
    }
}

fn main() {
    if let Ok(which) = std::env::var(CHILD_ENV) {
        // A child of `capped_in_child`: its `blocking` pool is capped by the environment; one
        // warm-up iteration, then the timed ones.
        let (pool, iters) = which.split_once(':').expect("<pool>:<iterations>");
        let pool = [Pool::Tower, Pool::Tokio, Pool::Blocking]
            .into_iter()
            .find(|p| p.name() == pool)
            .expect("a pool of blocking_max");
        let iters: u64 = iters.parse().expect("iterations");
        let rts = Rts::new();
        rts.run(pool.work());
        let start = Instant::now();
        for _ in 0..iters {
            rts.run(pool.work());
        }
        println!("{}", start.elapsed().as_nanos());
        return;
    }
    eprintln!(
        "exec: blocking pools at most tower {} threads (min(32, cpus + 4)), tokio {} \
         (max_blocking_threads), blocking {} (BLOCKING_MAX_THREADS); blocking_max{0}: all capped at {0}",
        tower_exec::default_max_threads(),
        TOKIO_MAX_BLOCKING,
        BLOCKING_MAX,
    );
    let rts = Rts::new();
    if let Ok(which) = std::env::var("TOWER_EXEC_PROFILE") {
        // `TOWER_EXEC_PROFILE=<group>/<id>`: five iterations of one id, for perf/strace/callgrind.
        let (group, id) = which
            .split_once('/')
            .expect("TOWER_EXEC_PROFILE=<group>/<id>");
        let work = groups()
            .into_iter()
            .filter(|(g, _)| g == group)
            .flat_map(|(_, ids)| ids)
            .find(|(i, _)| i == id)
            .map(|(_, w)| w)
            .expect("TOWER_EXEC_PROFILE: no such group/id");
        rts.time(work, 5);
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
