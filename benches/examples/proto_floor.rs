//! The syscall floor of the protocol echo rows (`proto_echo`, issue 15): echo servers with no
//! runtime that make exactly the syscalls each runtime's server makes per round trip, driven by
//! the bench's own load client (`tower_benches::load_client`, 50 connections), side by side with
//! the real servers (`benches/proto_work/mod.rs`), each server in its own process.
//!
//! - `proto_floor server <kind>`: serves `kind` (below) on an ephemeral loopback port, prints its
//!   address on a line, serves until its stdin closes.
//! - `proto_floor bench <size> <depth> <trips> <rounds> [kind...]`: starts every `kind` (default:
//!   all) as a child process, connects a 50-connection load client to each, warms each up, then
//!   runs `rounds` rounds; in each round every server serves `trips` round trips of `size`-byte
//!   messages with `depth` in flight per connection, in an order that rotates from round to round.
//!   Prints, per kind, the medians of wall time, of server CPU per round trip (CPU from
//!   `/proc/<pid>/task/*/schedstat`: nanoseconds on a CPU, every thread of the server), of the
//!   load client's own CPU and run-queue wait per round trip (its thread's `schedstat`: time on a
//!   CPU, time runnable but waiting for one) and of its busy share (client CPU / wall time: near
//!   1 the client, not the server, bounds the wall time), the server's
//!   switches per round trip, and the medians of per-round ratios to `tokio` and between pairs
//!   of kinds.
//!
//! The kinds:
//!
//! - `tower`, `tokio`: the bench's servers (tower's `Protocol` on a `SocketTransport`, tokio's
//!   current-thread runtime reading into a 64 KiB buffer per connection).
//! - `floor-tower`: tower's syscalls and nothing else: the accepted socket registered
//!   **level-triggered** for `EPOLLIN | EPOLLPRI | EPOLLRDHUP` (the loop's `add_reader`), one
//!   `epoll_pwait` per loop turn, and per reported socket one `recv` into one shared 256 KiB
//!   buffer and one `send` of what it got (the transport's write with nothing buffered); what a
//!   send leaves is buffered and the writer added (`epoll_ctl(MOD)`, `EPOLLOUT` too) until a
//!   `writev` drains it.
//! - `floor-tokio`: tokio's (mio's): the accepted socket registered once, **edge-triggered**, for
//!   `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`; one `epoll_wait` per loop turn; readiness cached
//!   per direction; a read `recv`s into the connection's own 64 KiB buffer while the socket is
//!   readable, a short read (or `EAGAIN`) uses the readability up; `write_all` `send`s until done,
//!   a short send (or `EAGAIN`) uses the writability up and waits for the next `EPOLLOUT` edge.
//! - `floor-tower-et`: tower's `recv` and `send` into the shared buffer with tokio's registration
//!   (edge-triggered, once, both directions, readiness cached, the short-read rule), and
//!   `epoll_pwait`: what the transports would cost on an edge-triggered reader.
//! - `floor-tower-spin`: `floor-tower` whose `epoll_pwait`s do not block (zero timeout) while
//!   traffic flows (it blocks after 20 ms without an event, to leave the core to the other
//!   servers while they are measured): a busy-polling server, not a design to adopt (it burns its core while idle); it shows what the
//!   blocking waits (a sleep and a cross-CPU wake-up each) cost the rows. Not in the default set.
//!
//! - `floor-tower+<ns>`: `floor-tower` spinning `<ns>` nanoseconds of user space after each
//!   connection's event: a stand-in for a runtime's own cost per event, to see how the server's
//!   speed changes how often it sleeps and the wall time (not in the default set).
//!
//! - `floor-uring`: no epoll and no `recv`/`send` syscalls: one io_uring
//!   (`IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN`), a multishot accept, per
//!   connection one **multishot `recv`** on a shared **provided-buffer ring**
//!   (`IORING_REGISTER_PBUF_RING`, 256 buffers of 64 KiB), every received buffer echoed by a
//!   `send` SQE from the buffer itself (no copy; the buffer goes back to the ring when its send
//!   completed), a connection's sends linked in order and never overtaking one in flight, and one
//!   `io_uring_enter(to_submit, min_complete, GETEVENTS)` per loop turn that submits the turn's
//!   sends and waits (`proto_floor_uring/mod.rs` says why `min_complete` counts the sends).
//! - `floor-uring-coop`: the same with `COOP_TASKRUN` instead of `DEFER_TASKRUN`.
//! - `floor-uring-plain`: one-shot `recv` SQEs re-armed per completion (the multishot effect).
//! - `floor-uring-minwait[<usec>]`: `floor-uring` waiting with `IORING_ENTER_EXT_ARG` and
//!   `min_wait_usec` (default 20; Linux 6.12+) for one completion per connection: the kernel
//!   returns when they are there, or after `<usec>` once one is.
//!
//! The `floor-uring*` kinds are not in the default set (decision 0013 has their figures).
//!
//! Not a correct server for every peer (no `EPOLLERR` reporting, a closed connection just closes):
//! the load client only needs echo. Linux only.

