//! Unix servers (CPython's test_unix_events.py `test_create_unix_server*`, 3.13's
//! `cleanup_socket`).

mod server_util;

use std::io;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use tower_protocol::{create_unix_server, create_unix_server_sock};
use tower_transport::SocketAddress;

use server_util::{Echo, echo, make, no_fd_leak, run_until, setup, shut_down};

/// A fresh directory for one test's socket files, removed at drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("tower-server-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn connect(path: &Path) -> UnixStream {
    let c = UnixStream::connect(path).unwrap();
    c.set_nonblocking(true).unwrap();
    c
}

#[test]
fn unix_echo_and_cleanup_socket_removes_the_path() {
    let dir = TempDir::new("echo");
    no_fd_leak(|| {
        let path = dir.path("s.sock");
        let (lp, stats) = setup();
        let server = make(&lp, create_unix_server(Echo::factory(&stats), &path)).unwrap();
        assert_eq!(
            server.sockets()[0].address,
            SocketAddress::UnixPath(path.clone())
        );
        let mut c = connect(&path);
        echo(&lp, &mut c, b"over unix");
        server.close();
        assert!(
            !path.exists(),
            "cleanup_socket (the default) unlinks the path at close"
        );
        echo(&lp, &mut c, b"client kept");
        drop(c);
        run_until(&lp, || server.client_count() == 0);
        lp.close().unwrap();
    });
}

#[test]
fn cleanup_socket_keeps_a_file_that_replaced_the_socket() {
    let dir = TempDir::new("replaced");
    no_fd_leak(|| {
        let path = dir.path("s.sock");
        let (lp, stats) = setup();
        let server = make(&lp, create_unix_server(Echo::factory(&stats), &path)).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"not a socket").unwrap();
        server.close();
        assert_eq!(std::fs::read(&path).unwrap(), b"not a socket");

        // Nor another server's socket bound at the path since.
        std::fs::remove_file(&path).unwrap();
        let server = make(&lp, create_unix_server(Echo::factory(&stats), &path)).unwrap();
        std::fs::remove_file(&path).unwrap();
        let other = UnixListener::bind(&path).unwrap();
        server.close();
        assert!(path.exists(), "another socket at the path stays");
        drop(other);

        // test_server.py `test_unix_server_cleanup_gone`: the path already gone is fine.
        std::fs::remove_file(&path).unwrap();
        let server = make(&lp, create_unix_server(Echo::factory(&stats), &path)).unwrap();
        std::fs::remove_file(&path).unwrap();
        server.close();
        assert!(!path.exists());
        lp.close().unwrap();
    });
}

#[test]
fn cleanup_socket_false_leaves_the_path() {
    let dir = TempDir::new("nocleanup");
    no_fd_leak(|| {
        let path = dir.path("s.sock");
        let (lp, stats) = setup();
        let server = make(
            &lp,
            create_unix_server(Echo::factory(&stats), &path).cleanup_socket(false),
        )
        .unwrap();
        server.close();
        assert!(path.exists());
        // A stale socket file is replaced by the next server (asyncio removes it).
        let server = make(&lp, create_unix_server(Echo::factory(&stats), &path)).unwrap();
        let mut c = connect(&path);
        echo(&lp, &mut c, b"replaced the stale one");
        drop(c);
        server.close();
        run_until(&lp, || server.client_count() == 0);
        assert!(!path.exists());
        lp.close().unwrap();
    });
}

#[test]
fn a_path_in_use_by_a_regular_file_is_an_error() {
    let dir = TempDir::new("inuse");
    no_fd_leak(|| {
        let path = dir.path("file");
        std::fs::write(&path, b"x").unwrap();
        let (lp, stats) = setup();
        let err = make(&lp, create_unix_server(Echo::factory(&stats), &path)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"x",
            "a regular file is never removed"
        );
        lp.close().unwrap();
    });
}

#[cfg(target_os = "linux")]
#[test]
fn abstract_namespace() {
    use std::os::linux::net::SocketAddrExt;
    no_fd_leak(|| {
        let name = format!("tower-server-abstract-{}", std::process::id());
        let (lp, stats) = setup();
        let server = make(
            &lp,
            create_unix_server(Echo::factory(&stats), format!("\0{name}")),
        )
        .unwrap();
        assert_eq!(
            server.sockets()[0].address,
            SocketAddress::UnixAbstract(name.clone().into_bytes())
        );
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let mut c = UnixStream::connect_addr(&addr).unwrap();
        c.set_nonblocking(true).unwrap();
        echo(&lp, &mut c, b"abstract");
        drop(c);
        shut_down(&lp, &server);
    });
}

#[test]
fn unix_sock_option_and_cleanup() {
    let dir = TempDir::new("sock");
    no_fd_leak(|| {
        let path = dir.path("s.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let (lp, stats) = setup();
        let server = make(
            &lp,
            create_unix_server_sock(Echo::factory(&stats), listener),
        )
        .unwrap();
        let mut c = connect(&path);
        echo(&lp, &mut c, b"given socket");
        drop(c);
        server.close();
        run_until(&lp, || server.client_count() == 0);
        assert!(
            !path.exists(),
            "cleanup_socket applies to a given socket too"
        );

        // A path with it cannot be written (create_unix_server_sock takes none); a datagram
        // socket is not a stream socket.
        let (dgram, _other) = std::os::unix::net::UnixDatagram::pair().unwrap();
        let err = make(&lp, create_unix_server_sock(Echo::factory(&stats), dgram)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        lp.close().unwrap();
    });
}
