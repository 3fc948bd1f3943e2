//! Unix signal handlers delivered to the loop thread (asyncio's `add_signal_handler`).
//!
//! The process-wide handler (installed through `signal-hook-registry`, see
//! docs/decisions/0002-signal-hook-registry.md) only writes the signal number to this loop's
//! non-blocking self-pipe — one `write(2)`, async-signal-safe. The pipe's read end is an
//! ordinary reader of the loop, which queues the user's callback on the ready queue; so the
//! callback runs on the loop thread, between other callbacks, like any other.
//!
//! When the last handler of a signal in the process is removed (by `remove_signal_handler` or
//! `close`, on any loop), the signal gets back the action it had before the tower's first
//! handler of it — the default one for `SIGINT`, so Ctrl-C stops the program again, as after
//! asyncio's `remove_signal_handler` (which restores `SIG_DFL`). The registry cannot uninstall
//! its process-wide handler, so the tower does it with `sigaction` and puts the registry's
//! handler back when a handler of that signal is added again ([`Dispositions`]).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::os::fd::OwnedFd;
use std::rc::{Rc, Weak};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rustix::io::Errno;
use signal_hook_registry::SigId;

use crate::EventLoop;
use crate::callback::{Callback, RepeatCell};
use crate::core::Core;
use crate::error::SignalError;
use crate::reactor::READ;
use crate::ready::Ready;

/// The loop's signal handlers and self-pipe; changed only by this module's functions.
#[derive(Default)]
pub(crate) struct Signals {
    /// The handlers and the pipe; borrowed only inside this module, never while a callback
    /// runs or is dropped.
    state: RefCell<SignalState>,
}

/// What [`Signals`] holds.
#[derive(Default)]
struct SignalState {
    /// Self-pipe: (read end, write end shared with the signal actions). Created on first use.
    pipe: Option<(Rc<OwnedFd>, Arc<OwnedFd>)>,
    /// Installed handlers: the registry id of our action and the user's callback.
    handlers: HashMap<i32, (SigId, Rc<dyn Callback>)>,
}

impl Signals {
    /// The callback of `sig`, if this loop handles it.
    fn callback(&self, sig: i32) -> Option<Rc<dyn Callback>> {
        self.state.borrow().handlers.get(&sig).map(|h| h.1.clone())
    }

    /// Replaces the callback of `sig` if this loop handles it, returning the old one; else
    /// hands `cb` back.
    fn replace_callback(
        &self,
        sig: i32,
        cb: Rc<dyn Callback>,
    ) -> Result<Rc<dyn Callback>, Rc<dyn Callback>> {
        match self.state.borrow_mut().handlers.get_mut(&sig) {
            Some(entry) => Ok(std::mem::replace(&mut entry.1, cb)),
            None => Err(cb),
        }
    }

    /// Records the handler of `sig`: the registry's id of the action and the callback.
    fn insert(&self, sig: i32, id: SigId, cb: Rc<dyn Callback>) {
        self.state.borrow_mut().handlers.insert(sig, (id, cb));
    }

    /// Forgets the handler of `sig`, returning it.
    fn remove(&self, sig: i32) -> Option<(SigId, Rc<dyn Callback>)> {
        self.state.borrow_mut().handlers.remove(&sig)
    }

    /// The self-pipe's write end, if the pipe was made.
    fn pipe_writer(&self) -> Option<Arc<OwnedFd>> {
        self.state
            .borrow()
            .pipe
            .as_ref()
            .map(|(_, write)| write.clone())
    }

    /// Records the self-pipe.
    fn set_pipe(&self, read: Rc<OwnedFd>, write: Arc<OwnedFd>) {
        self.state.borrow_mut().pipe = Some((read, write));
    }

