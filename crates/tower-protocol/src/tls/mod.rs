//! TLS for tier 8 (asyncio's `sslproto.py`), on rustls with the `ring` provider, behind the
//! `tls` feature: a TLS protocol ([`TlsProtocol`], asyncio's `SSLProtocol`) sits between a
//! transport and the user's protocol, which gets the application-side transport (asyncio's
//! `_SSLProtocolTransport`, a [`StreamTransport::Custom`](tower_transport::StreamTransport::Custom))
//! in `connection_made`. [`start_tls`] upgrades a connection mid-way; `create_connection`'s
//! [`ssl`](crate::CreateConnection::ssl) (and `create_unix_connection`'s) opens one,
//! `create_server`'s [`ssl`](crate::CreateServer::ssl) (and `create_unix_server`'s) serves them. Decision: docs/decisions/0015-tls.md.
//!
//! ```
//! use std::io;
//! use tower_protocol::tls::pki_types::PrivateKeyDer;
//! use tower_protocol::tls::rustls::RootCertStore;
//! use tower_protocol::tls::{client_config, server_config, tls_info};
//! use tower_protocol::{Protocol, create_connection, create_server};
//! use tower_transport::{BaseTransport, StreamTransport, WriteTransport, extra};
//!
//! /// Echoes what it receives.
//! #[derive(Default)]
//! struct Echo(Option<StreamTransport>);
//! impl Protocol for Echo {
//!     fn connection_made(&mut self, t: StreamTransport) {
//!         self.0 = Some(t); // the app-side transport: what it writes is encrypted
//!     }
//!     fn data_received(&mut self, data: &[u8]) {
//!         self.0.as_ref().unwrap().write(data).unwrap();
//!     }
//!     fn connection_lost(&mut self, _exc: Option<io::Error>) {
//!         self.0 = None;
//!     }
//! }
//!
//! /// Stops the loop at the echo.
//! #[derive(Default)]
//! struct Client(Vec<u8>);
//! impl Protocol for Client {
//!     fn data_received(&mut self, data: &[u8]) {
//!         self.0.extend_from_slice(data);
//!     }
//! }
//!
//! // A certificate made on the spot (rcgen), trusted by the client.
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
//! let key = PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
//! let server_cfg = server_config(vec![cert.cert.der().clone()], key).unwrap();
//! let mut roots = RootCertStore::empty();
//! roots.add(cert.cert.der().clone()).unwrap();
//! let client_cfg = client_config(roots);
//!
//! tower_task::run(async move {
//!     let server = create_server(Echo::default, "127.0.0.1", 0).ssl(server_cfg).await?;
//!     let extra::SocketAddress::Inet(addr) = &server.sockets()[0].address else { panic!() };
//!     let (t, client) = create_connection(Client::default, "127.0.0.1", addr.port())
//!         .ssl(client_cfg)
//!         .server_hostname("localhost")
//!         .await?;
//!     assert!(tls_info(&t).unwrap().handshake_done);
//!     t.write(b"over TLS")?;
//!     while client.borrow().0.len() < 8 {
//!         tower_task::sleep(std::time::Duration::from_millis(1)).await;
//!     }
//!     assert_eq!(client.borrow().0, b"over TLS");
//!     t.close(); // close_notify, then the peer's
//!     server.close();
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })
//! .unwrap()
//! .unwrap();
//! ```
//!
//! | file | idea |
//! |---|---|
//! | `client.rs` | the client factories' TLS options (`ssl`, `server_hostname`, the timeouts), written once for `create_connection` and `create_unix_connection` |
//! | `mod.rs` | [`TlsConfig`], [`TlsContext`], [`TlsOptions`], the config helpers ([`client_config`], [`server_config`]) |
//! | `engine.rs` | the state machine: rustls's connection between the two transports, flow control, timeouts, close_notify |
//! | `protocol.rs` | [`TlsProtocol`] (on the transport below) and the app-side transport; [`tls_info`] |
//! | `start.rs` | [`start_tls`] and its builder [`StartTls`]; the handshake waiter; `create_connection`'s TLS branch |
//! | `server.rs` | the server factories' TLS options (`create_server`, `create_unix_server`): the user's protocol under a [`TlsProtocol`] per connection |

mod client;
mod engine;
mod protocol;
mod server;
mod start;

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

pub(crate) use client::{ClientTls, client_tls_options};
pub use protocol::{TlsInfo, TlsProtocol, tls_info};
pub use rustls;
pub use rustls::pki_types;
pub(crate) use server::{ServerTls, server_tls_options};
pub(crate) use start::connect_tls;
pub use start::{StartTls, start_tls};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// asyncio's `SSL_HANDSHAKE_TIMEOUT`: 60 s.
pub const SSL_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// asyncio's `SSL_SHUTDOWN_TIMEOUT`: 30 s.
pub const SSL_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// asyncio's default high-water mark of the app-side transport's write buffer
/// (`FLOW_CONTROL_HIGH_WATER_SSL_WRITE`, 512 KiB; low is high / 4).
pub const SSL_WRITE_HIGH_WATER: usize = 512 * 1024;

