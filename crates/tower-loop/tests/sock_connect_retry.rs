//! `sock_connect` on a socket whose earlier `sock_connect` was dropped mid-way
//! (test_sock_lowlevel.py: test_sock_client_connect_racing, test_sock_client_fail,
//! test_cancel_sock_accept), and on a socket that is already connected.
//!
//! To keep a connection attempt in progress on loopback, the listener's accept queue is full
//! (`listen(0)` and one connection not accepted): the kernel drops the next SYN, and the client
//! retransmits it after its initial retransmission timeout (1 s on Linux). Those tests take
//! that second of real time; nothing else here waits.

mod sock_util;

use std::cell::RefCell;
use std::future::Future;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use rustix::net::{AddressFamily, SocketType};
use sock_util::{closed_port, no_fd_leak, tcp_listener, tcp_socket};
use tower_coro::{Either, select};
use tower_loop::{EventLoop, Timer};

/// A listener whose accept queue is full: `listen(0)` with one connection in it (returned, to
/// be accepted to make room). The next connection attempt stays in progress.
fn full_listener() -> (OwnedFd, SocketAddr, TcpStream) {
    let l = sock_util::socket(AddressFamily::INET, SocketType::STREAM);
    rustix::net::bind(&l, &SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    rustix::net::listen(&l, 0).unwrap();
    let addr = SocketAddr::try_from(rustix::net::getsockname(&l).unwrap()).unwrap();
    let queued = TcpStream::connect(addr).unwrap();
    (l, addr, queued)
}

/// Polls `fut` once; `None` if pending.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| match Pin::new(&mut *fut).poll(cx) {
        Poll::Ready(v) => Poll::Ready(Some(v)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// `fut`, or `None` after `secs` seconds (a guard against a hang, not a synchronisation).
async fn guarded<F: Future>(secs: u64, fut: F) -> Option<F::Output> {
    match select(Timer::after(Duration::from_secs(secs)), fut).await {
        Either::Left(_) => None,
        Either::Right(v) => Some(v),
    }
}

// A sock_connect dropped while its attempt is in progress, then sock_connect again: the retry
// waits for the attempt in progress and reports its outcome (asyncio treats connect's
// EALREADY as BlockingIOError and waits for writability), instead of failing with EALREADY.
#[test]
fn retried_connect_waits_for_the_attempt_in_progress() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let l2 = lp.clone();
        let (listener, addr, queued) = full_listener();
        let sock = tcp_socket();
        let outcome = lp
            .run_until_complete(async move {
                let mut first = l2.sock_connect(&sock, addr);
                assert!(poll_once(&mut first).await.is_none(), "in progress");
                drop(first);
                let mut retry = l2.sock_connect(&sock, addr);
                if let Some(r) = poll_once(&mut retry).await {
                    return Some(r); // the old behaviour: Err(EALREADY) at once
                }
                // Make room in the accept queue; the retransmitted SYN then gets through.
                let conn = l2.sock_accept(&listener).await.unwrap();
                drop((conn, queued));
                let r = guarded(30, retry).await;
                if r.as_ref().is_some_and(Result::is_ok) {
                    let peer = rustix::net::getpeername(&sock).unwrap().unwrap();
                    assert_eq!(SocketAddr::try_from(peer).unwrap(), addr);
                }
                r
            })
            .unwrap();
        match outcome {
            Some(Ok(())) => {}
            Some(Err(e)) => panic!("the retried sock_connect failed: {e}"),
            None => panic!("the retried sock_connect never completed"),
        }
        lp.close().unwrap();
    });
}

// A sock_connect dropped while its attempt is in progress; the attempt then succeeds (the
// server accepts it); sock_connect again reports the connection: Ok (Linux's connect(2) says
// so itself). A further sock_connect to the same address on the connected socket reports Ok
// too (EISCONN, and the peer is that address); to another address, EISCONN.
#[test]
fn connect_after_a_dropped_attempt_completed_reports_connected() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let l2 = lp.clone();
        let (listener, addr, queued) = full_listener();
        let sock = tcp_socket();
        let results = lp
            .run_until_complete(async move {
                let mut first = l2.sock_connect(&sock, addr);
                assert!(poll_once(&mut first).await.is_none(), "in progress");
                drop(first);
                // Make room; the server then takes the dropped attempt's connection, which
                // completed: the client side is connected.
                let conn = l2.sock_accept(&listener).await.unwrap();
                drop((conn, queued));
                let served = guarded(30, l2.sock_accept(&listener))
                    .await
                    .expect("the dropped attempt never reached the server")
                    .unwrap();
                let retry = l2.sock_connect(&sock, addr).await;
                let again = l2.sock_connect(&sock, addr).await;
                let elsewhere = l2.sock_connect(&sock, closed_port()).await;
                drop(served);
                (retry, again, elsewhere)
            })
            .unwrap();
        let (retry, again, elsewhere) = results;
        retry.unwrap();
        again.unwrap();
        assert_eq!(
            elsewhere.unwrap_err().raw_os_error(),
            Some(rustix::io::Errno::ISCONN.raw_os_error())
        );
        lp.close().unwrap();
    });
}

