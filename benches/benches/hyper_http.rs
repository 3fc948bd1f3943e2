//! HTTP/1 plaintext "Hello, World!" with hyper on the tower against hyper on tokio, driven by
//! `wrk` (issue 16): requests per second side by side, with and without 16-deep pipelining
//! (wrk's pipeline Lua script, written at run time), on single-thread runtimes (a tower
//! `EventLoop`; tokio's current-thread runtime) and on the multi-thread runtimes (2 workers).
//!
//! The servers are the same hyper code: `http1::Builder` with the runtime's timer,
//! `pipeline_flush(true)`, vectored writes, `TCP_NODELAY`, one task per connection (tower:
//! `tower_task::spawn` of `TowerIo::socket(Async<TcpStream>)`, which reads into hyper's buffer;
//! tokio: `tokio::spawn` of hyper-util's `TokioIo<TcpStream>`). wrk runs one thread and 50
//! connections for `HYPER_BENCH_SECS` seconds (default 5) per row.
//!
//! Not a criterion bench (wrk measures), but it writes criterion's `estimates.json` (the mean time
//! per request, 1/rps) under `$CARGO_TARGET_DIR/criterion/<group>/<tower|tokio>/new/`, so
//! `cargo xtask bench hyper_http` prints the usual `tower / best peer` table (below 1: the tower
//! serves more requests per second). `wrk` comes from `cargo xtask tools`; without it the bench
//! says so and measures nothing.
//!
//! Groups: `hyper_http1_st`, `hyper_http1_pipelined_st`, `hyper_http1_mt`,
//! `hyper_http1_pipelined_mt`. A filter argument (as `cargo bench -- FILTER`) picks the groups
//! whose name contains it (and none, quietly, when it names another bench's groups).

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};

/// The body.
const BODY: &[u8] = b"Hello, World!";

/// The pipelining depth of the pipelined rows.
const DEPTH: usize = 16;

/// wrk's connections.
const CONNECTIONS: usize = 50;

/// The service both sides run.
async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(BODY))))
}

/// hyper's HTTP/1 server settings, the same on both sides.
fn http1() -> hyper::server::conn::http1::Builder {
    let mut b = hyper::server::conn::http1::Builder::new();
    b.pipeline_flush(true).writev(true);
    b
}

/// Starts hyper on the tower on a thread of its own (`workers: None`: one `EventLoop`; else a
/// multi-thread runtime of that many workers) and returns its address. The thread serves until
/// the process ends.
fn start_tower(workers: Option<usize>) -> SocketAddr {
    use tower_hyper::{TowerIo, TowerTimer};
    use tower_loop::{Async, EventLoop};

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let serve = async move {
            let listener = Async::new(listener).unwrap();
            loop {
                let (stream, _) = listener.read_with(|l| l.accept()).await.unwrap();
                stream.set_nodelay(true).unwrap();
                drop(tower_task::spawn(async move {
                    // Registered by the task, so on the multi-thread runtime the worker that
                    // runs it (not the accepting thread) owns its readiness.
                    let io = TowerIo::socket(Async::new(stream).unwrap());
                    let _ = http1()
                        .timer(TowerTimer::new())
                        .serve_connection(io, service_fn(hello))
                        .await;
                }));
            }
        };
        match workers {
            None => {
                let lp = EventLoop::new().unwrap();
                lp.run_until_complete(serve).unwrap();
            }
            Some(n) => {
                let rt = tower_task::runtime::RuntimeBuilder::new()
                    .worker_threads(n)
                    .build()
                    .unwrap();
                rt.block_on(serve).unwrap();
            }
        }
    });
    addr
}

/// Starts hyper on tokio likewise (current-thread runtime, or multi-thread with `n` workers).
fn start_tokio(workers: Option<usize>) -> SocketAddr {
    use hyper_util::rt::{TokioIo, TokioTimer};

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = match workers {
            None => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            Some(n) => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(n)
                .enable_all()
                .build()
                .unwrap(),
        };
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                let io = TokioIo::new(stream);
                tokio::spawn(async move {
                    let _ = http1()
                        .timer(TokioTimer::new())
                        .serve_connection(io, service_fn(hello))
                        .await;
                });
            }
        });
    });
    addr
}

