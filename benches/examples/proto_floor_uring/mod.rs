//! `proto_floor`'s io_uring servers (`floor-uring*`): one ring, a multishot accept on the
//! listener, per connection a (multishot) `recv` on one shared provided-buffer ring, and each
//! received buffer echoed by a `send` SQE straight from that buffer (no copy), the buffer handed
//! back to the kernel when its send completed.
//!
//! A loop turn is one `io_uring_enter` that submits the turn's sends and waits; then every
//! completion is handled:
//!
//! - a `recv` completion queues its buffer on the connection (and re-arms the `recv` if the
//!   kernel ended it: one-shot mode, or a multishot `recv` without `IORING_CQE_F_MORE`);
//! - a `send` completion hands its buffer back.
//!
//! At the end of the turn, every connection with queued buffers and **no send in flight**
//! submits them as one linked chain (`IOSQE_IO_LINK`) of `send`s with `MSG_WAITALL` (the kernel
//! finishes a short send itself before the next link starts), so a connection's echoes leave in
//! order and a later turn's send never overtakes an earlier one still in flight.
//!
//! The wait: `min_complete` is the number of sends just submitted plus one. A send to a loopback
//! socket with room completes inside the submit and posts its CQE at once, so `min_complete = 1`
//! would return straight away and make every turn two enters; counting the sends makes the
//! enter wait for one completion beyond them (every send completes without the server's help,
//! so this cannot wait for something only the server could cause). With a minimum wait
//! (`floor-uring-minwait`), `min_complete` is the sends plus one per connection and
//! `min_wait_usec` is set: the kernel returns when that many completions are there, or after
//! `min_wait_usec` once at least one is.

mod ring;

use std::collections::VecDeque;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use rustix::io::Errno;
use rustix::io_uring::{
    IORING_CQE_BUFFER_SHIFT, IoringAcceptFlags, IoringCqeFlags, IoringOp, IoringRecvFlags,
    IoringSqeFlags, addr_or_splice_off_in_union, buf_union, io_uring_ptr, io_uring_sqe,
    io_uring_user_data, ioprio_union, len_union, op_flags_union,
};
use rustix::net::{RecvFlags, SendFlags, SocketFlags};

use ring::{BufRing, Ring, TaskRun};

/// The provided buffers' group.
const BGID: u16 = 0;
/// Provided buffers (shared by every connection).
const BUFS: u16 = 256;
/// Bytes per provided buffer (tokio's per-connection read buffer).
const BUF_SIZE: u32 = 64 * 1024;

/// `user_data` of the accept.
const ACCEPT: u64 = u64::MAX;
/// `user_data` kind of a connection's `recv` (slot in the low 32 bits).
const RECV: u64 = 1 << 56;
/// `user_data` kind of a connection's `send` (slot in the low 32 bits, buffer id in bits 32..48).
const SEND: u64 = 2 << 56;

/// How a `floor-uring*` server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Config {
    /// The ring's task-run mode.
    pub(crate) run: TaskRun,
    /// Multishot `recv` (one SQE per connection) or one `recv` SQE per completion.
    pub(crate) multishot: bool,
    /// `min_wait_usec` of each wait (`IORING_ENTER_EXT_ARG`), if any.
    pub(crate) min_wait: Option<u32>,
}

impl Config {
    /// The config of `kind`, if it is a `floor-uring*` kind.
    pub(crate) fn of(kind: &str) -> Option<Config> {
        let base = Config {
            run: TaskRun::Defer,
            multishot: true,
            min_wait: None,
        };
        match kind {
            "floor-uring" => Some(base),
            "floor-uring-coop" => Some(Config {
                run: TaskRun::Coop,
                ..base
            }),
            "floor-uring-plain" => Some(Config {
                multishot: false,
                ..base
            }),
            k => {
                let usec = k.strip_prefix("floor-uring-minwait")?;
                let usec = if usec.is_empty() {
                    20
                } else {
                    usec.parse().ok()?
                };
                Some(Config {
                    min_wait: Some(usec),
                    ..base
                })
            }
        }
    }
}

