//! The event interface a [`SubprocessTransport`] drives: [`SubprocessEvents`] (asyncio's
//! `SubprocessProtocol`, which tier 8 names so). Every method has asyncio's default (do nothing).

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use crate::subprocess::SubprocessTransport;

/// How a subprocess transport holds its protocol, and what `set_protocol`/`get_protocol`
/// exchange.
pub type SharedSubprocessEvents = Rc<RefCell<dyn SubprocessEvents>>;

/// What a [`SubprocessTransport`] calls on its protocol, in asyncio's order:
/// `connection_made` first; then `pipe_data_received` and `pipe_connection_lost` (once per
/// pipe) for the child's pipes (fd 0 stdin, 1 stdout, 2 stderr) and `process_exited` (once,
/// with [`get_returncode`](SubprocessTransport::get_returncode) already set), in any order;
/// `pause_writing`/`resume_writing` for the stdin pipe's buffer in between; and
/// `connection_lost` exactly once, last — only after the child exited *and* every pipe closed.
///
/// Each call holds the protocol's `RefCell` borrowed; from inside it the protocol may call any
/// method of its transport or of a pipe transport. An event raised while the protocol is busy
/// (inside another of its callbacks, or borrowed by its owner) is delivered, in order, as soon
/// as it is free (decision 0012's rule, applied to every subprocess event).
///
/// ```
/// use std::io;
/// use tower_transport::{SubprocessEvents, SubprocessTransport};
///
/// /// Collects the child's stdout; stops the loop when the transport is done.
/// #[derive(Default)]
/// struct Collect {
///     out: Vec<u8>,
///     transport: Option<SubprocessTransport>,
/// }
///
/// impl SubprocessEvents for Collect {
///     fn connection_made(&mut self, transport: SubprocessTransport) {
///         self.transport = Some(transport);
///     }
///     fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
///         if fd == 1 {
///             self.out.extend_from_slice(data);
///         }
///     }
///     fn connection_lost(&mut self, _exc: Option<io::Error>) {
///         self.transport = None; // drop the transport: nothing keeps the pair alive
///     }
/// }
/// # let _ = Collect::default();
/// ```
#[allow(unused_variables)]
pub trait SubprocessEvents: 'static {
    /// The child runs and its pipes are connected; `transport` is this protocol's transport
    /// (keep a clone to signal the child or reach its pipes).
    fn connection_made(&mut self, transport: SubprocessTransport) {}

    /// The child wrote `data` to fd `fd` (1 for stdout, 2 for stderr). The slice is the loop's
    /// reusable read buffer: copy what you keep.
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {}

    /// The pipe of the child's fd `fd` closed (`None`: end of stream or closed by us; the error
    /// on a pipe error, such as `BrokenPipe` for a stdin with data buffered when the child
    /// closed it).
    fn pipe_connection_lost(&mut self, fd: i32, exc: Option<io::Error>) {}

    /// The child exited and was reaped;
    /// [`get_returncode`](SubprocessTransport::get_returncode) is set. Called once.
    fn process_exited(&mut self) {}

    /// The stdin pipe's write buffer went above its high-water mark.
    fn pause_writing(&mut self) {}

    /// The stdin pipe's write buffer drained to its low-water mark or below.
    fn resume_writing(&mut self) {}

    /// The transport is done (the child exited and every pipe closed, or the loop closed);
    /// called exactly once, last. The transport drops the protocol after it.
    fn connection_lost(&mut self, exc: Option<io::Error>) {}
}
