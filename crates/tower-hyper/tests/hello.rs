//! The example's server (`examples/hello.rs`) driven by hyper's client on the tower (no
//! external tool) and by `curl` (HTTP/1.1 and HTTP/2 with prior knowledge), on one loop and on
//! the multi-thread runtime; fd counts before and after.

mod util;

use std::process::Command;

use hyper::Version;
use tower_loop::EventLoop;
use util::{Server, get, hello::BODY, no_fd_leak};

#[test]
fn hyper_client_http1_against_the_example_on_one_loop() {
    no_fd_leak(|| {
        let server = Server::start(None);
        let lp = EventLoop::new().unwrap();
        let got = lp.run_until_complete(get(server.addr, false, 3)).unwrap();
        assert_eq!(got, vec![(Version::HTTP_11, BODY.to_owned()); 3]);
        lp.close().unwrap();
        server.stop();
    });
}

#[test]
fn hyper_client_h2c_against_the_example_on_one_loop() {
    no_fd_leak(|| {
        let server = Server::start(None);
        let lp = EventLoop::new().unwrap();
        let got = lp.run_until_complete(get(server.addr, true, 3)).unwrap();
        assert_eq!(got, vec![(Version::HTTP_2, BODY.to_owned()); 3]);
        lp.close().unwrap();
        server.stop();
    });
}

/// Server and clients on multi-thread runtimes: `Send` tasks all the way (the client connects
/// with `Async::<TcpStream>::connect` from a task a worker may move).
#[test]
fn hyper_clients_against_the_example_on_the_multi_thread_runtime() {
    no_fd_leak(|| {
        let server = Server::start(Some(2));
        let addr = server.addr;
        let rt = tower_task::runtime::RuntimeBuilder::new()
            .worker_threads(2)
            .build()
            .unwrap();
        let results = rt
            .block_on(async {
                let tasks: Vec<_> = (0..8)
                    .map(|i| tower_task::spawn(get(addr, i % 2 == 1, 4)))
                    .collect();
                let mut all = Vec::new();
                for t in tasks {
                    all.push(t.await.unwrap());
                }
                all
            })
            .unwrap();
        for (i, got) in results.into_iter().enumerate() {
            let v = if i % 2 == 1 {
                Version::HTTP_2
            } else {
                Version::HTTP_11
            };
            assert_eq!(got, vec![(v, BODY.to_owned()); 4]);
        }
        drop(rt);
        server.stop();
    });
}

/// `curl`, or why it cannot run: it is installed by `cargo xtask tools` (apt-get, as root).
fn curl() -> Option<Command> {
    match Command::new("curl").arg("--version").output() {
        Ok(out) if out.status.success() => Some(Command::new("curl")),
        _ => {
            eprintln!(
                "SKIPPED: curl is not installed, so this test cannot run; \
                 `cargo xtask tools` installs it (apt-get install -y curl, as root)"
            );
            None
        }
    }
}

/// Runs curl against `url` with `args`; returns the body and the HTTP version curl used.
fn curl_get(args: &[&str], url: &str) -> Option<(String, String)> {
    let mut cmd = curl()?;
    let out = cmd
        .args(["--silent", "--show-error", "--max-time", "10"])
        .args(args)
        .args(["--write-out", "\n%{http_version}"])
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, version) = text.rsplit_once('\n').unwrap();
    Some((body.to_owned(), version.to_owned()))
}

#[test]
fn curl_http1_against_the_example() {
    no_fd_leak(|| {
        let server = Server::start(None);
        let url = format!("http://{}/", server.addr);
        if let Some((body, version)) = curl_get(&["--http1.1"], &url) {
            assert_eq!(body, BODY);
            assert_eq!(version, "1.1");
        }
        server.stop();
    });
}

#[test]
fn curl_http2_prior_knowledge_against_the_example() {
    no_fd_leak(|| {
        let server = Server::start(Some(2));
        let url = format!("http://{}/", server.addr);
        if let Some((body, version)) = curl_get(&["--http2-prior-knowledge"], &url) {
            assert_eq!(body, BODY);
            assert_eq!(version, "2");
        }
        server.stop();
    });
}
