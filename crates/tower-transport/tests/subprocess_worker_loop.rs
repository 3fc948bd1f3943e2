//! [`SubprocessTransport`] on the multi-thread runtime's worker loops: a `spawn_local` task
//! makes a transport there; the pipes and the exit are driven by that worker's loop. No fd and
//! no child is left.

mod util;

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tower_exec::{Command, Stdio};
use tower_task::runtime::{RuntimeBuilder, spawn_local};
use tower_transport::{SubprocessEvents, SubprocessTransport, WriteTransport};
use util::no_fd_leak;

/// Writes to cat on `connection_made`, collects stdout, records the end.
#[derive(Default)]
struct Cat {
    out: Vec<u8>,
    returncode: Option<i32>,
    lost: bool,
}

impl SubprocessEvents for Cat {
    fn connection_made(&mut self, t: SubprocessTransport) {
        let stdin = t.get_pipe_transport(0).unwrap();
        stdin.write(b"on a worker").unwrap();
        stdin.write_eof();
    }
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        assert_eq!(fd, 1);
        self.out.extend_from_slice(data);
    }
    fn process_exited(&mut self) {
        self.returncode = Some(0);
    }
    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        self.lost = true;
    }
}

/// Whether `pid` is gone (reaped: no /proc entry).
fn gone(pid: u32) -> bool {
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn echo_through_cat_on_a_worker_loop() {
    echo_through_cat_on_workers(2);
}

// One worker: it holds the runtime's shared poller all the time, so its own poller's
// level-triggered leftovers (a pipe's data and its end of stream, read in two iterations) are
// seen only if the driver polls it again (the fix in tower-loop's `driver.rs`).
#[test]
fn echo_through_cat_on_a_lone_worker_loop() {
    echo_through_cat_on_workers(1);
}

// The driver fix alone: a read pipe holding data and end of stream at once, on a worker loop,
// gets both (the end of stream is left level-triggered after the first read).
#[test]
fn read_pipe_sees_eof_after_data_on_a_worker_loop() {
    use std::io::Write;
    use tower_transport::{ReadPipeTransport, StreamEvents};
    /// Collects, and notes the end.
    #[derive(Default)]
    struct Collect(Vec<u8>, bool);
    impl StreamEvents for Collect {
        fn data_received(&mut self, data: &[u8]) {
            self.0.extend_from_slice(data);
        }
        fn connection_lost(&mut self, _exc: Option<io::Error>) {
            self.1 = true;
        }
    }
    no_fd_leak(|| {
        let rt = RuntimeBuilder::new().worker_threads(1).build().unwrap();
        let task = rt.spawn(async {
            spawn_local(async {
                let lp = tower_loop::get_running_loop().unwrap();
                let (r, w) = tower_loop::nonblocking_pipe().unwrap();
                std::fs::File::from(w).write_all(b"data then eof").unwrap();
                let proto = Rc::new(RefCell::new(Collect::default()));
                let _t = ReadPipeTransport::new(&lp, r, proto.clone()).unwrap();
                let deadline = Instant::now() + Duration::from_secs(10);
                while !proto.borrow().1 {
                    assert!(Instant::now() < deadline, "no end of stream");
                    tower_task::sleep(Duration::from_millis(1)).await;
                }
                std::mem::take(&mut proto.borrow_mut().0)
            })
            .unwrap()
            .await
            .unwrap()
        });
        assert_eq!(rt.block_on(task).unwrap().unwrap(), b"data then eof");
        rt.shutdown_timeout(Duration::from_secs(5));
    });
}

/// Four cats at once on one worker loop of a runtime with `workers` workers.
fn echo_through_cat_on_workers(workers: usize) {
    no_fd_leak(|| {
        let rt = RuntimeBuilder::new()
            .worker_threads(workers)
            .build()
            .unwrap();
        let task = rt.spawn(async {
            spawn_local(async {
                let lp = tower_loop::get_running_loop().unwrap();
                let mut pids = Vec::new();
                let mut outs = Vec::new();
                // Several at once, on one worker's loop.
                let mut running = Vec::new();
                for _ in 0..4 {
                    let child = Command::new("cat")
                        .stdin(Stdio::Pipe)
                        .stdout(Stdio::Pipe)
                        .spawn_raw()
                        .unwrap();
                    let proto = Rc::new(RefCell::new(Cat::default()));
                    let t = SubprocessTransport::new(&lp, child, proto.clone()).unwrap();
                    pids.push(t.get_pid());
                    running.push((t, proto));
                }
                let deadline = Instant::now() + Duration::from_secs(20);
                for (t, proto) in running {
                    while !proto.borrow().lost {
                        // Fail with the state rather than hang.
                        assert!(
                            Instant::now() < deadline,
                            "not finished: {t:?}, stdin {:?}, stdout {:?}",
                            t.get_pipe_transport(0),
                            t.get_pipe_transport(1)
                        );
                        tower_task::sleep(Duration::from_millis(1)).await;
                    }
                    assert_eq!(t.get_returncode(), Some(0));
                    outs.push(std::mem::take(&mut proto.borrow_mut().out));
                }
                (pids, outs)
            })
            .unwrap()
            .await
            .unwrap()
        });
        let (pids, outs) = rt.block_on(task).unwrap().unwrap();
        for out in outs {
            assert_eq!(out, b"on a worker");
        }
        rt.shutdown_timeout(Duration::from_secs(5));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !pids.iter().all(|&p| gone(p)) {
            assert!(Instant::now() < deadline, "a child was not reaped");
            std::thread::sleep(Duration::from_millis(5));
        }
    });
}
