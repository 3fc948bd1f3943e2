//! `cargo xtask loom`: every `tests/loom_*.rs` model of every crate, bounded.
//!
//! Models build with `--cfg loom` into their own target directory (so the normal build is not
//! invalidated) and run with `LOOM_MAX_PREEMPTIONS` (default 2) so they finish in minutes.

use crate::run;

pub(crate) fn run() -> Result<(), String> {
    let crates = run::root().join("crates");
    let mut args: Vec<String> = vec!["test".into(), "--release".into()];
    let mut models = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&crates)
        .map_err(|e| format!("reading {}: {e}", crates.display()))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for krate in entries {
        let tests = krate.path().join("tests");
        let Ok(files) = std::fs::read_dir(&tests) else {
            continue;
        };
        let mut names: Vec<String> = files
            .filter_map(Result::ok)
            .filter_map(|f| f.file_name().into_string().ok())
            .filter(|n| n.starts_with("loom_") && n.ends_with(".rs"))
            .collect();
        if names.is_empty() {
            continue;
        }
        names.sort();
        args.push("--package".into());
        args.push(krate.file_name().to_string_lossy().into_owned());
        for n in names {
            args.push("--test".into());
            args.push(n.trim_end_matches(".rs").to_owned());
            models += 1;
        }
    }
    if models == 0 {
        println!("no loom models found");
        return Ok(());
    }
    let target = run::root().join("target").join("loom");
    let target = target.to_string_lossy().into_owned();
    args.push("--target-dir".into());
    args.push(target);
    let preemptions = std::env::var("LOOM_MAX_PREEMPTIONS").unwrap_or_else(|_| "2".to_owned());
    let rustflags = match std::env::var("RUSTFLAGS") {
        Ok(f) if !f.is_empty() => format!("{f} --cfg loom"),
        _ => "--cfg loom".to_owned(),
    };
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    run::cargo_env(
        &argv,
        &[
            ("RUSTFLAGS", &rustflags),
            ("LOOM_MAX_PREEMPTIONS", &preemptions),
            ("LOOM_MAX_BRANCHES", "10000"),
        ],
    )
}
