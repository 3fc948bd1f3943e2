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
    no_fd_leak(|| {
        let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
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
