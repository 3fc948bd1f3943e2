//! The OS poller under the reactor: one type, [`Poller`], picked by `cfg` (the reactor names
//! only this module's items).
//!
//! - **Linux** (and Android): straight on `epoll` through `rustix`
//!   (docs/decisions/0009-reactor-epoll.md). One `epoll_pwait` per wait with the timeout in
//!   milliseconds, rounded up (no timerfd); the cross-thread wake-up is an eventfd registered
//!   edge-triggered once, written by [`Poller::notify`] and never read on the wait path (each
//!   write is an edge; it is read only in the 2^64-th write's `EAGAIN`); no `epoll_ctl` besides
//!   the ones the reactor asks for.
//! - **Elsewhere** (kqueue on the BSDs and Apple's systems): `polling`, whose types this module
//!   re-exports under the same names.
//!
//! The Linux types have the subset of `polling`'s API that the reactor uses, with the same
//! meaning: [`Event`] (a key and two readiness flags), [`Events`] (a reused buffer),
//! [`PollMode`] and [`Poller`]'s `add_with_mode`/`modify_with_mode`/`delete`/`wait`/`notify`.

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) use polling::{Event, Events, PollMode, Poller};

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use epoll::{Event, Events, PollMode, Poller};

#[cfg(any(target_os = "linux", target_os = "android"))]
mod epoll {
    use std::fmt;
    use std::io;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
    use std::time::Duration;

    use rustix::event::epoll::{self, EventData, EventFlags};
    use rustix::event::{EventfdFlags, Timespec, eventfd};
    use rustix::io::Errno;

    /// The key of the eventfd's events (never a reactor key: those are fd numbers or
    /// `SOURCE_BIT | index`, both below this).
    const NOTIFY_KEY: u64 = u64::MAX;

    /// The longest single wait: what `epoll_pwait` takes in milliseconds (`c_int::MAX`).
    const MAX_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

    /// Events asked for by a read interest (as `polling` asks: hang-up and out-of-band data
    /// count as readable).
    const READ_FLAGS: EventFlags = EventFlags::IN
        .union(EventFlags::RDHUP)
        .union(EventFlags::PRI);
    /// Events asked for by a write interest.
    const WRITE_FLAGS: EventFlags = EventFlags::OUT;

