//! `cargo xtask tools [TOOL...]`: installs the external programs the tests and benches drive,
//! when they are missing: `curl` (tower-hyper's tests, HTTP/1.1 and HTTP/2 prior knowledge),
//! `wrk` (the `hyper_http` bench), `h2load` (HTTP/2 load, from `nghttp2-client`).
//!
//! They come from the distribution: as root (as CI runs) the command runs
//! `apt-get install -y <package>` (after `apt-get update` if the lists are missing), otherwise it
//! says what to install. With no argument it ensures all three. `cargo xtask ci` ensures `curl`
//! (best effort: the curl tests say SKIPPED when it is missing, and hyper's own client covers
//! the same server).

use std::process::Command;

/// Each tool, the argument that makes it print its version, and its Debian package.
const TOOLS: &[(&str, &str, &str)] = &[
    ("curl", "--version", "curl"),
    ("wrk", "-v", "wrk"),
    ("h2load", "--version", "nghttp2-client"),
];

/// `cargo xtask tools [TOOL...]`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let wanted: Vec<&str> = if args.is_empty() {
        TOOLS.iter().map(|t| t.0).collect()
    } else {
        args.iter().map(String::as_str).collect()
    };
    for name in wanted {
        ensure(name)?;
        println!("{name}: installed");
    }
    Ok(())
}

/// Whether `name flag` could be started (`wrk -v` exits 1 after printing its version, so any
/// exit counts).
fn runs(name: &str, flag: &str) -> bool {
    Command::new(name).arg(flag).output().is_ok()
}

/// Makes sure `name` is installed: installs its Debian package when running as root.
pub(crate) fn ensure(name: &str) -> Result<(), String> {
    let Some(&(_, flag, package)) = TOOLS.iter().find(|t| t.0 == name) else {
        let known: Vec<&str> = TOOLS.iter().map(|t| t.0).collect();
        return Err(format!(
            "unknown tool `{name}` (known: {})",
            known.join(", ")
        ));
    };
    install(name, flag, package)
}

/// Makes sure `name` (which prints its version with `flag`) runs: installs the Debian `package`
/// when running as root, else says what to install.
pub(crate) fn install(name: &str, flag: &str, package: &str) -> Result<(), String> {
    if runs(name, flag) {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let how = format!(
        "install it with `sudo apt-get install -y {package}` (Debian/Ubuntu) or your system's \
         package manager"
    );
    if !root {
        return Err(format!("{name} is not installed: {how}"));
    }
    println!("==> xtask: {name} is missing; installing it (apt-get install -y {package})");
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !apt(&["install", "-y", package]) {
        // A fresh image has no package lists yet.
        let _ = apt(&["update"]);
        apt(&["install", "-y", package]);
    }
    if runs(name, flag) {
        Ok(())
    } else {
        Err(format!("installing {name} failed: {how}"))
    }
}
