//! An echo server in a child process, as the network benches run their servers: the child
//! prints its address on one line and serves until its standard input closes, which dropping
//! the [`ServerProcess`] does. Servers in their own processes share nothing with each other or
//! with the load client (not an allocator, not a scheduler's view of one process).
//!
//! [`python_echo`] starts CPython asyncio's or uvloop's echo server (`benches/python/
//! echo_server.py`) this way; [`python`] finds the interpreter the benches use.

use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The environment variable naming the Python interpreter of the Python rows (`cargo xtask
/// bench` sets it to the virtual environment it made with uvloop installed); unset: `python3`.
pub const PYTHON_ENV: &str = "TOWER_BENCH_PYTHON";

/// An echo server in a child process.
#[derive(Debug)]
pub struct ServerProcess {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The child.
    child: Child,
}

impl ServerProcess {
    /// Starts `cmd` (stdin and stdout piped by this function) and reads the address it prints.
    ///
    /// # Errors
    ///
    /// If the child cannot start, or exits or prints something else than an address first.
    pub fn spawn(mut cmd: Command) -> io::Result<ServerProcess> {
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        let read = BufReader::new(stdout).read_line(&mut line);
        let addr = read.and_then(|_| {
            line.trim().parse::<SocketAddr>().map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the server printed {line:?}, not an address: {e}"),
                )
            })
        });
        match addr {
            Ok(addr) => Ok(ServerProcess { addr, child }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server process's CPU time so far (user + system, all its threads).
    ///
    /// # Errors
    ///
    /// If `/proc/<pid>/stat` cannot be read.
    #[cfg(target_os = "linux")]
    pub fn cpu_time(&self) -> io::Result<Duration> {
        crate::load_client::process_cpu_time(self.child.id())
    }
}

impl ServerProcess {
    /// Closes the server's stdin and waits for it to exit.
    ///
    /// # Errors
    ///
    /// If waiting fails, or the server exits with a failure status.
    pub fn stop(mut self) -> io::Result<()> {
        drop(self.child.stdin.take());
        let status = self.child.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!("the server exited with {status}")))
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The child's side of the protocol: prints `addr`, then blocks until stdin closes.
pub fn serve_until_stdin_closes(addr: SocketAddr) {
    println!("{addr}");
    let mut sink = Vec::new();
    let _ = io::stdin().read_to_end(&mut sink);
}

/// The Python interpreter of the Python rows: [`PYTHON_ENV`] if set, else `python3`.
pub fn python() -> PathBuf {
    std::env::var_os(PYTHON_ENV).map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

/// Whether [`python`] runs and can import `module` (`"asyncio"`, `"uvloop"`).
pub fn python_has(module: &str) -> bool {
    Command::new(python())
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts `benches/python/echo_server.py <api> <flavour>`: `api` is `"protocol"` or
/// `"streams"`, `flavour` `"asyncio"` or `"uvloop"`.
///
/// # Errors
///
/// As [`ServerProcess::spawn`].
pub fn python_echo(api: &str, flavour: &str) -> io::Result<ServerProcess> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/echo_server.py");
    let mut cmd = Command::new(python());
    cmd.args([script, api, flavour]);
    ServerProcess::spawn(cmd)
}