/// One connection.
struct Conn {
    sock: OwnedFd,
    /// Received buffers (id, length) not yet submitted for sending, in order.
    queued: VecDeque<(u16, u32)>,
    /// Sends submitted and not completed.
    inflight: u32,
}

/// An io_uring echo server.
pub(crate) struct UringFloor {
    cfg: Config,
    ring: Ring,
    bufs: BufRing,
    listener: TcpListener,
    conns: Vec<Option<Conn>>,
    /// Connections that queued buffers this turn.
    dirty: Vec<usize>,
    /// Connections whose `recv` must be armed (again) this turn.
    arm: Vec<usize>,
    /// The turn's completions (copied out of the CQ).
    cqes: Vec<(u64, i32, IoringCqeFlags)>,
}

impl UringFloor {
    /// A server on `listener` (made blocking: the accept is the ring's).
    pub(crate) fn new(cfg: Config, listener: TcpListener) -> rustix::io::Result<UringFloor> {
        listener
            .set_nonblocking(false)
            .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::INVAL))?;
        let ring = Ring::new(1024, 4096, cfg.run)?;
        let bufs = BufRing::new(&ring, BGID, BUFS, BUF_SIZE)?;
        Ok(UringFloor {
            cfg,
            ring,
            bufs,
            listener,
            conns: Vec::new(),
            dirty: Vec::new(),
            arm: Vec::new(),
            cqes: Vec::with_capacity(4096),
        })
    }

    /// Serves forever (the process ends when its stdin closes).
    pub(crate) fn run(&mut self) -> rustix::io::Result<()> {
        self.push_accept()?;
        let mut sends = 0;
        loop {
            let batch = if self.cfg.min_wait.is_some() {
                self.conns.len().max(1) as u32
            } else {
                1
            };
            self.ring.enter(sends + batch, self.cfg.min_wait)?;
            self.cqes.clear();
            let cqes = &mut self.cqes;
            self.ring.drain(|d, r, f| cqes.push((d, r, f)));
            for k in 0..self.cqes.len() {
                let (data, res, flags) = self.cqes[k];
                self.complete(data, res, flags)?;
            }
            self.bufs.publish();
            for k in 0..self.arm.len() {
                let i = self.arm[k];
                self.push_recv(i)?;
            }
            self.arm.clear();
            sends = 0;
            for k in 0..self.dirty.len() {
                sends += self.push_sends(self.dirty[k])?;
            }
            self.dirty.clear();
        }
    }

    /// Handles one completion.
    fn complete(&mut self, data: u64, res: i32, flags: IoringCqeFlags) -> rustix::io::Result<()> {
        if data == ACCEPT {
            if res >= 0 {
                // SAFETY: a successful accept's result is a new fd that nothing else owns.
                let sock = unsafe { OwnedFd::from_raw_fd(res) };
                let _ = rustix::net::sockopt::set_tcp_nodelay(&sock, true);
                self.conns.push(Some(Conn {
                    sock,
                    queued: VecDeque::new(),
                    inflight: 0,
                }));
                self.arm.push(self.conns.len() - 1);
            }
            if !flags.contains(IoringCqeFlags::MORE) {
                self.push_accept()?;
            }
            return Ok(());
        }
        let i = (data & 0xffff_ffff) as usize;
        if data & SEND != 0 {
            let bid = ((data >> 32) & 0xffff) as u16;
            self.bufs.recycle(bid);
            if let Some(c) = self.conns[i].as_mut() {
                c.inflight -= 1;
                if res < 0 {
                    self.close(i);
                } else if c.inflight == 0 && !c.queued.is_empty() {
                    self.dirty.push(i);
                }
            }
            return Ok(());
        }
        let bid = flags
            .contains(IoringCqeFlags::BUFFER)
            .then_some((flags.bits() >> IORING_CQE_BUFFER_SHIFT) as u16);
        let Some(c) = self.conns[i].as_mut() else {
            if let Some(b) = bid {
                self.bufs.recycle(b);
            }
            return Ok(());
        };
        match (res, bid) {
            (n, Some(b)) if n > 0 => {
                if c.queued.is_empty() && c.inflight == 0 {
                    self.dirty.push(i);
                }
                c.queued.push_back((b, n as u32));
                if !self.cfg.multishot || !flags.contains(IoringCqeFlags::MORE) {
                    self.arm.push(i);
                }
            }
            (r, _) if r == -Errno::NOBUFS.raw_os_error() => self.arm.push(i),
            (_, b) => {
                if let Some(b) = b {
                    self.bufs.recycle(b);
                }
                self.close(i);
            }
        }
        Ok(())
    }

    /// Closes connection `i`: its queued buffers go back; sends in flight complete (with an
    /// error or not) and hand theirs back then.
    fn close(&mut self, i: usize) {
        if let Some(c) = self.conns[i].take() {
            for (b, _) in c.queued {
                self.bufs.recycle(b);
            }
            // Dropping `c.sock` closes the fd; the kernel keeps the file for what is in flight.
        }
    }

    /// Queues the listener's multishot accept.
    fn push_accept(&mut self) -> rustix::io::Result<()> {
        self.ring.push(io_uring_sqe {
            opcode: IoringOp::Accept,
            fd: self.listener.as_raw_fd(),
            ioprio: ioprio_union {
                accept_flags: IoringAcceptFlags::MULTISHOT,
            },
            op_flags: op_flags_union {
                accept_flags: SocketFlags::CLOEXEC,
            },
            user_data: io_uring_user_data::from_u64(ACCEPT),
            ..Default::default()
        })
    }

    /// Queues connection `i`'s `recv` (multishot or not) on the provided buffers.
    fn push_recv(&mut self, i: usize) -> rustix::io::Result<()> {
        let Some(c) = self.conns[i].as_ref() else {
            return Ok(());
        };
        let recv_flags = if self.cfg.multishot {
            IoringRecvFlags::MULTISHOT
        } else {
            IoringRecvFlags::empty()
        };
        self.ring.push(io_uring_sqe {
            opcode: IoringOp::Recv,
            fd: c.sock.as_raw_fd(),
            flags: IoringSqeFlags::BUFFER_SELECT,
            buf: buf_union { buf_group: BGID },
            ioprio: ioprio_union { recv_flags },
            user_data: io_uring_user_data::from_u64(RECV | i as u64),
            ..Default::default()
        })
    }

    /// Submits connection `i`'s queued buffers as one linked chain of sends if none is in
    /// flight. Returns the number of sends queued.
    fn push_sends(&mut self, i: usize) -> rustix::io::Result<u32> {
        let Some(c) = self.conns[i].as_mut() else {
            return Ok(0);
        };
        if c.inflight > 0 {
            return Ok(0);
        }
        let fd = c.sock.as_raw_fd();
        let n = c.queued.len() as u32;
        while let Some((bid, len)) = c.queued.pop_front() {
            let buf = self.bufs.get(bid, len as usize).cast_mut().cast();
            // `MSG_WAITALL` (rustix names it for `recv` only): the kernel retries a short send.
            let send_flags =
                SendFlags::NOSIGNAL | SendFlags::from_bits_retain(RecvFlags::WAITALL.bits());
            let link = if c.queued.is_empty() {
                IoringSqeFlags::empty()
            } else {
                IoringSqeFlags::IO_LINK
            };
            c.inflight += 1;
            // The buffer stays ours (not recycled) until this send's completion.
            self.ring.push(io_uring_sqe {
                opcode: IoringOp::Send,
                fd,
                flags: link,
                addr_or_splice_off_in: addr_or_splice_off_in_union {
                    addr: io_uring_ptr::new(buf),
                },
                len: len_union { len },
                op_flags: op_flags_union { send_flags },
                user_data: io_uring_user_data::from_u64(SEND | (u64::from(bid) << 32) | i as u64),
                ..Default::default()
            })?;
        }
        Ok(n)
    }
}