#[path = "../benches/proto_work/mod.rs"]
mod proto_work;
#[path = "proto_floor_uring/mod.rs"]
mod uring;

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Command;
use std::time::Instant;

use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags, SocketFlags};
use tower_benches::load_client::LoadClient;
use tower_benches::server_process::ServerProcess;

/// Connections per server (the bench's `CONNS`).
const CONNS: usize = 50;

/// The listener's key in the epoll data.
const LISTENER: u64 = u64::MAX;

/// Every kind, in the order `bench` runs them by default.
const KINDS: [&str; 5] = [
    "tower",
    "tokio",
    "floor-tower",
    "floor-tokio",
    "floor-tower-et",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("server") if args.len() == 2 => serve(&args[1]),
        Some("bench") if args.len() >= 5 => bench(&args[1..]),
        _ => Err("usage: proto_floor server <kind>\n       \
                  proto_floor bench <size> <depth> <trips> <rounds> [kind...]\n       \
                  kinds: tower tokio floor-tower floor-tokio floor-tower-et floor-tower-spin\n       \
                  floor-tower+<ns> floor-uring floor-uring-coop floor-uring-plain\n       \
                  floor-uring-minwait[<usec>]"
            .to_owned()),
    };
    if let Err(e) = res {
        eprintln!("proto_floor: {e}");
        std::process::exit(2);
    }
}

/// Serves `kind` until stdin closes.
fn serve(kind: &str) -> Result<(), String> {
    let mut work_ns = 0;
    let style = match kind {
        "tower" | "tokio" => {
            proto_work::serve_in_child(kind, proto_work::PEER_BUF);
            return Ok(());
        }
        "floor-tower" => Style::Tower,
        "floor-tokio" => Style::Tokio,
        "floor-tower-et" => Style::TowerEt,
        "floor-tower-spin" => Style::TowerSpin,
        k if k.starts_with("floor-uring") => {
            let cfg = uring::Config::of(k).ok_or_else(|| format!("unknown kind {k}"))?;
            let l = listen()?;
            let mut floor = uring::UringFloor::new(cfg, l).map_err(|e| format!("{k}: {e}"))?;
            return floor.run().map_err(|e| format!("{k}: {e}"));
        }
        k => match k.strip_prefix("floor-tower+").map(str::parse::<u64>) {
            Some(Ok(ns)) => {
                work_ns = ns;
                Style::Tower
            }
            _ => return Err(format!("unknown kind {k}")),
        },
    };
    let l = listen()?;
    let mut floor = Floor::new(style, l).map_err(|e| e.to_string())?;
    floor.work = std::time::Duration::from_nanos(work_ns);
    floor.run();
    Ok(())
}

/// The floor's listener (non-blocking, on an ephemeral loopback port), its address printed;
/// starts the thread that ends the process when stdin closes (the floor runs on this thread).
fn listen() -> Result<TcpListener, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    rustix::net::listen(&l, proto_work::BACKLOG).map_err(|e| e.to_string())?;
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    println!("{}", l.local_addr().map_err(|e| e.to_string())?);
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        std::process::exit(0);
    });
    Ok(l)
}

/// Whose syscalls a floor server makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// tower's: level-triggered reader, one `recv` per event, `epoll_pwait`.
    Tower,
    /// tokio's: edge-triggered, cached readiness, `epoll_wait`.
    Tokio,
    /// tower's reads and writes on tokio's registration.
    TowerEt,
    /// tower's, with a zero-timeout wait (busy polling).
    TowerSpin,
}

