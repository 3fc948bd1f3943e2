//! TLS on the server factories (asyncio's `create_server(ssl=)`): each accepted connection's
//! protocol is a [`TlsProtocol`] around the one the user's factory makes; the builder methods
//! of `create_server` and `create_unix_server`, written once (`server_tls_options!`).

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::sync::Arc;

use rustls::ServerConfig;
use tower_loop::EventLoop;

use super::{TlsConfig, TlsOptions, TlsProtocol};
use crate::Protocol;
use crate::server::{MakeConnection, make_connection};

/// A server factory's TLS options: asyncio's `ssl`, `ssl_handshake_timeout`,
/// `ssl_shutdown_timeout`.
#[derive(Debug, Default)]
pub(crate) struct ServerTls {
    /// The server config (`None`: plaintext).
    pub(crate) config: Option<Arc<ServerConfig>>,
    /// The timeouts.
    pub(crate) options: TlsOptions,
    /// A timeout was given (refused without `ssl`, as asyncio).
    pub(crate) timeouts_set: bool,
}

impl ServerTls {
    /// What makes each accepted connection: the plain [`make_connection`] without TLS, else
    /// the user's protocol under a [`TlsProtocol`].
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a timeout without `ssl` or a zero one ([`TlsOptions::check`]);
    /// rustls's refusal of the config.
    pub(crate) fn make_connection<F, P>(
        self,
        lp: &EventLoop,
        factory: F,
    ) -> io::Result<MakeConnection>
    where
        F: Fn() -> P + 'static,
        P: Protocol,
    {
        let Some(config) = self.config else {
            if self.timeouts_set {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "ssl_handshake_timeout and ssl_shutdown_timeout are only meaningful with ssl",
                ));
            }
            return Ok(make_connection(factory));
        };
        self.options.check()?;
        let config = TlsConfig::Server(config);
        config.connect()?; // rustls accepts it: each connection's will succeed
        let lp = lp.clone();
        let options = self.options;
        Ok(make_connection(move || {
            let app = Rc::new(RefCell::new(factory()));
            TlsProtocol::new(&lp, app, &config, options)
                .expect("rustls accepted this config when the server was made")
        }))
    }
}

/// The server factories' TLS builder methods, on a builder with a `tls: ServerTls` field
/// (`create_server` and `create_unix_server`: one set of options).
macro_rules! server_tls_options {
    () => {
        /// Serve TLS (asyncio's `ssl=`; feature `tls`): each accepted connection runs the
        /// handshake under a [`TlsProtocol`](crate::tls::TlsProtocol), and the protocol made by
        /// the factory gets the app-side transport once it is done. A failed handshake closes
        /// the connection; the factory's protocol never hears of it.
        pub fn ssl(mut self, config: std::sync::Arc<rustls::ServerConfig>) -> Self {
            self.tls.config = Some(config);
            self
        }

        /// asyncio's `ssl_handshake_timeout` ([`SSL_HANDSHAKE_TIMEOUT`](crate::tls::SSL_HANDSHAKE_TIMEOUT) by default;
        /// needs [`ssl`](Self::ssl)).
        pub fn ssl_handshake_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.tls.options.handshake_timeout = timeout;
            self.tls.timeouts_set = true;
            self
        }

        /// asyncio's `ssl_shutdown_timeout` ([`SSL_SHUTDOWN_TIMEOUT`](crate::tls::SSL_SHUTDOWN_TIMEOUT) by default;
        /// needs [`ssl`](Self::ssl)).
        pub fn ssl_shutdown_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.tls.options.shutdown_timeout = timeout;
            self.tls.timeouts_set = true;
            self
        }
    };
}
pub(crate) use server_tls_options;