// A sock_connect dropped while its attempt is in progress; the attempt then fails (the
// listener is gone: the retransmitted SYN is refused); sock_connect again reports that
// failure, as the kernel hands it over (test_sock_client_fail's ConnectionRefusedError).
#[test]
fn connect_after_a_dropped_attempt_failed_reports_the_failure() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let l2 = lp.clone();
        let (listener, addr, queued) = full_listener();
        let sock = std::rc::Rc::new(tcp_socket());
        let outcome = lp
            .run_until_complete(async move {
                let mut first = l2.sock_connect(&*sock, addr);
                assert!(poll_once(&mut first).await.is_none(), "in progress");
                drop(first);
                drop((listener, queued));
                // Wait until the attempt finished, without taking its outcome: writable.
                let finished = Rc::new(RefCell::new((false, None::<Waker>)));
                let (f2, l3, s2) = (finished.clone(), l2.clone(), sock.clone());
                l2.add_writer(&*sock, move || {
                    let waker = {
                        let mut f = f2.borrow_mut();
                        f.0 = true;
                        f.1.take()
                    };
                    l3.remove_writer(&*s2).unwrap();
                    if let Some(w) = waker {
                        w.wake();
                    }
                })
                .unwrap();
                let writable = std::future::poll_fn(|cx| {
                    let mut f = finished.borrow_mut();
                    if f.0 {
                        Poll::Ready(())
                    } else {
                        f.1 = Some(cx.waker().clone());
                        Poll::Pending
                    }
                });
                guarded(30, writable)
                    .await
                    .expect("the dropped attempt never finished");
                l2.sock_connect(&*sock, addr).await
            })
            .unwrap();
        assert_eq!(
            outcome.unwrap_err().kind(),
            std::io::ErrorKind::ConnectionRefused
        );
        lp.close().unwrap();
    });
}

// test_sock_client_connect_racing: a connect refused before the listener listens; once it
// listens, connecting again succeeds at the first retry (CPython's test retries, since Linux's
// connect(2) first answers ECONNABORTED on a socket whose failure was already reported;
// sock_connect starts the new attempt itself).
#[test]
fn connect_after_a_refused_attempt_succeeds_once_listening() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let l2 = lp.clone();
        let l = sock_util::socket(AddressFamily::INET, SocketType::STREAM);
        rustix::net::bind(&l, &SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let addr = SocketAddr::try_from(rustix::net::getsockname(&l).unwrap()).unwrap();
        let sock = tcp_socket();
        let (first, retry) = lp
            .run_until_complete(async move {
                let first = l2.sock_connect(&sock, addr).await;
                rustix::net::listen(&l, 1).unwrap();
                (first, l2.sock_connect(&sock, addr).await)
            })
            .unwrap();
        assert_eq!(
            first.unwrap_err().kind(),
            std::io::ErrorKind::ConnectionRefused
        );
        retry.unwrap();
        lp.close().unwrap();
    });
}

// test_cancel_sock_accept: a sock_accept given up on (dropped after a timeout) takes nothing,
// and a sock_connect to the listener, once closed, is refused.
#[test]
fn dropped_accept_then_connect_to_the_closed_listener_is_refused() {
    no_fd_leak(|| {
        let lp = EventLoop::builder().paused_clock().build().unwrap();
        let l2 = lp.clone();
        let (listener, addr) = tcp_listener();
        let r = lp
            .run_until_complete(async move {
                let accepted = guarded(1, l2.sock_accept(&listener)).await;
                assert!(accepted.is_none(), "nothing to accept");
                drop(listener);
                let client = tcp_socket();
                l2.sock_connect(&client, addr).await
            })
            .unwrap();
        assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::ConnectionRefused);
        lp.close().unwrap();
    });
}

// Connecting to the unspecified address reaches the local listener (Linux connects 0.0.0.0 to
// a local address): the outcome check does not mistake the peer's address for another one.
#[test]
fn connect_to_the_unspecified_address_succeeds() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (listener, addr) = tcp_listener();
        let any = SocketAddr::from(([0, 0, 0, 0], addr.port()));
        let sock = tcp_socket();
        let (first, again) = lp
            .run_until_complete(async {
                let first = lp.sock_connect(&sock, any).await;
                (first, lp.sock_connect(&sock, any).await)
            })
            .unwrap();
        first.unwrap();
        again.unwrap();
        drop(listener);
        lp.close().unwrap();
    });
}
