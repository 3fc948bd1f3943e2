//! `cargo xtask syscalls`: syscalls per echo round trip, tower next to tokio and smol.
//!
//! Builds the echo example of `benches/` (`benches/examples/echo.rs`, the same workloads as the
//! `io_echo` benches), runs each runtime's TCP echo (50 connections) and UDP echo under
//! `strace -c -f` twice, with `N` and `2N` round trips, and prints the difference divided by the
//! extra round trips: the steady-state cost of one round trip (both sides), set-up excluded.
//! `epoll_ctl` is printed on its own (a reactor that re-arms per event shows ~1 per wait).
//!
//! The protocol echo (`benches/examples/proto_echo.rs`, the servers of the `proto_echo` bench)
//! runs its server in a process of its own under `strace -c -f`, driven by the load client in
//! another process, so the counts are the server's side alone: `read`s and `write`s per round
//! trip (any of `read`/`recvfrom`/`recvmsg`/`readv`, `write`/`sendto`/`sendmsg`/`writev`), tower
//! next to tokio, again as the difference of a `2N` and an `N` round-trip run.
//! `cargo xtask syscalls proto` prints only these rows.
//!
//! `strace` comes from the distribution: if it is missing, the command installs it with
//! `apt-get install -y strace` when it runs as root (as CI images do), and otherwise says how.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use crate::run;

/// TCP connections of the TCP echo (the workload).
const CONNS: usize = 50;
/// Round trips per connection (TCP) of the shorter run; the longer one makes twice as many.
const TCP_TRIPS: usize = 400;
/// Round trips of the shorter UDP run.
const UDP_TRIPS: usize = 10_000;

/// Connections of the protocol echo.
const PROTO_CONNS: usize = 50;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "proto") {
        ensure_strace()?;
        return proto();
    }
    let flavours: Vec<&str> = if args.iter().any(|a| a == "--mt") {
        vec!["st", "mt"]
    } else {
        vec!["st"]
    };
    ensure_strace()?;
    run::cargo(&[
        "build",
        "--release",
        "--package",
        "tower-benches",
        "--example",
        "echo",
    ])?;
    let bin = run::target_dir().join("release/examples/echo");
    println!(
        "\nsyscalls per round trip (both sides, steady state: strace -c -f of 2N minus N round trips)"
    );
    println!(
        "{:<7} {:<3} {:<5} {:>9} {:>10} {:>9} {:>9}  top calls",
        "runtime", "", "work", "total", "epoll_ctl", "wait", "EAGAIN"
    );
    for flavour in &flavours {
        for work in ["tcp", "udp"] {
            for rt in ["tower", "tokio", "smol"] {
                let (conns, trips) = match work {
                    "tcp" => (CONNS, TCP_TRIPS),
                    _ => (1, UDP_TRIPS),
                };
                let a = count(&bin, rt, flavour, work, conns, trips)?;
                let b = count(&bin, rt, flavour, work, conns, 2 * trips)?;
                let per = (conns * trips) as f64;
                let delta = |name: &str| {
                    let get =
                        |m: &BTreeMap<String, (u64, u64)>| m.get(name).copied().unwrap_or_default();
                    (get(&b).0 as f64 - get(&a).0 as f64) / per
                };
                let mut calls: Vec<(String, f64)> = b
                    .keys()
                    .map(|k| (k.clone(), delta(k)))
                    .filter(|(_, d)| *d > 0.005)
                    .collect();
                calls.sort_by(|x, y| y.1.total_cmp(&x.1));
                let total: f64 = calls.iter().map(|(_, d)| d).sum();
                let errors: f64 = {
                    let e = |m: &BTreeMap<String, (u64, u64)>| m.values().map(|v| v.1).sum::<u64>();
                    (e(&b) as f64 - e(&a) as f64) / per
                };
                let waits: f64 = ["epoll_wait", "epoll_pwait", "epoll_pwait2"]
                    .iter()
                    .map(|n| delta(n))
                    .sum();
                let top: Vec<String> = calls
                    .iter()
                    .take(6)
                    .map(|(n, d)| format!("{n} {d:.2}"))
                    .collect();
                println!(
                    "{rt:<7} {flavour:<3} {work:<5} {total:>9.2} {:>10.2} {waits:>9.2} {errors:>9.2}  {}",
                    delta("epoll_ctl"),
                    top.join(", ")
                );
            }
        }
    }
    println!(
        "(EAGAIN: calls that failed, nearly all of them EAGAIN; `--mt` adds the multi-thread runtimes)"
    );
    proto()
}

