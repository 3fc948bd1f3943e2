//! The native load client of the protocol echo benches (`proto_echo`): N TCP connections driven
//! from ONE thread through its own edge-triggered epoll, so it runs beside the server under test
//! (which has the other core) and costs as little as a client can.
//!
//! Why one thread on epoll, not blocking sockets on threads: with N = 50 connections, blocking
//! sockets need 50 threads, and each round trip then costs the client a thread wake-up and a
//! context switch on a 2-core machine where the server needs the other core; one epoll thread
//! turns a batch of ready connections into one `epoll_wait` and one `read`/`write` each, and
//! never switches. The sockets are registered once (`EPOLLIN | EPOLLOUT | EPOLLET`), so the client
//! makes no `epoll_ctl` per message.
//!
//! The work: each connection sends a byte stream cut into messages of `size` bytes, with at
//! most `depth` messages in flight (depth 1: ping-pong; depth 16: 16-deep pipelining); a
//! message is complete when all of its bytes came back. Every byte echoed is checked against
//! what was sent (message `m` is `size` bytes of a fixed pattern starting at offset `m % 251`,
//! so a lost, repeated or reordered message is caught, at the cost of one `memcmp`). A run is a
//! fixed total number of round trips, spread over the connections; connections stay open across
//! runs, so a run measures echo alone (no connect, no accept).
//!
//! ```no_run
//! # fn addr() -> std::net::SocketAddr { unimplemented!() }
//! use tower_benches::load_client::LoadClient;
//! let mut client = LoadClient::connect(addr(), 50).unwrap();
//! client.run(1024, 16, 10_000).unwrap(); // 10 000 round trips of 1 KiB, 16 in flight
//! ```

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use rustix::event::epoll;

/// Distinct message starting offsets in the pattern (a prime, so it does not line up with
/// sizes or depths).
const SHIFTS: usize = 251;

/// The client read buffer (the most one `read` takes).
const READ_BUF: usize = 256 * 1024;

/// How long a run may see no event at all before it is declared stalled.
const STALL: Duration = Duration::from_secs(20);

/// One connection's progress in the current run.
#[derive(Debug)]
struct Conn {
    /// The non-blocking socket.
    sock: TcpStream,
    /// Bytes to send (and receive back) in this run.
    target: u64,
    /// Bytes sent so far.
    sent: u64,
    /// Bytes received (and checked) so far.
    recvd: u64,
    /// The last write stopped at `EAGAIN`: wait for `EPOLLOUT`.
    blocked: bool,
    /// In a timed run: when each message in flight was fully written, oldest first.
    stamps: VecDeque<Instant>,
}

/// N connections to one echo server, driven from the calling thread.
pub struct LoadClient {
    /// The client's own epoll.
    ep: OwnedFd,
    /// The connections, indexed by their epoll data.
    conns: Vec<Conn>,
    /// Events of one `epoll_wait`.
    events: Vec<epoll::Event>,
    /// The byte pattern messages are cut from (grown to `size + SHIFTS`).
    pattern: Vec<u8>,
    /// The read buffer.
    rbuf: Vec<u8>,
    /// In a timed run ([`run_timed`](Self::run_timed)): each message's round-trip time.
    times: Option<Vec<Duration>>,
}

impl LoadClient {
    /// Opens `n` connections to `addr` (`TCP_NODELAY`, non-blocking) and registers them.
    ///
    /// # Errors
    ///
    /// A failed `connect`, socket option or `epoll_ctl`.
    pub fn connect(addr: SocketAddr, n: usize) -> io::Result<LoadClient> {
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let mut conns = Vec::with_capacity(n);
        for i in 0..n {
            let sock = TcpStream::connect(addr)?;
            sock.set_nodelay(true)?;
            sock.set_nonblocking(true)?;
            epoll::add(
                &ep,
                &sock,
                epoll::EventData::new_u64(i as u64),
                epoll::EventFlags::IN | epoll::EventFlags::OUT | epoll::EventFlags::ET,
            )?;
            conns.push(Conn {
                sock,
                target: 0,
                sent: 0,
                recvd: 0,
                blocked: false,
                stamps: VecDeque::new(),
            });
        }
        Ok(LoadClient {
            ep,
            conns,
            events: Vec::with_capacity(n.clamp(1, 1024)),
            pattern: Vec::new(),
            rbuf: vec![0; READ_BUF],
            times: None,
        })
    }

