//! # tower-protocol — Tier 8 of the tower: protocols, connections and servers
//!
//! asyncio's protocol classes (`protocols.py`) and the connection factories of
//! `base_events.py`, on tier 7's transports. A protocol is a plain struct whose callbacks the
//! loop calls as bytes arrive; the factories open the sockets, build the transports and hand
//! each connection its protocol.
//!
//! It owns:
//!
//! - the protocol traits, asyncio's names: [`Protocol`], [`BufferedProtocol`] (through
//!   [`Buffered`]), [`DatagramProtocol`];
//! - name resolution off the loop: [`getaddrinfo`];
//! - subprocesses driven by a [`SubprocessProtocol`]: [`subprocess_exec`], [`subprocess_shell`].
//!
//! Design and the differences from asyncio: docs/decisions/0013-protocols.md.
//!
//! ## Map of the crate
//!
//! | file | idea |
//! |---|---|
//! | `protocols.rs` | [`Protocol`], [`BufferedProtocol`], [`Buffered`], [`DatagramProtocol`] |
//! | `resolve.rs` | [`getaddrinfo`], [`Family`]: host names resolved on the blocking pool |
//! | `subprocess.rs` | [`SubprocessProtocol`], [`subprocess_exec`], [`subprocess_shell`]: a child and its pipes as a [`SubprocessTransport`](tower_transport::SubprocessTransport) |
#![doc(test(attr(deny(warnings))))]

mod protocols;
mod resolve;
mod subprocess;

pub use protocols::{Buffered, BufferedProtocol, DatagramProtocol, Protocol};
pub use resolve::{Family, getaddrinfo};
pub use subprocess::{
    SpawnSubprocess, Subprocess, SubprocessProtocol, subprocess_exec, subprocess_shell,
};
