//! # tower-transport — Tier 7 of the tower: transports
//!
//! asyncio's transports (`transports.py`, the transport classes of `selector_events.py`), run
//! in the loop: on readiness the loop reads straight to the protocol, and `write` tries the
//! socket before it buffers. This tier also defines the small event interface a transport
//! drives ([`StreamEvents`], [`DatagramEvents`], [`SubprocessEvents`]); tier 8 defines
//! asyncio's protocol traits on it. Design and the differences from asyncio: docs/decisions/0012-transports.md.
//!
//! It owns:
//!
//! - the transport traits, asyncio's names: [`BaseTransport`], [`ReadTransport`],
//!   [`WriteTransport`], [`DatagramTransport`], with typed [`get_extra_info`](BaseTransport::get_extra_info);
//! - [`SocketTransport`] over TCP and Unix stream sockets, [`ReadPipeTransport`] and
//!   [`WritePipeTransport`] over pipes (each handed to protocols as a [`StreamTransport`]),
//!   [`DatagramSocketTransport`] over UDP and Unix datagram sockets, and
//!   [`SubprocessTransport`] over a `tower-exec` child and its pipes;
//! - write buffering with asyncio's flow control (pause strictly above high, resume at or
//!   below low; 64 KiB and high / 4 by default), half-close, abort, and `connection_lost`
//!   exactly once — also when the loop closes with the transport open;
//! - [`SocketTransport::sendfile`] (`sendfile(2)` after the buffer drains, a read/write
//!   fallback), socket options ([`sockopt`]: keep-alive, `TCP_NODELAY`, `SO_REUSEPORT`), and
//!   UDP batching behind an option ([`datagram_batch`]: `recvmmsg`, `sendmmsg`, GSO, GRO).
//!
//! ```
//! use std::cell::RefCell;
//! use std::io;
//! use std::os::unix::net::UnixStream;
//! use std::rc::Rc;
//! use tower_loop::EventLoop;
//! use tower_transport::{SocketTransport, StreamEvents, StreamTransport, WriteTransport};
//!
//! /// Echoes what it receives.
//! #[derive(Default)]
//! struct Echo(Option<StreamTransport>);
//! impl StreamEvents for Echo {
//!     fn connection_made(&mut self, t: StreamTransport) {
//!         self.0 = Some(t);
//!     }
//!     fn data_received(&mut self, data: &[u8]) {
//!         self.0.as_ref().unwrap().write(data).unwrap();
//!     }
//!     fn connection_lost(&mut self, _exc: Option<io::Error>) {
//!         self.0 = None;
//!     }
//! }
//!
//! /// Sends "ping", stops the loop at the echo.
//! struct Client;
//! impl StreamEvents for Client {
//!     fn connection_made(&mut self, t: StreamTransport) {
//!         t.write(b"ping").unwrap();
//!     }
//!     fn data_received(&mut self, data: &[u8]) {
//!         assert_eq!(data, b"ping");
//!         tower_loop::get_running_loop().unwrap().stop();
//!     }
//! }
//!
//! let lp = EventLoop::new().unwrap();
//! let (a, b) = UnixStream::pair().unwrap();
//! SocketTransport::new(&lp, a, Rc::new(RefCell::new(Echo::default()))).unwrap();
//! SocketTransport::new(&lp, b, Rc::new(RefCell::new(Client))).unwrap();
//! lp.run_forever().unwrap();
//! lp.close().unwrap(); // both get connection_lost, both sockets are closed
//! ```
//!
//! ## Map of the crate
//!
//! | file | idea |
//! |---|---|
//! | `events.rs` | the event interface: [`StreamEvents`], [`DatagramEvents`] |
//! | `traits.rs` | [`BaseTransport`], [`ReadTransport`], [`WriteTransport`], [`DatagramTransport`] |
//! | `stream.rs` | [`StreamTransport`]: the stream transports behind one handle type |
//! | `custom.rs` | [`CustomStreamTransport`]: a higher tier's stream transport (TLS's) behind [`StreamTransport::Custom`] |
//! | `stream_core.rs` | `StreamCore`, what every stream transport shares: reading to the protocol, write-then-buffer, drain, flow control |
//! | `lifecycle.rs` | what every transport shares: the fd, protocol and lifecycle flags (`Life`), `close`/`abort`, `connection_lost` exactly once (retried while the protocol is borrowed), the loop-close hook; [`DetachListener`], how a server learns its connection is done |
//! | `socket.rs` | [`SocketTransport`]: TCP and Unix stream sockets |
//! | `pipe.rs` | [`ReadPipeTransport`], [`WritePipeTransport`]: the ends of a pipe |
//! | `sendfile.rs` | [`SocketTransport::sendfile`] and its future [`Sendfile`]: `sendfile(2)` after the buffer drains, the read/write fallback |
//! | `sockopt.rs` | [`sockopt`]: keep-alive and its timing, `TCP_NODELAY`, `SO_REUSEPORT` |
//! | `subprocess_events.rs` | the subprocess event interface: [`SubprocessEvents`] |
//! | `subprocess.rs` | [`SubprocessTransport`]: a child and its pipes (pipe transports with forwarding protocols), its exit watched by the loop |
//! | `datagram.rs` | [`DatagramSocketTransport`]: UDP and Unix datagram sockets |
//! | `datagram_batch.rs` | [`datagram_batch`]: UDP batching behind an option: `recvmmsg`, `sendmmsg`, UDP GSO and GRO |
//! | `datagram_queue.rs` | the datagram send queue: one contiguous buffer with offsets, asyncio's buffer size |
//! | `write_buffer.rs` | the stream write buffer: chunks, one vectored send of up to `IOV_MAX` pieces |
//! | `flow.rs` | asyncio's water marks and the pause/resume decisions |
//! | `deliver.rs` | calling the protocol without a `RefCell` panic; the events raised during a callback (or before `connection_made`) queued in order — every transport's, the subprocess's included |
//! | `per_loop.rs` | per-loop state: the reusable read buffer, open transports closed with the loop |
//! | `extra.rs` | [`extra`]: typed `get_extra_info` keys, [`SocketAddress`] |
//! | `error.rs` | [`error`]: the caller's errors |
#![doc(test(attr(deny(warnings))))]

mod custom;
mod datagram;
pub mod datagram_batch;
mod datagram_queue;
mod deliver;
pub mod error;
mod events;
pub mod extra;
mod flow;
mod lifecycle;
mod per_loop;
mod pipe;
mod sendfile;
mod socket;
pub mod sockopt;
mod stream;
mod stream_core;
mod subprocess;
mod subprocess_events;
mod traits;
mod write_buffer;

pub use custom::CustomStreamTransport;
pub use datagram::{DATAGRAM_HEADER_SIZE, DatagramSocketTransport};
pub use error::{InvalidLimits, SendToError, WriteError};
pub use events::{DatagramEvents, SharedDatagramEvents, SharedStreamEvents, StreamEvents};
pub use extra::SocketAddress;
pub use flow::DEFAULT_HIGH_WATER;
pub use lifecycle::DetachListener;
pub use pipe::{ReadPipeTransport, WritePipeTransport};
pub use sendfile::Sendfile;
pub use socket::SocketTransport;
pub use stream::StreamTransport;
pub use subprocess::{Connected, SubprocessTransport};
pub use subprocess_events::{SharedSubprocessEvents, SubprocessEvents};
pub use traits::{BaseTransport, DatagramTransport, ReadTransport, WriteTransport};