/// One connection of a floor server.
struct Conn {
    /// The socket (non-blocking).
    sock: OwnedFd,
    /// Bytes a send left (tower: the write buffer; tokio: the rest of `write_all`).
    pending: Vec<u8>,
    /// Cached readiness (edge-triggered styles).
    readable: bool,
    /// Cached readiness (edge-triggered styles).
    writable: bool,
    /// tower: the writer is registered (`EPOLLOUT` added).
    writer_on: bool,
    /// tokio: the connection's own read buffer.
    own_buf: Vec<u8>,
}

/// A floor server: one thread, one epoll, no runtime.
struct Floor {
    /// Whose syscalls.
    style: Style,
    /// User-space work added after each connection's event (`floor-tower+<ns>`: a spin on the
    /// clock standing for a runtime's own cost per event).
    work: std::time::Duration,
    /// The epoll.
    ep: OwnedFd,
    /// The listener (non-blocking).
    listener: TcpListener,
    /// Connections by slot (the epoll data), `None` once closed.
    conns: Vec<Option<Conn>>,
    /// tower: the loop's one read buffer.
    shared_buf: Vec<u8>,
    /// Events of one wait.
    events: Vec<epoll::Event>,
}

/// tower's reader registration (level-triggered).
fn tower_reader() -> EventFlags {
    EventFlags::IN | EventFlags::PRI | EventFlags::RDHUP
}

/// tokio's registration (edge-triggered, both directions).
fn edge_both() -> EventFlags {
    EventFlags::IN | EventFlags::OUT | EventFlags::RDHUP | EventFlags::ET
}

impl Floor {
    fn new(style: Style, listener: TcpListener) -> rustix::io::Result<Floor> {
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let lflags = match style {
            Style::Tower | Style::TowerSpin => tower_reader(),
            Style::Tokio | Style::TowerEt => edge_both(),
        };
        epoll::add(&ep, &listener, EventData::new_u64(LISTENER), lflags)?;
        Ok(Floor {
            style,
            ep,
            listener,
            conns: Vec::new(),
            work: std::time::Duration::ZERO,
            shared_buf: vec![0; 256 * 1024],
            events: Vec::with_capacity(1024),
        })
    }

    /// The loop: one wait (blocking), then every reported source.
    fn run(&mut self) {
        loop {
            self.events.clear();
            self.wait();
            for k in 0..self.events.len() {
                let ev = self.events[k];
                let key = ev.data.u64();
                if key == LISTENER {
                    self.accept();
                } else {
                    self.event(key as usize, ev.flags);
                }
            }
        }
    }

    /// tower: `epoll_pwait` (rustix); tokio: `epoll_wait` (libc, as mio calls it).
    fn wait(&mut self) {
        match self.style {
            Style::Tower | Style::TowerEt => {
                let _ = epoll::wait(
                    &self.ep,
                    rustix::buffer::spare_capacity(&mut self.events),
                    None,
                );
            }
            Style::TowerSpin => {
                // Zero-timeout waits while traffic flows; a blocking one after 20 ms without any
                // event, so that the spinning server leaves the core to the others while they
                // are measured.
                let zero = rustix::time::Timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                let idle_since = Instant::now();
                loop {
                    let _ = epoll::wait(
                        &self.ep,
                        rustix::buffer::spare_capacity(&mut self.events),
                        Some(&zero),
                    );
                    if !self.events.is_empty() {
                        return;
                    }
                    if idle_since.elapsed().as_millis() >= 20 {
                        let _ = epoll::wait(
                            &self.ep,
                            rustix::buffer::spare_capacity(&mut self.events),
                            None,
                        );
                        return;
                    }
                }
            }
            Style::Tokio => {
                let cap = self.events.capacity();
                // SAFETY: `rustix::event::epoll::Event` is `#[repr(C)]` with the layout of
                // `struct epoll_event` (rustix's documented guarantee, packed on x86-64 as the
                // kernel's); the kernel writes at most `cap` of them into the vector's spare
                // capacity, and the length is set to what it reports.
                let n = unsafe {
                    libc::epoll_wait(
                        self.ep.as_raw_fd(),
                        self.events.as_mut_ptr().cast::<libc::epoll_event>(),
                        cap as i32,
                        -1,
                    )
                };
                if n > 0 {
                    // SAFETY: the kernel initialised the first `n <= cap` events.
                    unsafe { self.events.set_len(n as usize) };
                }
            }
        }
    }

