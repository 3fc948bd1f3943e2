//! TLS on tier 8 (asyncio's sslproto): echo with both ends on the tower, a handshake that
//! fails (wrong name), the handshake timeout on virtual time, start_tls mid-connection on a
//! transport paused for writing, and the app-side transport's flow control. Every test checks
//! the fd count before and after.
#![cfg(feature = "tls")]

mod connect_util;
mod tls_util;

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use connect_util::{no_fd_leak, until};
use tls_util::{Echo, TestCert, listener, serve_one};
use tower_protocol::tls::rustls;
use tower_protocol::tls::{TlsConfig, TlsOptions, start_tls, tls_info};
use tower_protocol::{Buffered, BufferedProtocol, Protocol, create_connection};
use tower_task::spawn_local;
use tower_transport::{BaseTransport, ReadTransport, StreamTransport, WriteTransport, extra};

/// Collects what it receives; records its events.
#[derive(Debug, Default)]
struct Sink {
    transport: Option<StreamTransport>,
    data: Vec<u8>,
    eof: bool,
    paused: usize,
    resumed: usize,
    lost: Option<Option<io::ErrorKind>>,
}

impl Protocol for Sink {
    fn connection_made(&mut self, t: StreamTransport) {
        self.transport = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.data.extend_from_slice(data);
    }
    fn eof_received(&mut self) -> bool {
        self.eof = true;
        false
    }
    fn pause_writing(&mut self) {
        self.paused += 1;
    }
    fn resume_writing(&mut self) {
        self.resumed += 1;
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.lost = Some(exc.map(|e| e.kind()));
        self.transport = None;
    }
}

/// A pattern of `n` bytes.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[test]
fn echo_both_ends_on_the_tower_with_close_notify() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        let (l, port) = listener();
        tower_task::run(async move {
            let server = spawn_local({
                let config = cert.server();
                async move { serve_one::<Echo>(&l, config, TlsOptions::default()).await }
            });
            let (t, client) = create_connection(Sink::default, "127.0.0.1", port)
                .ssl(cert.client())
                .server_hostname("localhost")
                .await
                .unwrap();
            let server = server.await.unwrap();
            // What the handshake agreed on, and the socket's details through the TLS transport.
            let info = tls_info(&t).unwrap();
            assert!(info.handshake_done && !info.server_side);
            assert_eq!(
                info.protocol_version,
                Some(rustls::ProtocolVersion::TLSv1_3)
            );
            assert_eq!(info.peer_certificates.unwrap()[0], cert.der);
            assert!(t.get_extra_info(extra::Peername).is_some());
            assert!(!t.can_write_eof());
            // TLS 1.3: the client is done first; the server once the client's Finished arrives.
            until(|| server.borrow().made == 1).await;

            // 1 MiB in pieces, echoed back through both TLS layers.
            let data = pattern(1 << 20);
            for piece in data.chunks(10_000) {
                t.write(piece).unwrap();
            }
            until(|| client.borrow().data.len() == data.len()).await;
            assert_eq!(client.borrow().data, data);
            assert_eq!(server.borrow().received, data.len());

            // close: close_notify both ways, then both connection_lost(None).
            t.close();
            assert!(t.is_closing());
            until(|| client.borrow().lost.is_some() && server.borrow().lost.is_some()).await;
            assert_eq!(client.borrow().lost, Some(None));
            assert_eq!(server.borrow().lost, Some(None));
            assert!(
                server.borrow().eof,
                "the server saw the client's close_notify"
            );
        })
        .unwrap();
    });
}

/// A buffered protocol: plaintext goes straight into its buffer.
struct BufSink {
    buf: Vec<u8>,
    got: Vec<u8>,
    lost: bool,
}

impl Default for BufSink {
    fn default() -> Self {
        BufSink {
            buf: vec![0; 1000],
            got: Vec::new(),
            lost: false,
        }
    }
}

