//! Tier 2 of the tower: the event loop (work in progress).
