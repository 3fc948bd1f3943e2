//! [`TlsProtocol`], asyncio's `SSLProtocol`: the protocol the transport below drives, handing
//! ciphertext to the [engine](super::engine); the app-side transport (asyncio's
//! `_SSLProtocolTransport`) that the user's protocol gets in `connection_made`, behind tier 7's
//! [`StreamTransport::Custom`]; and [`tls_info`], what the handshake agreed on.

use std::any::Any;

use std::fmt;
use std::io;
use std::rc::Rc;

use rustls::pki_types::CertificateDer;
use rustls::{ProtocolVersion, SupportedCipherSuite};
use tower_transport::extra::{ExtraKey, ExtraValue};
use tower_transport::{
    BaseTransport, CustomStreamTransport, InvalidLimits, SharedStreamEvents, StreamEvents,
    StreamTransport, WriteError,
};

use super::engine::{Engine, State};
use super::start::Waiter;
use super::{TlsConfig, TlsOptions};

/// asyncio's `SSLProtocol`: give it to a transport (a factory, `SocketTransport::new`,
/// `connect_accepted_socket`) in place of the user's protocol; it runs the handshake, then
/// calls the user's protocol with the plaintext and an app-side transport that encrypts what
/// it writes. [`start_tls`](super::start_tls) and `create_connection(..).ssl(..)` build it for
/// you; build it yourself for the server end of an accepted socket.
///
/// ```
/// # use std::cell::RefCell;
/// # use std::rc::Rc;
/// use tower_protocol::Protocol;
/// use tower_protocol::tls::{TlsConfig, TlsOptions, TlsProtocol, server_config};
/// # struct Echo;
/// # impl Protocol for Echo {}
/// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// # let chain = vec![cert.cert.der().clone()];
/// # let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
/// let config = TlsConfig::server(server_config(chain, key).unwrap());
/// let lp = tower_loop::EventLoop::new().unwrap();
/// let app = Rc::new(RefCell::new(Echo));
/// let tls = TlsProtocol::new(&lp, app, &config, TlsOptions::default()).unwrap();
/// // tower_transport::SocketTransport::new(&lp, accepted_socket, Rc::new(RefCell::new(tls)))
/// # drop(tls);
/// ```
pub struct TlsProtocol {
    /// The connection's state.
    engine: Rc<Engine>,
}

impl fmt::Debug for TlsProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TlsProtocol").field(&self.engine).finish()
    }
}

impl TlsProtocol {
    /// A TLS protocol on `lp` for the user's protocol `app`, as the end `config` says.
    ///
    /// # Errors
    ///
    /// rustls's refusal of the config, as `InvalidData`; `InvalidInput` for a zero timeout
    /// ([`TlsOptions::check`]).
    pub fn new(
        lp: &tower_loop::EventLoop,
        app: SharedStreamEvents,
        config: &TlsConfig,
        options: TlsOptions,
    ) -> io::Result<TlsProtocol> {
        Self::with_waiter(lp, app, config, options, None)
    }

    /// [`new`](Self::new), with someone awaiting the handshake.
    pub(crate) fn with_waiter(
        lp: &tower_loop::EventLoop,
        app: SharedStreamEvents,
        config: &TlsConfig,
        options: TlsOptions,
        waiter: Option<Rc<Waiter>>,
    ) -> io::Result<TlsProtocol> {
        options.check()?;
        Ok(TlsProtocol {
            engine: Engine::new(lp.clone(), app, config, options, waiter)?,
        })
    }

    /// The engine.
    pub(crate) fn engine(&self) -> &Rc<Engine> {
        &self.engine
    }

    /// The app-side transport the user's protocol is (or will be) given.
    pub fn app_transport(&self) -> StreamTransport {
        app_transport(&self.engine)
    }
}

