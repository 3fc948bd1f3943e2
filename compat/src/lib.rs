//! Comparison tests: the tower's runtime-agnostic tiers run under tokio and smol.
//!
//! Peer runtimes are dev-dependencies here (and in `benches/`) only, never in `crates/`, which
//! keeps the library free of them and keeps `--cfg loom` builds of the tiers working.
