//! `cargo xtask bench`: run the criterion groups and print `tower / best peer` and `tower / floor`.
//!
//! One criterion group per workload and flavour (`spawn_st`, `spawn_mt`). In a group, ids starting
//! with `tower` are ours, `floor` is the floor executor, and anything else is a peer, so each row
//! compares tower with the best peer of the same flavour, measured in the same run.
//!
//! A group's ids are compared only with ids of the same run: an id whose result is more than
//! [`SAME_RUN`] older than the group's newest result is left out (an id renamed or removed since
//! leaves its old result in `target/criterion/`), and after `cargo xtask bench` only the groups
//! that run measured are printed.
//!
//! `--rounds N` runs the benches N times and prints, per row, the median ratio and each round's
//! ratio: on a shared or virtual machine one run's ratio can move by ±0.3, and the median of
//! a few rounds, each compared within its own run, is the figure to report.
//!
//! `benches/benches/hyper_http.rs` is not criterion (wrk measures requests per second) but writes
//! criterion's `estimates.json` (time per request) for its groups (`hyper_http1_*`), so
//! `cargo xtask bench hyper_http` prints them in the same table; it needs `wrk` (`cargo xtask tools`).
//!
//! `benches/benches/py_echo.rs` runs CPython asyncio's and uvloop's echo servers: before every
//! run, [`python::bench_env`] makes (once) their virtual environment.

use crate::{python, run};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Results of one group further apart than this are from different runs (a group's ids are
/// measured one after another, in well under this).
const SAME_RUN: Duration = Duration::from_secs(10 * 60);

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut cargo_args: Vec<&str> = vec!["bench", "--package", "tower-benches"];
    let mut extra: Vec<&str> = Vec::new();
    let mut rounds = 1usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--rounds" {
            let n = it
                .next()
                .ok_or("--rounds needs a number")?
                .parse::<usize>()
                .map_err(|e| format!("--rounds: {e}"))?;
            rounds = n.max(1);
        } else {
            extra.push(a);
        }
    }
    // The Python rows' interpreter (a criterion filter is a regex: `echo` selects them too, so
    // the environment is made for every run; after the first it is one `import uvloop`).
    let python = python::bench_env();
    let env: Vec<(&str, &str)> = python.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if !extra.is_empty() {
        cargo_args.push("--");
        cargo_args.extend(extra);
    }
    if rounds == 1 {
        let started = SystemTime::now();
        run::cargo_env(&cargo_args, &env)?;
        return print_table(&last_run(Some(started))?);
    }
    // (group, id) -> the ratio of each round, in order.
    let mut seen: Vec<((String, String), Vec<f64>)> = Vec::new();
    for round in 1..=rounds {
        eprintln!("==> xtask: bench round {round} of {rounds}");
        let started = SystemTime::now();
        run::cargo_env(&cargo_args, &env)?;
        // Only the groups this round measured (a filter leaves the others' old results).
        for row in last_run(Some(started))? {
            let Some(ratio) = row.ratio() else { continue };
            let key = (row.group.clone(), row.id.clone());
            match seen.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push(ratio),
                None => seen.push((key, vec![ratio])),
            }
        }
    }
    println!("| group | id | tower / best peer, median of {rounds} | each round |");
    println!("|---|---|---|---|");
    for ((group, id), mut ratios) in seen {
        let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        ratios.sort_by(f64::total_cmp);
        let median = ratios[ratios.len() / 2];
        println!("| {group} | {id} | {median:.2} | {} |", each.join(", "));
    }
    Ok(())
}

/// `cargo xtask latency [--trips N] [runtime...]`: the echo round trip's p50, p99 and p99.9
/// under the bench's load client (50 connections; 1, 10 and 100 KiB; ping-pong and 16 deep),
/// per runtime, each server in its own child process (`benches/examples/proto_echo.rs
/// latency`), with CPython asyncio's and uvloop's servers where [`python::bench_env`] could
/// provide them.
pub(crate) fn latency(args: &[String]) -> Result<(), String> {
    let python = python::bench_env();
    let env: Vec<(&str, &str)> = python.iter().map(|(k, v)| (*k, v.as_str())).collect();
    proto_echo_example("latency", args, &env)
}

/// `cargo xtask idle [--conns N] [runtime...]`: 10 000 idle connections (or N) to a protocol
/// echo server in a child process, each echoed once, and the server's RSS per connection,
/// tower beside tokio and smol (`benches/examples/proto_echo.rs idle`, which raises the soft
/// fd limit of both processes and says so if the hard limit is too low).
pub(crate) fn idle(args: &[String]) -> Result<(), String> {
    proto_echo_example("idle", args, &[])
}

