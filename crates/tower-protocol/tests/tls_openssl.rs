//! The tower's TLS against OpenSSL's: the tower's client against `openssl s_server`, and the
//! tower's server against `openssl s_client`. `openssl` comes from the distribution: when it
//! is missing, the test installs it with `apt-get install -y openssl` if it runs as root (as
//! CI does), and otherwise skips with a message saying how. Every test checks the fd count and
//! that no child is left.
#![cfg(feature = "tls")]

mod connect_util;
mod tls_util;

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use connect_util::{close_when_idle, no_fd_leak, until};
use tls_util::TestCert;
use tower_protocol::{Protocol, create_connection, create_server};
use tower_transport::{BaseTransport, StreamTransport, WriteTransport, extra};

/// Whether `openssl` runs (installing it first when missing and root).
fn ensure_openssl() -> bool {
    let have = || {
        Command::new("openssl")
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if have() {
        return true;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if root {
        let apt = |args: &[&str]| {
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdout(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        };
        if !apt(&["install", "-y", "openssl"]) {
            let _ = apt(&["update"]);
            apt(&["install", "-y", "openssl"]);
        }
    }
    if have() {
        return true;
    }
    eprintln!(
        "SKIPPED: openssl is not installed and could not be installed here: install it with \
         `sudo apt-get install -y openssl` (Debian/Ubuntu) and run the test again"
    );
    false
}

/// The workspace's child check, one file with tower-loop's tests.
#[path = "../../tower-loop/tests/sock_util/child_leak.rs"]
mod child_leak;
use child_leak::assert_no_child;

/// A temporary directory with the certificate and key as PEM files; removed on drop.
struct PemFiles(PathBuf);

impl PemFiles {
    fn new(cert: &TestCert, tag: &str) -> PemFiles {
        let dir = std::env::temp_dir().join(format!("tower-tls-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cert.pem"), &cert.cert_pem).unwrap();
        std::fs::write(dir.join("key.pem"), &cert.key_pem).unwrap();
        PemFiles(dir)
    }
    fn cert(&self) -> PathBuf {
        self.0.join("cert.pem")
    }
    fn key(&self) -> PathBuf {
        self.0.join("key.pem")
    }
}

impl Drop for PemFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Collects what it receives.
#[derive(Debug, Default)]
struct Sink {
    data: Vec<u8>,
    lost: bool,
}

impl Protocol for Sink {
    fn data_received(&mut self, data: &[u8]) {
        self.data.extend_from_slice(data);
    }
    fn connection_lost(&mut self, _exc: Option<std::io::Error>) {
        self.lost = true;
    }
}

#[test]
fn tower_client_against_openssl_s_server() {
    if !ensure_openssl() {
        return;
    }
    no_fd_leak(|| {
        let cert = TestCert::new();
        let pem = PemFiles::new(&cert, "s_server");
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut server = Command::new("openssl")
            .args(["s_server", "-quiet", "-rev", "-naccept", "1", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(pem.cert())
            .arg("-key")
            .arg(pem.key())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let client_cfg = cert.client();
        let result = tower_task::run(async move {
            // s_server needs a moment to listen.
            let deadline = Instant::now() + Duration::from_secs(10);
            let (t, p) = loop {
                match create_connection(Sink::default, "127.0.0.1", port)
                    .ssl(client_cfg.clone())
                    .server_hostname("localhost")
                    .await
                {
                    Ok(c) => break c,
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                        assert!(Instant::now() < deadline, "s_server did not listen");
                        tower_task::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => panic!("{e}"),
                }
            };
            t.write(b"hello tower\n").unwrap();
            until(|| String::from_utf8_lossy(&p.borrow().data).contains("rewot olleh")).await;
            t.close();
            until(|| p.borrow().lost).await;
        });
        // -naccept 1: s_server exits after the connection; kill it if it has not.
        let deadline = Instant::now() + Duration::from_secs(5);
        while server.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = server.kill();
        server.wait().unwrap();
        result.unwrap();
    });
    assert_no_child();
}

/// Echoes one line, then closes (close_notify).
#[derive(Default)]
struct EchoLine(Option<StreamTransport>);

impl Protocol for EchoLine {
    fn connection_made(&mut self, t: StreamTransport) {
        self.0 = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        let t = self.0.as_ref().unwrap();
        t.write(data).unwrap();
        if data.ends_with(b"\n") {
            t.close();
        }
    }
    fn connection_lost(&mut self, _exc: Option<std::io::Error>) {
        self.0 = None;
    }
}

#[test]
fn tower_server_against_openssl_s_client() {
    if !ensure_openssl() {
        return;
    }
    no_fd_leak(|| {
        let cert = TestCert::new();
        let pem = PemFiles::new(&cert, "s_client");
        let server_cfg = cert.server();
        let cafile = pem.cert();
        tower_task::run(async move {
            let server = create_server(EchoLine::default, "127.0.0.1", 0)
                .ssl(server_cfg)
                .await
                .unwrap();
            let port = match &server.sockets()[0].address {
                extra::SocketAddress::Inet(a) => a.port(),
                other => panic!("{other:?}"),
            };
            let client = std::thread::spawn(move || {
                let mut child = Command::new("openssl")
                    .args(["s_client", "-quiet", "-verify_return_error", "-ign_eof"])
                    .arg("-connect")
                    .arg(format!("127.0.0.1:{port}"))
                    .args(["-servername", "localhost", "-verify_hostname", "localhost"])
                    .arg("-CAfile")
                    .arg(&cafile)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(b"ping from openssl\n")
                    .unwrap();
                child.wait_with_output().unwrap()
            });
            until(|| client.is_finished()).await;
            let out = client.join().unwrap();
            let text = format!(
                "s_client stdout:\n{}\ns_client stderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.status.success(), "{text}");
            assert_eq!(out.stdout, b"ping from openssl\n", "{text}");
            close_when_idle(&server).await;
        })
        .unwrap();
    });
    assert_no_child();
}