    /// The number of connections.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// Whether the client has no connection.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Runs `trips` round trips of `size`-byte messages in total, spread evenly over the
    /// connections (the first `trips % n` make one more), with at most `depth` messages in
    /// flight per connection; returns once every byte came back and was checked.
    ///
    /// # Errors
    ///
    /// A socket error, the server closing a connection, an echoed byte that differs from the one
    /// sent (`InvalidData`), or no progress for 20 s (`TimedOut`).
    pub fn run(&mut self, size: usize, depth: usize, trips: u64) -> io::Result<()> {
        assert!(size > 0 && depth > 0, "size and depth must be positive");
        if self.pattern.len() != size + SHIFTS {
            self.pattern = (0..size + SHIFTS)
                .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
                .collect();
        }
        let n = self.conns.len() as u64;
        if n == 0 {
            return Ok(());
        }
        let mut unfinished = 0usize;
        for (i, c) in self.conns.iter_mut().enumerate() {
            let t = trips / n + u64::from((i as u64) < trips % n);
            c.target = t * size as u64;
            c.sent = 0;
            c.recvd = 0;
            c.blocked = false;
            c.stamps.clear();
            if c.target > 0 {
                unfinished += 1;
            }
        }
        for i in 0..self.conns.len() {
            self.send(i, size, depth)?;
        }
        let timeout = rustix::time::Timespec {
            tv_sec: STALL.as_secs() as _,
            tv_nsec: 0,
        };
        while unfinished > 0 {
            self.events.clear();
            epoll::wait(
                &self.ep,
                rustix::buffer::spare_capacity(&mut self.events),
                Some(&timeout),
            )?;
            if self.events.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("load client: no progress for {STALL:?} ({unfinished} connections)"),
                ));
            }
            for k in 0..self.events.len() {
                let ev = self.events[k];
                let (flags, data) = (ev.flags, ev.data);
                let i = data.u64() as usize;
                let c = &self.conns[i];
                let was_done = c.target > 0 && c.recvd == c.target;
                if flags.contains(epoll::EventFlags::OUT) {
                    self.conns[i].blocked = false;
                }
                if flags.intersects(epoll::EventFlags::IN | epoll::EventFlags::ERR) {
                    self.recv(i, size)?;
                }
                self.send(i, size, depth)?;
                let c = &self.conns[i];
                if !was_done && c.target > 0 && c.recvd == c.target {
                    unfinished -= 1;
                }
            }
        }
        Ok(())
    }

    /// [`run`](Self::run), timing every message: returns each message's round-trip time, from
    /// the moment its last byte was written to the moment its last byte came back (in
    /// pipelining this includes the wait behind the messages before it: the latency a client
    /// sees under that load). The clock is read once per write and once per read, only here.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    pub fn run_timed(
        &mut self,
        size: usize,
        depth: usize,
        trips: u64,
    ) -> io::Result<Vec<Duration>> {
        self.times = Some(Vec::with_capacity(trips as usize));
        let res = self.run(size, depth, trips);
        let times = self.times.take().unwrap_or_default();
        res.map(|()| times)
    }

    /// Sends what connection `i`'s window allows, as one vectored write per `EAGAIN`-free step.
    fn send(&mut self, i: usize, size: usize, depth: usize) -> io::Result<()> {
        let c = &mut self.conns[i];
        let size64 = size as u64;
        loop {
            if c.blocked {
                return Ok(());
            }
            let window = (c.recvd / size64 + depth as u64) * size64;
            let allowed = window.min(c.target);
            if c.sent >= allowed {
                return Ok(());
            }
            // The pieces of [sent, allowed): the rest of the current message, then whole ones.
            let mut slices: [IoSlice<'_>; 17] = [IoSlice::new(&[]); 17];
            let mut count = 0;
            let mut pos = c.sent;
            while pos < allowed && count < slices.len() {
                let m = pos / size64;
                let off = (pos % size64) as usize;
                let len = (size - off).min((allowed - pos) as usize);
                let start = (m % SHIFTS as u64) as usize + off;
                slices[count] = IoSlice::new(&self.pattern[start..start + len]);
                count += 1;
                pos += len as u64;
            }
            match c.sock.write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => {
                    let before = c.sent / size64;
                    c.sent += k as u64;
                    if self.times.is_some() {
                        let now = Instant::now();
                        for _ in before..c.sent / size64 {
                            c.stamps.push_back(now);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => c.blocked = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads what connection `i` has (until a short read) and checks it.
    fn recv(&mut self, i: usize, size: usize) -> io::Result<()> {
        let c = &mut self.conns[i];
        let size64 = size as u64;
        loop {
            let got = match c.sock.read(&mut self.rbuf) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("load client: the server closed connection {i}"),
                    ));
                }
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if c.recvd + got as u64 > c.sent {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("load client: connection {i} received more than it sent"),
                ));
            }
            let now = self.times.as_ref().map(|_| Instant::now());
            let mut at = 0;
            while at < got {
                let m = c.recvd / size64;
                let off = (c.recvd % size64) as usize;
                let len = (size - off).min(got - at);
                let start = (m % SHIFTS as u64) as usize + off;
                if self.rbuf[at..at + len] != self.pattern[start..start + len] {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "load client: connection {i}, message {m}: the echo differs from what was sent"
                        ),
                    ));
                }
                at += len;
                c.recvd += len as u64;
                if let (Some(now), Some(times)) = (now, self.times.as_mut())
                    && c.recvd.is_multiple_of(size64)
                    && let Some(sent) = c.stamps.pop_front()
                {
                    times.push(now - sent);
                }
            }
            if got < self.rbuf.len() {
                // A short read emptied the socket; the next arrival raises a new edge.
                return Ok(());
            }
        }
    }
}