impl StreamEvents for TlsProtocol {
    fn connection_made(&mut self, transport: StreamTransport) {
        self.engine.on_connection_made(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.engine.on_data(data);
    }
    fn eof_received(&mut self) -> bool {
        self.engine.on_eof()
    }
    fn pause_writing(&mut self) {
        self.engine.on_pause_writing();
    }
    fn resume_writing(&mut self) {
        self.engine.on_resume_writing();
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.engine.on_connection_lost(exc);
    }
}

/// The app-side transport (asyncio's `_SSLProtocolTransport`) of `engine`.
pub(crate) fn app_transport(engine: &Rc<Engine>) -> StreamTransport {
    StreamTransport::Custom(Rc::new(TlsTransport(engine.clone())))
}

/// asyncio's `_SSLProtocolTransport`: what the user's protocol writes is encrypted; `close`
/// sends close_notify; no half-close (`can_write_eof` is `false`).
struct TlsTransport(Rc<Engine>);

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TlsTransport").field(&self.0).finish()
    }
}

impl CustomStreamTransport for TlsTransport {
    fn close(&self) {
        self.0.app_close();
    }
    fn is_closing(&self) -> bool {
        self.0.is_closing()
    }
    fn extra_info(&self, key: ExtraKey) -> Option<ExtraValue> {
        self.0.transport()?.extra_info(key)
    }
    fn set_protocol(&self, protocol: SharedStreamEvents) {
        self.0.set_app(protocol);
    }
    fn get_protocol(&self) -> Option<SharedStreamEvents> {
        self.0.app()
    }
    fn is_reading(&self) -> bool {
        self.0.is_reading()
    }
    fn pause_reading(&self) {
        self.0.pause_reading();
    }
    fn resume_reading(&self) {
        self.0.resume_reading();
    }
    fn write(&self, data: &[u8]) -> Result<(), WriteError> {
        if data.is_empty() {
            return Ok(());
        }
        self.0.app_write(&[data])
    }
    fn writelines(&self, data: &[&[u8]]) -> Result<(), WriteError> {
        self.0.app_write(data)
    }
    fn write_eof(&self) {
        // asyncio raises NotImplementedError: TLS has no half-close; `can_write_eof` says so.
    }
    fn can_write_eof(&self) -> bool {
        false
    }
    fn abort(&self) {
        self.0.app_abort();
    }
    fn get_write_buffer_size(&self) -> usize {
        self.0.write_buffer_size()
    }
    fn get_write_buffer_limits(&self) -> (usize, usize) {
        self.0.write_buffer_limits()
    }
    fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> Result<(), InvalidLimits> {
        self.0.set_write_buffer_limits(high, low)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// What the handshake agreed on (asyncio's `get_extra_info('ssl_object')`, `'peercert'`,
/// `'cipher'`), from [`tls_info`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TlsInfo {
    /// Whether this is the server end.
    pub server_side: bool,
    /// Whether the handshake is done.
    pub handshake_done: bool,
    /// TLS 1.2 or 1.3.
    pub protocol_version: Option<ProtocolVersion>,
    /// The cipher suite.
    pub cipher_suite: Option<SupportedCipherSuite>,
    /// The ALPN protocol agreed on.
    pub alpn_protocol: Option<Vec<u8>>,
    /// The peer's certificate chain, its own first.
    pub peer_certificates: Option<Vec<CertificateDer<'static>>>,
}

/// The TLS details of `transport`, if it is a TLS app-side transport.
pub fn tls_info(transport: &StreamTransport) -> Option<TlsInfo> {
    let t = transport
        .as_custom()?
        .as_any()
        .downcast_ref::<TlsTransport>()?;
    let engine = &t.0;
    let handshake_done = !matches!(
        engine.state(),
        State::Unwrapped | State::Draining | State::Handshake
    );
    Some(engine.with_conn(|c| TlsInfo {
        server_side: engine.server_side(),
        handshake_done,
        protocol_version: c.protocol_version(),
        cipher_suite: c.negotiated_cipher_suite(),
        alpn_protocol: c.alpn_protocol().map(<[u8]>::to_vec),
        peer_certificates: c.peer_certificates().map(<[_]>::to_vec),
    }))
}
