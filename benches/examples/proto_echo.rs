//! The protocol echo servers of the `proto_echo` bench as separate processes: for counting a
//! server's syscalls (`cargo xtask syscalls` runs `server` under `strace -c -f` and `client`
//! beside it) and for holding 10 000 idle connections (`cargo xtask idle`, or `idle` here).
//!
//! - `proto_echo server <tower|tokio|smol>`: raises the soft fd limit, starts that runtime's
//!   echo server (`benches/proto_work/mod.rs`), prints its address on a line, and serves until
//!   its stdin closes. `tokio:1024` (or `smol:1024`): a 1 KiB per-connection read buffer, as
//!   tokio's own echo example has, instead of the bench's 64 KiB.
//! - `proto_echo client <addr> <size> <depth> <conns> <trips>`: the load client
//!   (`tower_benches::load_client`): `conns` connections, one warm-up round of 10 round trips
//!   per connection, then `trips` round trips in total of `size`-byte messages with `depth` in
//!   flight per connection.
//! - `proto_echo idle [--conns N] [runtime...]` (default 10 000 connections; tower, tokio,
//!   `tokio:1024`, smol, `smol:1024`): per runtime, starts `server` as a child process, warms it with one connection,
//!   reads its `VmRSS`, opens N connections from this process, echoes 1 KiB once on each, holds
//!   them idle for a moment and reads its `VmRSS` again; prints the bytes per idle connection.
//! - `proto_echo latency [--trips N] [runtime...]` (default tower, tokio, smol, and CPython
//!   asyncio's and uvloop's protocol servers where the interpreter of
//!   `tower_benches::server_process::python` has them): per runtime, starts its server as a child
//!   process, opens 50 connections, warms up, then times every round trip of N (default 20 000)
//!   at 1, 10 and 100 KiB in ping-pong and 16-deep pipelining (`LoadClient::run_timed`) and
//!   prints p50, p99 and p99.9 of the round-trip time (`cargo xtask latency` runs it).

#[path = "../benches/proto_work/mod.rs"]
mod proto_work;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use tower_benches::load_client::{LoadClient, raise_fd_limit, vm_rss};
use tower_benches::server_process::{ServerProcess, python, python_echo, python_has};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("server") if args.len() == 2 => server(&args[1]),
        Some("client") if args.len() == 6 => client(&args[1..]),
        Some("idle") => idle(&args[1..]),
        Some("latency") => latency(&args[1..]),
        _ => Err("usage: proto_echo server <tower|tokio|smol>\n       \
                  proto_echo client <addr> <size> <depth> <conns> <trips>\n       \
                  proto_echo idle [--conns N] [tower|tokio|smol]...\n       \
                  proto_echo latency [--trips N] [tower|tokio|smol|asyncio|uvloop]..."
            .to_owned()),
    };
    if let Err(e) = res {
        eprintln!("proto_echo: {e}");
        std::process::exit(2);
    }
}

/// Serves until stdin closes. `rt` is a runtime, or `tokio:<bytes>`/`smol:<bytes>` for a
/// per-connection read buffer other than the bench's.
fn server(rt: &str) -> Result<(), String> {
    raise_fd_limit().map_err(|e| format!("setrlimit: {e}"))?;
    let (name, buf) = match rt.split_once(':') {
        Some((n, b)) => (n, b.parse().map_err(|e| format!("{rt}: {e}"))?),
        None => (rt, proto_work::PEER_BUF),
    };
    proto_work::serve_in_child(name, buf);
    Ok(())
}

/// One warm-up round, then the measured round.
fn client(args: &[String]) -> Result<(), String> {
    let num = |i: usize| -> Result<u64, String> {
        args[i]
            .parse::<u64>()
            .map_err(|e| format!("{}: {e}", args[i]))
    };
    let addr: SocketAddr = args[0].parse().map_err(|e| format!("address: {e}"))?;
    let (size, depth, conns, trips) = (num(1)? as usize, num(2)? as usize, num(3)?, num(4)?);
    let mut c = LoadClient::connect(addr, conns as usize).map_err(|e| e.to_string())?;
    c.run(size, depth, 10 * conns).map_err(|e| e.to_string())?;
    c.run(size, depth, trips).map_err(|e| e.to_string())
}

