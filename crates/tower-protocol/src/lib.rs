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
//!   [`staggered_race`]), [`create_unix_connection`], [`connect_accepted_socket`],
//!   [`create_datagram_endpoint`], [`connect_read_pipe`], [`connect_write_pipe`];
//! - servers: [`create_server`], [`create_unix_server`] and the [`Server`] they give (accept at
//!   most `backlog` per readiness; no spin and no death when fds run out);
//! - one rule for both sides: where to connect or listen is a [`Host`]; an existing socket is
//!   its own `_sock` function ([`create_connection_sock`], [`create_server_sock`],
//!   [`create_unix_server_sock`], [`create_datagram_endpoint_sock`]), never an option;
//! - subprocesses driven by a [`SubprocessProtocol`]: [`subprocess_exec`], [`subprocess_shell`];
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
//! | `host.rs` | [`Host`]: where a client connects or a server listens; its resolution (every interface, names, addresses) |
//! | `connect.rs` | [`create_connection`] and its builder [`CreateConnection`], [`create_connection_sock`]; waiting for `connection_made` (shared by the factories) |
//! | `staggered.rs` | [`staggered_race`], [`Staggered`]: attempts on tasks, started one after another or after a delay, first success wins |
//! | `eyeballs.rs` | happy eyeballs helpers: [`interleave`], the failed connection's error ([`ConnectionErrors`], [`ConnectCallFailed`]) |
//! | `client.rs` | what the client factories share once connected: the "TLS or plain" tail, their builders' `IntoFuture` |
//! | `unix_connect.rs` | [`create_unix_connection`] and its builder [`CreateUnixConnection`] (`ssl`) |
//! | `accepted.rs` | [`connect_accepted_socket`] |
//! | `datagram_endpoint.rs` | [`create_datagram_endpoint`] and its builder [`CreateDatagramEndpoint`], [`create_datagram_endpoint_sock`] |
//! | `pipes.rs` | [`connect_read_pipe`], [`connect_write_pipe`] |
//! | `server.rs` | [`Server`] and its methods; its state: starting to serve, `close` |
//! | `server_listener.rs` | a server's listening sockets, the Unix path unlinked at close (`cleanup_socket`) |
//! | `server_clients.rs` | a server's clients (asyncio's `_attach`/`_detach`): the transports in a slab, each told to detach itself after `connection_lost` |
//! | `server_wait.rs` | the futures waiting on a server: [`WaitClosed`], [`ServeForever`] |
//! | `create_server.rs` | [`create_server`], its options ([`CreateServer`]), [`create_server_sock`]: binding one socket per address |
//! | `unix_server.rs` | [`create_unix_server`] ([`CreateUnixServer`]), [`create_unix_server_sock`]: a path or an abstract name, `cleanup_socket` |
//! | `accept.rs` | the accept loop (`backlog` per readiness) and fd exhaustion: reserved fd, report once, back-off |
//! | `subprocess.rs` | [`SubprocessProtocol`], [`subprocess_exec`], [`subprocess_shell`]: a child and its pipes as a [`SubprocessTransport`](tower_transport::SubprocessTransport) |
//! | `tls/` | feature `tls`: `tls`, asyncio's `sslproto` on rustls — `tls::TlsProtocol`, the app-side transport, `tls::start_tls`, `create_connection`'s and `create_server`'s `ssl`, config helpers |
#![doc(test(attr(deny(warnings))))]

mod accept;
mod accepted;
mod client;
mod connect;
mod create_server;
mod datagram_endpoint;
mod eyeballs;
mod host;
mod pipes;
mod protocols;
mod resolve;
mod server;
mod server_clients;
mod server_listener;
mod server_wait;
mod staggered;
mod subprocess;
#[cfg(feature = "tls")]
pub mod tls;
mod unix_connect;
mod unix_server;

pub use create_server::{
    CreateServer, CreateServerFuture, DEFAULT_BACKLOG, create_server, create_server_sock,
};
pub use host::Host;
pub use protocols::{Buffered, BufferedProtocol, DatagramProtocol, Protocol};
pub use resolve::{Family, getaddrinfo};

pub use accepted::connect_accepted_socket;
pub use connect::{CreateConnection, create_connection, create_connection_sock};
pub use datagram_endpoint::{
    CreateDatagramEndpoint, create_datagram_endpoint, create_datagram_endpoint_sock,
};
pub use eyeballs::{ConnectCallFailed, ConnectionErrors, interleave};
pub use pipes::{connect_read_pipe, connect_write_pipe};
pub use server::{ServeForever, Server, ServerError, ServerSocket, WaitClosed};
pub use staggered::{Staggered, staggered_race};
pub use subprocess::{
    SpawnSubprocess, Subprocess, SubprocessProtocol, subprocess_exec, subprocess_shell,
};
pub use unix_connect::{CreateUnixConnection, create_unix_connection};
pub use unix_server::{CreateUnixServer, create_unix_server, create_unix_server_sock};
