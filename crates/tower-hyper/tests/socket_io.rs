//! `TowerIo::socket`: hyper reading straight into its buffer (`Async::poll_recv_uninit`) serves
//! pipelined requests with bodies small and large (several reads per body, hyper's window
//! growing) exactly as `TowerIo::new`'s copying reads do; fd counts.

mod util;

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use tower_hyper::{TowerIo, TowerTimer};
use tower_loop::{Async, EventLoop};
use util::no_fd_leak;

/// The service: the request's body back.
async fn echo(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = req.into_body().collect().await.unwrap().to_bytes();
    Ok(Response::new(Full::new(body)))
}

/// The body of the `i`th request: sizes from 0 to 300 KiB, with a pattern.
fn body(i: usize) -> Vec<u8> {
    let len = [0, 1, 13, 4096, 8193, 65_537, 300 * 1024][i % 7];
    (0..len).map(|j| ((i * 7 + j) % 251) as u8).collect()
}

/// Reads one HTTP/1.1 response with a `content-length` from `s`, returning its body.
fn read_response(s: &mut impl Read, pending: &mut Vec<u8>) -> Vec<u8> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
            assert!(head.starts_with("http/1.1 200"), "{head}");
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .expect("a content-length");
            let start = end + 4;
            while pending.len() < start + len {
                let n = s.read(&mut chunk).unwrap();
                assert!(n > 0, "connection closed mid-body");
                pending.extend_from_slice(&chunk[..n]);
            }
            let body = pending[start..start + len].to_vec();
            pending.drain(..start + len);
            return body;
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed mid-head");
        pending.extend_from_slice(&chunk[..n]);
    }
}

/// Serves one connection with hyper over `TowerIo::socket` (`direct`) or `TowerIo::new` on one
/// loop, while a client thread writes `n` pipelined POSTs in one go and checks each echo.
fn pipelined_echo(direct: bool, n: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut all = Vec::new();
        for i in 0..n {
            let b = body(i);
            write!(
                all,
                "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
                b.len()
            )
            .unwrap();
            all.extend_from_slice(&b);
        }
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || w.write_all(&all).unwrap());
        let mut pending = Vec::new();
        for i in 0..n {
            assert!(
                read_response(&mut s, &mut pending) == body(i),
                "request {i}'s echo"
            );
        }
        writer.join().unwrap();
        // Closing ends the server's connection.
    });
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async move {
        let listener = Async::new(listener).unwrap();
        let (stream, _) = listener.read_with(|l| l.accept()).await.unwrap();
        let stream = Async::new(stream).unwrap();
        let io = if direct {
            TowerIo::socket(stream)
        } else {
            TowerIo::new(stream)
        };
        let mut b = hyper::server::conn::http1::Builder::new();
        b.pipeline_flush(true).timer(TowerTimer::new());
        b.serve_connection(io, service_fn(echo)).await.unwrap();
    })
    .unwrap();
    lp.close().unwrap();
    client.join().unwrap();
}

#[test]
fn socket_io_serves_pipelined_bodies_small_and_large() {
    no_fd_leak(|| pipelined_echo(true, 40));
}

#[test]
fn copying_io_serves_the_same() {
    no_fd_leak(|| pipelined_echo(false, 40));
}