    /// Accepts every waiting connection, as the runtime does.
    fn accept(&mut self) {
        loop {
            let sock = match self.style {
                // std's accept (accept4 with CLOEXEC) then FIONBIO, as the bench's tower server.
                Style::Tower | Style::TowerEt | Style::TowerSpin => match self.listener.accept() {
                    Ok((s, _)) => {
                        if s.set_nonblocking(true).is_err() {
                            continue;
                        }
                        OwnedFd::from(s)
                    }
                    Err(_) => return,
                },
                Style::Tokio => match rustix::net::accept_with(
                    &self.listener,
                    SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
                ) {
                    Ok(s) => s,
                    Err(_) => return,
                },
            };
            let _ = rustix::net::sockopt::set_tcp_nodelay(&sock, true);
            let slot = self.conns.len();
            let flags = match self.style {
                Style::Tower | Style::TowerSpin => tower_reader(),
                Style::Tokio | Style::TowerEt => edge_both(),
            };
            if epoll::add(&self.ep, &sock, EventData::new_u64(slot as u64), flags).is_err() {
                continue;
            }
            self.conns.push(Some(Conn {
                sock,
                pending: Vec::new(),
                readable: false,
                writable: false,
                writer_on: false,
                own_buf: if self.style == Style::Tokio {
                    vec![0; proto_work::PEER_BUF]
                } else {
                    Vec::new()
                },
            }));
            // tower's listener is level-triggered and accepts up to its backlog per event; one
            // more accept finds EAGAIN either way.
        }
    }

    /// One reported event on connection `i`.
    fn event(&mut self, i: usize, flags: EventFlags) {
        let done = match self.style {
            Style::Tower | Style::TowerSpin => self.tower_event(i, flags),
            Style::Tokio | Style::TowerEt => self.edge_event(i, flags),
        };
        if done {
            // Dropping the socket closes it (and removes it from the epoll).
            self.conns[i] = None;
        }
        if !self.work.is_zero() {
            let t = Instant::now();
            while t.elapsed() < self.work {
                std::hint::spin_loop();
            }
        }
    }

    /// tower: the writer (a `writev` of the buffer) if `EPOLLOUT`, then the reader: one `recv`,
    /// one `send` of what it got. Returns `true` if the connection is done.
    fn tower_event(&mut self, i: usize, flags: EventFlags) -> bool {
        let Some(c) = self.conns[i].as_mut() else {
            return false;
        };
        if flags.contains(EventFlags::OUT)
            && c.writer_on
            && (drain(c) || remove_writer_if_drained(&self.ep, c, i))
        {
            return true;
        }
        if !flags.intersects(
            EventFlags::IN
                | EventFlags::PRI
                | EventFlags::RDHUP
                | EventFlags::ERR
                | EventFlags::HUP,
        ) {
            return false;
        }
        let n = match rustix::net::recv(&c.sock, &mut self.shared_buf[..], RecvFlags::empty()) {
            Ok((0, _)) => return true,
            Ok((n, _)) => n,
            Err(Errno::AGAIN | Errno::INTR) => return false,
            Err(_) => return true,
        };
        let data = &self.shared_buf[..n];
        if !c.pending.is_empty() {
            c.pending.extend_from_slice(data);
            return false;
        }
        match rustix::net::send(&c.sock, data, SendFlags::NOSIGNAL) {
            Ok(k) if k == n => false,
            Ok(k) => {
                c.pending.extend_from_slice(&data[k..]);
                add_writer(&self.ep, c, i)
            }
            Err(Errno::AGAIN | Errno::INTR) => {
                c.pending.extend_from_slice(data);
                add_writer(&self.ep, c, i)
            }
            Err(_) => true,
        }
    }

