//! Accept under fd exhaustion (issue 15): with the soft fd limit lowered so that the server runs
//! out of fds while clients wait, the server neither spins nor dies — it stays under 5 % CPU
//! over a 1 s window while saturated, reports once, and serves again when fds are freed.
//!
//! "5 % CPU" is measured against what spinning gets on this machine at this moment: the
//! process's CPU time over the saturated window is compared with its CPU time over a second
//! window of the same length in which the loop thread does what a spinning accept loop does
//! (`accept4` failing with `EMFILE`, again and again). On a quiet machine the spinner gets
//! about 1 s and the bound is the 50 ms; on a loaded 2-core CI machine it gets less and
//! the bound tightens with it (never above 50 ms), so neither noise fails the server nor load
//! lets a spinning one pass.
//!
//! Lowering `RLIMIT_NOFILE` changes the whole process, so the test re-runs this test binary as
//! a child (`TOWER_EMFILE_CHILD=1`, this one test) and the child does the work: correct under
//! nextest (a process per test) and under plain `cargo test` (tests as threads of one process)
//! alike. The parent checks the child's result, the fd count and that no zombie is left.

/// The workspace's child check, one file with tower-loop's tests.
#[path = "../../tower-loop/tests/sock_util/child_leak.rs"]
mod child_leak;
mod server_util;

use std::cell::RefCell;
use std::io::Write;
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::process::Command;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustix::net::{AddressFamily, SocketType};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use tower_loop::EventLoop;
use tower_protocol::create_server;

use server_util::{Echo, Stats, echo, fd_count, inet_addr, make, no_fd_leak, run_until};

/// The environment variable that makes the re-run binary the child.
const CHILD: &str = "TOWER_EMFILE_CHILD";

/// How many clients connect to the server (far more than the fds it has).
const CLIENTS: usize = 400;

/// How many connect at once, before the server runs; the rest come one per [`CONNECT_EVERY`].
const FIRST_WAVE: usize = 40;

/// The pace of the connections after the first wave (400 clients: about 1.4 s of them).
const CONNECT_EVERY: Duration = Duration::from_millis(4);

/// Free fd numbers left to the server under the lowered limit.
const HEADROOM: u64 = 4;

#[test]
fn emfile_server_neither_spins_nor_dies() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    no_fd_leak(|| {
        let exe = std::env::current_exe().unwrap();
        let out = Command::new(exe)
            .args([
                "--exact",
                "emfile_server_neither_spins_nor_dies",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let text = format!(
            "child stdout:\n{}\nchild stderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("emfile child: ok"),
            "the child ran the test: {text}"
        );
        println!("{text}");
    });
    // `output()` waited for the child: no zombie of ours is left.
    child_leak::assert_no_child();
}

/// This process's CPU time (user + system, every thread: `getrusage(RUSAGE_SELF)`'s sum).
fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// The spinning variant (tokio's accept loop out of fds): `accept4` on `listener` again and
/// again for `window` of wall time, every call failing (`EMFILE` while the fd table is full).
fn spin_accepting(listener: &OwnedFd, window: Duration) {
    let start = std::time::Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < window {
        let r = rustix::net::accept_with(listener, rustix::net::SocketFlags::NONBLOCK);
        assert!(
            r.is_err(),
            "nothing connects to the spinning variant's listener"
        );
        calls += 1;
    }
    println!("emfile child: the spinning variant made {calls} accept4 calls");
}

/// This thread's CPU time (`RUSAGE_THREAD`): the loop's, so the server's.
fn thread_cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// The lowest fd limit under which exactly `free` fd numbers are free (this process may hold
/// fds with high numbers, inherited or not: the numbers below them are what it allocates).
fn limit_leaving(free: u64) -> u64 {
    let mut open: Vec<u64> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u64>().ok())
        .collect();
    open.sort_unstable();
    let (mut limit, mut left) = (0, free);
    let mut it = open.iter().peekable();
    loop {
        if it.next_if(|&&fd| fd == limit).is_none() {
            if left == 0 {
                return limit;
            }
            left -= 1;
        }
        limit += 1;
    }
}