/// Runs `benches/examples/proto_echo.rs <mode> <args>` (release) with `env`.
fn proto_echo_example(mode: &str, args: &[String], env: &[(&str, &str)]) -> Result<(), String> {
    let mut cargo_args: Vec<&str> = vec![
        "run",
        "--release",
        "--quiet",
        "--package",
        "tower-benches",
        "--example",
        "proto_echo",
        "--",
        mode,
    ];
    cargo_args.extend(args.iter().map(String::as_str));
    run::cargo_env(&cargo_args, env)
}

/// The mean of one criterion measurement, in nanoseconds, and when it was written.
fn mean_ns(dir: &Path) -> Option<(f64, SystemTime)> {
    let file = dir.join("new").join("estimates.json");
    let text = std::fs::read_to_string(&file).ok()?;
    let written = std::fs::metadata(&file)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let at = text.find("\"mean\"")?;
    let rest = &text[at..];
    let p = rest.find("\"point_estimate\":")? + "\"point_estimate\":".len();
    let num: String = rest[p..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        .collect();
    Some((num.parse().ok()?, written))
}

fn fmt_time(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// One id's result: `(id, mean in ns, when written)`.
type Measured = (String, f64, SystemTime);

/// Collects every benchmark's result under a group directory (ids may nest one level).
fn collect(group: &Path, prefix: &str, out: &mut Vec<Measured>) {
    let Ok(entries) = std::fs::read_dir(group) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "report" || !e.path().is_dir() {
            continue;
        }
        let id = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if let Some((ns, written)) = mean_ns(&e.path()) {
            out.push((id, ns, written));
        } else {
            collect(&e.path(), &id, out);
        }
    }
}

/// One row of the table: a tower id of a group, with the group's best peer and floor.
struct Row {
    /// The criterion group.
    group: String,
    /// The tower id.
    id: String,
    /// Its mean.
    ns: f64,
    /// The fastest peer of the group and its mean.
    best: Option<(String, f64)>,
    /// The floor's mean.
    floor: Option<f64>,
}

impl Row {
    /// `tower / best peer`.
    fn ratio(&self) -> Option<f64> {
        self.best.as_ref().map(|(_, b)| self.ns / b)
    }
}

/// The rows of the last run, from `$CARGO_TARGET_DIR/criterion/`: per group, the ids measured
/// within [`SAME_RUN`] of its newest result, and with `since`, only ids measured after it.
fn last_run(since: Option<SystemTime>) -> Result<Vec<Row>, String> {
    let dir = run::target_dir().join("criterion");
    let mut groups: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| format!("no bench results in {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir() && e.file_name() != "report")
        .collect();
    groups.sort_by_key(|e| e.file_name());
    let mut out = Vec::new();
    for g in groups {
        let mut rows = Vec::new();
        collect(&g.path(), "", &mut rows);
        let Some(newest) = rows.iter().map(|r| r.2).max() else {
            continue;
        };
        let oldest_kept = newest
            .checked_sub(SAME_RUN)
            .unwrap_or(SystemTime::UNIX_EPOCH)
            .max(since.unwrap_or(SystemTime::UNIX_EPOCH));
        rows.retain(|r| r.2 >= oldest_kept);
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let floor = rows
            .iter()
            .find(|(id, ..)| id.starts_with("floor"))
            .map(|r| r.1);
        let best = rows
            .iter()
            .filter(|(id, ..)| !id.starts_with("tower") && !id.starts_with("floor"))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(id, ns, _)| (id.clone(), *ns));
        for (id, ns, _) in rows.iter().filter(|(id, ..)| id.starts_with("tower")) {
            out.push(Row {
                group: g.file_name().to_string_lossy().into_owned(),
                id: id.clone(),
                ns: *ns,
                best: best.clone(),
                floor,
            });
        }
    }
    Ok(out)
}

/// Prints the markdown table of the last run from `target/criterion/`.
pub(crate) fn table() -> Result<(), String> {
    print_table(&last_run(None)?)
}

/// Prints `rows` as the markdown table.
fn print_table(rows: &[Row]) -> Result<(), String> {
    println!("| group | tower | best peer | tower / best peer | floor | tower / floor |");
    println!("|---|---|---|---|---|---|");
    for row in rows {
        let peer = row.best.as_ref().map_or("-".to_owned(), |(pid, pns)| {
            format!("{pid} {}", fmt_time(*pns))
        });
        let ratio = row.ratio().map_or("-".to_owned(), |r| format!("{r:.2}"));
        let fl = row.floor.map_or("-".to_owned(), fmt_time);
        let fr = row
            .floor
            .map_or("-".to_owned(), |f| format!("{:.2}", row.ns / f));
        println!(
            "| {} | {} {} | {peer} | {ratio} | {fl} | {fr} |",
            row.group,
            row.id,
            fmt_time(row.ns)
        );
    }
    Ok(())
}
