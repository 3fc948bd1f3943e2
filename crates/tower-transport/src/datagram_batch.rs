//! UDP batching for [`DatagramSocketTransport`](crate::DatagramSocketTransport), off by
//! default ([`Batching`], `set_batching`): `recvmmsg` reads up to N datagrams per readiness,
//! `sendmmsg` sends the datagrams queued in one loop iteration together, UDP GSO
//! (`UDP_SEGMENT`) sends a run of equal-size datagrams to one address as one buffer, and UDP
//! GRO (`UDP_GRO`) receives coalesced datagrams, split here. GSO and GRO are probed once, when
//! batching is turned on, and left off silently where the kernel (or the socket: Unix
//! datagram sockets) has neither. Linux only; elsewhere `set_batching` is `Unsupported`.

use std::fmt;

/// How a datagram transport batches (see `DatagramSocketTransport::set_batching`).
///
/// ```
/// use tower_transport::datagram_batch::Batching;
///
/// let b = Batching::default().max_datagrams(64).gro(false);
/// assert_eq!(b.max_datagrams, 64);
/// assert!(b.gso && !b.gro);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Batching {
    /// The most datagrams one `recvmmsg` reads, one `sendmmsg` sends (1 to 1024; default 32).
    pub max_datagrams: usize,
    /// The bytes received per datagram (default 65 536: nothing is truncated, as asyncio's
    /// 256 KiB `recvfrom`). A larger datagram is dropped and reported to `error_received` as
    /// [`DatagramTruncated`]. The receive buffer is `max_datagrams` × this (2 MiB by default),
    /// allocated when batching is turned on. With GRO granted it is at least 65 536.
    pub slot_size: usize,
    /// Whether to send runs of equal-size datagrams to one address with UDP GSO (asked; kept
    /// only where the kernel has it: [`DatagramSocketTransport::batching`] says).
    ///
    /// [`DatagramSocketTransport::batching`]: crate::DatagramSocketTransport::batching
    pub gso: bool,
    /// Whether to ask the kernel to coalesce received datagrams (UDP GRO), split back here.
    pub gro: bool,
}

impl Default for Batching {
    fn default() -> Self {
        Batching {
            max_datagrams: 32,
            slot_size: 65_536,
            gso: true,
            gro: true,
        }
    }
}

impl Batching {
    /// With at most `n` datagrams per `recvmmsg`/`sendmmsg`.
    pub fn max_datagrams(mut self, n: usize) -> Self {
        self.max_datagrams = n;
        self
    }

    /// With `n` bytes received per datagram.
    pub fn slot_size(mut self, n: usize) -> Self {
        self.slot_size = n;
        self
    }

    /// With (or without) UDP GSO.
    pub fn gso(mut self, on: bool) -> Self {
        self.gso = on;
        self
    }

    /// With (or without) UDP GRO.
    pub fn gro(mut self, on: bool) -> Self {
        self.gro = on;
        self
    }
}

/// What `error_received` gets (inside an `io::Error` of kind `InvalidData`) for a datagram
/// larger than [`Batching::slot_size`]: it was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatagramTruncated {
    /// The datagram's size.
    pub size: usize,
    /// The slot it did not fit.
    pub slot_size: usize,
}

impl fmt::Display for DatagramTruncated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a {}-byte datagram was larger than the batch slot ({} bytes) and was dropped: \
             raise Batching::slot_size",
            self.size, self.slot_size
        )
    }
}

impl std::error::Error for DatagramTruncated {}

#[cfg(target_os = "linux")]
pub(crate) use linux::{BatchState, Received};

#[cfg(not(target_os = "linux"))]
pub(crate) use other::{BatchState, Received};

/// The kernel side, Linux.
#[cfg(target_os = "linux")]
mod linux {
    use crate::datagram_queue::DatagramQueue;
    use std::cell::{Cell, RefCell};
    use std::io;
    use std::mem::{size_of, zeroed};
    use std::os::fd::{AsRawFd, BorrowedFd};
    use std::ptr;

    use rustix::io::Errno;
    use rustix::net::addr::{SocketAddrLen, SocketAddrStorage};
    use rustix::net::{AddressFamily, SocketAddrAny};

    use super::{Batching, DatagramTruncated};
    use crate::extra::SocketAddress;