/// The child's body.
fn child() {
    let lp = EventLoop::new().unwrap();
    let reports = Rc::new(RefCell::new(Vec::<String>::new()));
    let r = reports.clone();
    lp.set_exception_handler(move |_, ctx| r.borrow_mut().push(ctx.message.clone()));
    let stats = Rc::new(Stats::default());
    let server = make(&lp, create_server(Echo::factory(&stats), "127.0.0.1", 0)).unwrap();
    let addr = inet_addr(&server);

    // The clients' sockets are made before the limit is lowered (fd numbers are checked only
    // when an fd is made), then connected by a driver thread: the first ones at once, then one
    // every 4 ms, so that connections keep arriving while the server is out of fds.
    let old = getrlimit(Resource::Nofile);
    if old.current.is_some_and(|c| c < 2 * CLIENTS as u64) {
        // Room for the client sockets first (a low default soft limit).
        let room = old.maximum.map_or(4096, |m| m.min(4096));
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(room),
                maximum: old.maximum,
            },
        )
        .unwrap();
    }
    // The spinning variant's listener, made while fds are free (nothing connects to it).
    let spin_listener = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    rustix::net::bind(
        &spin_listener,
        &std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .unwrap();
    rustix::net::listen(&spin_listener, 1).unwrap();
    rustix::io::ioctl_fionbio(&spin_listener, true).unwrap();
    let socks: Vec<OwnedFd> = (0..CLIENTS)
        .map(|_| {
            let s = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
            rustix::io::ioctl_fionbio(&s, true).unwrap();
            s
        })
        .collect();
    let open_before = fd_count();
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(limit_leaving(HEADROOM)),
            maximum: old.maximum,
        },
    )
    .unwrap();
    // The driver's own CPU time, kept current: the windows below count the process's CPU
    // without the clients'.
    let driver_ns = Arc::new(AtomicU64::new(0));
    let d = driver_ns.clone();
    let driver = std::thread::spawn(move || {
        for (i, s) in socks.iter().enumerate() {
            // Non-blocking: with the accept queue full the kernel drops the SYN and retries.
            let _ = rustix::net::connect(s, &addr);
            d.store(thread_cpu_time().as_nanos() as u64, Ordering::Relaxed);
            if i >= FIRST_WAVE {
                std::thread::sleep(CONNECT_EVERY);
            }
        }
        socks
    });

    // The server accepts what fds allow, then runs out.
    run_until(&lp, || !reports.borrow().is_empty());
    let accepted = stats.made.get();
    assert!(accepted > 0, "accepted none");
    assert!(
        reports.borrow()[0].contains("out of system resource"),
        "{:?}",
        reports.borrow()
    );

    // Saturated: one second of the loop running while connections keep coming, measured.
    let driver_cpu = || Duration::from_nanos(driver_ns.load(Ordering::Relaxed));
    let (server0, process0) = (thread_cpu_time(), cpu_time() - driver_cpu());
    lp.run_until_complete(tower_task::sleep(Duration::from_secs(1)))
        .unwrap();
    let (server_cpu, process_cpu) = (
        thread_cpu_time() - server0,
        cpu_time() - driver_cpu() - process0,
    );
    // The spinning variant over a window as long, on the same thread, still out of fds.
    let spin0 = cpu_time() - driver_cpu();
    spin_accepting(&spin_listener, Duration::from_secs(1));
    let spin_cpu = cpu_time() - driver_cpu() - spin0;
    let bound = (spin_cpu / 20).clamp(Duration::from_millis(5), Duration::from_millis(50));
    println!(
        "emfile child: accepted {accepted} before exhaustion, {} after the 1 s window; CPU in the \
         window: server (loop thread) {server_cpu:?}, process (without the connecting thread) \
         {process_cpu:?}; a spinning accept loop's, counted alike, in 1 s {spin_cpu:?} (bound \
         {bound:?}); {} report(s)",
        stats.made.get(),
        reports.borrow().len()
    );
    assert!(
        process_cpu < bound,
        "the server spins: {process_cpu:?} of process CPU in 1 s, against {spin_cpu:?} for a \
         spinning accept loop (bound: 5 % of that, at most 50 ms)"
    );
    assert!(
        server_cpu < Duration::from_millis(50),
        "the server spins: {server_cpu:?} of CPU in 1 s"
    );
    assert_eq!(
        reports.borrow().len(),
        1,
        "reported once: {:?}",
        reports.borrow()
    );
    assert!(server.is_serving(), "the server did not die");
    assert_eq!(stats.made.get(), accepted, "still out of fds in the window");
    let clients = driver.join().unwrap();
    drop(spin_listener);

    // Free the fds: the clients hang up, the server's transports close; after its back-off
    // (at most 1 s) the server accepts again: the hung-up connections waiting in its queue
    // come first (each sees end of stream and closes).
    drop(clients);
    run_until(&lp, || {
        stats.made.get() > accepted && server.client_count() == 0
    });
    // It serves a new client.
    let mut fresh = TcpStream::connect(addr).unwrap();
    fresh.set_nonblocking(true).unwrap();
    echo(&lp, &mut fresh, b"served again");
    fresh.flush().unwrap();
    drop(fresh);
    setrlimit(Resource::Nofile, old).unwrap();
    server.close();
    run_until(&lp, || server.client_count() == 0);
    lp.close().unwrap();
    assert!(fd_count() < open_before, "fds left behind");
    println!("emfile child: ok");
}