    /// tokio (and tower on tokio's registration): cache what the edge reports, then run the
    /// connection's echo loop while the readiness it needs is there.
    fn edge_event(&mut self, i: usize, flags: EventFlags) -> bool {
        let style = self.style;
        let Some(c) = self.conns[i].as_mut() else {
            return false;
        };
        if flags.intersects(EventFlags::IN | EventFlags::RDHUP | EventFlags::ERR | EventFlags::HUP)
        {
            c.readable = true;
        }
        if flags.intersects(EventFlags::OUT | EventFlags::ERR | EventFlags::HUP) {
            c.writable = true;
        }
        loop {
            // write_all of what is left.
            while !c.pending.is_empty() {
                if !c.writable {
                    return false;
                }
                match rustix::net::send(&c.sock, &c.pending, SendFlags::NOSIGNAL) {
                    Ok(k) => {
                        if k < c.pending.len() {
                            c.writable = false;
                        }
                        c.pending.drain(..k);
                    }
                    Err(Errno::AGAIN) => c.writable = false,
                    Err(Errno::INTR) => {}
                    Err(_) => return true,
                }
            }
            if !c.readable {
                return false;
            }
            let buf: &mut [u8] = if style == Style::Tokio {
                &mut c.own_buf
            } else {
                &mut self.shared_buf
            };
            let n = match rustix::net::recv(&c.sock, &mut *buf, RecvFlags::empty()) {
                Ok((0, _)) => return true,
                Ok((n, _)) => n,
                Err(Errno::AGAIN) => {
                    c.readable = false;
                    return false;
                }
                Err(Errno::INTR) => continue,
                Err(_) => return true,
            };
            if n < buf.len() {
                c.readable = false;
            }
            if !c.writable {
                c.pending.extend_from_slice(&buf[..n]);
                continue;
            }
            match rustix::net::send(&c.sock, &buf[..n], SendFlags::NOSIGNAL) {
                Ok(k) if k == n => {}
                Ok(k) => {
                    c.writable = false;
                    c.pending.extend_from_slice(&buf[k..n]);
                }
                Err(Errno::AGAIN) => {
                    c.writable = false;
                    c.pending.extend_from_slice(&buf[..n]);
                }
                Err(Errno::INTR) => c.pending.extend_from_slice(&buf[..n]),
                Err(_) => return true,
            }
        }
    }
}

/// tower: adds the writer (`EPOLLOUT` on the level-triggered registration). Returns `true` if
/// the connection is done.
fn add_writer(ep: &OwnedFd, c: &mut Conn, i: usize) -> bool {
    c.writer_on = true;
    epoll::modify(
        ep,
        &c.sock,
        EventData::new_u64(i as u64),
        tower_reader() | EventFlags::OUT,
    )
    .is_err()
}

/// tower: one `writev` of the buffer; removes the writer once it drained. Returns `true` if the
/// connection is done.
fn drain(c: &mut Conn) -> bool {
    let iov = [std::io::IoSlice::new(&c.pending)];
    match rustix::io::writev(&c.sock, &iov) {
        Ok(k) => {
            c.pending.drain(..k);
        }
        Err(Errno::AGAIN | Errno::INTR) => return false,
        Err(_) => return true,
    }
    false
}

/// tower: removes the writer once the drain emptied the buffer. Returns `true` if the
/// connection is done.
fn remove_writer_if_drained(ep: &OwnedFd, c: &mut Conn, i: usize) -> bool {
    if c.writer_on && c.pending.is_empty() {
        c.writer_on = false;
        return epoll::modify(ep, &c.sock, EventData::new_u64(i as u64), tower_reader()).is_err();
    }
    false
}

/// A server process of this binary.
struct Server {
    kind: String,
    addr: SocketAddr,
    process: ServerProcess,
}

impl Server {
    fn start(kind: &str) -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(exe);
        cmd.args(["server", kind]);
        let process = ServerProcess::spawn(cmd).map_err(|e| format!("{kind}: {e}"))?;
        Ok(Server {
            kind: kind.to_owned(),
            addr: process.addr,
            process,
        })
    }

    /// Nanoseconds the server's threads have spent on a CPU (`schedstat`'s first field) and
    /// the times they were switched out (voluntarily or not).
    fn cpu_ns(&self) -> (u64, u64) {
        let dir = format!("/proc/{}/task", self.process.pid());
        let (mut ns, mut switches) = (0, 0);
        if let Ok(rd) = std::fs::read_dir(dir) {
            for t in rd.flatten() {
                let (n, _, s) = schedstat(&t.path().join("schedstat"));
                ns += n;
                switches += s;
            }
        }
        (ns, switches)
    }
}

/// A thread's `schedstat`: nanoseconds on a CPU, nanoseconds runnable but waiting for a CPU
/// (the run queue), and timeslices run (each ends in a switch).
fn schedstat(path: &std::path::Path) -> (u64, u64, u64) {
    let Ok(s) = std::fs::read_to_string(path) else {
        return (0, 0, 0);
    };
    let f: Vec<u64> = s
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    (
        f.first().copied().unwrap_or(0),
        f.get(1).copied().unwrap_or(0),
        f.get(2).copied().unwrap_or(0),
    )
}