impl BufferedProtocol for BufSink {
    fn get_buffer(&mut self, _size_hint: usize) -> &mut [u8] {
        &mut self.buf
    }
    fn buffer_updated(&mut self, nbytes: usize) {
        self.got.extend_from_slice(&self.buf[..nbytes]);
    }
    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        self.lost = true;
    }
}

#[test]
fn buffered_protocol_gets_plaintext_in_its_buffer_and_abort_loses_the_connection() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        let (l, port) = listener();
        tower_task::run(async move {
            let server = spawn_local({
                let config = cert.server();
                async move { serve_one::<Echo>(&l, config, TlsOptions::default()).await }
            });
            // The default server_hostname is the host: 127.0.0.1, in the certificate.
            let (t, client) = create_connection(|| Buffered(BufSink::default()), "127.0.0.1", port)
                .ssl(cert.client())
                .await
                .unwrap();
            let server = server.await.unwrap();
            let data = pattern(100_000);
            t.writelines(&[&data[..50_000], &data[50_000..]]).unwrap();
            until(|| client.borrow().got.len() == data.len()).await;
            assert_eq!(client.borrow().got, data);
            t.abort();
            until(|| client.borrow().lost && server.borrow().lost.is_some()).await;
        })
        .unwrap();
    });
}

#[test]
fn wrong_name_fails_the_handshake_without_leaking() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        let (l, port) = listener();
        tower_task::run(async move {
            let server = spawn_local({
                let config = cert.server();
                async move { serve_one::<Echo>(&l, config, TlsOptions::default()).await }
            });
            let err = create_connection(Sink::default, "127.0.0.1", port)
                .ssl(cert.client())
                .server_hostname("example.org")
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            let inner = err
                .get_ref()
                .unwrap()
                .downcast_ref::<rustls::Error>()
                .unwrap();
            assert!(
                matches!(inner, rustls::Error::InvalidCertificate(_)),
                "{inner:?}"
            );
            // The server's user protocol never saw a connection.
            let server = server.await.unwrap();
            until(|| true).await;
            tower_task::sleep(Duration::from_millis(20)).await;
            assert_eq!(server.borrow().made, 0);
            assert_eq!(server.borrow().lost, None);
        })
        .unwrap();
    });
}

#[test]
fn untrusted_server_fails_and_ssl_options_need_ssl() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        let other = TestCert::new();
        let (l, port) = listener();
        tower_task::run(async move {
            let _server = spawn_local({
                let config = cert.server();
                async move { serve_one::<Echo>(&l, config, TlsOptions::default()).await }
            });
            let err = create_connection(Sink::default, "127.0.0.1", port)
                .ssl(other.client())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            let err = create_connection(Sink::default, "127.0.0.1", port)
                .server_hostname("localhost")
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            let err = create_connection(Sink::default, "127.0.0.1", port)
                .ssl_handshake_timeout(Duration::from_secs(1))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        })
        .unwrap();
    });
}

// asyncio's SSLProtocol refuses a timeout that is not positive (ValueError): one check
// (TlsOptions::check) for the client and server factories and start_tls, before any I/O.
#[test]
fn zero_tls_timeouts_are_refused() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        let (l, port) = listener();
        tower_task::run(async move {
            let err = create_connection(Sink::default, "127.0.0.1", port)
                .ssl(cert.client())
                .server_hostname("localhost")
                .ssl_handshake_timeout(Duration::ZERO)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
            assert!(err.to_string().contains("ssl_handshake_timeout"), "{err}");
            let err = tower_protocol::create_server(Sink::default, "127.0.0.1", 0)
                .ssl(cert.server())
                .ssl_shutdown_timeout(Duration::ZERO)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
            assert!(err.to_string().contains("ssl_shutdown_timeout"), "{err}");
            let zero = TlsOptions {
                shutdown_timeout: Duration::ZERO,
                ..TlsOptions::default()
            };
            let lp = tower_loop::get_running_loop().unwrap();
            let config = TlsConfig::client(cert.client(), "localhost").unwrap();
            let app = Rc::new(RefCell::new(Sink::default()));
            let err = tower_protocol::tls::TlsProtocol::new(&lp, app, &config, zero).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        })
        .unwrap();
        drop(l);
    });
}

