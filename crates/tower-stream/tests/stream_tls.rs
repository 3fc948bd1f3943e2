//! TLS on streams (feature `tls`): `StreamWriter::start_tls` mid-connection on both sides
//! (asyncio 3.11's test_streams `test_start_tls` in our own code), a STARTTLS exchange where
//! plaintext already in the reader's buffer is read before the TLS data, a failed handshake
//! (wrong name) leaving the pair with the error, the misuse errors, and `ssl` on
//! `open_connection`/`start_server` and on the Unix helpers. Certificates are made at test time
//! (rcgen); every test checks the fd count before and after.
#![cfg(feature = "tls")]

mod util;

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::sync::Arc;

use tower_protocol::tls::pki_types::{CertificateDer, PrivateKeyDer};
use tower_protocol::tls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use tower_protocol::tls::{client_config, server_config, tls_info};
use tower_stream::{open_connection, open_unix_connection, start_server, start_unix_server};
use tower_transport::{ReadTransport, extra};
use util::{echo_lines, port_of, run, sock_path};

/// A self-signed certificate for `localhost`: the server's config and a client's trusting it.
fn configs() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let der: CertificateDer<'static> = c.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(c.key_pair.serialize_der().into());
    let server = server_config(vec![der.clone()], key).unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(der).unwrap();
    (server, client_config(roots))
}

/// What a server's client task saw.
type Log = Rc<RefCell<Vec<String>>>;