/// wrk's pipelining script: each request is `depth` GETs written at once.
const PIPELINE_LUA: &str = r#"
init = function(args)
   local depth = tonumber(args[1]) or 1
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format(nil)
   end
   req = table.concat(r)
end

request = function()
   return req
end
"#;

/// Runs wrk against `addr` and returns its requests per second.
fn wrk(addr: SocketAddr, secs: u64, script: Option<&PathBuf>) -> f64 {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", &format!("-c{CONNECTIONS}"), &format!("-d{secs}s")]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    cmd.arg(format!("http://{addr}/"));
    if script.is_some() {
        cmd.args(["--", &DEPTH.to_string()]);
    }
    let out = cmd.output().expect("running wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wrk failed: {text}");
    for bad in ["Socket errors", "Non-2xx"] {
        if let Some(line) = text.lines().find(|l| l.contains(bad)) {
            eprintln!("wrk against {addr}: {}", line.trim());
        }
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"))
}

/// Writes criterion's `estimates.json` for one id: the mean time per request, in ns.
fn write_estimate(group: &str, id: &str, rps: f64) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("criterion").join(group).join(id).join("new");
    std::fs::create_dir_all(&dir).unwrap();
    let ns = 1e9 / rps;
    let json = format!(
        "{{\"mean\":{{\"confidence_interval\":{{\"confidence_level\":0.95,\"lower_bound\":{ns},\
         \"upper_bound\":{ns}}},\"point_estimate\":{ns},\"standard_error\":0.0}}}}"
    );
    std::fs::write(dir.join("estimates.json"), json).unwrap();
}

fn main() {
    // For profiling (callgrind): `HYPER_BENCH_SERVE=tower|tokio|tower_mt|tokio_mt` only serves,
    // printing the address, until killed.
    if let Ok(which) = std::env::var("HYPER_BENCH_SERVE") {
        let workers = which.ends_with("_mt").then_some(2);
        let addr = if which.starts_with("tower") {
            start_tower(workers)
        } else {
            start_tokio(workers)
        };
        println!("{addr}");
        loop {
            std::thread::park();
        }
    }
    // `cargo bench` passes `--bench` and the filter, if any.
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    let groups = [
        ("hyper_http1_st", None, false),
        ("hyper_http1_pipelined_st", None, true),
        ("hyper_http1_mt", Some(2), false),
        ("hyper_http1_pipelined_mt", Some(2), true),
    ];
    let chosen: Vec<_> = groups
        .iter()
        .filter(|g| g.0.contains(filter.as_str()))
        .collect();
    if chosen.is_empty() {
        return;
    }
    if Command::new("wrk").arg("-v").output().is_err() {
        eprintln!("hyper_http: wrk is not installed, nothing measured (`cargo xtask tools wrk`)");
        return;
    }
    let secs: u64 = std::env::var("HYPER_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let script = std::env::temp_dir().join(format!("tower-wrk-pipeline-{stamp}.lua"));
    std::fs::write(&script, PIPELINE_LUA).unwrap();
    println!("| group | tower req/s | tokio req/s | tower / tokio |");
    println!("|---|---|---|---|");
    for &&(group, workers, pipelined) in &chosen {
        let s = pipelined.then_some(&script);
        let tower = start_tower(workers);
        let tokio = start_tokio(workers);
        // A short warm-up of each (connections, allocator), then the measured runs.
        wrk(tower, 1, s);
        wrk(tokio, 1, s);
        let t = wrk(tower, secs, s);
        let k = wrk(tokio, secs, s);
        write_estimate(group, "tower", t);
        write_estimate(group, "tokio", k);
        println!("| {group} | {t:.0} | {k:.0} | {:.2} |", t / k);
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_file(&script);
}
