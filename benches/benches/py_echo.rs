//! The network rows against CPython's asyncio and uvloop (BENCHMARKS.md, "The peers"): the same
//! echo workload served by tower's protocol server and CPython asyncio's and uvloop's
//! (`asyncio.Protocol` on `loop.create_server`), and by tower's streams server and theirs
//! (`start_server`, `read` + `write` + `drain`), each server in its own process, all driven by
//! the same native load client (`tower_benches::load_client`, 50 connections) with the same
//! work — the way uvloop's own benchmark compares loops, minus its Python client, which tops out
//! below the servers.
//!
//! Groups `py_proto_echo_<size>_<mode>` (ids `tower`, `asyncio`, `uvloop`) and
//! `py_stream_echo_<size>_<mode>` (ids `tower` — tower's streams server — `asyncio`,
//! `uvloop`): sizes 1, 10 and 100 KiB; mode `pp` (ping-pong) or `p16` (16-deep pipelining). An
//! iteration is a tenth of `proto_echo`'s round trips (the Python servers run 5–30× slower than
//! the native ones), the same for every id of a group; flat sampling, so a group takes seconds.
//!
//! The Python servers are `benches/python/echo_server.py`, run with the interpreter named by
//! `TOWER_BENCH_PYTHON` (`cargo xtask bench` makes a virtual environment under the target
//! directory and installs uvloop into it) or `python3`. Without Python, or without uvloop, those
//! ids are skipped with a message; tower's rows still run.

mod proto_work;

use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, SamplingMode};
use tower_benches::load_client::LoadClient;
use tower_benches::server_process::{ServerProcess, python, python_echo, python_has};

/// Connections per server (as `proto_echo`).
const CONNS: usize = 50;

/// Set in a child process of this binary: serve tower's echo (`tower` or `tower-streams`).
const SERVER_ENV: &str = "PY_ECHO_SERVER";

/// Round trips per iteration: a tenth of `proto_echo`'s.
fn trips(size: usize, depth: usize) -> u64 {
    match (size, depth) {
        (s, 1) if s <= 1024 => 2_000,
        (s, _) if s <= 1024 => 10_000,
        (s, 1) if s <= 10 * 1024 => 1_000,
        (s, _) if s <= 10 * 1024 => 2_000,
        (_, 1) => 200,
        _ => 500,
    }
}

/// Starts tower's server `rt` (`tower` or `tower-streams`) in a child process of this binary.
fn tower_server(rt: &str) -> ServerProcess {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let mut cmd = Command::new(exe);
    cmd.env(SERVER_ENV, rt);
    ServerProcess::spawn(cmd).expect("tower's server child")
}

/// The servers of one API (`"protocol"` or `"streams"`), each with its load client: tower's,
/// then asyncio's and uvloop's where Python has them.
fn servers(api: &str) -> Vec<(&'static str, ServerProcess, LoadClient)> {
    let tower_rt = if api == "protocol" {
        "tower"
    } else {
        "tower-streams"
    };
    let mut out = Vec::new();
    let server = tower_server(tower_rt);
    let client = LoadClient::connect(server.addr, CONNS).expect("connect to tower's server");
    out.push(("tower", server, client));
    for flavour in ["asyncio", "uvloop"] {
        if !python_has(flavour) {
            eprintln!(
                "py_echo: skipping {flavour} ({} cannot import {flavour}; `cargo xtask bench` \
                 installs it into a virtual environment, or set TOWER_BENCH_PYTHON)",
                python().display()
            );
            continue;
        }
        match python_echo(api, flavour).and_then(|s| {
            let c = LoadClient::connect(s.addr, CONNS)?;
            Ok((s, c))
        }) {
            Ok((s, c)) => out.push((flavour, s, c)),
            Err(e) => eprintln!("py_echo: skipping {flavour}'s {api} server: {e}"),
        }
    }
    out
}

fn py_echo(c: &mut Criterion) {
    for (api, prefix) in [("protocol", "py_proto_echo"), ("streams", "py_stream_echo")] {
        let mut sides = servers(api);
        for (size, size_name) in [(1024, "1k"), (10 * 1024, "10k"), (100 * 1024, "100k")] {
            for (depth, mode) in [(1, "pp"), (16, "p16")] {
                let mut g = c.benchmark_group(format!("{prefix}_{size_name}_{mode}"));
                g.sampling_mode(SamplingMode::Flat)
                    .sample_size(10)
                    .measurement_time(Duration::from_secs(2))
                    .warm_up_time(Duration::from_millis(300));
                for (id, _, client) in sides.iter_mut() {
                    g.bench_function(*id, |b| {
                        b.iter(|| client.run(size, depth, trips(size, depth)).unwrap())
                    });
                }
                g.finish();
            }
        }
        // Clients first (the servers see every connection close), then the servers.
        for (_, server, client) in sides.drain(..) {
            drop(client);
            drop(server);
        }
    }
}

fn main() {
    if let Ok(rt) = std::env::var(SERVER_ENV) {
        proto_work::serve_in_child(&rt, proto_work::PEER_BUF);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    py_echo(&mut c);
    c.final_summary();
}
