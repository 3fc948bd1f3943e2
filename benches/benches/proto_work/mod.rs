//! The protocol echo servers under test, each on its own thread, written once and shared by the
//! criterion bench (`proto_echo.rs`) and the example that counts syscalls and measures idle
//! connections (`examples/proto_echo.rs`, run by `cargo xtask syscalls` and `cargo xtask idle`).
//!
//! - **tower**: asyncio's protocol path on a single-thread `EventLoop`: tier 8's
//!   `create_server` (asyncio's `loop.create_server`) serves an [`Echo`] protocol, whose `data_received`
//!   writes what it got; `pause_writing`/`resume_writing` pause and resume reading, as a correct
//!   asyncio echo protocol does (tokio's `write_all` gives the same back-pressure).
//! - **tower-streams**: asyncio's streams on the same loop: tier 9's `start_server` (asyncio's
//!   `asyncio.start_server`) with a handler that reads up to [`PEER_BUF`] bytes, writes them
//!   back and awaits `drain()` until EOF, as asyncio's and uvloop's streams echo servers do
//!   (`benches/python/echo_server.py`); used by the Python rows (`py_echo.rs`).
//! - **tokio**: a current-thread runtime; per connection a task that reads into its own
//!   [`PEER_BUF`]-byte buffer (or another size: [`ServerThread::start_with`]; tokio's own echo
//!   example uses 1 KiB) and `write_all`s it back.
//! - **smol**: async-io's `Async<TcpStream>` in an `async_executor::LocalExecutor` run by
//!   `async_io::block_on`, the same read/`write_all` loop per connection.
//!
//! Each server listens on an ephemeral loopback port with a backlog of [`BACKLOG`] (the
//! 10 000-connection run connects faster than a 128-deep queue drains) and stops when its
//! [`ServerThread`] is dropped.
#![allow(dead_code)]

use std::future::IntoFuture;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use tower_benches::load_client::thread_id;
use tower_loop::EventLoop;
use tower_protocol::Protocol;
use tower_transport::{ReadTransport, SocketAddress, StreamTransport, WriteTransport};

/// The listen backlog of every server.
pub(crate) const BACKLOG: i32 = 4096;

/// Bytes of the per-connection read buffer of the tokio and smol servers (tower reads into its
/// loop's one shared buffer). 64 KiB: a 100 KiB message takes two reads, not a hundred.
pub(crate) const PEER_BUF: usize = 64 * 1024;

/// The runtimes, as the bench ids and the example's arguments name them.
pub(crate) const RUNTIMES: [&str; 3] = ["tower", "tokio", "smol"];

/// A non-blocking listener on an ephemeral loopback port with a [`BACKLOG`]-deep accept queue.
fn listener() -> io::Result<TcpListener> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    // Linux lets `listen` be called again to change the backlog (std's is 128).
    rustix::net::listen(&l, BACKLOG)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// asyncio's echo protocol: writes back what it receives; stops reading while the transport's
/// write buffer is above its high-water mark.
#[derive(Debug, Default)]
pub(crate) struct Echo(Option<StreamTransport>);

impl Protocol for Echo {
    fn connection_made(&mut self, transport: StreamTransport) {
        self.0 = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        if let Some(t) = &self.0 {
            let _ = t.write(data);
        }
    }
    fn pause_writing(&mut self) {
        if let Some(t) = &self.0 {
            t.pause_reading();
        }
    }
    fn resume_writing(&mut self) {
        if let Some(t) = &self.0 {
            t.resume_reading();
        }
    }
    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        self.0 = None;
    }
}

/// An echo server on its own thread; dropping it stops the server (every connection closed)
/// and joins the thread.
#[derive(Debug)]
pub(crate) struct ServerThread {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// The server thread's id (its CPU time: `tower_benches::load_client::thread_cpu_time`).
    pub(crate) tid: i32,
    /// Stops the server's runtime.
    stop: Option<Stop>,
    /// The server's thread.
    thread: Option<JoinHandle<()>>,
}

/// How a server thread is told to stop.
#[derive(Debug)]
enum Stop {
    /// tower: stop the loop from any thread.
    Tower(tower_loop::LoopHandle),
    /// tokio and smol: close the channel their accept loop races against.
    Channel(async_channel::Sender<()>),
}

impl ServerThread {
    /// Starts `runtime`'s (`"tower"`, `"tower-streams"`, `"tokio"`, `"smol"`) echo server on a
    /// new thread.
    ///
    /// # Panics
    ///
    /// On an unknown runtime or a failed listener.
    pub(crate) fn start(runtime: &str) -> ServerThread {
        ServerThread::start_with(runtime, PEER_BUF)
    }