#[test]
fn handshake_times_out_against_a_silent_peer_on_virtual_time() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        // Accepted by the kernel (backlog), never answered.
        let (l, port) = listener();
        let lp = tower_loop::EventLoop::builder()
            .paused_clock()
            .build()
            .unwrap();
        let l2 = lp.clone();
        let (err, waited) = lp
            .run_until_complete(async move {
                let t0 = l2.time();
                let err = create_connection(Sink::default, "127.0.0.1", port)
                    .ssl(cert.client())
                    .server_hostname("localhost")
                    .ssl_handshake_timeout(Duration::from_secs(5))
                    .await
                    .unwrap_err();
                (err, l2.time() - t0)
            })
            .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionAborted, "{err}");
        assert!(
            err.to_string()
                .contains("SSL handshake is taking longer than 5.0 seconds")
        );
        assert!(waited >= Duration::from_secs(5), "{waited:?}");
        lp.close().unwrap();
        drop(l);
    });
}

#[test]
fn default_handshake_timeout_is_asyncios() {
    let o = TlsOptions::default();
    assert_eq!(o.handshake_timeout, Duration::from_secs(60));
    assert_eq!(o.shutdown_timeout, Duration::from_secs(30));
}

#[test]
fn start_tls_mid_connection_on_a_transport_paused_for_writing() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        let (l, port) = listener();
        tower_task::run(async move {
            // B: accepts, reads plaintext with pause control, then upgrades as the TLS client.
            let accept = spawn_local(async move {
                let lp = tower_loop::get_running_loop().unwrap();
                let sock = lp.sock_accept(&l).await.unwrap();
                tower_protocol::connect_accepted_socket(Sink::default, sock)
                    .await
                    .unwrap()
            });
            // A: the connecting end, which becomes the TLS server.
            let (a, a_plain) = create_connection(Sink::default, "127.0.0.1", port)
                .await
                .unwrap();
            let (b, b_plain) = accept.await.unwrap();
            b.pause_reading();
            a.set_write_buffer_limits(Some(1000), None).unwrap();
            let plain = pattern(4 << 20);
            a.write(&plain).unwrap();
            assert!(a.get_write_buffer_size() > 0);
            assert_eq!(a_plain.borrow().paused, 1, "A is paused for writing");

            // A upgrades now, paused: its handshake must wait for the plaintext to drain.
            let a_app = Rc::new(RefCell::new(Echo::default()));
            let a_tls = spawn_local({
                let a = a.clone();
                let app = a_app.clone();
                let config = TlsConfig::server(cert.server());
                async move { start_tls(&a, app, config).await }
            });
            tower_task::sleep(Duration::from_millis(10)).await;
            b.resume_reading();
            until(|| b_plain.borrow().data.len() == plain.len()).await;
            assert_eq!(
                b_plain.borrow().data,
                plain,
                "the plaintext came first, whole"
            );

            // B upgrades as the client.
            let b_app = Rc::new(RefCell::new(Sink::default()));
            let config = TlsConfig::client(cert.client(), "localhost").unwrap();
            let b_tls = start_tls(&b, b_app.clone(), config)
                .ssl_handshake_timeout(Duration::from_secs(10))
                .await
                .unwrap();
            let a_tls = a_tls.await.unwrap().unwrap();
            assert!(tls_info(&a_tls).unwrap().server_side);
            assert!(
                tls_info(&b).is_none(),
                "the plaintext transport is not a TLS one"
            );
            assert_eq!(a.get_write_buffer_limits(), (250, 1000), "limits restored");

            b_tls.write(b"after the upgrade").unwrap();
            until(|| b_app.borrow().data == b"after the upgrade").await;
            assert_eq!(a_app.borrow().made, 1);
            // The old protocols got nothing more.
            assert_eq!(b_plain.borrow().data.len(), plain.len());
            assert!(a_plain.borrow().data.is_empty());

            b_tls.close();
            until(|| b_app.borrow().lost.is_some() && a_app.borrow().lost.is_some()).await;
            assert_eq!(b_app.borrow().lost, Some(None));
            assert!(a.is_closing() && b.is_closing());
        })
        .unwrap();
    });
}

