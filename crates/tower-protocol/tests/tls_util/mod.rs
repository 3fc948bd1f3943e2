//! What the TLS tests share: certificates made at test time (rcgen; no key in the
//! repository), the client and server configs trusting them, a TLS echo server on loopback, and
//! an echo protocol.
#![allow(dead_code)] // each test binary uses a part

use std::cell::RefCell;
use std::io;
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;

use tower_protocol::tls::pki_types::{CertificateDer, PrivateKeyDer};
use tower_protocol::tls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use tower_protocol::tls::{TlsConfig, TlsOptions, TlsProtocol, client_config, server_config};
use tower_protocol::{Protocol, connect_accepted_socket};
use tower_transport::{StreamTransport, WriteTransport};

/// A self-signed certificate for `localhost` and 127.0.0.1, with its key.
pub(crate) struct TestCert {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) key_der: Vec<u8>,
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
}

impl TestCert {
    /// A new one.
    pub(crate) fn new() -> TestCert {
        let c = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .unwrap();
        TestCert {
            der: c.cert.der().clone(),
            key_der: c.key_pair.serialize_der(),
            cert_pem: c.cert.pem(),
            key_pem: c.key_pair.serialize_pem(),
        }
    }

    /// A server config presenting it.
    pub(crate) fn server(&self) -> Arc<ServerConfig> {
        server_config(
            vec![self.der.clone()],
            PrivateKeyDer::Pkcs8(self.key_der.clone().into()),
        )
        .unwrap()
    }

    /// A client config trusting it.
    pub(crate) fn client(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        client_config(roots)
    }
}

/// Echoes what it receives; keeps its transport; records its events.
#[derive(Debug, Default)]
pub(crate) struct Echo {
    pub(crate) transport: Option<StreamTransport>,
    pub(crate) made: usize,
    pub(crate) received: usize,
    pub(crate) eof: bool,
    pub(crate) lost: Option<Option<io::ErrorKind>>,
}

impl Protocol for Echo {
    fn connection_made(&mut self, t: StreamTransport) {
        self.transport = Some(t);
        self.made += 1;
    }
    fn data_received(&mut self, data: &[u8]) {
        self.received += data.len();
        self.transport.as_ref().unwrap().write(data).unwrap();
    }
    fn eof_received(&mut self) -> bool {
        self.eof = true;
        false
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.lost = Some(exc.map(|e| e.kind()));
        self.transport = None;
    }
}

/// A non-blocking loopback listener and its port.
pub(crate) fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// Accepts one connection on `l` and serves it with TLS (`config`) to a new `P`; returns the
/// user's protocol (its `connection_made` runs after the handshake).
pub(crate) async fn serve_one<P: Protocol + Default>(
    l: &TcpListener,
    config: Arc<ServerConfig>,
    options: TlsOptions,
) -> Rc<RefCell<P>> {
    let lp = tower_loop::get_running_loop().unwrap();
    let sock: OwnedFd = lp.sock_accept(l).await.unwrap();
    let app = Rc::new(RefCell::new(P::default()));
    let a = app.clone();
    let config = TlsConfig::server(config);
    connect_accepted_socket(
        move || TlsProtocol::new(&lp, a, &config, options).unwrap(),
        sock,
    )
    .await
    .unwrap();
    app
}
