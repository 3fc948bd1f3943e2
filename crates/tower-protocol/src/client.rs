//! What the client factories share once their socket is connected: the "TLS or plain" tail
//! ([`hand_over`]: wrap the socket in TLS if `ssl` was asked for, else hand it to the protocol)
//! and the `IntoFuture` of their builders ([`into_connection_future!`]). Each factory keeps
//! only what differs: how it reaches a connected socket (resolution and happy eyeballs in
//! `connect.rs`, a path in `unix_connect.rs`).

use std::cell::RefCell;
use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;

use tower_loop::EventLoop;
use tower_transport::StreamTransport;

use crate::connect::stream_transport;
use crate::protocols::Protocol;

/// A client builder's TLS options (asyncio's `ssl`, `server_hostname`...), feature `tls`.
#[cfg(feature = "tls")]
pub(crate) use crate::tls::ClientTls;

/// What a builder's TLS options resolved to: `Some` to open TLS over the socket.
#[cfg(feature = "tls")]
pub(crate) type TlsEnd = Option<(crate::tls::TlsConfig, crate::tls::TlsOptions)>;

/// Without the `tls` feature a builder has no TLS options.
#[cfg(not(feature = "tls"))]
#[derive(Debug, Default)]
pub(crate) struct ClientTls {}

/// Without the `tls` feature there is never a TLS end (`None`).
#[cfg(not(feature = "tls"))]
pub(crate) type TlsEnd = Option<std::convert::Infallible>;

#[cfg(not(feature = "tls"))]
impl ClientTls {
    /// No TLS: always plain.
    #[allow(clippy::unnecessary_wraps, clippy::unused_self)]
    pub(crate) fn resolve(&self, _default_name: Option<String>) -> io::Result<TlsEnd> {
        Ok(None)
    }
}

/// The connected `sock` to a new protocol made by `factory`: under TLS if `tls` says so (the
/// handshake runs first, the protocol gets the app-side transport), else on a plain socket
/// transport; resolves once `connection_made` has run.
pub(crate) async fn hand_over<P, F>(
    lp: &EventLoop,
    sock: OwnedFd,
    factory: F,
    tls: TlsEnd,
) -> io::Result<(StreamTransport, Rc<RefCell<P>>)>
where
    P: Protocol,
    F: FnOnce() -> P,
{
    #[cfg(feature = "tls")]
    if let Some((config, options)) = tls {
        return crate::tls::connect_tls(lp, sock, factory, config, options).await;
    }
    #[cfg(not(feature = "tls"))]
    if let Some(never) = tls {
        match never {}
    }
    stream_transport(lp, sock, factory).await
}

/// `IntoFuture` for a client builder `$builder<P, F>` whose `async fn run(self)` makes the
/// connection: awaiting the builder runs it.
macro_rules! into_connection_future {
    ($builder:ident) => {
        impl<P, F> std::future::IntoFuture for $builder<P, F>
        where
            P: $crate::protocols::Protocol,
            F: FnOnce() -> P + 'static,
        {
            type Output = std::io::Result<(
                tower_transport::StreamTransport,
                std::rc::Rc<std::cell::RefCell<P>>,
            )>;
            type IntoFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Self::Output>>>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.run())
            }
        }
    };
}
pub(crate) use into_connection_future;