    /// `UDP_SEGMENT` (linux/udp.h): the GSO segment size, a socket option and a `cmsg`.
    const UDP_SEGMENT: libc::c_int = 103;
    /// `UDP_GRO` (linux/udp.h): coalesce on receive; the `cmsg` gives the segment size.
    const UDP_GRO: libc::c_int = 104;
    /// The most segments one GSO send takes (`UDP_MAX_SEGMENTS`, 64 on older kernels).
    const MAX_GSO_SEGMENTS: usize = 64;
    /// The most bytes one GSO send takes (one IP packet's payload, with room to spare).
    const MAX_GSO_BYTES: usize = 65_000;
    /// The largest UDP payload: a GRO read needs this much room.
    const GRO_SLOT: usize = 65_536;
    /// Control bytes per received datagram (one `cmsg` with an `int`).
    const CONTROL_WORDS: usize = 8;

    /// What one received datagram is, for the transport to deliver.
    pub(crate) enum Received<'a> {
        /// A datagram and its sender.
        Datagram(&'a [u8], Option<SocketAddress>),
        /// A datagram too large for its slot, dropped.
        Truncated(DatagramTruncated),
    }

    /// Scratch memory of the receive side (the headers point into it; rebuilt per call).
    struct RecvBufs {
        data: Vec<u8>,
        names: Vec<SocketAddrStorage>,
        control: Vec<[u64; CONTROL_WORDS]>,
        iov: Vec<libc::iovec>,
        hdrs: Vec<libc::mmsghdr>,
    }

    /// Scratch memory of the send side.
    struct SendBufs {
        names: Vec<Option<SocketAddrAny>>,
        iov: Vec<libc::iovec>,
        hdrs: Vec<libc::mmsghdr>,
    }

    /// A transport's batching: what was granted, and the scratch buffers.
    pub(crate) struct BatchState {
        /// The configuration, `gso`/`gro` as granted.
        pub(crate) cfg: Batching,
        /// Segment sizes at or above this are not sent with GSO (lowered on `EINVAL`: a
        /// segment above the path's MTU); 0 once GSO failed as unsupported (`EIO`).
        gso_limit: Cell<usize>,
        recv: RefCell<RecvBufs>,
        send: RefCell<SendBufs>,
    }