/// Memory per idle connection, per runtime, each server in its own child process.
fn idle(args: &[String]) -> Result<(), String> {
    let mut conns = 10_000usize;
    let mut rts: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--conns" {
            conns = it
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or("--conns needs a number")?;
        } else {
            rts.push(a.clone());
        }
    }
    if rts.is_empty() {
        rts = ["tower", "tokio", "tokio:1024", "smol", "smol:1024"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    }
    let (soft, hard) = raise_fd_limit().map_err(|e| format!("setrlimit: {e}"))?;
    let need = conns as u64 + 64;
    if soft.is_some_and(|s| s < need) {
        return Err(format!(
            "the fd limit is too low for {conns} connections: soft {soft:?}, hard {hard:?} \
             (each side needs about {need}; raise the hard limit, e.g. `ulimit -Hn`)"
        ));
    }
    let lim = |l: Option<u64>| l.map_or("unlimited".to_owned(), |n| n.to_string());
    println!(
        "{conns} idle connections, each echoed once (1 KiB); server RSS from /proc/<pid>/status \
         (fd limit: soft {}, hard {})",
        lim(soft),
        lim(hard)
    );
    println!("| runtime | RSS before | RSS with {conns} idle | bytes per idle connection |");
    println!("|---|---|---|---|");
    for rt in &rts {
        let child = start(rt)?;
        let addr = child.addr;
        let pid = child.pid();
        // Warm the server (first connection, first read: its lazily made buffers).
        let mut warm = LoadClient::connect(addr, 1).map_err(|e| e.to_string())?;
        warm.run(1024, 1, 10).map_err(|e| e.to_string())?;
        drop(warm);
        std::thread::sleep(Duration::from_millis(300));
        let before = vm_rss(pid).map_err(|e| e.to_string())?;
        let mut c = LoadClient::connect(addr, conns).map_err(|e| e.to_string())?;
        c.run(1024, 1, conns as u64).map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_millis(500));
        let after = vm_rss(pid).map_err(|e| e.to_string())?;
        println!(
            "| {rt} | {:.1} MiB | {:.1} MiB | {:.0} |",
            before as f64 / 1048576.0,
            after as f64 / 1048576.0,
            (after as f64 - before as f64) / conns as f64
        );
        drop(c);
        child.stop().map_err(|e| format!("{rt}: {e}"))?;
    }
    Ok(())
}

/// Starts `rt`'s server as a child process: `server <rt>` of this example for tower, tokio and
/// smol (with an optional `:<buffer bytes>`), `benches/python/echo_server.py protocol <rt>` for
/// `asyncio` and `uvloop`.
fn start(rt: &str) -> Result<ServerProcess, String> {
    let res = if rt == "asyncio" || rt == "uvloop" {
        python_echo("protocol", rt)
    } else {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(exe);
        cmd.args(["server", rt]);
        ServerProcess::spawn(cmd)
    };
    res.map_err(|e| format!("start the {rt} server: {e}"))
}

/// The `q` quantile of sorted `times`.
fn quantile(times: &[Duration], q: f64) -> Duration {
    let i = ((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1;
    times[i]
}

/// Round-trip latency per runtime: p50, p99, p99.9 at each size and depth.
fn latency(args: &[String]) -> Result<(), String> {
    let mut trips = 20_000u64;
    let mut rts: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--trips" {
            trips = it
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|&n| n > 0)
                .ok_or("--trips needs a positive number")?;
        } else {
            rts.push(a.clone());
        }
    }
    if rts.is_empty() {
        rts = ["tower", "tokio", "smol"].map(String::from).to_vec();
        for py in ["asyncio", "uvloop"] {
            if python_has(py) {
                rts.push(py.to_owned());
            } else {
                eprintln!(
                    "proto_echo latency: skipping {py} ({} cannot import it)",
                    python().display()
                );
            }
        }
    }
    const CONNS: usize = 50;
    println!(
        "Round-trip time per message, {CONNS} connections, {trips} round trips per row after a \
         warm-up (from the write of a message's last byte to the read of its last byte echoed)"
    );
    println!("| size | depth | runtime | p50 | p99 | p99.9 | max |");
    println!("|---|---|---|---|---|---|---|");
    for rt in &rts {
        let server = start(rt)?;
        let mut c = LoadClient::connect(server.addr, CONNS).map_err(|e| e.to_string())?;
        for (size, name) in [
            (1024, "1 KiB"),
            (10 * 1024, "10 KiB"),
            (100 * 1024, "100 KiB"),
        ] {
            for depth in [1, 16] {
                c.run(size, depth, 10 * CONNS as u64)
                    .map_err(|e| format!("{rt}: {e}"))?;
                let mut t = c
                    .run_timed(size, depth, trips)
                    .map_err(|e| format!("{rt}: {e}"))?;
                t.sort_unstable();
                let us = |d: Duration| format!("{:.1} µs", d.as_secs_f64() * 1e6);
                println!(
                    "| {name} | {depth} | {rt} | {} | {} | {} | {} |",
                    us(quantile(&t, 0.5)),
                    us(quantile(&t, 0.99)),
                    us(quantile(&t, 0.999)),
                    us(t[t.len() - 1])
                );
            }
        }
        drop(c);
        server.stop().map_err(|e| format!("{rt}: {e}"))?;
    }
    Ok(())
}