#[test]
fn app_transport_flow_control_and_reading_pause() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        let (l, port) = listener();
        tower_task::run(async move {
            let server = spawn_local({
                let config = cert.server();
                async move { serve_one::<Sink>(&l, config, TlsOptions::default()).await }
            });
            let (t, client) = create_connection(Sink::default, "127.0.0.1", port)
                .ssl(cert.client())
                .server_hostname("localhost")
                .await
                .unwrap();
            let server = server.await.unwrap();
            until(|| server.borrow().transport.is_some()).await;
            let st = server.borrow().transport.clone().unwrap();

            // asyncio's TLS marks: 512 KiB, low = high / 4; high < low refused.
            assert_eq!(t.get_write_buffer_limits(), (128 * 1024, 512 * 1024));
            assert!(t.set_write_buffer_limits(Some(1), Some(2)).is_err());
            t.set_write_buffer_limits(Some(64 * 1024), None).unwrap();

            // The server stops reading (forwarded to its socket): the client's socket buffers
            // fill, its transport pauses the TLS layer, and the app is paused at the mark.
            assert!(st.is_reading());
            st.pause_reading();
            assert!(!st.is_reading());
            let chunk = pattern(64 * 1024);
            let mut sent = 0;
            for _ in 0..200 {
                t.write(&chunk).unwrap();
                sent += chunk.len();
                if client.borrow().paused > 0 {
                    break;
                }
                tower_task::sleep(Duration::from_millis(1)).await;
            }
            assert_eq!(client.borrow().paused, 1, "the app was paused");
            assert!(t.get_write_buffer_size() >= 64 * 1024);
            assert_eq!(
                server.borrow().data.len(),
                0,
                "nothing delivered while paused"
            );

            // Reading again: everything arrives, the client is resumed.
            st.resume_reading();
            until(|| server.borrow().data.len() == sent).await;
            until(|| client.borrow().resumed == 1).await;
            assert_eq!(t.get_write_buffer_size(), 0);

            // The client closes while the server still reads: close_notify reaches the server
            // app as eof_received, then both are lost cleanly.
            t.close();
            t.write(b"ignored after close").unwrap();
            until(|| client.borrow().lost.is_some() && server.borrow().lost.is_some()).await;
            assert!(server.borrow().eof);
            assert_eq!(server.borrow().data.len(), sent);
        })
        .unwrap();
    });
}

/// Counts the servers' protocols made and lost.
#[derive(Debug, Default)]
struct Counts {
    made: usize,
    lost: usize,
}

thread_local! {
    static SERVED: RefCell<Counts> = RefCell::default();
}

/// A server-side echo that counts itself.
#[derive(Default)]
struct CountedEcho(Option<StreamTransport>);

impl Protocol for CountedEcho {
    fn connection_made(&mut self, t: StreamTransport) {
        SERVED.with(|c| c.borrow_mut().made += 1);
        self.0 = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.0.as_ref().unwrap().write(data).unwrap();
    }
    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        SERVED.with(|c| c.borrow_mut().lost += 1);
        self.0 = None;
    }
}

