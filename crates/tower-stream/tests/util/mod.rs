//! What the stream tests share: the fd-leak check, and running a test's body on a fresh loop.
#![allow(dead_code)] // each test binary uses a part

use std::future::Future;

/// The workspace's fd-leak check, one file with tower-loop's tests (no test-support crate).
#[path = "../../../tower-loop/tests/sock_util/fd_leak.rs"]
mod fd_leak;
#[allow(unused_imports)] // each test binary uses a part
pub(crate) use fd_leak::{fd_count, no_fd_leak};

/// Runs `main` on a fresh loop (closed after), checking fds around it.
pub(crate) fn run<F: Future>(main: F) -> F::Output {
    no_fd_leak(|| tower_task::run(main).unwrap())
}

/// Yields to the loop `n` times (lets callbacks and other tasks run).
pub(crate) async fn turns(n: usize) {
    for _ in 0..n {
        tower_coro::yield_now().await;
    }
}

/// A reader/writer pair on one end of a socket pair; the other end is returned.
pub(crate) async fn pair_streams(
    limit: usize,
) -> (
    tower_stream::StreamReader,
    tower_stream::StreamWriter,
    std::os::unix::net::UnixStream,
) {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let (transport, protocol) = tower_protocol::create_connection_sock(
        move || tower_stream::StreamReaderProtocol::new(limit).unwrap(),
        std::os::fd::OwnedFd::from(ours),
    )
    .await
    .unwrap();
    let reader = tower_stream::StreamReader::from_protocol(&protocol);
    let writer = tower_stream::StreamWriter::new(transport, &reader);
    (reader, writer, theirs)
}
