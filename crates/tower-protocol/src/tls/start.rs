//! [`start_tls`] (asyncio's `loop.start_tls`): upgrades a connection to TLS mid-way — the
//! transport's protocol is replaced by a [`TlsProtocol`], the handshake runs once the
//! transport's write buffer has drained, and the new app-side transport is returned. Also the
//! handshake [`Waiter`] and the TLS branch of `create_connection`.

use std::cell::RefCell;
use std::fmt;
use std::future::{Future, IntoFuture, poll_fn};
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use tower_loop::EventLoop;
use tower_transport::{
    BaseTransport, ReadTransport, SharedStreamEvents, SocketTransport, StreamTransport,
};

use super::protocol::TlsProtocol;
use super::{TlsConfig, TlsOptions};
use crate::connect::running_loop;

/// The handshake's outcome, awaited once (asyncio's `waiter` future).
#[derive(Default)]
pub(crate) struct Waiter {
    /// The outcome, once known.
    result: RefCell<Option<io::Result<()>>>,
    /// Who awaits it.
    waker: RefCell<Option<Waker>>,
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter")
            .field("done", &self.result.borrow().is_some())
            .finish()
    }
}

impl Waiter {
    /// Sets the outcome (the first one counts) and wakes the awaiting task.
    pub(crate) fn set(&self, result: io::Result<()>) {
        {
            let mut slot = self.result.borrow_mut();
            if slot.is_some() {
                return;
            }
            *slot = Some(result);
        }
        let waker = self.waker.borrow_mut().take();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Resolves with the outcome.
    pub(crate) fn wait(self: &Rc<Self>) -> impl Future<Output = io::Result<()>> + '_ {
        poll_fn(move |cx| match self.result.borrow_mut().take() {
            Some(r) => Poll::Ready(r),
            None => {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

/// Closes the transport if dropped armed (asyncio's `except: transport.close(); raise`).
struct CloseOnDrop(Option<StreamTransport>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.close();
        }
    }
}

/// Upgrades `transport`'s connection to TLS (asyncio's `loop.start_tls(transport, protocol,
/// sslcontext, server_side=, server_hostname=)`; the end and the server name are in `config`).
/// `protocol` is given the app-side transport in `connection_made` once the handshake is done;
/// `.await` the builder for that transport. Works on a transport paused for writing: the
/// handshake starts once the write buffer has drained, as asyncio's.
///
/// The transport must be reading-capable and belong to the running loop; from the call on,
/// its old protocol gets no more events.
///
/// # Errors
///
/// The handshake's error (`InvalidData` with rustls's error inside, e.g. a certificate for
/// another name), `ConnectionAborted` after the handshake timeout (asyncio's), the connection's error; on error the
/// transport is closed.
///
/// # Cancellation
///
/// Dropping the future closes the transport.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use tower_protocol::Protocol;
/// use tower_protocol::tls::{TlsConfig, start_tls, client_config};
/// use tower_transport::StreamTransport;
///
/// struct App;
/// impl Protocol for App {}
///
/// async fn upgrade(plain: StreamTransport) -> std::io::Result<StreamTransport> {
///     let roots = tower_protocol::tls::rustls::RootCertStore::empty();
///     let config = TlsConfig::client(client_config(roots), "example.org")?;
///     start_tls(&plain, Rc::new(RefCell::new(App)), config).await
/// }
/// # let _ = upgrade;
/// ```
pub fn start_tls(
    transport: &StreamTransport,
    protocol: SharedStreamEvents,
    config: TlsConfig,
) -> StartTls {
    StartTls {
        transport: transport.clone(),
        protocol,
        config,
        options: TlsOptions::default(),
    }
}

/// The options of [`start_tls`]; `.await` it.
#[must_use = "the upgrade starts only when the builder is awaited"]
pub struct StartTls {
    /// The plaintext transport.
    transport: StreamTransport,
    /// The user's protocol.
    protocol: SharedStreamEvents,
    /// The end.
    config: TlsConfig,
    /// The timeouts.
    options: TlsOptions,
}

impl fmt::Debug for StartTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartTls")
            .field("transport", &self.transport)
            .field("config", &self.config)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl StartTls {
    /// asyncio's `ssl_handshake_timeout` ([`SSL_HANDSHAKE_TIMEOUT`](super::SSL_HANDSHAKE_TIMEOUT)
    /// by default; checked by [`TlsOptions::check`]).
    pub fn ssl_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.options.handshake_timeout = timeout;
        self
    }

    /// asyncio's `ssl_shutdown_timeout` ([`SSL_SHUTDOWN_TIMEOUT`](super::SSL_SHUTDOWN_TIMEOUT)
    /// by default; checked by [`TlsOptions::check`]).
    pub fn ssl_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.options.shutdown_timeout = timeout;
        self
    }

    /// What awaiting the builder runs.
    async fn run(self) -> io::Result<StreamTransport> {
        let lp = running_loop()?;
        if self.transport.is_closing() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "start_tls: the transport is closing",
            ));
        }
        let waiter = Rc::new(Waiter::default());
        let tls = TlsProtocol::with_waiter(
            &lp,
            self.protocol,
            &self.config,
            self.options,
            Some(waiter.clone()),
        )?;
        let engine = tls.engine().clone();
        let app_transport = tls.app_transport();
        // As asyncio: pause so no data reaches the TLS protocol before its connection_made,
        // which runs on the next turn (and resumes reading once the handshake can start).
        self.transport.pause_reading();
        self.transport.set_protocol(Rc::new(RefCell::new(tls)));
        let guard = CloseOnDrop(Some(self.transport.clone()));
        let t = self.transport.clone();
        lp.call_soon(move || engine.on_connection_made(t));
        handshake(guard, &waiter).await?;
        Ok(app_transport)
    }
}

impl IntoFuture for StartTls {
    type Output = io::Result<StreamTransport>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// Awaits the handshake; the transport in `guard` is closed if it fails or the wait is dropped.
async fn handshake(mut guard: CloseOnDrop, waiter: &Rc<Waiter>) -> io::Result<()> {
    let result = waiter.wait().await;
    if result.is_ok() {
        guard.0 = None;
    }
    result
}

/// `create_connection`'s TLS branch: the connected `sock` under a [`TlsProtocol`] for a new
/// protocol made by `factory`; returns once the handshake is done and `connection_made` ran.
pub(crate) async fn connect_tls<P, F>(
    lp: &EventLoop,
    sock: OwnedFd,
    factory: F,
    config: TlsConfig,
    options: TlsOptions,
) -> io::Result<(StreamTransport, Rc<RefCell<P>>)>
where
    P: crate::Protocol,
    F: FnOnce() -> P,
{
    let app = Rc::new(RefCell::new(factory()));
    let waiter = Rc::new(Waiter::default());
    let tls = TlsProtocol::with_waiter(lp, app.clone(), &config, options, Some(waiter.clone()))?;
    let app_transport = tls.app_transport();
    let transport = SocketTransport::new(lp, sock, Rc::new(RefCell::new(tls)))?;
    handshake(CloseOnDrop(Some(transport.into())), &waiter).await?;
    Ok((app_transport, app))
}