#[test]
fn create_server_with_ssl_serves_tls_and_drops_failed_handshakes() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        tower_task::run(async move {
            let server = tower_protocol::create_server(CountedEcho::default, "127.0.0.1", 0)
                .ssl(cert.server())
                .ssl_handshake_timeout(Duration::from_secs(5))
                .await
                .unwrap();
            let port = match &server.sockets()[0].address {
                extra::SocketAddress::Inet(a) => a.port(),
                other => panic!("{other:?}"),
            };
            // Two clients at once, each echoed.
            let mut clients = Vec::new();
            for i in 0..2u8 {
                let (t, p) = create_connection(Sink::default, "localhost", port)
                    .ssl(cert.client())
                    .family(tower_protocol::Family::V4)
                    .await
                    .unwrap();
                t.write(&[i; 1000]).unwrap();
                clients.push((t, p));
            }
            for (i, (_, p)) in clients.iter().enumerate() {
                until(|| p.borrow().data.len() == 1000).await;
                assert_eq!(p.borrow().data, vec![i as u8; 1000]);
            }
            // A client that rejects the server: the server's protocol is never made.
            let err = create_connection(Sink::default, "127.0.0.1", port)
                .ssl(TestCert::new().client())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            for (t, p) in &clients {
                t.close();
                until(|| p.borrow().lost.is_some()).await;
            }
            until(|| server.client_count() == 0).await;
            SERVED.with(|c| {
                let c = c.borrow();
                assert_eq!((c.made, c.lost), (2, 2));
            });
            server.close();
            server.wait_closed().await;
            // Timeouts without ssl are refused, as asyncio.
            let err = tower_protocol::create_server(CountedEcho::default, "127.0.0.1", 0)
                .ssl_handshake_timeout(Duration::from_secs(5))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        })
        .unwrap();
    });
}

#[test]
fn shutdown_times_out_when_the_peer_never_answers_close_notify_on_virtual_time() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        let (l, port) = listener();
        let lp = tower_loop::EventLoop::builder()
            .paused_clock()
            .build()
            .unwrap();
        let l2 = lp.clone();
        lp.run_until_complete(async move {
            let server = spawn_local({
                let config = cert.server();
                async move { serve_one::<Sink>(&l, config, TlsOptions::default()).await }
            });
            let (t, client) = create_connection(Sink::default, "127.0.0.1", port)
                .ssl(cert.client())
                .server_hostname("localhost")
                .ssl_shutdown_timeout(Duration::from_secs(5))
                .await
                .unwrap();
            let server = server.await.unwrap();
            until(|| server.borrow().transport.is_some()).await;
            // The server reads no more: our close_notify is never answered.
            let st = server.borrow().transport.clone().unwrap();
            st.pause_reading();
            let t0 = l2.time();
            t.close();
            until(|| client.borrow().lost.is_some()).await;
            assert_eq!(client.borrow().lost, Some(Some(io::ErrorKind::TimedOut)));
            let waited = l2.time() - t0;
            assert!(
                waited >= Duration::from_secs(5) && waited < Duration::from_secs(6),
                "{waited:?}"
            );
            st.abort();
            until(|| server.borrow().lost.is_some()).await;
        })
        .unwrap();
        lp.close().unwrap();
    });
}

/// Pauses reading from inside `data_received` after each chunk; the test resumes it.
#[derive(Debug, Default)]
struct Stutter {
    transport: Option<StreamTransport>,
    data: Vec<u8>,
    pauses: usize,
    lost: bool,
}

impl Protocol for Stutter {
    fn connection_made(&mut self, t: StreamTransport) {
        self.transport = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.data.extend_from_slice(data);
        let t = self.transport.as_ref().unwrap();
        assert!(t.is_reading(), "no data while paused");
        t.pause_reading();
        self.pauses += 1;
    }
    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        self.lost = true;
        self.transport = None;
    }
}

#[test]
fn pause_reading_inside_data_received_holds_plaintext_and_ciphertext_until_resumed() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        let (l, port) = listener();
        tower_task::run(async move {
            let server = spawn_local({
                let config = cert.server();
                async move { serve_one::<Stutter>(&l, config, TlsOptions::default()).await }
            });
            let (t, client) = create_connection(Sink::default, "127.0.0.1", port)
                .ssl(cert.client())
                .server_hostname("localhost")
                .await
                .unwrap();
            let server = server.await.unwrap();
            until(|| server.borrow().transport.is_some()).await;
            let data = pattern(2 << 20);
            t.write(&data).unwrap();
            // Resume each time the protocol paused itself, until everything arrived, in order.
            while server.borrow().data.len() < data.len() {
                let st = server.borrow().transport.clone().unwrap();
                if !st.is_reading() {
                    st.resume_reading();
                }
                tower_task::sleep(Duration::from_millis(1)).await;
            }
            assert!(server.borrow().data == data, "all of it, in order");
            assert!(server.borrow().pauses > 1);
            // The peer's close arrives while paused: it waits for resume_reading too.
            let st = server.borrow().transport.clone().unwrap();
            assert!(!st.is_reading());
            t.close();
            tower_task::sleep(Duration::from_millis(20)).await;
            assert!(!server.borrow().lost && client.borrow().lost.is_none());
            st.resume_reading();
            until(|| server.borrow().lost && client.borrow().lost.is_some()).await;
            assert_eq!(client.borrow().lost, Some(None));
        })
        .unwrap();
    });
}