impl std::fmt::Debug for LoadClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadClient")
            .field("conns", &self.conns.len())
            .finish_non_exhaustive()
    }
}

/// Raises this process's soft limit on open files to its hard limit; returns `(soft, hard)`
/// after the change (`None`: unlimited).
///
/// # Errors
///
/// What `setrlimit(2)` reports.
pub fn raise_fd_limit() -> io::Result<(Option<u64>, Option<u64>)> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut l = getrlimit(Resource::Nofile);
    if l.current != l.maximum {
        l.current = l.maximum;
        setrlimit(Resource::Nofile, l)?;
    }
    let l = getrlimit(Resource::Nofile);
    Ok((l.current, l.maximum))
}

/// This process's or another's resident set size in bytes (`VmRSS` of `/proc/<pid>/status`).
///
/// # Errors
///
/// The file cannot be read or has no `VmRSS` line.
pub fn vm_rss(pid: u32) -> io::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS line"))
}

/// The calling thread's id (`gettid`), for [`thread_cpu_time`].
pub fn thread_id() -> i32 {
    rustix::thread::gettid().as_raw_nonzero().get()
}

/// CPU time (user + system) a thread of this process has used so far, from
/// `/proc/self/task/<tid>/stat`: in clock ticks (10 ms here), so measure over a second or more.
///
/// # Errors
///
/// The file cannot be read or parsed (the thread has exited).
pub fn thread_cpu_time(tid: i32) -> io::Result<Duration> {
    stat_cpu_time(&format!("/proc/self/task/{tid}/stat"))
}

/// CPU time (user + system) process `pid` has used so far, all its threads, from
/// `/proc/<pid>/stat` (clock ticks, as [`thread_cpu_time`]).
///
/// # Errors
///
/// The file cannot be read or parsed (the process has exited).
pub fn process_cpu_time(pid: u32) -> io::Result<Duration> {
    stat_cpu_time(&format!("/proc/{pid}/stat"))
}

/// utime + stime of a `stat` file of `/proc`.
fn stat_cpu_time(path: &str) -> io::Result<Duration> {
    let text = std::fs::read_to_string(path)?;
    // Fields after the command name (which is in parentheses and may hold spaces): state is
    // field 3; utime and stime are fields 14 and 15.
    let rest = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "stat: no command name"))?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> io::Result<u64> {
        f.get(i)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "stat: short line"))
    };
    // `rest` starts at field 3 (index 0).
    let ticks = tick(14 - 3)? + tick(15 - 3)?;
    let hz = rustix::param::clock_ticks_per_second().max(1);
    Ok(Duration::from_nanos(ticks * 1_000_000_000 / hz))
}
