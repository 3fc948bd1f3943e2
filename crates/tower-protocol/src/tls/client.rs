//! The client factories' TLS options, written once for [`create_connection`](crate::create_connection)
//! and [`create_unix_connection`](crate::create_unix_connection): asyncio's `ssl`,
//! `server_hostname`, `ssl_handshake_timeout`, `ssl_shutdown_timeout`, their builder methods
//! (`client_tls_options!`) and asyncio's checks of them.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;

use super::{TlsConfig, TlsOptions};

/// A client factory's TLS options.
#[derive(Debug, Default)]
pub(crate) struct ClientTls {
    /// asyncio's `ssl`: the client config.
    pub(crate) config: Option<Arc<ClientConfig>>,
    /// asyncio's `server_hostname`.
    pub(crate) server_hostname: Option<String>,
    /// The handshake timeout, if given.
    pub(crate) handshake_timeout: Option<Duration>,
    /// The shutdown timeout, if given.
    pub(crate) shutdown_timeout: Option<Duration>,
}

impl ClientTls {
    /// The TLS end for a connection, checked as asyncio checks its options: without `ssl`, any
    /// other option is `InvalidInput`; with it, the server name is `server_hostname`, else
    /// `default_name` (the host), else `InvalidInput` (asyncio: "you must set server_hostname
    /// when using ssl without a host", as for a Unix socket).
    pub(crate) fn resolve(
        &self,
        default_name: Option<String>,
    ) -> io::Result<Option<(TlsConfig, TlsOptions)>> {
        let invalid = |what: &str| {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{what} is only meaningful with ssl"),
            ))
        };
        let Some(config) = &self.config else {
            if self.server_hostname.is_some() {
                return invalid("server_hostname");
            }
            if self.handshake_timeout.is_some() {
                return invalid("ssl_handshake_timeout");
            }
            if self.shutdown_timeout.is_some() {
                return invalid("ssl_shutdown_timeout");
            }
            return Ok(None);
        };
        let Some(name) = self.server_hostname.clone().or(default_name) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "you must set server_hostname when using ssl without a host",
            ));
        };
        let mut options = TlsOptions::default();
        if let Some(t) = self.handshake_timeout {
            options.handshake_timeout = t;
        }
        if let Some(t) = self.shutdown_timeout {
            options.shutdown_timeout = t;
        }
        options.check()?;
        Ok(Some((TlsConfig::client(config.clone(), &name)?, options)))
    }
}

/// The client factories' TLS builder methods, on a builder with a `tls: ClientTls` field.
macro_rules! client_tls_options {
    ($default:literal) => {
        /// Open TLS over the connection (asyncio's `ssl=`; feature `tls`): the handshake runs
        /// before the builder resolves, the protocol gets the app-side transport, and the
        /// transport returned is that one. The server's certificate is checked against
        /// [`server_hostname`](Self::server_hostname),
        #[doc = $default]
        pub fn ssl(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
            self.tls.config = Some(config);
            self
        }

        /// The name the server's certificate must carry (asyncio's `server_hostname`; needs
        /// [`ssl`](Self::ssl)).
        pub fn server_hostname(mut self, name: impl Into<String>) -> Self {
            self.tls.server_hostname = Some(name.into());
            self
        }

        /// asyncio's `ssl_handshake_timeout` ([`SSL_HANDSHAKE_TIMEOUT`](crate::tls::SSL_HANDSHAKE_TIMEOUT) by default;
        /// needs [`ssl`](Self::ssl)).
        pub fn ssl_handshake_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.tls.handshake_timeout = Some(timeout);
            self
        }

        /// asyncio's `ssl_shutdown_timeout` ([`SSL_SHUTDOWN_TIMEOUT`](crate::tls::SSL_SHUTDOWN_TIMEOUT) by default;
        /// needs [`ssl`](Self::ssl)).
        pub fn ssl_shutdown_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.tls.shutdown_timeout = Some(timeout);
            self
        }
    };
}
pub(crate) use client_tls_options;