    /// [`start`](Self::start) with a per-connection read buffer of `buf` bytes for tokio and
    /// smol (tower ignores it: its loop has one read buffer).
    pub(crate) fn start_with(runtime: &str, buf: usize) -> ServerThread {
        let (tx, rx) = mpsc::channel::<(SocketAddr, Stop, i32)>();
        let runtime = runtime.to_owned();
        let thread = std::thread::Builder::new()
            .name(format!("{runtime}-server"))
            .spawn(move || match runtime.as_str() {
                "tower" => tower_server(tx),
                "tower-streams" => tower_streams_server(tx),
                "tokio" => tokio_server(tx, buf),
                "smol" => smol_server(tx, buf),
                r => panic!("unknown runtime {r} (tower, tower-streams, tokio, smol)"),
            })
            .expect("spawn the server thread");
        let (addr, stop, tid) = rx.recv().expect("the server thread did not start");
        ServerThread {
            addr,
            tid,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

/// A child process's side of `tower_benches::server_process`: starts `runtime`'s server (as
/// [`ServerThread::start_with`]), prints its address, serves until stdin closes.
pub(crate) fn serve_in_child(runtime: &str, buf: usize) {
    let server = ServerThread::start_with(runtime, buf);
    tower_benches::server_process::serve_until_stdin_closes(server.addr);
    drop(server);
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        match self.stop.take() {
            Some(Stop::Tower(h)) => h.stop(),
            Some(Stop::Channel(tx)) => drop(tx),
            None => {}
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// tower's server thread: tier 8's `create_server` (asyncio's `loop.create_server`) on a
/// single-thread loop; the loop runs until stopped, then the server closes and the loop closes
/// (every transport gets `connection_lost` and its socket is closed).
fn tower_server(tx: mpsc::Sender<(SocketAddr, Stop, i32)>) {
    let lp = EventLoop::new().expect("tower loop");
    let server = lp
        .run_until_complete(
            tower_protocol::create_server(Echo::default, "127.0.0.1", 0)
                .backlog(BACKLOG as u32)
                .into_future(),
        )
        .expect("run the loop")
        .expect("create_server");
    let SocketAddress::Inet(addr) = server.sockets()[0].address.clone() else {
        panic!("create_server on 127.0.0.1 gave a non-inet socket")
    };
    tx.send((addr, Stop::Tower(lp.handle()), thread_id()))
        .unwrap();
    lp.run_forever().expect("run_forever");
    server.close();
    lp.close().expect("close the loop");
}

/// tower's streams server thread: tier 9's `start_server` on a single-thread loop, one task per
/// connection reading up to [`PEER_BUF`] bytes, writing them back and awaiting `drain()`.
fn tower_streams_server(tx: mpsc::Sender<(SocketAddr, Stop, i32)>) {
    use tower_asyncio::stream::{StreamReader, StreamWriter, start_server};
    let lp = EventLoop::new().expect("tower loop");
    let echo = |reader: StreamReader, writer: StreamWriter| async move {
        loop {
            let data = reader.read(PEER_BUF).await?;
            if data.is_empty() {
                return Ok::<(), io::Error>(());
            }
            writer.write(&data)?;
            writer.drain().await?;
        }
    };
    let server = lp
        .run_until_complete(
            start_server(echo, "127.0.0.1", 0)
                .configure(|b| b.backlog(BACKLOG as u32))
                .into_future(),
        )
        .expect("run the loop")
        .expect("start_server");
    let SocketAddress::Inet(addr) = server.sockets()[0].address.clone() else {
        panic!("start_server on 127.0.0.1 gave a non-inet socket")
    };
    tx.send((addr, Stop::Tower(lp.handle()), thread_id()))
        .unwrap();
    lp.run_forever().expect("run_forever");
    server.close();
    lp.close().expect("close the loop");
}

/// tokio's server thread: a current-thread runtime, one task per connection.
fn tokio_server(tx: mpsc::Sender<(SocketAddr, Stop, i32)>, buf: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let std_l = listener().expect("listener");
    let addr = std_l.local_addr().unwrap();
    rt.block_on(async move {
        let l = tokio::net::TcpListener::from_std(std_l).unwrap();
        tx.send((addr, Stop::Channel(stop_tx), thread_id()))
            .unwrap();
        let accept = async {
            loop {
                let (mut s, _) = l.accept().await.unwrap();
                s.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; buf];
                    loop {
                        let n = match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        };
        tokio::select! {
            _ = accept => {}
            _ = stop_rx.recv() => {}
        }
    });
    // Dropping the runtime drops every connection task and closes its socket.
    drop(rt);
}

/// smol's server thread: async-io's `Async` on a `LocalExecutor`, one task per connection.
fn smol_server(tx: mpsc::Sender<(SocketAddr, Stop, i32)>, buf: usize) {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let ex = Rc::new(async_executor::LocalExecutor::new());
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let l = async_io::Async::new(listener().expect("listener")).unwrap();
    tx.send((
        l.get_ref().local_addr().unwrap(),
        Stop::Channel(stop_tx),
        thread_id(),
    ))
    .unwrap();
    let ex2 = ex.clone();
    let accept = async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            s.get_ref().set_nodelay(true).unwrap();
            ex2.spawn(async move {
                let mut buf = vec![0u8; buf];
                loop {
                    let n = match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            })
            .detach();
        }
    };
    async_io::block_on(ex.run(futures_lite::future::or(accept, async {
        let _ = stop_rx.recv().await;
    })));
    // Dropping the executor drops every connection task and closes its socket.
    drop(ex);
}