#[test]
fn tls12_only_client_talks_to_the_server() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        let (l, port) = listener();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.der.clone()).unwrap();
        let tls12 = std::sync::Arc::new(
            rustls::ClientConfig::builder_with_provider(tower_protocol::tls::provider())
                .with_protocol_versions(&[&rustls::version::TLS12])
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        );
        tower_task::run(async move {
            let server = spawn_local({
                let config = cert.server();
                async move { serve_one::<Echo>(&l, config, TlsOptions::default()).await }
            });
            let (t, client) = create_connection(Sink::default, "127.0.0.1", port)
                .ssl(tls12)
                .server_hostname("localhost")
                .await
                .unwrap();
            let server = server.await.unwrap();
            assert_eq!(
                tls_info(&t).unwrap().protocol_version,
                Some(rustls::ProtocolVersion::TLSv1_2)
            );
            t.write(b"twelve").unwrap();
            until(|| client.borrow().data == b"twelve").await;
            t.close();
            until(|| client.borrow().lost.is_some() && server.borrow().lost.is_some()).await;
        })
        .unwrap();
    });
}

#[test]
fn pause_writing_raised_while_the_protocol_is_borrowed_is_delivered_after() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        let (l, port) = listener();
        tower_task::run(async move {
            let server = spawn_local({
                let config = cert.server();
                async move { serve_one::<Sink>(&l, config, TlsOptions::default()).await }
            });
            let (t, client) = create_connection(Sink::default, "127.0.0.1", port)
                .ssl(cert.client())
                .server_hostname("localhost")
                .await
                .unwrap();
            let server = server.await.unwrap();
            until(|| server.borrow().transport.is_some()).await;
            server.borrow().transport.as_ref().unwrap().pause_reading();
            t.set_write_buffer_limits(Some(usize::MAX), None).unwrap();
            // Fill the socket until the TLS layer keeps records back.
            let chunk = pattern(64 * 1024);
            let mut sent = 0;
            while t.get_write_buffer_size() == 0 {
                t.write(&chunk).unwrap();
                sent += chunk.len();
                tower_task::sleep(Duration::from_millis(1)).await;
            }
            let size = t.get_write_buffer_size();
            t.set_write_buffer_limits(Some(size + 1000), Some(0))
                .unwrap();
            {
                // The user holds its protocol while writing past the mark.
                let held = client.borrow_mut();
                t.write(&[7; 2000]).unwrap();
                sent += 2000;
                assert_eq!(held.paused, 0, "not delivered into a borrowed protocol");
            }
            tower_task::sleep(Duration::from_millis(1)).await;
            assert_eq!(client.borrow().paused, 1, "delivered once it was free");
            server.borrow().transport.as_ref().unwrap().resume_reading();
            until(|| server.borrow().data.len() == sent).await;
            until(|| client.borrow().resumed == 1).await;
            t.close();
            until(|| client.borrow().lost.is_some() && server.borrow().lost.is_some()).await;
        })
        .unwrap();
    });
}

