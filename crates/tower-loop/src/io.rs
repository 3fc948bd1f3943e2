//! `add_reader`/`remove_reader`/`add_writer`/`remove_writer`: callbacks on raw fds, run in the
//! loop (tier 7's transports read and write from inside them).

use std::io;
use std::os::fd::{AsFd, AsRawFd};

use crate::EventLoop;
use crate::callback::RepeatCell;
use crate::reactor::{READ, WRITE};

impl EventLoop {
    /// Runs `callback` in the loop every iteration while `fd` is readable (asyncio's
    /// `add_reader`; level-triggered). Replaces a previous reader of `fd`. The fd must stay open
    /// until [`remove_reader`](Self::remove_reader) is called.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use tower_loop::EventLoop;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let (a, mut b) = UnixStream::pair().unwrap();
    /// b.write_all(b"x").unwrap();
    /// let lp2 = lp.clone();
    /// let reader = a.try_clone().unwrap();
    /// lp.add_reader(&a, move || {
    ///     let mut buf = [0; 1];
    ///     (&reader).read_exact(&mut buf).unwrap();
    ///     lp2.remove_reader(&reader).unwrap();
    ///     lp2.stop();
    /// })
    /// .unwrap();
    /// lp.run_forever().unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// If the OS refuses the registration (a bad fd).
    pub fn add_reader<F: FnMut() + 'static>(&self, fd: impl AsFd, callback: F) -> io::Result<()> {
        self.set_fd_callback(fd, READ, Some(RepeatCell::new_rc(callback)))
            .map(|_| ())
    }

    /// Stops watching `fd` for reading; returns whether a reader was registered (asyncio's
    /// `remove_reader`). A run already queued for this iteration is cancelled.
    ///
    /// # Errors
    ///
    /// If the OS refuses to update the registration.
    pub fn remove_reader(&self, fd: impl AsFd) -> io::Result<bool> {
        self.set_fd_callback(fd, READ, None)
    }

    /// Runs `callback` in the loop every iteration while `fd` is writable (asyncio's
    /// `add_writer`). Replaces a previous writer of `fd`.
    ///
    /// # Errors
    ///
    /// If the OS refuses the registration (a bad fd).
    pub fn add_writer<F: FnMut() + 'static>(&self, fd: impl AsFd, callback: F) -> io::Result<()> {
        self.set_fd_callback(fd, WRITE, Some(RepeatCell::new_rc(callback)))
            .map(|_| ())
    }

    /// Stops watching `fd` for writing; returns whether a writer was registered.
    ///
    /// # Errors
    ///
    /// If the OS refuses to update the registration.
    pub fn remove_writer(&self, fd: impl AsFd) -> io::Result<bool> {
        self.set_fd_callback(fd, WRITE, None)
    }

    /// Installs or removes one direction's callback.
    fn set_fd_callback(
        &self,
        fd: impl AsFd,
        dir: u8,
        cb: Option<std::rc::Rc<dyn crate::callback::Callback>>,
    ) -> io::Result<bool> {
        let core = self.core();
        if core.is_closed() {
            return if cb.is_some() {
                Err(io::Error::other(crate::error::RunError::Closed))
            } else {
                Ok(false)
            };
        }
        core.reactor()
            .set_callback(core.shared().poller(), fd.as_fd().as_raw_fd(), dir, cb)
    }
}
