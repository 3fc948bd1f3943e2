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
//! - the client-side factories, asyncio's names: [`create_connection`] (happy eyeballs on
//!   [`staggered_race`]), [`create_connection_sock`], [`create_unix_connection`],
//!   [`connect_accepted_socket`], [`create_datagram_endpoint`], [`connect_read_pipe`],
//!   [`connect_write_pipe`];
//! - servers: [`create_server`], [`create_unix_server`] and the [`Server`] they give (accept at
//!   most `backlog` per readiness; no spin and no death when fds run out);
//! - with the `tls` feature (off by default, on in the facade): TLS on rustls, asyncio's
//!   `sslproto` — the `tls` module, `start_tls`, and `ssl` on the factories (decision
//!   docs/decisions/0015-tls.md).
//!
//! Design and the differences from asyncio: docs/decisions/0013-protocols.md.
//!
//! ## Map of the crate
//!
//! | file | idea |
//! |---|---|
//! | `protocols.rs` | [`Protocol`], [`BufferedProtocol`], [`Buffered`], [`DatagramProtocol`] |
//! | `resolve.rs` | [`getaddrinfo`], [`Family`]: host names resolved on the blocking pool |
//! | `connect.rs` | [`create_connection`] and its builder [`CreateConnection`], [`create_connection_sock`], [`Host`]; waiting for `connection_made` (shared by the factories) |
//! | `staggered.rs` | [`staggered_race`], [`Staggered`]: attempts on tasks, started one after another or after a delay, first success wins |
//! | `eyeballs.rs` | happy eyeballs helpers: [`interleave`], the failed connection's error ([`ConnectionErrors`], [`ConnectCallFailed`]) |
//! | `unix_connect.rs` | [`create_unix_connection`] |
//! | `accepted.rs` | [`connect_accepted_socket`] |
//! | `datagram_endpoint.rs` | [`create_datagram_endpoint`] and its builder [`CreateDatagramEndpoint`] |
//! | `pipes.rs` | [`connect_read_pipe`], [`connect_write_pipe`] |
//! | `server.rs` | [`Server`]: listening sockets, the accepted connections' transports, `close`/`wait_closed`/`serve_forever` |
//! | `create_server.rs` | [`create_server`], its options ([`CreateServer`], [`Hosts`]): binding one socket per address |
//! | `unix_server.rs` | [`create_unix_server`] ([`CreateUnixServer`]): a path or an abstract name, `cleanup_socket` |
//! | `accept.rs` | the accept loop (`backlog` per readiness) and fd exhaustion: reserved fd, report once, back-off |
//! | `tls/` | feature `tls`: `tls`, asyncio's `sslproto` on rustls — `tls::TlsProtocol`, the app-side transport, `tls::start_tls`, `create_connection`'s and `create_server`'s `ssl`, config helpers |
#![doc(test(attr(deny(warnings))))]

mod accept;
mod accepted;
mod connect;
mod create_server;
mod datagram_endpoint;
mod eyeballs;
mod pipes;
mod protocols;
mod resolve;
mod server;
mod staggered;
#[cfg(feature = "tls")]
pub mod tls;
mod unix_connect;
mod unix_server;

pub use create_server::{CreateServer, CreateServerFuture, DEFAULT_BACKLOG, Hosts, create_server};
pub use protocols::{Buffered, BufferedProtocol, DatagramProtocol, Protocol};
pub use resolve::{Family, getaddrinfo};

pub use accepted::connect_accepted_socket;
pub use connect::{CreateConnection, Host, create_connection, create_connection_sock};
pub use datagram_endpoint::{CreateDatagramEndpoint, create_datagram_endpoint};
pub use eyeballs::{ConnectCallFailed, ConnectionErrors, interleave};
pub use pipes::{connect_read_pipe, connect_write_pipe};
pub use server::{ServeForever, Server, ServerError, ServerSocket, WaitClosed};
pub use staggered::{Staggered, staggered_race};
pub use unix_connect::create_unix_connection;
pub use unix_server::{CreateUnixServer, create_unix_server};
