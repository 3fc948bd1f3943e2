//! TLS for tier 8 (asyncio's `sslproto.py`), on rustls with the `ring` provider, behind the
//! `tls` feature: a TLS protocol ([`TlsProtocol`], asyncio's `SSLProtocol`) sits between a
//! transport and the user's protocol, which gets the application-side transport (asyncio's
//! `_SSLProtocolTransport`, a [`StreamTransport::Custom`](tower_transport::StreamTransport::Custom))
//! in `connection_made`. [`start_tls`] upgrades a connection mid-way; `create_connection`'s
//! [`ssl`](crate::CreateConnection::ssl) opens one, `create_server`'s
//! [`ssl`](crate::CreateServer::ssl) serves them. Decision: docs/decisions/0015-tls.md.
//!
//! | file | idea |
//! |---|---|
//! | `mod.rs` | [`TlsConfig`], [`TlsOptions`], the config helpers ([`client_config`], [`server_config`]) |
//! | `engine.rs` | the state machine: rustls's connection between the two transports, flow control, timeouts, close_notify |
//! | `protocol.rs` | [`TlsProtocol`] (on the transport below) and the app-side transport; [`tls_info`] |
//! | `start.rs` | [`start_tls`] and its builder [`StartTls`]; the handshake waiter; `create_connection`'s TLS branch |
//! | `server.rs` | `create_server`'s TLS option: the user's protocol under a [`TlsProtocol`] per connection |

mod engine;
mod protocol;
mod server;
mod start;

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

pub use protocol::{TlsInfo, TlsProtocol, tls_info};
pub use rustls;
pub use rustls::pki_types;
pub use start::{StartTls, start_tls};
pub(crate) use server::ServerTls;
pub(crate) use start::connect_tls;

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

/// asyncio's `ssl_handshake_timeout` and `ssl_shutdown_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsOptions {
    /// How long the handshake may take before the connection is aborted (60 s).
    pub handshake_timeout: Duration,
    /// How long to wait for the peer's close_notify after ours before aborting (30 s).
    pub shutdown_timeout: Duration,
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