    impl std::fmt::Debug for BatchState {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("BatchState")
                .field("cfg", &self.cfg)
                .field("gso_limit", &self.gso_limit.get())
                .finish()
        }
    }

    /// The calling thread's `errno`, after a failed call.
    fn errno() -> Errno {
        Errno::from_raw_os_error(
            io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }

    /// Sets an `int` UDP socket option.
    fn set_udp_opt(fd: BorrowedFd<'_>, opt: libc::c_int, value: libc::c_int) -> bool {
        // SAFETY: `fd` is open (borrowed); the value pointer and length describe one `int`
        // that lives across the call.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_UDP,
                opt,
                ptr::from_ref(&value).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        r == 0
    }

    /// Whether the kernel knows `UDP_SEGMENT` on this socket.
    fn has_gso(fd: BorrowedFd<'_>) -> bool {
        let mut value: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `fd` is open; `value` and `len` are live and sized for one `int`.
        let r = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_UDP,
                UDP_SEGMENT,
                ptr::from_mut(&mut value).cast(),
                &mut len,
            )
        };
        r == 0
    }

    impl BatchState {
        /// Turns batching on for `fd` as `cfg` asks, probing GSO and GRO (turned on with
        /// `setsockopt` here).
        pub(crate) fn new(fd: BorrowedFd<'_>, mut cfg: Batching) -> io::Result<BatchState> {
            if !(1..=1024).contains(&cfg.max_datagrams) || cfg.slot_size == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "Batching: max_datagrams must be 1 to 1024 and slot_size above 0",
                ));
            }
            let family = rustix::net::getsockname(fd)?.address_family();
            let udp = family == AddressFamily::INET || family == AddressFamily::INET6;
            cfg.gso = cfg.gso && udp && has_gso(fd);
            cfg.gro = cfg.gro && udp && set_udp_opt(fd, UDP_GRO, 1);
            if cfg.gro {
                cfg.slot_size = cfg.slot_size.max(GRO_SLOT);
            }
            let n = cfg.max_datagrams;
            // SAFETY: `iovec` and `mmsghdr` are plain C structs for which all-zero bytes
            // are a valid value (null pointers, zero lengths); they are filled before use.
            let (iov, hdrs) = unsafe { (vec![zeroed(); n], vec![zeroed(); n]) };
            // SAFETY: as above.
            let (siov, shdrs) = unsafe { (vec![zeroed(); n], vec![zeroed(); n]) };
            Ok(BatchState {
                gso_limit: Cell::new(if cfg.gso { usize::MAX } else { 0 }),
                recv: RefCell::new(RecvBufs {
                    data: vec![0; n * cfg.slot_size],
                    // SAFETY: `sockaddr_storage` is plain bytes; all-zero is valid.
                    names: vec![unsafe { zeroed() }; n],
                    control: vec![[0; CONTROL_WORDS]; n],
                    iov,
                    hdrs,
                }),
                send: RefCell::new(SendBufs {
                    names: Vec::with_capacity(n),
                    iov: siov,
                    hdrs: shdrs,
                }),
                cfg,
            })
        }

        /// Turns off what [`BatchState::new`] turned on in the socket (GRO: an unbatched
        /// read would get coalesced datagrams unsplit).
        pub(crate) fn undo(&self, fd: BorrowedFd<'_>) {
            if self.cfg.gro {
                set_udp_opt(fd, UDP_GRO, 0);
            }
        }

        /// Whether GSO is in use now.
        pub(crate) fn gso_in_use(&self) -> bool {
            self.gso_limit.get() > 0
        }

        /// One `recvmmsg` of up to `max_datagrams`; returns how many messages it read (into
        /// the scratch buffers, for [`BatchState::deliver`]).
        pub(crate) fn recv(&self, fd: BorrowedFd<'_>) -> Result<usize, Errno> {
            let mut bufs = self.recv.borrow_mut();
            let RecvBufs {
                data,
                names,
                control,
                iov,
                hdrs,
            } = &mut *bufs;
            let slot = self.cfg.slot_size;
            let n = self.cfg.max_datagrams;
            // Base pointers taken once, after which the vectors are not touched but through
            // them (and `hdrs`), so no later borrow invalidates a pointer the kernel gets.
            let data = data.as_mut_ptr();
            let names = names.as_mut_ptr();
            let control = control.as_mut_ptr();
            let iov = iov.as_mut_ptr();
            for (i, hdr) in hdrs.iter_mut().enumerate().take(n) {
                // SAFETY: `i < n`, and `data` holds `n * slot` bytes, `names`, `control`,
                // `iov` `n` elements each (sized in `new` from the same `cfg`).
                let (base, name, ctl, v) =
                    unsafe { (data.add(i * slot), names.add(i), control.add(i), iov.add(i)) };
                // SAFETY: `v` points at element `i` of `iov`, valid for writes.
                unsafe {
                    v.write(libc::iovec {
                        iov_base: base.cast(),
                        iov_len: slot,
                    })
                };
                // SAFETY: all-zero is a valid `msghdr` (some targets have private padding
                // fields, so it is built from zero and filled field by field).
                let mut h: libc::msghdr = unsafe { zeroed() };
                h.msg_name = name.cast();
                h.msg_namelen = size_of::<SocketAddrStorage>() as libc::socklen_t;
                h.msg_iov = v;
                h.msg_iovlen = 1;
                if self.cfg.gro {
                    h.msg_control = ctl.cast();
                    h.msg_controllen = size_of::<[u64; CONTROL_WORDS]>() as _;
                }
                *hdr = libc::mmsghdr {
                    msg_hdr: h,
                    msg_len: 0,
                };
            }
            // SAFETY: `fd` is open; `hdrs` holds `n` headers whose names, iovecs, buffers and
            // control buffers all live in `bufs`, borrowed (and not moved) across the call;
            // each buffer is as large as the header says.
            let r = unsafe {
                libc::recvmmsg(
                    fd.as_raw_fd(),
                    hdrs.as_mut_ptr(),
                    n as libc::c_uint,
                    libc::MSG_DONTWAIT | libc::MSG_TRUNC,
                    ptr::null_mut(),
                )
            };
            if r < 0 {
                return Err(errno());
            }
            Ok(r as usize)
        }

        /// Hands the `count` messages of the last [`BatchState::recv`] to `f`, in order
        /// (a GRO message split into its datagrams), until `f` returns `false`.
        pub(crate) fn deliver(&self, count: usize, mut f: impl FnMut(Received<'_>) -> bool) {
            let bufs = self.recv.borrow();
            let slot = self.cfg.slot_size;
            for i in 0..count {
                let h = &bufs.hdrs[i];
                let len = h.msg_len as usize;
                let namelen = h.msg_hdr.msg_namelen;
                let addr = if namelen == 0 {
                    None
                } else {
                    // SAFETY: the kernel wrote a socket address of `namelen` bytes (at most the
                    // storage's size, which it was told) into `names[i]`.
                    let any = unsafe {
                        SocketAddrAny::read(
                            &bufs.names[i],
                            SocketAddrLen::try_from(namelen).unwrap_or(0),
                        )
                    };
                    SocketAddress::from_any(&any)
                };
                if h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                    let t = DatagramTruncated {
                        size: len,
                        slot_size: slot,
                    };
                    if !f(Received::Truncated(t)) {
                        return;
                    }
                    continue;
                }
                let data = &bufs.data[i * slot..i * slot + len.min(slot)];
                match gro_segment(&h.msg_hdr) {
                    Some(seg) if seg > 0 && seg < data.len() => {
                        for d in data.chunks(seg) {
                            if !f(Received::Datagram(d, addr.clone())) {
                                return;
                            }
                        }
                    }
                    _ => {
                        if !f(Received::Datagram(data, addr)) {
                            return;
                        }
                    }
                }
            }
        }

        /// Sends the front of `queue` (datagram, destination; `None`: the connected peer):
        /// a run of equal-size datagrams to one address with one GSO `sendmsg`, else up to
        /// `max_datagrams` with one `sendmmsg`. Returns how many datagrams went.
        pub(crate) fn send(
            &self,
            fd: BorrowedFd<'_>,
            queue: &DatagramQueue,
        ) -> Result<usize, Errno> {
            let run = self.gso_run(queue);
            if run >= 2 {
                match self.send_gso(fd, queue, run) {
                    Ok(()) => return Ok(run),
                    Err(Errno::AGAIN) => return Err(Errno::AGAIN),
                    Err(Errno::INVAL | Errno::MSGSIZE) => {
                        // The segment is larger than the path allows: smaller ones only.
                        self.gso_limit
                            .set(queue.front().map_or(0, |(d, _)| d.len()));
                    }
                    Err(Errno::IO | Errno::OPNOTSUPP | Errno::NOPROTOOPT) => {
                        // No GSO on this path (no checksum offload...): off for good.
                        self.gso_limit.set(0);
                    }
                    Err(e) => return Err(e),
                }
            }
            self.send_mmsg(fd, queue)
        }

        /// How many datagrams at the front of `queue` one GSO send can take: the same
        /// destination, the same size (the last may be shorter), within the kernel's limits.
        fn gso_run(&self, queue: &DatagramQueue) -> usize {
            let Some((first, addr)) = queue.front() else {
                return 0;
            };
            let seg = first.len();
            if seg == 0 || seg >= self.gso_limit.get() {
                return 0;
            }
            let mut total = 0;
            let mut run = 0;
            for (d, a) in queue
                .iter()
                .take(MAX_GSO_SEGMENTS.min(self.cfg.max_datagrams))
            {
                if a != addr || d.len() > seg || d.is_empty() || total + d.len() > MAX_GSO_BYTES {
                    break;
                }
                total += d.len();
                run += 1;
                if d.len() < seg {
                    break;
                }
            }
            run
        }

        /// One `sendmsg` of the first `run` datagrams with a `UDP_SEGMENT` of the first's size.
        fn send_gso(
            &self,
            fd: BorrowedFd<'_>,
            queue: &DatagramQueue,
            run: usize,
        ) -> Result<(), Errno> {
            let mut send = self.send.borrow_mut();
            let Some((first, addr)) = queue.front() else {
                return Ok(());
            };
            let seg = first.len() as u16;
            for (i, (d, _)) in queue.iter().take(run).enumerate() {
                send.iov[i] = libc::iovec {
                    iov_base: d.as_ptr().cast_mut().cast(),
                    iov_len: d.len(),
                };
            }
            let name = addr.and_then(SocketAddress::to_any);
            let mut control = [0u64; CONTROL_WORDS];
            // SAFETY: all-zero is a valid `msghdr`; filled below.
            let mut h: libc::msghdr = unsafe { zeroed() };
            if let Some(a) = &name {
                h.msg_name = a.as_ptr().cast_mut().cast();
                h.msg_namelen = a.addr_len() as libc::socklen_t;
            }
            h.msg_iov = send.iov.as_mut_ptr();
            h.msg_iovlen = run as _;
            h.msg_control = control.as_mut_ptr().cast();
            // SAFETY: CMSG_SPACE only computes a size.
            h.msg_controllen = unsafe { libc::CMSG_SPACE(size_of::<u16>() as u32) } as _;
            // SAFETY: `h` has a control buffer of `msg_controllen` bytes (64 available), so
            // CMSG_FIRSTHDR returns a header inside it with room for a `u16` of data.
            unsafe {
                let c = libc::CMSG_FIRSTHDR(&h);
                (*c).cmsg_level = libc::SOL_UDP;
                (*c).cmsg_type = UDP_SEGMENT;
                (*c).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as _;
                ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), seg);
            }
            // SAFETY: `fd` is open; the name, iovecs (pointing into `queue`'s datagrams) and
            // control buffer live across the call and match their lengths.
            let r = unsafe { libc::sendmsg(fd.as_raw_fd(), &h, libc::MSG_NOSIGNAL) };
            if r < 0 { Err(errno()) } else { Ok(()) }
        }

        /// One `sendmmsg` of up to `max_datagrams` from the front of `queue`.
        fn send_mmsg(&self, fd: BorrowedFd<'_>, queue: &DatagramQueue) -> Result<usize, Errno> {
            let mut send = self.send.borrow_mut();
            let SendBufs { names, iov, hdrs } = &mut *send;
            let n = queue.len().min(self.cfg.max_datagrams);
            names.clear();
            names.extend(
                queue
                    .iter()
                    .take(n)
                    .map(|(_, a)| a.and_then(SocketAddress::to_any)),
            );
            for (v, (d, _)) in iov.iter_mut().zip(queue.iter().take(n)) {
                *v = libc::iovec {
                    iov_base: d.as_ptr().cast_mut().cast(),
                    iov_len: d.len(),
                };
            }
            // Taken after the iovecs are written; neither vector is touched again before the
            // call but through these pointers.
            let iov = iov.as_mut_ptr();
            for (i, (hdr, name)) in hdrs.iter_mut().zip(names.iter()).enumerate() {
                // SAFETY: all-zero is a valid `msghdr`; filled below.
                let mut h: libc::msghdr = unsafe { zeroed() };
                if let Some(a) = name {
                    h.msg_name = a.as_ptr().cast_mut().cast();
                    h.msg_namelen = a.addr_len() as libc::socklen_t;
                }
                // SAFETY: `i < n <= iov.len()`.
                h.msg_iov = unsafe { iov.add(i) };
                h.msg_iovlen = 1;
                *hdr = libc::mmsghdr {
                    msg_hdr: h,
                    msg_len: 0,
                };
            }
            // SAFETY: `fd` is open; the first `n` headers point at names in `names` and
            // iovecs in `iov` (both borrowed, not moved, across the call) and the iovecs at
            // `queue`'s datagrams, all live and matching their lengths.
            let r = unsafe {
                libc::sendmmsg(
                    fd.as_raw_fd(),
                    hdrs.as_mut_ptr(),
                    n as libc::c_uint,
                    libc::MSG_NOSIGNAL,
                )
            };
            if r < 0 { Err(errno()) } else { Ok(r as usize) }
        }
    }

    /// The GRO segment size of a received message, from its `UDP_GRO` control message.
    fn gro_segment(h: &libc::msghdr) -> Option<usize> {
        if h.msg_control.is_null() || h.msg_controllen == 0 {
            return None;
        }
        // SAFETY: `h` is a header the kernel filled: its control buffer (ours, live) holds
        // `msg_controllen` bytes of well-formed control messages, which the CMSG macros walk.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(h);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_UDP && (*c).cmsg_type == UDP_GRO {
                    let seg = ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
                    return usize::try_from(seg).ok();
                }
                c = libc::CMSG_NXTHDR(h, c);
            }
        }
        None
    }
}