/// The median of `v` (sorted in place).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// `bench <size> <depth> <trips> <rounds> [kind...]`.
fn bench(args: &[String]) -> Result<(), String> {
    let num = |i: usize| -> Result<u64, String> {
        args[i]
            .parse::<u64>()
            .map_err(|e| format!("{}: {e}", args[i]))
    };
    let (size, depth, trips, rounds) = (num(0)? as usize, num(1)? as usize, num(2)?, num(3)?);
    let kinds: Vec<String> = if args.len() > 4 {
        args[4..].to_vec()
    } else {
        KINDS.iter().map(|k| k.to_string()).collect()
    };
    let mut sides = Vec::new();
    for k in &kinds {
        let s = Server::start(k)?;
        let mut c = LoadClient::connect(s.addr, CONNS).map_err(|e| e.to_string())?;
        c.run(size, depth, trips / 4 + 10 * CONNS as u64)
            .map_err(|e| format!("{k} warm-up: {e}"))?;
        sides.push((s, c));
    }
    // wall[k][r], cpu[k][r], client CPU, client run-queue wait, server switches: per round trip.
    let mut wall = vec![Vec::new(); kinds.len()];
    let mut cpu = vec![Vec::new(); kinds.len()];
    let mut ccpu = vec![Vec::new(); kinds.len()];
    let mut cq = vec![Vec::new(); kinds.len()];
    let mut sw = vec![Vec::new(); kinds.len()];
    let me = std::path::Path::new("/proc/thread-self/schedstat");
    for r in 0..rounds as usize {
        for j in 0..sides.len() {
            let k = (j + r) % sides.len();
            let (s, c) = &mut sides[k];
            let (c0, s0) = s.cpu_ns();
            let (m0, q0, _) = schedstat(me);
            let t0 = Instant::now();
            c.run(size, depth, trips)
                .map_err(|e| format!("{}: {e}", s.kind))?;
            let w = t0.elapsed();
            let (m1, q1, _) = schedstat(me);
            let (c1, s1) = s.cpu_ns();
            let per = trips as f64;
            wall[k].push(w.as_nanos() as f64 / per);
            cpu[k].push((c1 - c0) as f64 / per);
            ccpu[k].push((m1 - m0) as f64 / per);
            cq[k].push((q1 - q0) as f64 / per);
            sw[k].push((s1 - s0) as f64 / per);
        }
    }
    let idx = |name: &str| kinds.iter().position(|k| k == name);
    let ratio = |v: &[Vec<f64>], a: usize, b: usize| -> f64 {
        let mut r: Vec<f64> = v[a].iter().zip(&v[b]).map(|(x, y)| x / y).collect();
        median(&mut r)
    };
    println!(
        "size {size}, depth {depth}, {CONNS} connections, {trips} round trips per run, {rounds} rounds (medians)"
    );
    println!(
        "| server | wall ns / round trip | server CPU ns | client CPU ns | client run-queue ns | client busy | server switches | wall / tokio | server CPU / tokio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let tokio = idx("tokio");
    for (k, name) in kinds.iter().enumerate() {
        let (rw, rc) = match tokio {
            Some(t) => (
                format!("{:.3}", ratio(&wall, k, t)),
                format!("{:.3}", ratio(&cpu, k, t)),
            ),
            None => ("-".into(), "-".into()),
        };
        let mut busy: Vec<f64> = ccpu[k].iter().zip(&wall[k]).map(|(c, w)| c / w).collect();
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.3} | {rw} | {rc} |",
            median(&mut wall[k].clone()),
            median(&mut cpu[k].clone()),
            median(&mut ccpu[k].clone()),
            median(&mut cq[k].clone()),
            median(&mut busy),
            median(&mut sw[k].clone()),
        );
    }
    for (a, b) in [
        ("tower", "tokio"),
        ("floor-tower", "floor-tokio"),
        ("floor-tower-et", "floor-tokio"),
        ("floor-tower-et", "floor-tower"),
        ("floor-tower-spin", "floor-tower"),
        ("tokio", "floor-tokio"),
        ("tower", "floor-tower"),
        ("floor-uring", "floor-tower"),
        ("floor-uring-plain", "floor-uring"),
        ("floor-uring-coop", "floor-uring"),
        ("floor-uring-minwait", "floor-uring"),
    ] {
        if let (Some(x), Some(y)) = (idx(a), idx(b)) {
            println!(
                "{a} / {b}: wall {:.3}, server CPU {:.3} (median of per-round ratios)",
                ratio(&wall, x, y),
                ratio(&cpu, x, y)
            );
        }
    }
    Ok(())
}
