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
//! - servers: [`create_server`], [`create_unix_server`] and the [`Server`] they give (accept at
//!   most `backlog` per readiness; no spin and no death when fds run out).
//!
//! Design and the differences from asyncio: docs/decisions/0013-protocols.md.
//!
//! ## Map of the crate
//!
//! | file | idea |
//! |---|---|
//! | `protocols.rs` | [`Protocol`], [`BufferedProtocol`], [`Buffered`], [`DatagramProtocol`] |
//! | `resolve.rs` | [`getaddrinfo`], [`Family`]: host names resolved on the blocking pool |
//! | `server.rs` | [`Server`]: listening sockets, the accepted connections' transports, `close`/`wait_closed`/`serve_forever` |
//! | `create_server.rs` | [`create_server`], its options ([`CreateServer`], [`Hosts`]): binding one socket per address |
//! | `unix_server.rs` | [`create_unix_server`] ([`CreateUnixServer`]): a path or an abstract name, `cleanup_socket` |
//! | `accept.rs` | the accept loop (`backlog` per readiness) and fd exhaustion: reserved fd, report once, back-off |
#![doc(test(attr(deny(warnings))))]

mod accept;
mod create_server;
mod protocols;
mod resolve;
mod server;
mod unix_server;

pub use create_server::{CreateServer, CreateServerFuture, DEFAULT_BACKLOG, Hosts, create_server};
pub use protocols::{Buffered, BufferedProtocol, DatagramProtocol, Protocol};
pub use resolve::{Family, getaddrinfo};
pub use server::{ServeForever, Server, ServerError, ServerSocket, WaitClosed};
pub use unix_server::{CreateUnixServer, create_unix_server};