    /// Takes every handler and the pipe (on close).
    fn take(&self) -> SignalState {
        std::mem::take(&mut *self.state.borrow_mut())
    }
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signals")
            .field(
                "signals",
                &self.state.borrow().handlers.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Removes every handler of the loop and closes its self-pipe (on close and drop).
pub(crate) fn close(core: &Core) {
    let state = core.signals().take();
    for (sig, (id, cb)) in state.handlers {
        Dispositions::unregister(sig, id);
        cb.cancel();
    }
    if let Some((read, _write)) = state.pipe {
        let _ = core.reactor().set_callback(
            core.shared().poller(),
            std::os::fd::AsRawFd::as_raw_fd(&*read),
            READ,
            None,
        );
    }
}

/// Whether `sig` is a signal number (asyncio's `signal.valid_signals()`).
fn is_signal(sig: i32) -> bool {
    (1..=64).contains(&sig)
}

/// Whether `sig` may be handled: a signal number, not one that cannot or must not be.
fn valid(sig: i32) -> bool {
    is_signal(sig) && !signal_hook_registry::FORBIDDEN.contains(&sig) && sig != 9 && sig != 19
}

/// The tower's handlers of each signal across the process, and how to undo the registry's
/// process-wide handler when none is left (see the module docs).
///
/// Lock order: this lock, then the registry's own (taken inside `register`/`unregister`).
struct Dispositions {
    /// Per signal number that a loop of this process ever handled.
    signals: BTreeMap<i32, Disposition>,
}

/// One signal's entry in [`Dispositions`].
struct Disposition {
    /// Handlers (registry actions) of the tower's loops now installed for the signal.
    handlers: usize,
    /// The action the signal had before the tower's first handler, and the registry's handler
    /// that replaced it; `None` if the registry's handler was already installed then (another
    /// user of the registry handles this signal, so the tower leaves the disposition alone).
    swap: Option<Swap>,
    /// `swap.before` was restored: the registry's handler must be put back before a new
    /// handler can run.
    restored: bool,
}

/// The two dispositions of a signal the tower switches between.
struct Swap {
    /// What the signal had before the registry's handler (e.g. `SIG_DFL`).
    before: libc::sigaction,
    /// The registry's handler, as it installed it.
    registry: libc::sigaction,
}

/// The process's [`Dispositions`].
static DISPOSITIONS: Mutex<Dispositions> = Mutex::new(Dispositions {
    signals: BTreeMap::new(),
});

impl Dispositions {
    /// Locks the process's dispositions (poison-free: nothing here panics while it is held,
    /// and the data stays consistent if something did).
    fn lock() -> MutexGuard<'static, Dispositions> {
        DISPOSITIONS.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `action` for `sig` with the registry, first putting the registry's handler
    /// back if the tower had restored the signal's earlier action.
    ///
    /// # Safety
    ///
    /// As `signal_hook_registry::register`: `action` must be async-signal-safe.
    unsafe fn register<F>(sig: i32, action: F) -> std::io::Result<SigId>
    where
        F: Fn() + Sync + Send + 'static,
    {
        let mut this = Self::lock();
        let first = !this.signals.contains_key(&sig);
        let before = if first { Some(query(sig)?) } else { None };
        let d = this.signals.entry(sig).or_insert(Disposition {
            handlers: 0,
            swap: None,
            restored: false,
        });
        if d.restored
            && let Some(swap) = &d.swap
        {
            install(sig, &swap.registry)?;
            d.restored = false;
        }
        // SAFETY: the caller's promise, passed on.
        let id = match unsafe { signal_hook_registry::register(sig, action) } {
            Ok(id) => id,
            Err(e) => {
                if first {
                    this.signals.remove(&sig);
                } else {
                    d.restore_if_unused(sig);
                }
                return Err(e);
            }
        };
        if let Some(before) = before {
            // The registry installs its handler only when it first sees the signal: if the
            // action changed now, the earlier one is what to restore.
            if let Ok(registry) = query(sig)
                && registry.sa_sigaction != before.sa_sigaction
            {
                d.swap = Some(Swap { before, registry });
            }
        }
        d.handlers += 1;
        Ok(id)
    }

    /// Unregisters the tower's action `id` of `sig`; if it was the signal's last one,
    /// restores the action the signal had before.
    fn unregister(sig: i32, id: SigId) {
        let mut this = Self::lock();
        if !signal_hook_registry::unregister(id) {
            return;
        }
        if let Some(d) = this.signals.get_mut(&sig) {
            d.handlers = d.handlers.saturating_sub(1);
            d.restore_if_unused(sig);
        }
    }
}

impl Disposition {
    /// With no handler left, restores the action `sig` had before the registry's handler
    /// (unless someone replaced that handler since: then theirs stays).
    fn restore_if_unused(&mut self, sig: i32) {
        if self.handlers != 0 || self.restored {
            return;
        }
        if let Some(swap) = &self.swap
            && query(sig).is_ok_and(|now| now.sa_sigaction == swap.registry.sa_sigaction)
            && install(sig, &swap.before).is_ok()
        {
            self.restored = true;
        }
    }
}

/// `sig`'s current action.
fn query(sig: i32) -> std::io::Result<libc::sigaction> {
    // SAFETY: an all-zero `sigaction` is a valid value of the C struct (what the registry
    // starts from too).
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only reads the current one into `old`, a valid pointer.
    if unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(old)
}

/// Installs `action` (one read before by [`query`]) for `sig`.
fn install(sig: i32, action: &libc::sigaction) -> std::io::Result<()> {
    // SAFETY: `action` was returned by `sigaction` for this signal, so its handler is one the
    // process had installed (or `SIG_DFL`/`SIG_IGN`); both pointers are valid.
    if unsafe { libc::sigaction(sig, action, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
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
                    let cb = core.signals().callback(i32::from(sig));
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
        if core.is_closed() {
            return Err(SignalError::Closed);
        }
        if !valid(sig) {
            return Err(SignalError::Invalid(sig));
        }
        let write = self.signal_pipe()?;
        let cb = RepeatCell::new_rc(callback);
        let cb = match core.signals().replace_callback(sig, cb) {
            Ok(old) => {
                old.cancel();
                return Ok(());
            }
            Err(cb) => cb,
        };
        let byte = [sig as u8];
        // SAFETY: the action is async-signal-safe: one write(2) of a byte on a non-blocking
        // pipe through rustix's raw syscall (no allocation, no lock; the `Arc` keeps the fd open
        // and is only read). A full pipe drops the byte: the signal coalesces with a pending one.
        let id = unsafe {
            Dispositions::register(sig, move || {
                let _ = rustix::io::write(&*write, &byte);
            })
        }
        .map_err(SignalError::Io)?;
        core.signals().insert(sig, id, cb);
        Ok(())
    }

    /// Removes the handler of `sig`; returns whether there was one (asyncio's
    /// `remove_signal_handler`: `false` for any signal this loop does not handle, `SIGKILL`
    /// included). When no loop of the process handles `sig` any more, it gets back the action
    /// it had before the first one did (for `SIGINT`, the default: Ctrl-C ends the program).
    ///
    /// ```
    /// use tower_loop::EventLoop;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// lp.add_signal_handler(2 /* SIGINT */, || {}).unwrap(); // Ctrl-C runs the callback
    /// assert!(lp.remove_signal_handler(2).unwrap()); // Ctrl-C stops the program again
    /// assert!(!lp.remove_signal_handler(2).unwrap());
    /// assert!(!lp.remove_signal_handler(9 /* SIGKILL */).unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// [`SignalError::Invalid`] for a number that is not a signal.
    pub fn remove_signal_handler(&self, sig: i32) -> Result<bool, SignalError> {
        if !is_signal(sig) {
            return Err(SignalError::Invalid(sig));
        }
        let removed = self.core().signals().remove(sig);
        Ok(match removed {
            Some((id, cb)) => {
                Dispositions::unregister(sig, id);
                cb.cancel();
                true
            }
            None => false,
        })
    }

    /// The write end of the self-pipe, creating the pipe (and its reader) on first use.
    fn signal_pipe(&self) -> Result<Arc<OwnedFd>, SignalError> {
        let core = self.core();
        if let Some(write) = core.signals().pipe_writer() {
            return Ok(write);
        }
        let (read, write) = crate::pipe::nonblocking_pipe().map_err(SignalError::Io)?;
        let (read, write) = (Rc::new(read), Arc::new(write));
        let weak = Rc::downgrade(core);
        let r = read.clone();
        let reader = RepeatCell::new_rc(move || on_pipe_readable(&weak, &r));
        core.reactor()
            .set_callback(
                core.shared().poller(),
                std::os::fd::AsRawFd::as_raw_fd(&*read),
                READ,
                Some(reader),
            )
            .map_err(SignalError::Io)?;
        core.signals().set_pipe(read, write.clone());
        Ok(write)
    }
}
