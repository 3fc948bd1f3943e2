//! The Python peers of the network benches (BENCHMARKS.md, "The peers"): CPython's asyncio and
//! uvloop serve `benches/python/echo_server.py` for `benches/benches/py_echo.rs`.
//!
//! [`bench_python`] makes a virtual environment under the target directory (`bench-venv/`,
//! `python3 -m venv`) and installs uvloop into it with pip (the current release, as its users
//! get it), once; the bench finds it through `TOWER_BENCH_PYTHON`. When a step fails (no
//! `python3`, no `venv` module, no network for pip) it says so and the bench runs what it can:
//! asyncio with `python3`, or tower's rows alone.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The variable the bench reads (`tower_benches::server_process::PYTHON_ENV`).
const PYTHON_ENV: &str = "TOWER_BENCH_PYTHON";

/// Whether `python` can import `module`.
fn imports(python: &PathBuf, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `cmd`, quietly; `Err` says what failed.
fn quiet(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: could not start: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        Err(format!("{what} exited with {}: {last}", out.status))
    }
}

/// `(TOWER_BENCH_PYTHON, interpreter)` for a bench run's environment, from [`bench_python`]
/// on the workspace's target directory; `None` when it could make no environment.
pub(crate) fn bench_env() -> Option<(&'static str, String)> {
    bench_python(&crate::run::target_dir()).map(|p| (PYTHON_ENV, p.to_string_lossy().into_owned()))
}

/// The interpreter for the Python rows: the virtual environment's, with uvloop installed if pip
/// could; `None` (and a message) if no environment could be made, so the bench falls back to
/// `python3`.
fn bench_python(target: &std::path::Path) -> Option<PathBuf> {
    let venv = target.join("bench-venv");
    let python = venv.join("bin").join("python");
    if imports(&python, "uvloop") {
        return Some(python);
    }
    if !python.exists() {
        println!("==> xtask: making {} for the Python rows", venv.display());
        if let Err(e) = quiet(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "python3 -m venv",
        ) {
            println!(
                "==> xtask: no virtual environment ({e}); the Python rows run CPython's asyncio \
                 with python3 and skip uvloop"
            );
            return None;
        }
    }
    println!("==> xtask: installing uvloop into {}", venv.display());
    if let Err(e) = quiet(
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "uvloop",
        ]),
        "pip install uvloop",
    ) {
        println!("==> xtask: {e}; the Python rows skip uvloop");
    }
    Some(python)
}