/// Elsewhere: no batching.
#[cfg(not(target_os = "linux"))]
mod other {
    use crate::datagram_queue::DatagramQueue;
    use std::io;
    use std::os::fd::BorrowedFd;

    use rustix::io::Errno;

    use super::{Batching, DatagramTruncated};
    use crate::extra::SocketAddress;

    /// What one received datagram is (never made here: batching is Linux only).
    #[allow(dead_code)]
    pub(crate) enum Received<'a> {
        /// A datagram and its sender.
        Datagram(&'a [u8], Option<SocketAddress>),
        /// A datagram too large for its slot.
        Truncated(DatagramTruncated),
    }

    /// Never made: `new` fails.
    #[derive(Debug)]
    pub(crate) struct BatchState {
        pub(crate) cfg: Batching,
    }

    impl BatchState {
        pub(crate) fn new(_fd: BorrowedFd<'_>, _cfg: Batching) -> io::Result<BatchState> {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "datagram batching (recvmmsg/sendmmsg) is Linux only",
            ))
        }
        pub(crate) fn undo(&self, _fd: BorrowedFd<'_>) {}
        pub(crate) fn gso_in_use(&self) -> bool {
            false
        }
        pub(crate) fn recv(&self, _fd: BorrowedFd<'_>) -> Result<usize, Errno> {
            Err(Errno::NOSYS)
        }
        pub(crate) fn deliver(&self, _count: usize, _f: impl FnMut(Received<'_>) -> bool) {}
        pub(crate) fn send(
            &self,
            _fd: BorrowedFd<'_>,
            _queue: &DatagramQueue,
        ) -> Result<usize, Errno> {
            Err(Errno::NOSYS)
        }
    }
}