/// Which end of the handshake, with its rustls config: asyncio's `SSLContext` together with
/// `server_side` and `server_hostname`.
#[derive(Clone)]
pub enum TlsConfig {
    /// The client end, checking the server's certificate against `server_name`.
    Client {
        /// rustls's client config.
        config: Arc<ClientConfig>,
        /// The name the server's certificate must carry (asyncio's `server_hostname`; also
        /// sent as SNI unless it is an IP address).
        server_name: ServerName<'static>,
    },
    /// The server end (asyncio's `server_side=True`).
    Server(Arc<ServerConfig>),
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsConfig::Client { server_name, .. } => f
                .debug_struct("TlsConfig::Client")
                .field("server_name", server_name)
                .finish_non_exhaustive(),
            TlsConfig::Server(_) => f.debug_struct("TlsConfig::Server").finish_non_exhaustive(),
        }
    }
}

impl TlsConfig {
    /// The client end, for `server_hostname` (a DNS name or an IP address).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `server_hostname` is neither.
    pub fn client(config: Arc<ClientConfig>, server_hostname: &str) -> io::Result<TlsConfig> {
        let server_name = ServerName::try_from(server_hostname.to_owned()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid server_hostname {server_hostname:?}: {e}"),
            )
        })?;
        Ok(TlsConfig::Client {
            config,
            server_name,
        })
    }

    /// The server end.
    pub fn server(config: Arc<ServerConfig>) -> TlsConfig {
        TlsConfig::Server(config)
    }

    /// Whether this is the server end (asyncio's `server_side`).
    pub fn is_server(&self) -> bool {
        matches!(self, TlsConfig::Server(_))
    }

    /// A new rustls connection of this end.
    pub(crate) fn connect(&self) -> io::Result<rustls::Connection> {
        let conn: rustls::Connection = match self {
            TlsConfig::Client {
                config,
                server_name,
            } => rustls::ClientConnection::new(config.clone(), server_name.clone())
                .map_err(tls_error)?
                .into(),
            TlsConfig::Server(config) => rustls::ServerConnection::new(config.clone())
                .map_err(tls_error)?
                .into(),
        };
        Ok(conn)
    }
}

impl From<Arc<ServerConfig>> for TlsConfig {
    fn from(config: Arc<ServerConfig>) -> Self {
        TlsConfig::Server(config)
    }
}

/// A rustls config of either end, without a server name: asyncio's `SSLContext` as
/// `StreamWriter.start_tls(sslcontext, server_hostname=...)` takes it, the end being the
/// writer's side (tier 9). `From` either config.
#[derive(Clone)]
pub enum TlsContext {
    /// A client config (the server name is given apart).
    Client(Arc<ClientConfig>),
    /// A server config.
    Server(Arc<ServerConfig>),
}

impl fmt::Debug for TlsContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsContext::Client(_) => "TlsContext::Client(..)",
            TlsContext::Server(_) => "TlsContext::Server(..)",
        })
    }
}

impl From<Arc<ClientConfig>> for TlsContext {
    fn from(config: Arc<ClientConfig>) -> Self {
        TlsContext::Client(config)
    }
}

impl From<Arc<ServerConfig>> for TlsContext {
    fn from(config: Arc<ServerConfig>) -> Self {
        TlsContext::Server(config)
    }
}

/// asyncio's `ssl_handshake_timeout` and `ssl_shutdown_timeout`: the one definition of their
/// defaults ([`Default`]) and of their check ([`check`](Self::check)), which every TLS entry
/// point of tiers 8 and 9 forwards to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsOptions {
    /// How long the handshake may take before the connection is aborted
    /// ([`SSL_HANDSHAKE_TIMEOUT`] by default).
    pub handshake_timeout: Duration,
    /// How long to wait for the peer's close_notify after ours before aborting
    /// ([`SSL_SHUTDOWN_TIMEOUT`] by default).
    pub shutdown_timeout: Duration,
}

impl TlsOptions {
    /// asyncio's check of the timeouts (`SSLProtocol.__init__`): each must be positive.
    ///
    /// # Errors
    ///
    /// `InvalidInput` (asyncio's `ValueError`) for a zero timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_protocol::tls::TlsOptions;
    ///
    /// assert!(TlsOptions::default().check().is_ok());
    /// let zero = TlsOptions { handshake_timeout: Duration::ZERO, ..TlsOptions::default() };
    /// assert_eq!(zero.check().unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn check(&self) -> io::Result<()> {
        for (name, t) in [
            ("ssl_handshake_timeout", self.handshake_timeout),
            ("ssl_shutdown_timeout", self.shutdown_timeout),
        ] {
            if t.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{name} should be a positive duration, got {t:?}"),
                ));
            }
        }
        Ok(())
    }
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            handshake_timeout: SSL_HANDSHAKE_TIMEOUT,
            shutdown_timeout: SSL_SHUTDOWN_TIMEOUT,
        }
    }
}

/// rustls's `ring` provider: what the helpers build on.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client config trusting `roots`, with rustls's safe default protocol versions, on the `ring`
/// provider (asyncio's `ssl.create_default_context()` with its CA file).
pub fn client_config(roots: RootCertStore) -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A server config presenting `cert_chain` with `key`, no client authentication, on the `ring`
/// provider (asyncio's `SSLContext(PROTOCOL_TLS_SERVER)` with `load_cert_chain`).
///
/// # Errors
///
/// `InvalidInput` if rustls refuses the key or the chain.
pub fn server_config(
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> io::Result<Arc<ServerConfig>> {
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions")
        .with_no_client_auth()
        .with_single_cert(cert_chain, key)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    Ok(Arc::new(config))
}

/// A rustls error as an `io::Error` (`InvalidData`; the rustls error is its inner error, as
/// asyncio's `SSLError`).
pub(crate) fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}
