//! # tower-stream — Tier 9 of the tower: streams
//!
//! asyncio's `streams.py` on tier 8's protocols: a [`StreamReader`] to read lines, separators,
//! sizes or everything; a [`StreamWriter`] to write and [`drain`](StreamWriter::drain); the
//! helpers that make both ([`open_connection`], [`open_unix_connection`], [`start_server`],
//! [`start_unix_server`]). The reader is fed by a [`StreamReaderProtocol`], a
//! `BufferedProtocol`: the kernel reads straight into the reader's buffer (one copy).
//! `futures-io`'s `AsyncRead`/`AsyncBufRead`/`AsyncWrite` are implemented for the ecosystem.
//! With feature `tls` (off by default, on in the facade; tower-protocol's `tls`), the helpers
//! take `ssl` and `StreamWriter::start_tls` upgrades a connection in place.
//!
//! ```
//! use tower_stream::{open_connection, start_server};
//! use tower_transport::SocketAddress;
//!
//! tower_task::run(async {
//!     // An echo server: one task per client.
//!     let server = start_server(
//!         |reader, writer| async move {
//!             while let Ok(line) = reader.readline().await {
//!                 if line.is_empty() {
//!                     break; // the client is done
//!                 }
//!                 writer.write(&line)?;
//!                 writer.drain().await?;
//!             }
//!             Ok::<(), std::io::Error>(())
//!         },
//!         "127.0.0.1",
//!         0,
//!     )
//!     .await
//!     .unwrap();
//!     let SocketAddress::Inet(addr) = server.sockets()[0].address.clone() else { panic!() };
//!
//!     let (reader, writer) = open_connection("127.0.0.1", addr.port()).await.unwrap();
//!     writer.writelines(&[b"one\n", b"two\n"]).unwrap();
//!     writer.write_eof();
//!     assert_eq!(reader.readline().await.unwrap(), b"one\n");
//!     assert_eq!(reader.readline().await.unwrap(), b"two\n");
//!     assert_eq!(reader.readline().await.unwrap(), b""); // end of stream
//!     writer.close();
//!     writer.wait_closed().await.unwrap();
//!     server.close();
//!     server.wait_closed().await;
//! })
//! .unwrap();
//! ```
//!
//! Design, and the differences from asyncio: docs/decisions/0014-streams.md.
//!
//! ## Map of the crate
//!
//! | file | idea |
//! |---|---|
//! | `buffer.rs` | the reader's bytes: one allocation the kernel reads into, how it grows, compacts and shrinks, and a large `readexactly`'s *direct read* (the kernel reads into the vector it returns); the one owner of what is lent to the transport |
//! | `protocol.rs` | [`StreamReaderProtocol`] (asyncio's `StreamReaderProtocol` + `FlowControlMixin`), the state reader, writer and protocol share, [`DEFAULT_LIMIT`] |
//! | `reader.rs` | [`StreamReader`] and its named futures ([`Read`], [`ReadToEnd`], [`ReadLine`], [`ReadExactly`], [`ReadUntil`]), [`Lines`]; one waiting read at a time |
//! | `writer.rs` | [`StreamWriter`], [`Drain`], [`WaitClosed`]; feature `tls`: `StreamWriter::start_tls` and its builder `StartTls` (the same pair upgraded to TLS) |
//! | `open.rs` | [`open_connection`] ([`OpenConnection`]), [`open_unix_connection`] ([`OpenUnixConnection`]), each a [`StreamBuilder`]: tier 8's builder and the limit ([`StreamFactory`]); the `forward!` macro of tier 8's options |
//! | `server.rs` | [`start_server`] ([`StartServer`]), [`start_server_sock`], [`start_unix_server`] ([`StartUnixServer`]), [`start_unix_server_sock`], [`ClientOutcome`] |
//! | `io.rs` | `futures-io`: `AsyncRead` + `AsyncBufRead` on [`StreamReader`], `AsyncWrite` on [`StreamWriter`] |
//! | `error.rs` | [`IncompleteReadError`], [`LimitOverrunError`], [`AlreadyWaiting`] (inside `io::Error`s) |
#![doc(test(attr(deny(warnings))))]

mod buffer;
mod error;
mod io;
mod open;
mod protocol;
mod reader;
mod server;
mod writer;

pub use error::{AlreadyWaiting, IncompleteReadError, LimitOverrunError};
pub use open::{
    OpenConnection, OpenFuture, OpenUnixConnection, StreamBuilder, StreamFactory, Streams,
    open_connection, open_unix_connection,
};
pub use protocol::{DEFAULT_LIMIT, StreamReaderProtocol};
pub use reader::{Lines, Read, ReadExactly, ReadLine, ReadToEnd, ReadUntil, StreamReader};
pub use server::{
    ClientOutcome, StartServer, StartServerFuture, StartUnixServer, start_server,
    start_server_sock, start_unix_server, start_unix_server_sock,
};
#[cfg(feature = "tls")]
pub use writer::StartTls;
pub use writer::{Drain, StreamWriter, WaitClosed};
