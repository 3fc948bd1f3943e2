//! `cargo xtask portability`: the tiers build for other Unixes (`cargo check` of every library
//! crate for FreeBSD and macOS), so what is Linux-only stays behind `cfg(target_os = "linux")`.
//!
//! Only targets whose standard library is installed are checked; a missing one is added with
//! `rustup target add` when rustup can reach its server, and skipped with a note otherwise (CI's
//! step passes on a machine that has none of them: the check is a building aid, not a gate).

use std::process::Command;

/// The targets checked: two non-Linux Unixes `polling` supports (kqueue).
const TARGETS: [&str; 2] = ["x86_64-unknown-freebsd", "x86_64-apple-darwin"];

/// Checks every installed (or installable, if `install`) target.
pub(crate) fn check(install: bool) -> Result<(), String> {
    let installed = installed_targets();
    let mut checked = 0;
    for target in TARGETS {
        let have = installed.iter().any(|t| t == target) || (install && add_target(target));
        if !have {
            println!("portability: skipping {target} (its standard library is not installed)");
            continue;
        }
        // TLS's `ring` compiles C for the target, which needs that target's C toolchain: the
        // facade is checked with its default features less `tls` (docs/decisions/0015-tls.md);
        // no tier turns `tls` on by default.
        crate::run::cargo(&[
            "check",
            "--workspace",
            "--exclude",
            "tower-asyncio",
            "--lib",
            "--target",
            target,
        ])?;
        let features = facade_features_without_tls()?;
        crate::run::cargo(&[
            "check",
            "--package",
            "tower-asyncio",
            "--lib",
            "--no-default-features",
            "--features",
            &features,
            "--target",
            target,
        ])?;
        checked += 1;
    }
    println!(
        "portability: {checked} of {} targets checked",
        TARGETS.len()
    );
    Ok(())
}

/// The facade's default features but `tls`, comma-separated (from its Cargo.toml).
fn facade_features_without_tls() -> Result<String, String> {
    let path = crate::run::root().join("crates/tower-asyncio/Cargo.toml");
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("default = ["))
        .ok_or_else(|| format!("{} has no `default = [...]` feature line", path.display()))?;
    let features: Vec<&str> = line
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|f| *f != "tls")
        .collect();
    Ok(features.join(","))
}

/// `rustup target list --installed`, or nothing if rustup is missing.
fn installed_targets() -> Vec<String> {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `rustup target add <target>`; whether it worked.
fn add_target(target: &str) -> bool {
    Command::new("rustup")
        .args(["target", "add", target])
        .status()
        .is_ok_and(|s| s.success())
}
