//! The layering rule of ARCHITECTURE.md, checked from each crate's `Cargo.toml`.
//!
//! A tier's normal and build dependencies are tiers strictly below it, and no crate under
//! `crates/` depends on a peer runtime in any section (peers belong to `benches/` and `compat/`,
//! and keeping them out of crates' dev-dependencies is what lets `--cfg loom` builds work).

use crate::run;

/// Tier numbers; the facade sits above every tier.
const TIERS: &[(&str, u32)] = &[
    ("tower-coro", 1),
    ("tower-loop", 2),
    ("tower-future", 3),
    ("tower-task", 4),
    ("tower-exec", 5),
    ("tower-sync", 6),
    ("tower-transport", 7),
    ("tower-protocol", 8),
    ("tower-stream", 9),
    ("tower-asyncio", 11),
];

/// Adapters: not tiers. Each builds on tiers (so it counts as above tier 9), no tier depends on
/// it, and only the facade re-exports it, behind an off-by-default feature. An adapter may bring
/// a peer runtime in as a library through the crate it adapts (hyper brings tokio's sync
/// primitives), never as a direct dependency: see docs/decisions/0016-hyper-adapter.md.
const ADAPTERS: &[&str] = &["tower-hyper"];

/// Where an adapter sits in the order: above every tier, below the facade.
const ADAPTER_LEVEL: u32 = 10;

/// Peer runtimes: never a dependency of a crate under `crates/`, in any section.
const PEERS: &[&str] = &[
    "tokio",
    "smol",
    "async-std",
    "async-io",
    "async-executor",
    "async-global-executor",
    "async-process",
    "blocking",
    "futures-executor",
    "mio",
];

fn tier(name: &str) -> Option<u32> {
    if ADAPTERS.contains(&name) {
        return Some(ADAPTER_LEVEL);
    }
    TIERS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// One dependency line: which crate, in which kind of section.
struct Dep {
    name: String,
    dev: bool,
}

/// Reads the dependency names of a manifest, section by section (a small TOML subset:
/// `[dependencies]`, `[dev-dependencies]`, `[build-dependencies]`, their `target.*` forms and
/// `[dependencies.name]` tables).
fn deps(manifest: &str) -> Vec<Dep> {
    let mut out = Vec::new();
    let mut section: Option<bool> = None; // Some(dev?) inside a dependency table
    for raw in manifest.lines() {
        let line = raw.trim();
        if line.starts_with('[') {
            let header = line.trim_matches(|c| c == '[' || c == ']').trim();
            let parts: Vec<&str> = header.split('.').collect();
            section = None;
            for (i, p) in parts.iter().enumerate() {
                let kind = match *p {
                    "dependencies" | "build-dependencies" => Some(false),
                    "dev-dependencies" => Some(true),
                    _ => None,
                };
                if let Some(dev) = kind {
                    if let Some(name) = parts.get(i + 1) {
                        out.push(Dep {
                            name: name.trim_matches('"').to_owned(),
                            dev,
                        });
                    } else {
                        section = Some(dev);
                    }
                    break;
                }
            }
            continue;
        }
        let Some(dev) = section else { continue };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name: String = line
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(Dep { name, dev });
        }
    }
    out
}

pub(crate) fn check() -> Result<(), String> {
    let crates = run::root().join("crates");
    let mut problems = Vec::new();
    let entries = std::fs::read_dir(&crates).map_err(|e| format!("reading crates/: {e}"))?;
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let Some(own) = tier(&name) else {
            problems.push(format!(
                "{name}: not a known tier (add it to xtask/src/layering.rs)"
            ));
            continue;
        };
        for dep in deps(&text) {
            if PEERS.contains(&dep.name.as_str()) {
                problems.push(format!(
                    "{name} depends on the peer runtime `{}`; peers belong in benches/ or compat/",
                    dep.name
                ));
            }
            if let Some(t) = tier(&dep.name)
                && !dep.dev
                && t >= own
            {
                problems.push(format!(
                    "{name} (tier {own}) depends on {} (tier {t}); tiers depend only downward",
                    dep.name
                ));
            }
        }
    }
    if problems.is_empty() {
        println!("layering: every tier depends only downward; no peer runtime in crates/");
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_dependency_section() {
        let m = "[package]\nname = \"x\"\n[dependencies]\ntower-coro.workspace = true\n\
                 polling = \"3\"\n[dev-dependencies]\ntokio = { workspace = true }\n\
                 [target.'cfg(loom)'.dependencies]\nloom.workspace = true\n\
                 [dependencies.rustix]\nversion = \"1\"\n";
        let got: Vec<(String, bool)> = deps(m).into_iter().map(|d| (d.name, d.dev)).collect();
        let want = [
            ("tower-coro", false),
            ("polling", false),
            ("tokio", true),
            ("loom", false),
            ("rustix", false),
        ];
        let want: Vec<(String, bool)> = want.iter().map(|(n, d)| (n.to_string(), *d)).collect();
        assert_eq!(got, want);
    }
}
