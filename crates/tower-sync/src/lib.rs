//! Tier 6 of the tower: asyncio's queues and locks (work in progress).