    /// How a registration reports readiness (as `polling::PollMode`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum PollMode {
        /// Reported by every wait while ready (asyncio's selector semantics).
        Level,
        /// Reported when it becomes ready (`EPOLLET`), for the registration's lifetime.
        Edge,
    }

    /// A registration's interest, or an event's readiness.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) struct Event {
        /// The key given at registration.
        pub(crate) key: usize,
        /// Readable (or hung up, or in error).
        pub(crate) readable: bool,
        /// Writable (or hung up, or in error).
        pub(crate) writable: bool,
        /// Reads will not wait any more: the peer shut down its writing, or the fd hung up or
        /// failed (`RDHUP`, `HUP`, `ERR`). Only in events (`Async`'s short-read rule).
        pub(crate) read_closed: bool,
    }

    impl Event {
        /// Interest in the given directions.
        pub(crate) fn new(key: usize, readable: bool, writable: bool) -> Event {
            Event {
                key,
                readable,
                writable,
                read_closed: false,
            }
        }

        /// Interest in both directions.
        pub(crate) fn all(key: usize) -> Event {
            Event::new(key, true, true)
        }

        /// The `epoll_event` flags of this interest in `mode`.
        fn flags(self, mode: PollMode) -> EventFlags {
            let mut f = EventFlags::empty();
            if self.readable {
                f |= READ_FLAGS;
            }
            if self.writable {
                f |= WRITE_FLAGS;
            }
            match mode {
                PollMode::Level => f,
                PollMode::Edge => f | EventFlags::ET,
            }
        }
    }

    /// The events of one wait, in a buffer reused from wait to wait.
    pub(crate) struct Events {
        /// What `epoll_pwait` wrote (the eventfd's events included).
        list: Vec<epoll::Event>,
    }

    impl fmt::Debug for Events {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Events")
                .field("len", &self.list.len())
                .finish()
        }
    }

    impl Events {
        /// A buffer for up to 1024 events per wait (as `polling`'s).
        pub(crate) fn new() -> Events {
            Events {
                list: Vec::with_capacity(1024),
            }
        }

        /// Forgets the last wait's events.
        pub(crate) fn clear(&mut self) {
            self.list.clear();
        }

        /// The last wait's events, the eventfd's left out.
        pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
            self.list.iter().filter_map(|ev| {
                let key = ev.data.u64();
                if key == NOTIFY_KEY {
                    return None;
                }
                let flags = ev.flags;
                let broken = flags.intersects(EventFlags::HUP | EventFlags::ERR);
                Some(Event {
                    key: key as usize,
                    readable: broken || flags.intersects(READ_FLAGS),
                    writable: broken || flags.intersects(WRITE_FLAGS),
                    read_closed: broken || flags.contains(EventFlags::RDHUP),
                })
            })
        }
    }

    /// An epoll instance and its wake-up eventfd.
    pub(crate) struct Poller {
        /// The epoll fd.
        epoll: OwnedFd,
        /// The eventfd [`notify`](Self::notify) writes, registered edge-triggered.
        notifier: OwnedFd,
    }

    impl fmt::Debug for Poller {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Poller")
                .field("epoll", &self.epoll)
                .field("notifier", &self.notifier)
                .finish()
        }
    }

    impl Poller {
        /// A new epoll instance (close-on-exec) with its eventfd registered.
        pub(crate) fn new() -> io::Result<Poller> {
            let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
            let notifier = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
            epoll::add(
                &epoll,
                &notifier,
                EventData::new_u64(NOTIFY_KEY),
                EventFlags::IN | EventFlags::ET,
            )?;
            Ok(Poller { epoll, notifier })
        }

        /// Edge-triggered registrations are supported.
        pub(crate) fn supports_edge(&self) -> bool {
            true
        }

        /// `epoll_ctl(ADD)` of `fd` with `ev`'s key and interest in `mode`.
        ///
        /// # Safety
        ///
        /// None beyond `polling`'s signature, kept for the other platforms' sake: `fd` is only
        /// passed to `epoll_ctl`, which fails on a closed fd.
        pub(crate) unsafe fn add_with_mode(
            &self,
            fd: RawFd,
            ev: Event,
            mode: PollMode,
        ) -> io::Result<()> {
            // SAFETY: the number is only handed to `epoll_ctl`, never used as memory; a closed
            // fd makes the call fail with `EBADF`.
            let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
            epoll::add(
                &self.epoll,
                bfd,
                EventData::new_u64(ev.key as u64),
                ev.flags(mode),
            )?;
            Ok(())
        }

        /// `epoll_ctl(MOD)` of `fd` to `ev`'s key and interest in `mode`.
        pub(crate) fn modify_with_mode(
            &self,
            fd: BorrowedFd<'_>,
            ev: Event,
            mode: PollMode,
        ) -> io::Result<()> {
            epoll::modify(
                &self.epoll,
                fd,
                EventData::new_u64(ev.key as u64),
                ev.flags(mode),
            )?;
            Ok(())
        }

        /// `epoll_ctl(DEL)` of `fd`.
        pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
            epoll::delete(&self.epoll, fd)?;
            Ok(())
        }

        /// One `epoll_pwait` for at most `timeout` (`None`: until an event or a
        /// [`notify`](Self::notify)), rounded up to whole milliseconds and capped at 24.8 days;
        /// returns the number of events in `events`, the wake-up's left out. An interrupted
        /// wait (`EINTR`) returns 0.
        pub(crate) fn wait(
            &self,
            events: &mut Events,
            timeout: Option<Duration>,
        ) -> io::Result<usize> {
            events.list.clear();
            // Capped at `c_int::MAX` ms (24.8 days; the loop waits again if nothing came):
            // rustix then always makes `epoll_pwait`, never `epoll_pwait2`, which kernels
            // before 5.11 refuse.
            let ts = timeout.map(|d| {
                let d = d.min(MAX_TIMEOUT);
                Timespec {
                    tv_sec: d.as_secs() as i64,
                    tv_nsec: d.subsec_nanos().into(),
                }
            });
            match epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut events.list),
                ts.as_ref(),
            ) {
                Ok(_) => {}
                Err(Errno::INTR) => return Ok(0),
                Err(e) => return Err(e.into()),
            }
            let notified = events
                .list
                .iter()
                .filter(|ev| ev.data.u64() == NOTIFY_KEY)
                .count();
            Ok(events.list.len() - notified)
        }

        /// Wakes a thread blocked in [`wait`](Self::wait) (or makes the next wait return at
        /// once): one `write` to the eventfd. Each write is an edge, so the counter is never
        /// read back, except when it is full (`EAGAIN` after 2^64 - 2 writes): then it is
        /// drained and written again.
        pub(crate) fn notify(&self) -> io::Result<()> {
            let one = 1u64.to_ne_bytes();
            match rustix::io::write(&self.notifier, &one) {
                Ok(_) => Ok(()),
                Err(Errno::AGAIN) => {
                    let mut buf = [0u8; 8];
                    let _ = rustix::io::read(&self.notifier, &mut buf);
                    rustix::io::write(&self.notifier, &one)?;
                    Ok(())
                }
                Err(e) => Err(e.into()),
            }
        }
    }

    impl AsFd for Poller {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.epoll.as_fd()
        }
    }
}
