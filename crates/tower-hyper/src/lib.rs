//! # tower-hyper — hyper 1.x on the tower
//!
//! An adapter, not a tier: hyper's runtime traits implemented on the tower, so hyper's HTTP/1
//! and HTTP/2 clients and servers run on tower loops and on the multi-thread runtime. hyper
//! brings tokio in as a library (its `sync` channels, h2's codec: no tokio runtime runs); this
//! crate is where that stops, and no tier depends on it (ARCHITECTURE.md rule 6,
//! docs/decisions/0016-hyper-adapter.md). The facade re-exports it behind its `hyper` feature,
//! off by default.
//!
//! - [`TowerIo`]: `hyper::rt::Read`/`Write` over any `futures-io` type: tier 2's
//!   [`Async<TcpStream>`](tower_loop::Async) (from an accept or
//!   [`Async::<TcpStream>::connect`](tower_loop::Async::connect)), tier 9's streams, anything
//!   implementing `AsyncRead`/`AsyncWrite`. [`TowerIo::socket`] wraps a tower socket so hyper
//!   reads straight into its buffer (no copy) and writes with `writev`: the one to use for
//!   `Async<TcpStream>` and `Async<UnixStream>`.
//! - [`TowerExecutor`]: hyper's `Executor` on [`tower_task::spawn`] (`Send` futures; on the
//!   multi-thread runtime they are balanced across its workers), or on a [`RuntimeHandle`].
//! - [`LocalExecutor`]: the same on [`tower_task::spawn_local`] for `!Send` futures on one loop
//!   (HTTP/2 included).
//! - [`TowerTimer`]: hyper's `Timer` on the running loop's timers ([`tower_loop::Timer`]),
//!   virtual time included.
//!
//! ```
//! use std::net::{TcpListener, TcpStream};
//! use tower_hyper::{TowerIo, TowerTimer};
//! use tower_loop::{Async, EventLoop};
//!
//! let lp = EventLoop::new().unwrap();
//! let status = lp.run_until_complete(async {
//!     let listener = Async::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
//!     let addr = listener.get_ref().local_addr().unwrap();
//!     // The server: one connection, answered by a hyper service.
//!     let server = tower_task::spawn(async move {
//!         let (stream, _) = listener.read_with(|l| l.accept()).await.unwrap();
//!         let io = TowerIo::socket(Async::new(stream).unwrap());
//!         let service = hyper::service::service_fn(|_req| async {
//!             Ok::<_, std::convert::Infallible>(hyper::Response::new(String::from("hi")))
//!         });
//!         hyper::server::conn::http1::Builder::new()
//!             .timer(TowerTimer::new())
//!             .serve_connection(io, service)
//!             .await
//!             .unwrap();
//!     });
//!     // The client, on the same loop.
//!     let io = TowerIo::socket(Async::<TcpStream>::connect(addr).await.unwrap());
//!     let (mut send, conn) = hyper::client::conn::http1::handshake::<_, String>(io).await.unwrap();
//!     let conn = tower_task::spawn(conn);
//!     let req = hyper::Request::get("/").header("host", "x").body(String::new()).unwrap();
//!     let status = send.send_request(req).await.unwrap().status();
//!     drop(send);
//!     conn.await.unwrap().unwrap();
//!     server.await.unwrap();
//!     status
//! });
//! assert_eq!(status.unwrap(), 200);
//! ```
//!
//! ## Map of the crate
//!
//! | file | idea |
//! |---|---|
//! | `io.rs` | [`TowerIo`]: `hyper::rt::Read`/`Write` over `futures-io` |
//! | `executor.rs` | [`TowerExecutor`] (`Send`, loop or multi-thread runtime) and [`LocalExecutor`] (`!Send`, one loop) |
//! | `timer.rs` | [`TowerTimer`] and its [`TowerSleep`] on tier 2's `Timer` |
#![doc(test(attr(deny(warnings))))]

mod executor;
mod io;
mod timer;

pub use executor::{LocalExecutor, TowerExecutor};
pub use io::TowerIo;
pub use timer::{TowerSleep, TowerTimer};

/// hyper itself, so a user of the facade's `hyper` feature names the same version.
pub use hyper;

use tower_task::runtime::RuntimeHandle;
