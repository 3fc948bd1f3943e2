//! Unix signal handlers delivered to the loop thread (asyncio's `add_signal_handler`).
//!
//! The process-wide handler (installed through `signal-hook-registry`, see
//! docs/decisions/0002-signal-hook-registry.md) only writes the signal number to this loop's
//! non-blocking self-pipe — one `write(2)`, async-signal-safe. The pipe's read end is an
//! ordinary reader of the loop, which queues the user's callback on the ready queue; so the
//! callback runs on the loop thread, between other callbacks, like any other.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use rustix::io::Errno;
use rustix::pipe::PipeFlags;
use signal_hook_registry::SigId;

use crate::EventLoop;
use crate::error::SignalError;
use crate::event_loop::Core;
use crate::reactor::READ;
use crate::ready::{Callback, Ready, RepeatCell};

/// The loop's signal handlers and self-pipe.
#[derive(Default)]
pub(crate) struct SignalState {
    /// Self-pipe: (read end, write end shared with the signal actions). Created on first use.
    pipe: Option<(Rc<OwnedFd>, Arc<OwnedFd>)>,
    /// Installed handlers: the registry id of our action and the user's callback.
    handlers: HashMap<i32, (SigId, Rc<dyn Callback>)>,
}

impl std::fmt::Debug for SignalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalState")
            .field("signals", &self.handlers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Removes every handler of the loop and closes its self-pipe (on close and drop).
pub(crate) fn close(core: &Core) {
    let state = std::mem::take(&mut *core.signals.borrow_mut());
    for (_, (id, cb)) in state.handlers {
        signal_hook_registry::unregister(id);
        cb.cancel();
    }
    if let Some((read, _write)) = state.pipe {
        let _ = core.reactor.set_callback(
            &core.shared.poller,
            std::os::fd::AsRawFd::as_raw_fd(&*read),
            READ,
            None,
        );
    }
}

/// Whether `sig` may be handled: a real signal number, not one that cannot or must not be.
fn valid(sig: i32) -> bool {
    (1..=64).contains(&sig)
        && !signal_hook_registry::FORBIDDEN.contains(&sig)
        && sig != 9
        && sig != 19
}

/// Drains the self-pipe and queues the callbacks of the signals found there.
fn on_pipe_readable(core: &Weak<Core>, read: &OwnedFd) {
    let Some(core) = core.upgrade() else { return };
    let mut buf = [0u8; 64];
    loop {
        match rustix::io::read(read, &mut buf) {
            Ok(0) => return,
            Ok(n) => {
                for &sig in &buf[..n] {
                    let cb = core
                        .signals
                        .borrow()
                        .handlers
                        .get(&i32::from(sig))
                        .map(|h| h.1.clone());
                    if let Some(cb) = cb {
                        core.push_ready(Ready::Callback(cb));
                    }
                }
            }
            Err(Errno::INTR) => continue,
            Err(_) => return,
        }
    }
}

impl EventLoop {
    /// Runs `callback` on the loop thread whenever signal `sig` arrives (asyncio's
    /// `add_signal_handler`); replaces a previous handler of `sig` on this loop. Several signals
    /// arriving before the loop reads them may coalesce into one run.
    ///
    /// ```
    /// use tower_loop::EventLoop;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let l2 = lp.clone();
    /// lp.add_signal_handler(10 /* SIGUSR1 on Linux */, move || l2.stop()).unwrap();
    /// lp.call_soon(|| {
    ///     let usr1 = rustix::process::Signal::USR1;
    ///     rustix::process::kill_process(rustix::process::getpid(), usr1).unwrap();
    /// });
    /// lp.run_forever().unwrap();
    /// assert!(lp.remove_signal_handler(10).unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// [`SignalError::Invalid`] for `SIGKILL`, `SIGSTOP`, `SIGILL`, `SIGFPE`, `SIGSEGV` or a
    /// number that is not a signal; [`SignalError::Closed`]; [`SignalError::Io`] if the
    /// self-pipe or the handler cannot be set up.
    pub fn add_signal_handler<F: FnMut() + 'static>(
        &self,
        sig: i32,
        callback: F,
    ) -> Result<(), SignalError> {
        let core = self.core();
        if core.closed.get() {
            return Err(SignalError::Closed);
        }
        if !valid(sig) {
            return Err(SignalError::Invalid(sig));
        }
        let write = self.signal_pipe()?;
        let cb = RepeatCell::new_rc(callback);
        let mut state = core.signals.borrow_mut();
        if let Some(entry) = state.handlers.get_mut(&sig) {
            let old = std::mem::replace(&mut entry.1, cb);
            drop(state);
            old.cancel();
            return Ok(());
        }
        let byte = [sig as u8];
        // SAFETY: the action is async-signal-safe: one write(2) of a byte on a non-blocking
        // pipe through rustix's raw syscall (no allocation, no lock; the `Arc` keeps the fd open
        // and is only read). A full pipe drops the byte: the signal coalesces with a pending one.
        let id = unsafe {
            signal_hook_registry::register(sig, move || {
                let _ = rustix::io::write(&*write, &byte);
            })
        }
        .map_err(SignalError::Io)?;
        state.handlers.insert(sig, (id, cb));
        Ok(())
    }

    /// Removes the handler of `sig`; returns whether there was one (asyncio's
    /// `remove_signal_handler`). The signal is then ignored by the process, not reset to its
    /// default action (a limitation of the registry).
    ///
    /// # Errors
    ///
    /// [`SignalError::Invalid`] for a number that cannot have a handler.
    pub fn remove_signal_handler(&self, sig: i32) -> Result<bool, SignalError> {
        if !valid(sig) {
            return Err(SignalError::Invalid(sig));
        }
        let removed = self.core().signals.borrow_mut().handlers.remove(&sig);
        Ok(match removed {
            Some((id, cb)) => {
                signal_hook_registry::unregister(id);
                cb.cancel();
                true
            }
            None => false,
        })
    }

    /// The write end of the self-pipe, creating the pipe (and its reader) on first use.
    fn signal_pipe(&self) -> Result<Arc<OwnedFd>, SignalError> {
        let core = self.core();
        if let Some((_, write)) = &core.signals.borrow().pipe {
            return Ok(write.clone());
        }
        let (read, write) = rustix::pipe::pipe_with(PipeFlags::NONBLOCK | PipeFlags::CLOEXEC)
            .map_err(|e| SignalError::Io(e.into()))?;
        let (read, write) = (Rc::new(read), Arc::new(write));
        let weak = Rc::downgrade(core);
        let r = read.clone();
        let reader = RepeatCell::new_rc(move || on_pipe_readable(&weak, &r));
        core.reactor
            .set_callback(
                &core.shared.poller,
                std::os::fd::AsRawFd::as_raw_fd(&*read),
                READ,
                Some(reader),
            )
            .map_err(SignalError::Io)?;
        core.signals.borrow_mut().pipe = Some((read, write.clone()));
        Ok(write)
    }
}
