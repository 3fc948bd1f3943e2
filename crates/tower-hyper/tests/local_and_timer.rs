//! `!Send` hyper on one loop (HTTP/2 server and client on [`LocalExecutor`], with `Rc` state in
//! the service), hyper's timeouts on [`TowerTimer`], and the `Send` connect from a task on the
//! multi-thread runtime echoing through `futures-io`; fd counts before and after.

mod util;

use std::cell::Cell;
use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use http_body_util::{BodyExt, Empty, Full};
use hyper::Version;
use tower_hyper::{LocalExecutor, TowerIo, TowerTimer};
use tower_loop::{Async, EventLoop};
use util::no_fd_leak;

/// HTTP/2 server and client on one loop, both on `LocalExecutor`; the service counts requests in
/// an `Rc<Cell<_>>`, so nothing here could be `Send`.
#[test]
fn local_executor_serves_http2_on_one_loop() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let served = lp
            .run_until_complete(async {
                let listener = Async::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
                let addr = listener.get_ref().local_addr().unwrap();
                let count = Rc::new(Cell::new(0u32));
                let c = count.clone();
                let server = tower_task::spawn_local(async move {
                    let (stream, _) = listener.read_with(|l| l.accept()).await.unwrap();
                    let io = TowerIo::new(Async::new(stream).unwrap());
                    let service = hyper::service::service_fn(move |_req| {
                        let c = c.clone();
                        async move {
                            c.set(c.get() + 1);
                            let body = format!("request {}", c.get());
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
                        }
                    });
                    hyper::server::conn::http2::Builder::new(LocalExecutor::new())
                        .timer(TowerTimer::new())
                        .serve_connection(io, service)
                        .await
                        .unwrap();
                });
                let io = TowerIo::new(Async::<TcpStream>::connect(addr).await.unwrap());
                let (mut send, conn) =
                    hyper::client::conn::http2::Builder::new(LocalExecutor::new())
                        .timer(TowerTimer::new())
                        .handshake::<_, Empty<Bytes>>(io)
                        .await
                        .unwrap();
                let conn = tower_task::spawn_local(conn);
                // Two requests in flight at once on the one connection.
                let req = || {
                    hyper::Request::get(format!("http://{addr}/"))
                        .body(Empty::new())
                        .unwrap()
                };
                let (a, b) =
                    tower_coro::join(send.send_request(req()), send.send_request(req())).await;
                let mut bodies = Vec::new();
                for resp in [a.unwrap(), b.unwrap()] {
                    assert_eq!(resp.version(), Version::HTTP_2);
                    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
                    bodies.push(String::from_utf8(bytes.to_vec()).unwrap());
                }
                bodies.sort();
                assert_eq!(bodies, ["request 1", "request 2"]);
                drop(send);
                conn.await.unwrap().unwrap();
                server.await.unwrap();
                count.get()
            })
            .unwrap();
        assert_eq!(served, 2);
        lp.close().unwrap();
    });
}

/// hyper's header-read timeout runs on `TowerTimer`: a client that connects and says nothing
/// is closed after the timeout (on a real clock, so the loop's timers drive it).
#[test]
fn header_read_timeout_fires_on_tower_timers() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut silent = TcpStream::connect(addr).unwrap();
        let start = Instant::now();
        let res = lp
            .run_until_complete(async move {
                let listener = Async::new(listener).unwrap();
                let (stream, _) = listener.read_with(|l| l.accept()).await.unwrap();
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Empty::<Bytes>::new()))
                });
                hyper::server::conn::http1::Builder::new()
                    .timer(TowerTimer::new())
                    .header_read_timeout(Duration::from_millis(100))
                    .serve_connection(TowerIo::new(Async::new(stream).unwrap()), service)
                    .await
            })
            .unwrap();
        let waited = start.elapsed();
        let err = res.unwrap_err();
        assert!(err.is_timeout(), "expected hyper's timeout, got {err:?}");
        assert!(
            waited >= Duration::from_millis(100),
            "fired early: {waited:?}"
        );
        assert!(waited < Duration::from_secs(5), "fired late: {waited:?}");
        // The server closed its end.
        let mut buf = [0u8; 16];
        let n = silent.read(&mut buf).unwrap_or(0);
        assert!(
            n == 0 || buf[..n].starts_with(b"HTTP/1.1 408"),
            "{:?}",
            &buf[..n]
        );
        lp.close().unwrap();
    });
}

/// `TowerTimer::reset` re-arms a `TowerSleep` in place, and `now` is the loop's (paused) clock.
#[test]
fn timer_reset_and_now_follow_the_loop_clock() {
    use hyper::rt::Timer as _;
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let start = lp.time();
    let elapsed = lp
        .run_until_complete(async {
            let t = TowerTimer::new();
            assert_eq!(t.now(), tower_loop::get_running_loop().unwrap().time());
            let mut sleep = t.sleep(Duration::from_secs(100));
            t.reset(&mut sleep, t.now() + Duration::from_secs(3));
            assert!(
                sleep.is::<tower_hyper::TowerSleep>(),
                "reset kept our sleep"
            );
            sleep.await;
            t.now()
        })
        .unwrap();
    assert_eq!(elapsed - start, Duration::from_secs(3));
    lp.close().unwrap();
}

/// The `Send` connect on the multi-thread runtime: a spawned task connects and echoes through
/// the `futures-io` traits of `Async<TcpStream>`.
#[test]
fn send_connect_and_echo_from_a_runtime_task() {
    no_fd_leak(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let echo = std::thread::spawn(move || {
            for _ in 0..4 {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = Vec::new();
                s.read_to_end(&mut buf).unwrap();
                s.write_all(&buf).unwrap();
            }
        });
        let rt = tower_task::runtime::RuntimeBuilder::new()
            .worker_threads(2)
            .build()
            .unwrap();
        let tasks: Vec<_> = (0..4u8)
            .map(|i| {
                rt.spawn(async move {
                    let mut s = Async::<TcpStream>::connect(addr).await.unwrap();
                    let msg = vec![i; 100_000];
                    let mut sent = 0;
                    while sent < msg.len() {
                        sent += std::future::poll_fn(|cx| {
                            Pin::new(&mut s).poll_write(cx, &msg[sent..])
                        })
                        .await
                        .unwrap();
                    }
                    s.get_ref().shutdown(std::net::Shutdown::Write).unwrap();
                    let mut got = Vec::new();
                    let mut buf = [0u8; 8192];
                    loop {
                        let n = std::future::poll_fn(|cx| Pin::new(&mut s).poll_read(cx, &mut buf))
                            .await
                            .unwrap();
                        if n == 0 {
                            break;
                        }
                        got.extend_from_slice(&buf[..n]);
                    }
                    got == msg
                })
            })
            .collect();
        let ok = rt
            .block_on(async {
                let mut all = true;
                for t in tasks {
                    all &= t.await.unwrap();
                }
                all
            })
            .unwrap();
        assert!(ok, "an echo came back changed");
        drop(rt);
        echo.join().unwrap();
    });
}
