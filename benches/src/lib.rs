//! Shared pieces of the tower's benchmarks: the floor executor lives here once built.
//!
//! Each bench file under `benches/` is one workload; each criterion group inside is one flavour
//! (`_st` single-thread, `_mt` multi-thread), with ids `tower…`, `floor`, and the peers' names.
