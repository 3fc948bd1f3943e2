//! What the tower-hyper tests share: the fd-leak check, the example's server on its own
//! thread (one loop, or the multi-thread runtime), and a hyper client request on the tower.
#![allow(dead_code)] // each test binary uses a part

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use tower_hyper::{TowerExecutor, TowerIo};
use tower_loop::{Async, EventLoop, Timer};

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/hello.rs"]
pub(crate) mod hello;

/// The workspace's fd-leak check, one file with tower-loop's tests (no test-support crate).
#[path = "../../../tower-loop/tests/sock_util/fd_leak.rs"]
mod fd_leak;
#[allow(unused_imports)] // each test binary uses a part
pub(crate) use fd_leak::{fd_count, no_fd_leak};

/// The example's server on a thread of its own.
pub(crate) struct Server {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// Set to stop it.
    stop: Arc<AtomicBool>,
    /// Its thread.
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts `hello::serve` on one loop (`threads: None`) or on a runtime of `threads` workers.
    pub(crate) fn start(threads: Option<usize>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let shutdown = async move {
                while !flag.load(Ordering::Relaxed) {
                    Timer::after(Duration::from_millis(5)).await;
                }
            };
            match threads {
                None => {
                    let lp = EventLoop::new().unwrap();
                    lp.run_until_complete(async {
                        hello::serve(Async::new(listener).unwrap(), shutdown).await
                    })
                    .unwrap()
                    .unwrap();
                    lp.close().unwrap();
                }
                Some(n) => {
                    let rt = tower_task::runtime::RuntimeBuilder::new()
                        .worker_threads(n)
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        hello::serve(Async::new(listener).unwrap(), shutdown).await
                    })
                    .unwrap()
                    .unwrap();
                    drop(rt);
                }
            }
        });
        Server {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops accepting, waits for the open connections to end and joins the thread.
    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// GETs `/` `n` times over one connection with hyper's client on the tower (HTTP/1.1, or
/// HTTP/2 with prior knowledge), returning each response's version and body. Runs on the
/// calling task's loop (or runtime worker); the future is `Send`.
pub(crate) async fn get(addr: SocketAddr, http2: bool, n: usize) -> Vec<(hyper::Version, String)> {
    let io = TowerIo::socket(Async::<TcpStream>::connect(addr).await.unwrap());
    let mut out = Vec::new();
    if http2 {
        let (mut send, conn) =
            hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(TowerExecutor::new(), io)
                .await
                .unwrap();
        let conn = tower_task::spawn(conn);
        for _ in 0..n {
            let req = hyper::Request::get(format!("http://{addr}/"))
                .body(Empty::new())
                .unwrap();
            let resp = send.send_request(req).await.unwrap();
            out.push(body(resp).await);
        }
        drop(send);
        conn.await.unwrap().unwrap();
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(io)
            .await
            .unwrap();
        let conn = tower_task::spawn(conn);
        for _ in 0..n {
            let req = hyper::Request::get("/")
                .header("host", addr.to_string())
                .body(Empty::new())
                .unwrap();
            let resp = send.send_request(req).await.unwrap();
            out.push(body(resp).await);
        }
        drop(send);
        conn.await.unwrap().unwrap();
    }
    out
}

/// A response's version and body.
async fn body(resp: hyper::Response<hyper::body::Incoming>) -> (hyper::Version, String) {
    assert_eq!(resp.status(), 200);
    let version = resp.version();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (version, String::from_utf8(bytes.to_vec()).unwrap())
}