#[test]
fn closing_while_reading_is_paused_still_reads_the_peers_close_notify() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        let (l, port) = listener();
        tower_task::run(async move {
            let server = spawn_local({
                let config = cert.server();
                async move { serve_one::<Sink>(&l, config, TlsOptions::default()).await }
            });
            let (t, client) = create_connection(Echo::default, "127.0.0.1", port)
                .ssl(cert.client())
                .server_hostname("localhost")
                .await
                .unwrap();
            let server = server.await.unwrap();
            until(|| server.borrow().transport.is_some()).await;
            let st = server.borrow().transport.clone().unwrap();
            // The server writes (the client echoes it back), stops reading, then closes: the
            // echo and the client's close_notify must still be read, and the echo dropped.
            st.write(&pattern(100_000)).unwrap();
            st.pause_reading();
            tower_task::sleep(Duration::from_millis(20)).await;
            st.close();
            until(|| server.borrow().lost.is_some() && client.borrow().lost.is_some()).await;
            assert_eq!(
                server.borrow().lost,
                Some(None),
                "clean: no shutdown timeout"
            );
            assert!(server.borrow().data.is_empty());
            assert!(client.borrow().eof);
            drop(t);
        })
        .unwrap();
    });
}

#[test]
fn writes_before_the_handshake_is_done_are_sent_after_it() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        let (l, port) = listener();
        tower_task::run(async move {
            let config = TlsConfig::server(cert.server());
            let app = Rc::new(RefCell::new(Sink::default()));
            let server = spawn_local({
                let app = app.clone();
                async move {
                    let lp = tower_loop::get_running_loop().unwrap();
                    let sock = lp.sock_accept(&l).await.unwrap();
                    let (_t, tls) = tower_protocol::connect_accepted_socket(
                        move || {
                            tower_protocol::tls::TlsProtocol::new(
                                &lp,
                                app,
                                &config,
                                TlsOptions::default(),
                            )
                            .unwrap()
                        },
                        sock,
                    )
                    .await
                    .unwrap();
                    // The handshake has not run yet: rustls keeps this until it has.
                    let early = tls.borrow().app_transport();
                    early.write(b"early words").unwrap();
                    early
                }
            });
            let (t, client) = create_connection(Sink::default, "127.0.0.1", port)
                .ssl(cert.client())
                .server_hostname("localhost")
                .await
                .unwrap();
            let _early = server.await.unwrap();
            until(|| client.borrow().data == b"early words").await;
            until(|| app.borrow().transport.is_some()).await;
            t.close();
            until(|| client.borrow().lost.is_some() && app.borrow().lost.is_some()).await;
        })
        .unwrap();
    });
}

#[test]
fn start_tls_on_both_ends_of_a_unix_socketpair() {
    no_fd_leak(|| {
        let cert = TestCert::new();
        tower_task::run(async move {
            let lp = tower_loop::get_running_loop().unwrap();
            let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
            let pa = Rc::new(RefCell::new(Sink::default()));
            let pb = Rc::new(RefCell::new(Sink::default()));
            let ta: StreamTransport = tower_transport::SocketTransport::new(&lp, a, pa.clone())
                .unwrap()
                .into();
            let tb: StreamTransport = tower_transport::SocketTransport::new(&lp, b, pb.clone())
                .unwrap()
                .into();
            let server_app = Rc::new(RefCell::new(Echo::default()));
            let server = spawn_local({
                let (ta, app) = (ta.clone(), server_app.clone());
                let config = TlsConfig::server(cert.server());
                async move { start_tls(&ta, app, config).await }
            });
            let client_app = Rc::new(RefCell::new(Sink::default()));
            let config = TlsConfig::client(cert.client(), "localhost").unwrap();
            let tls = start_tls(&tb, client_app.clone(), config).await.unwrap();
            let _server_tls = server.await.unwrap().unwrap();
            tls.write(b"over a socketpair").unwrap();
            until(|| client_app.borrow().data == b"over a socketpair").await;
            assert_eq!(
                tls.get_extra_info(extra::Peername),
                Some(extra::SocketAddress::UnixUnnamed)
            );
            tls.close();
            until(|| client_app.borrow().lost.is_some() && server_app.borrow().lost.is_some())
                .await;
            assert!(pa.borrow().data.is_empty() && pb.borrow().data.is_empty());
        })
        .unwrap();
    });
}
