//! Tier 1 of the tower: coroutine plumbing (work in progress).
