//! The tower's workspace automation, run as `cargo xtask <command>`.
//!
//! `ci` is the one test command (README, `.ci/run`); `loom` runs the bounded loom models;
//! `bench` runs the criterion groups and prints the ratio table; `layering` checks the tiers;
//! `portability` checks that the crates build for other Unixes; `syscalls` counts syscalls per
//! echo round trip under `strace`; `idle` measures memory per idle connection; `latency` the echo round trip's percentiles; `tools` installs
//! curl, wrk and h2load when missing.

mod bench;
mod layering;
mod loom;
mod portability;
mod python;
mod run;
mod syscalls;
mod tools;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci          fmt, clippy, tests (unit, integration, doc), layering, loom, bench compile
  loom        run every loom model (bounded: LOOM_MAX_PREEMPTIONS, default 2)
  bench       run the criterion benches and print the ratio table [--rounds N] [--quick] [filter]
  table       print the ratio table from the last bench run
  layering    check that every tier depends only on tiers below it
  portability cargo check for FreeBSD and macOS (adds the targets with rustup if it can)
  syscalls    syscalls per TCP/UDP echo round trip under strace, tower next to tokio and smol [--mt]
              and the protocol echo server's reads/writes per round trip [proto: only those]
  idle        10 000 idle connections to an echo server process: bytes per connection [--conns N]
  latency     p50/p99/p99.9 echo round-trip time, tower beside tokio, smol, asyncio, uvloop [--trips N]
  tools       install curl, wrk, h2load when missing (apt-get, as root) [TOOL...]
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("loom") => loom::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("table") => bench::table(),
        Some("layering") => layering::check(),
        Some("portability") => portability::check(true),
        Some("syscalls") => syscalls::run(&args[1..]),
        Some("idle") => bench::idle(&args[1..]),
        Some("latency") => bench::latency(&args[1..]),
        Some("tools") => tools::run(&args[1..]),
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The whole CI job, in the order that fails fastest.
fn ci() -> Result<(), String> {
    let started = std::time::Instant::now();
    run::step("layering", layering::check)?;
    // curl for tower-hyper's tests; best effort (they say SKIPPED without it).
    run::step("tools", || {
        if let Err(e) = tools::ensure("curl") {
            eprintln!("xtask: {e}; the curl tests will be skipped");
        }
        Ok(())
    })?;
    run::step("fmt", || run::cargo(&["fmt", "--all", "--check"]))?;
    run::step("clippy", || {
        run::cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])
    })?;
    run::step("tests", || {
        if run::has_nextest() {
            // On CI, the `ci` profile of .config/nextest.toml retries a failed test and reports
            // it as FLAKY instead of failing the run.
            let profile = if std::env::var_os("CI").is_some() {
                "ci"
            } else {
                "default"
            };
            run::cargo(&[
                "nextest",
                "run",
                "--workspace",
                "--no-fail-fast",
                "--profile",
                profile,
            ])
        } else {
            run::cargo(&["test", "--workspace", "--no-fail-fast"])
        }
    })?;
    run::step("doc tests", || {
        run::cargo(&["test", "--workspace", "--doc"])
    })?;
    run::step("docs build", || {
        run::cargo_env(
            &["doc", "--workspace", "--no-deps"],
            &[("RUSTDOCFLAGS", "-D warnings")],
        )
    })?;
    run::step("loom", loom::run)?;
    // Only the targets already installed: CI's machine may not reach rustup's server.
    run::step("portability", || portability::check(false))?;
    // Every bench compiled (in the test profile, reusing the test build; `cargo xtask bench`
    // builds them optimised when they are run).
    run::step("bench compile", || {
        run::cargo(&["build", "--package", "tower-benches", "--benches"])
    })?;
    println!("xtask ci: all steps passed in {:.0?}", started.elapsed());
    Ok(())
}