// test_streams' test_start_tls: a plaintext line each way, then start_tls on the client's
// writer and on the server's (the server end, from start_server), then echo over TLS.
#[test]
fn start_tls_on_both_writers_then_echo_over_tls() {
    let (server_cfg, client_cfg) = configs();
    run(async move {
        let log: Log = Rc::default();
        let server_log = log.clone();
        let server = start_server(
            move |reader, mut writer| {
                let cfg = server_cfg.clone();
                let log = server_log.clone();
                async move {
                    assert_eq!(reader.readline().await?, b"hello\n");
                    writer.write(b"upgrade\n")?;
                    writer.start_tls(cfg).await?;
                    let info = tls_info(writer.transport()).expect("a TLS transport");
                    log.borrow_mut().push(format!(
                        "server tls: server_side={} done={}",
                        info.server_side, info.handshake_done
                    ));
                    echo_lines(&reader, &writer).await
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();

        let (reader, mut writer) = open_connection("127.0.0.1", port_of(&server))
            .await
            .unwrap();
        assert!(tls_info(writer.transport()).is_none());
        writer.write(b"hello\n").unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"upgrade\n");
        writer
            .start_tls(client_cfg)
            .server_hostname("localhost")
            .await
            .unwrap();
        let info = tls_info(writer.transport()).expect("the writer's transport is the TLS one");
        assert!(info.handshake_done && !info.server_side);
        assert!(writer.get_extra_info(extra::Peername).is_some());
        assert!(!writer.can_write_eof(), "TLS has no half-close");
        for line in [&b"over tls\n"[..], b"second\n"] {
            writer.write(line).unwrap();
            writer.drain().await.unwrap();
            assert_eq!(reader.readline().await.unwrap(), line);
        }
        writer.close(); // close_notify; the server echoes the end and closes
        assert_eq!(reader.read_to_end().await.unwrap(), b"");
        writer.wait_closed().await.unwrap();
        server.close();
        server.wait_closed().await;
        assert_eq!(*log.borrow(), ["server tls: server_side=true done=true"]);
    });
}

// STARTTLS as SMTP does it: the server greets first; the bytes the reader already holds when
// start_tls runs ("ahead\r\n") are read before the TLS data.
#[test]
fn starttls_after_a_greeting_keeps_buffered_plaintext_first() {
    let (server_cfg, client_cfg) = configs();
    run(async move {
        let server = start_server(
            move |reader, mut writer| {
                let cfg = server_cfg.clone();
                async move {
                    writer.write(b"220 ready\r\n")?;
                    assert_eq!(reader.readline().await?, b"STARTTLS\r\n");
                    writer.write(b"220 go ahead\r\n")?;
                    writer.start_tls(cfg).await?;
                    writer.write(b"250 over tls\r\n")?;
                    writer.drain().await?;
                    echo_lines(&reader, &writer).await
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();

        let (reader, mut writer) = open_connection("127.0.0.1", port_of(&server))
            .await
            .unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"220 ready\r\n");
        writer.write(b"STARTTLS\r\n").unwrap();
        // Leave "ahead\r\n" in the reader's buffer (one 14-byte write: one read).
        assert_eq!(reader.readexactly(7).await.unwrap(), b"220 go ");
        writer
            .start_tls(client_cfg)
            .server_hostname("localhost")
            .await
            .unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"ahead\r\n");
        assert_eq!(reader.readline().await.unwrap(), b"250 over tls\r\n");
        writer.write(b"QUIT\r\n").unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"QUIT\r\n");
        writer.close();
        writer.wait_closed().await.unwrap();
        server.close();
        server.wait_closed().await;
    });
}

// A certificate for another name: the client's start_tls fails; the connection is closed,
// the pair holds the error (drain, reads and wait_closed raise it), and no fd is left.
#[test]
fn failed_handshake_leaves_the_pair_with_the_error() {
    let (server_cfg, client_cfg) = configs();
    run(async move {
        let log: Log = Rc::default();
        let server_log = log.clone();
        let server = start_server(
            move |reader, mut writer| {
                let cfg = server_cfg.clone();
                let log = server_log.clone();
                async move {
                    assert_eq!(reader.readline().await.unwrap(), b"tls please\n");
                    writer.write(b"go\n").unwrap();
                    let err = writer.start_tls(cfg).await.unwrap_err();
                    log.borrow_mut().push(format!("server: {:?}", err.kind()));
                    assert!(writer.drain().await.is_err());
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();

        let (reader, mut writer) = open_connection("127.0.0.1", port_of(&server))
            .await
            .unwrap();
        writer.write(b"tls please\n").unwrap();
        // As in any STARTTLS exchange, the client's hello waits for the server's answer (else
        // the server's reader could take it as plaintext).
        assert_eq!(reader.readline().await.unwrap(), b"go\n");
        let err = writer
            .start_tls(client_cfg)
            .server_hostname("wrong.example")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        assert!(writer.is_closing());
        assert!(
            tls_info(writer.transport()).is_none(),
            "the plaintext transport stays"
        );
        assert_eq!(
            writer.drain().await.unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert_eq!(
            reader.readline().await.unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert_eq!(
            writer.wait_closed().await.unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        drop(writer);
        while log.borrow().is_empty() {
            tower_task::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert_eq!(
            log.borrow().len(),
            1,
            "the server's start_tls failed too: {log:?}"
        );
        server.close();
        server.wait_closed().await;
    });
}

// Misuse: a config of the other end, a client config without server_hostname, a zero
// timeout, a writer already on TLS (here from open_connection(..).ssl(..)), a closing transport. Each is InvalidInput (the
// last NotConnected) and leaves the connection as it was.
#[test]
fn start_tls_refuses_the_wrong_end_a_second_upgrade_and_a_closing_transport() {
    let (server_cfg, client_cfg) = configs();
    run(async move {
        let log: Log = Rc::default();
        let server_log = log.clone();
        let client_for_server = client_cfg.clone();
        let tls_server_cfg = server_cfg.clone();
        let server = start_server(
            move |reader, mut writer| {
                let client_cfg = client_for_server.clone();
                let cfg = server_cfg.clone();
                let log = server_log.clone();
                async move {
                    let e = writer.start_tls(client_cfg).server_hostname("x").await;
                    log.borrow_mut()
                        .push(format!("{:?}", e.unwrap_err().kind()));
                    let e = writer.start_tls(cfg).server_hostname("x").await;
                    log.borrow_mut()
                        .push(format!("{:?}", e.unwrap_err().kind()));
                    echo_lines(&reader, &writer).await
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let port = port_of(&server);

        let (reader, mut writer) = open_connection("127.0.0.1", port).await.unwrap();
        let e = writer.start_tls(tls_server_cfg.clone()).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        let e = writer.start_tls(client_cfg.clone()).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        // A zero timeout: tier 8's check (asyncio's ValueError), before anything happens.
        let e = writer
            .start_tls(client_cfg.clone())
            .server_hostname("localhost")
            .ssl_handshake_timeout(std::time::Duration::ZERO)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        // The connection still works in plaintext.
        writer.write(b"plain\n").unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"plain\n");
        assert_eq!(*log.borrow(), ["InvalidInput", "InvalidInput"]);
        writer.close();
        let e = writer
            .start_tls(client_cfg.clone())
            .server_hostname("localhost")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotConnected, "{e}");
        writer.wait_closed().await.unwrap();
        server.close();
        server.wait_closed().await;

        // Already on TLS: open_connection's ssl, then start_tls.
        let tls_server = start_server(
            |reader, writer| async move { echo_lines(&reader, &writer).await },
            "127.0.0.1",
            0,
        )
        .ssl(tls_server_cfg)
        .await
        .unwrap();
        let (reader, mut writer) = open_connection("127.0.0.1", port_of(&tls_server))
            .ssl(client_cfg.clone())
            .server_hostname("localhost")
            .await
            .unwrap();
        assert!(tls_info(writer.transport()).unwrap().handshake_done);
        let e = writer
            .start_tls(client_cfg)
            .server_hostname("localhost")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        writer.write(b"still tls\n").unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"still tls\n");
        writer.close();
        writer.wait_closed().await.unwrap();
        tls_server.close();
        tls_server.wait_closed().await;
    });
}

// asyncio's open_connection(ssl=)/start_server(ssl=) with the TLS timeouts forwarded, and a
// limit: a TLS echo through the helpers.
#[test]
fn ssl_on_open_connection_and_start_server() {
    let (server_cfg, client_cfg) = configs();
    run(async move {
        let server = start_server(
            |reader, writer| async move { echo_lines(&reader, &writer).await },
            "127.0.0.1",
            0,
        )
        .limit(64)
        .ssl(server_cfg)
        .ssl_handshake_timeout(std::time::Duration::from_secs(30))
        .await
        .unwrap();
        let (reader, writer) = open_connection("127.0.0.1", port_of(&server))
            .family(tower_protocol::Family::V4)
            .ssl(client_cfg)
            .server_hostname("localhost")
            .ssl_shutdown_timeout(std::time::Duration::from_secs(10))
            .await
            .unwrap();
        writer.writelines(&[b"one\n", b"two\n"]).unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"one\n");
        assert_eq!(reader.readline().await.unwrap(), b"two\n");
        writer.close();
        assert_eq!(reader.read_to_end().await.unwrap(), b"");
        writer.wait_closed().await.unwrap();
        server.close();
        server.wait_closed().await;
    });
}

// asyncio's open_unix_connection(ssl=, server_hostname=)/start_unix_server(ssl=): a TLS echo
// over a Unix socket, both ends on the tower; without server_hostname the client is refused.
#[test]
fn ssl_on_the_unix_helpers() {
    let (server_cfg, client_cfg) = configs();
    let path = sock_path("echo");
    let p = path.clone();
    run(async move {
        let path = p;
        let server = start_unix_server(
            |reader, writer| async move {
                let info = tls_info(writer.transport()).expect("served over TLS");
                assert!(info.server_side && info.handshake_done);
                echo_lines(&reader, &writer).await
            },
            &path,
        )
        .ssl(server_cfg)
        .await
        .unwrap();

        let e = open_unix_connection(&path)
            .ssl(client_cfg.clone())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("server_hostname"), "{e}");

        let (reader, writer) = open_unix_connection(&path)
            .ssl(client_cfg)
            .server_hostname("localhost")
            .await
            .unwrap();
        assert!(!tls_info(writer.transport()).unwrap().server_side);
        writer.write(b"over a unix socket\n").unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"over a unix socket\n");
        writer.close();
        writer.wait_closed().await.unwrap();
        server.close();
        server.wait_closed().await;
    });
    assert!(!path.exists(), "cleanup_socket removed the path");
}

// The upgrade dropped mid-way (the client never answers the handshake): the pair holds
// ConnectionAborted, and the connection is closed.
#[test]
fn start_tls_dropped_mid_way_closes_the_connection() {
    let (_server_cfg, client_cfg) = configs();
    run(async move {
        // A plaintext server that never speaks TLS: it waits for the end of stream.
        let server = start_server(
            |reader, _writer| async move {
                let _ = reader.read_to_end().await;
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let (reader, mut writer) = open_connection("127.0.0.1", port_of(&server))
            .await
            .unwrap();
        {
            let upgrade = writer.start_tls(client_cfg).server_hostname("localhost");
            let mut fut = std::pin::pin!(std::future::IntoFuture::into_future(upgrade));
            let pending = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(fut.as_mut().poll(cx).is_pending())
            })
            .await;
            assert!(pending, "the handshake waits for the server");
        }
        assert!(writer.is_closing());
        let e = reader.readline().await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionAborted, "{e}");
        assert!(writer.wait_closed().await.is_err());
        server.close();
        server.wait_closed().await;
    });
}

// The reader's back-pressure across the upgrade: plaintext above 2 x limit pauses the plain
// transport; after start_tls the TLS transport stays paused until the reader takes the
// plaintext, then the TLS data follows.
#[test]
fn start_tls_with_the_reader_paused_keeps_its_back_pressure() {
    let (server_cfg, client_cfg) = configs();
    run(async move {
        let plain = vec![b'p'; 200];
        let p2 = plain.clone();
        let server = start_server(
            move |reader, mut writer| {
                let cfg = server_cfg.clone();
                let plain = p2.clone();
                async move {
                    assert_eq!(reader.readline().await?, b"starttls\n");
                    writer.write(&plain)?;
                    writer.start_tls(cfg).await?;
                    writer.write(&[b't'; 300])?;
                    writer.drain().await?;
                    echo_lines(&reader, &writer).await
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let (reader, mut writer) = open_connection("127.0.0.1", port_of(&server))
            .limit(16)
            .await
            .unwrap();
        writer.write(b"starttls\n").unwrap();
        assert_eq!(reader.readexactly(1).await.unwrap(), b"p");
        // Let the rest of the plaintext arrive and pause the transport (199 > 2 x 16).
        while writer.transport().is_reading() {
            tower_task::sleep(std::time::Duration::from_millis(1)).await;
        }
        writer
            .start_tls(client_cfg)
            .server_hostname("localhost")
            .await
            .unwrap();
        assert!(
            !writer.transport().is_reading(),
            "the TLS transport starts paused"
        );
        assert_eq!(reader.readexactly(199).await.unwrap(), &plain[1..]);
        assert_eq!(reader.readexactly(300).await.unwrap(), vec![b't'; 300]);
        writer.write(b"end\n").unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"end\n");
        writer.close();
        writer.wait_closed().await.unwrap();
        server.close();
        server.wait_closed().await;
    });
}
