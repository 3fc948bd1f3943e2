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

/// The port of a server's first socket.
pub(crate) fn port_of(server: &tower_protocol::Server) -> u16 {
    match server.sockets()[0].address.clone() {
        tower_transport::SocketAddress::Inet(a) => a.port(),
        other => panic!("not an inet socket: {other:?}"),
    }
}

/// A unique socket path in the temp dir.
pub(crate) fn sock_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("tower-stream-{}-{name}.sock", std::process::id()))
}

/// Echoes lines until the end of stream, then closes.
pub(crate) async fn echo_lines(
    reader: &tower_stream::StreamReader,
    writer: &tower_stream::StreamWriter,
) -> std::io::Result<()> {
    loop {
        let line = reader.readline().await?;
        if line.is_empty() {
            break;
        }
        writer.write(&line)?;
        writer.drain().await?;
    }
    writer.close();
    writer.wait_closed().await
}
