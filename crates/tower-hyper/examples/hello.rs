//! Serves "Hello, World!" over HTTP/1.1 and HTTP/2 with prior knowledge (h2c) with hyper on the
//! tower: one port, the protocol told apart by hyper-util's `auto` builder.
//!
//! ```text
//! cargo run -p tower-hyper --example hello -- [ADDR] [--threads N]
//! curl http://127.0.0.1:3000/
//! curl --http2-prior-knowledge http://127.0.0.1:3000/
//! ```
//!
//! Without `--threads` it runs on one event loop; with `--threads N` on the multi-thread
//! runtime's N workers (connections are `Send` tasks balanced across them). The tests in
//! `tests/hello.rs` include this file and drive [`serve`] with curl and with hyper's client.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::server::conn::auto;
use tower_hyper::{TowerExecutor, TowerIo, TowerTimer};
use tower_loop::{Async, EventLoop, Timer};

/// The body every request gets.
pub const BODY: &str = "Hello, World!";

/// The service: "Hello, World!" whatever the request.
async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        BODY.as_bytes(),
    ))))
}

/// Accepts connections on `listener` and serves each in its own `Send` task (on the running
/// loop, or on the multi-thread runtime's workers), until `shutdown` completes; then stops
/// accepting, waits for the open connections to end, and returns.
pub async fn serve(
    listener: Async<TcpListener>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let open = Arc::new(AtomicUsize::new(0));
    let accept = async {
        loop {
            let (stream, _) = listener.read_with(|l| l.accept()).await?;
            stream.set_nodelay(true)?;
            open.fetch_add(1, Ordering::Relaxed);
            let open = open.clone();
            // Detached: the connection's task runs to its end (`open` counts it).
            drop(tower_task::spawn(async move {
                // Registered by the task, so on the multi-thread runtime the worker running it
                // (not the accepting thread) owns its readiness.
                let Ok(io) = Async::new(stream) else {
                    open.fetch_sub(1, Ordering::Relaxed);
                    return;
                };
                let io = TowerIo::socket(io);
                let mut builder = auto::Builder::new(TowerExecutor::new());
                builder.http1().timer(TowerTimer::new());
                builder.http2().timer(TowerTimer::new());
                // A connection's error (a client gone mid-request) ends that connection only.
                let _ = builder.serve_connection(io, service_fn(hello)).await;
                open.fetch_sub(1, Ordering::Relaxed);
            }));
        }
    };
    match tower_coro::select(std::pin::pin!(accept), std::pin::pin!(shutdown)).await {
        tower_coro::Either::Left(res) => res,
        tower_coro::Either::Right(()) => {
            while open.load(Ordering::Relaxed) > 0 {
                Timer::after(Duration::from_millis(5)).await;
            }
            Ok(())
        }
    }
}

fn main() -> io::Result<()> {
    let mut addr = String::from("127.0.0.1:3000");
    let mut threads = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--threads" {
            let n = args.next().and_then(|n| n.parse().ok());
            threads = Some(n.ok_or_else(|| io::Error::other("--threads needs a number"))?);
        } else {
            addr = a;
        }
    }
    let listener = TcpListener::bind(&addr)?;
    println!("listening on http://{}", listener.local_addr()?);
    let forever = std::future::pending::<()>();
    match threads {
        None => {
            let lp = EventLoop::new()?;
            lp.run_until_complete(async { serve(Async::new(listener)?, forever).await })
                .map_err(io::Error::other)?
        }
        Some(n) => {
            let rt = tower_task::runtime::RuntimeBuilder::new()
                .worker_threads(n)
                .build()
                .map_err(io::Error::other)?;
            rt.block_on(async { serve(Async::new(listener)?, forever).await })
                .map_err(io::Error::other)?
        }
    }
}