/// The protocol echo's server-side syscalls per round trip (see the module docs).
fn proto() -> Result<(), String> {
    run::cargo(&[
        "build",
        "--release",
        "--package",
        "tower-benches",
        "--example",
        "proto_echo",
    ])?;
    let bin = run::target_dir().join("release/examples/proto_echo");
    println!(
        "\nprotocol echo, {PROTO_CONNS} connections: the SERVER's syscalls per round trip (strace -c -f of \
         the server process, 2N minus N round trips; tower: Protocol on SocketTransport)"
    );
    println!(
        "{:<7} {:<9} {:>7} {:>7} {:>9} {:>10} {:>9} {:>7}  top calls",
        "runtime", "work", "reads", "writes", "wait", "epoll_ctl", "EAGAIN", "total"
    );
    const READS: [&str; 4] = ["read", "recvfrom", "recvmsg", "readv"];
    const WRITES: [&str; 4] = ["write", "sendto", "sendmsg", "writev"];
    for (size, depth, work, trips) in [
        (1024, 1, "1k pp", 10_000),
        (1024, 16, "1k p16", 20_000),
        (10 * 1024, 1, "10k pp", 5_000),
        (100 * 1024, 1, "100k pp", 1_000),
        (100 * 1024, 16, "100k p16", 1_000),
    ] {
        for rt in ["tower", "tokio"] {
            let a = count_server(&bin, rt, size, depth, trips)?;
            let b = count_server(&bin, rt, size, depth, 2 * trips)?;
            let per = trips as f64;
            let delta = |name: &str| {
                let get =
                    |m: &BTreeMap<String, (u64, u64)>| m.get(name).copied().unwrap_or_default();
                (get(&b).0 as f64 - get(&a).0 as f64) / per
            };
            let sum = |names: &[&str]| names.iter().map(|n| delta(n)).sum::<f64>();
            let mut calls: Vec<(String, f64)> = b
                .keys()
                .map(|k| (k.clone(), delta(k)))
                .filter(|(_, d)| *d > 0.005)
                .collect();
            calls.sort_by(|x, y| y.1.total_cmp(&x.1));
            let total: f64 = calls.iter().map(|(_, d)| d).sum();
            let errors: f64 = {
                let e = |m: &BTreeMap<String, (u64, u64)>| m.values().map(|v| v.1).sum::<u64>();
                (e(&b) as f64 - e(&a) as f64) / per
            };
            let top: Vec<String> = calls
                .iter()
                .take(6)
                .map(|(n, d)| format!("{n} {d:.2}"))
                .collect();
            println!(
                "{rt:<7} {work:<9} {:>7.2} {:>7.2} {:>9.2} {:>10.2} {errors:>9.2} {total:>7.2}  {}",
                sum(&READS),
                sum(&WRITES),
                sum(&["epoll_wait", "epoll_pwait", "epoll_pwait2"]),
                delta("epoll_ctl"),
                top.join(", ")
            );
        }
    }
    println!(
        "(pp: ping-pong, p16: 16 messages in flight per connection; the tokio server reads into \
         a 64 KiB buffer per connection, tower into its loop's 256 KiB buffer)"
    );
    Ok(())
}

/// `strace -c -f` of a protocol echo server process while the load client (another process)
/// makes `trips` round trips: syscall name -> (calls, errors).
fn count_server(
    bin: &PathBuf,
    rt: &str,
    size: usize,
    depth: usize,
    trips: usize,
) -> Result<BTreeMap<String, (u64, u64)>, String> {
    use std::io::BufRead;
    let out = std::env::temp_dir().join(format!("xtask-proto-{}.txt", std::process::id()));
    let mut server = Command::new("strace")
        .arg("-c")
        .arg("-f")
        .arg("-o")
        .arg(&out)
        .arg(bin)
        .args(["server", rt])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start strace: {e}"))?;
    let mut addr = String::new();
    std::io::BufReader::new(server.stdout.take().expect("piped"))
        .read_line(&mut addr)
        .map_err(|e| format!("{rt} server: {e}"))?;
    let client = Command::new(bin)
        .args([
            "client",
            addr.trim(),
            &size.to_string(),
            &depth.to_string(),
            &PROTO_CONNS.to_string(),
            &trips.to_string(),
        ])
        .status()
        .map_err(|e| format!("could not start the load client: {e}"));
    // Closing its stdin stops the server.
    drop(server.stdin.take());
    let status = server.wait().map_err(|e| e.to_string())?;
    let client = client?;
    if !client.success() || !status.success() {
        return Err(format!(
            "{rt} protocol echo: client {client}, server {status}"
        ));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| format!("strace output: {e}"))?;
    let _ = std::fs::remove_file(&out);
    Ok(parse(&text))
}

/// `strace -c -f` of one run: syscall name -> (calls, errors).
fn count(
    bin: &PathBuf,
    rt: &str,
    flavour: &str,
    work: &str,
    conns: usize,
    trips: usize,
) -> Result<BTreeMap<String, (u64, u64)>, String> {
    let out = std::env::temp_dir().join(format!("xtask-syscalls-{}.txt", std::process::id()));
    let status = Command::new("strace")
        .arg("-c")
        .arg("-f")
        .arg("-o")
        .arg(&out)
        .arg(bin)
        .args([rt, flavour, work, &conns.to_string(), &trips.to_string()])
        .status()
        .map_err(|e| format!("could not start strace: {e}"))?;
    if !status.success() {
        return Err(format!(
            "{rt} {flavour} {work}: the echo run failed ({status})"
        ));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| format!("strace output: {e}"))?;
    let _ = std::fs::remove_file(&out);
    Ok(parse(&text))
}

/// Parses `strace -c`'s table: `% time  seconds  usecs/call  calls  [errors]  syscall`.
fn parse(text: &str) -> BTreeMap<String, (u64, u64)> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 5 || cols[0].parse::<f64>().is_err() {
            continue;
        }
        let name = cols[cols.len() - 1];
        if name == "total" {
            continue;
        }
        let calls = cols[3].parse().unwrap_or(0);
        let errors = if cols.len() == 6 {
            cols[4].parse().unwrap_or(0)
        } else {
            0
        };
        m.insert(name.to_string(), (calls, errors));
    }
    m
}

/// Makes sure `strace` is installed: installs the Debian package when running as root.
fn ensure_strace() -> Result<(), String> {
    crate::tools::install("strace", "-V", "strace")
}
