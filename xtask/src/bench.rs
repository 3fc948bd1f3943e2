//! `cargo xtask bench`: run the criterion groups and print `tower / best peer` and `tower / floor`.
//!
//! One criterion group per workload and flavour (`spawn_st`, `spawn_mt`). In a group, ids starting
//! with `tower` are ours, `floor` is the floor executor, and anything else is a peer, so each row
//! compares tower with the best peer of the same flavour, measured in the same run.

use crate::run;
use std::path::Path;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut cargo_args: Vec<&str> = vec!["bench", "--package", "tower-benches"];
    let mut extra: Vec<&str> = Vec::new();
    for a in args {
        if a == "--quick" {
            extra.push("--quick");
        } else {
            extra.push(a);
        }
    }
    if !extra.is_empty() {
        cargo_args.push("--");
        cargo_args.extend(extra);
    }
    run::cargo(&cargo_args)?;
    table()
}

/// The mean of one criterion measurement, in nanoseconds.
fn mean_ns(dir: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join("new").join("estimates.json")).ok()?;
    let at = text.find("\"mean\"")?;
    let rest = &text[at..];
    let p = rest.find("\"point_estimate\":")? + "\"point_estimate\":".len();
    let num: String = rest[p..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        .collect();
    num.parse().ok()
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

/// Collects `(id, mean)` for every benchmark under a group directory (ids may nest one level).
fn collect(group: &Path, prefix: &str, out: &mut Vec<(String, f64)>) {
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
        if let Some(ns) = mean_ns(&e.path()) {
            out.push((id, ns));
        } else {
            collect(&e.path(), &id, out);
        }
    }
}

/// Prints the markdown table of the last run from `target/criterion/`.
pub(crate) fn table() -> Result<(), String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| run::root().join("target"));
    let dir = target.join("criterion");
    let mut groups: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| format!("no bench results in {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir() && e.file_name() != "report")
        .collect();
    groups.sort_by_key(|e| e.file_name());
    println!("| group | tower | best peer | tower / best peer | floor | tower / floor |");
    println!("|---|---|---|---|---|---|");
    for g in groups {
        let mut rows = Vec::new();
        collect(&g.path(), "", &mut rows);
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let ours: Vec<_> = rows
            .iter()
            .filter(|(id, _)| id.starts_with("tower"))
            .collect();
        let floor = rows.iter().find(|(id, _)| id.starts_with("floor"));
        let best = rows
            .iter()
            .filter(|(id, _)| !id.starts_with("tower") && !id.starts_with("floor"))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        for (id, ns) in ours {
            let peer = best.map_or("-".to_owned(), |(pid, pns)| {
                format!("{pid} {}", fmt_time(*pns))
            });
            let ratio = best.map_or("-".to_owned(), |(_, pns)| format!("{:.2}", ns / pns));
            let fl = floor.map_or("-".to_owned(), |(_, f)| fmt_time(*f));
            let fr = floor.map_or("-".to_owned(), |(_, f)| format!("{:.2}", ns / f));
            println!(
                "| {} | {id} {} | {peer} | {ratio} | {fl} | {fr} |",
                g.file_name().to_string_lossy(),
                fmt_time(*ns)
            );
        }
    }
    Ok(())
}
