//! TLS over Unix stream sockets (asyncio's `create_unix_connection(ssl=, server_hostname=)` and
//! `create_unix_server(ssl=)`): an echo with both ends on the tower, each way; the client is
//! refused without `server_hostname` (no host to default from), the TLS options are refused
//! without `ssl`, and a wrong name fails the handshake. Every test checks the fd count.
#![cfg(feature = "tls")]

mod connect_util;
mod tls_util;

use std::io;
use std::time::Duration;

use connect_util::{close_when_idle, no_fd_leak, until};
use tls_util::{Echo, TestCert};
use tower_protocol::tls::tls_info;
use tower_protocol::{Protocol, create_unix_connection, create_unix_server};
use tower_transport::{BaseTransport, StreamTransport, WriteTransport};

/// Collects what it receives.
#[derive(Debug, Default)]
struct Sink {
    data: Vec<u8>,
    lost: Option<Option<io::ErrorKind>>,
}

impl Protocol for Sink {
    fn connection_made(&mut self, _t: StreamTransport) {}
    fn data_received(&mut self, data: &[u8]) {
        self.data.extend_from_slice(data);
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.lost = Some(exc.map(|e| e.kind()));
    }
}

/// A unique socket path in the temp dir.
fn sock_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("tower-tls-unix-{}-{name}.sock", std::process::id()))
}

#[test]
fn tls_echo_over_a_unix_socket_both_ends_on_the_tower() {
    let path = sock_path("echo");
    let p = path.clone();
    no_fd_leak(|| {
        let cert = TestCert::new();
        tower_task::run(async move {
            let server = create_unix_server(Echo::default, &p)
                .ssl(cert.server())
                .ssl_handshake_timeout(Duration::from_secs(30))
                .await
                .unwrap();
            let (t, sink) = create_unix_connection(Sink::default, &p)
                .ssl(cert.client())
                .server_hostname("localhost")
                .ssl_shutdown_timeout(Duration::from_secs(10))
                .await
                .unwrap();
            let info = tls_info(&t).expect("the app-side transport");
            assert!(info.handshake_done && !info.server_side);
            // Both ways: the client writes, the server's protocol echoes over TLS.
            t.write(b"over a unix socket").unwrap();
            until(|| sink.borrow().data.len() == 18).await;
            assert_eq!(sink.borrow().data, b"over a unix socket");
            t.close(); // close_notify both ways
            until(|| sink.borrow().lost.is_some()).await;
            assert_eq!(sink.borrow().lost, Some(None));
            close_when_idle(&server).await;
        })
        .unwrap();
    });
    assert!(!path.exists());
}

#[test]
fn unix_ssl_needs_server_hostname_and_checks_it() {
    let path = sock_path("names");
    let p = path.clone();
    no_fd_leak(|| {
        let cert = TestCert::new();
        tower_task::run(async move {
            let server = create_unix_server(Echo::default, &p)
                .ssl(cert.server())
                .await
                .unwrap();
            // asyncio: "you must set server_hostname when using ssl without a host".
            let err = create_unix_connection(Sink::default, &p)
                .ssl(cert.client())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains("server_hostname"), "{err}");
            // The TLS options without ssl, on both factories.
            let err = create_unix_connection(Sink::default, &p)
                .server_hostname("localhost")
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            let err = create_unix_server(Echo::default, sock_path("nossl"))
                .ssl_shutdown_timeout(Duration::from_secs(1))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            // Another name than the certificate's: the handshake fails, nothing stays open.
            let err = create_unix_connection(Sink::default, &p)
                .ssl(cert.client())
                .server_hostname("wrong.example")
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
            close_when_idle(&server).await;
        })
        .unwrap();
    });
    assert!(!path.exists());
}

#[test]
fn plaintext_unix_connection_is_unchanged() {
    let path = sock_path("plain");
    let p = path.clone();
    no_fd_leak(|| {
        tower_task::run(async move {
            let server = create_unix_server(Echo::default, &p).await.unwrap();
            let (t, sink) = create_unix_connection(Sink::default, &p).await.unwrap();
            assert!(tls_info(&t).is_none());
            t.write(b"plain").unwrap();
            until(|| sink.borrow().data.len() == 5).await;
            t.close();
            close_when_idle(&server).await;
        })
        .unwrap();
    });
}
