//! [`SubprocessTransport`] without pidfds (forced with `TOWER_EXEC_NO_PIDFD=1`; one test in
//! this file so the variable is set before any spawn): the exit is seen through a watcher
//! thread's pipe registered with the loop; the order and the return codes are the same.

mod util;

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use tower_exec::{Command, Stdio};
use tower_loop::EventLoop;
use tower_transport::{SubprocessEvents, SubprocessTransport, WriteTransport};
use util::{no_fd_leak, run_until};

/// Records what happened, in order.
#[derive(Default)]
struct Log {
    t: Option<SubprocessTransport>,
    events: Vec<String>,
}

impl SubprocessEvents for Log {
    fn connection_made(&mut self, t: SubprocessTransport) {
        self.events.push("made".into());
        if let Some(stdin) = t.get_pipe_transport(0) {
            stdin.write(b"fallback").unwrap();
            stdin.write_eof();
        }
        self.t = Some(t);
    }
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        self.events
            .push(format!("data {fd} {}", String::from_utf8_lossy(data)));
    }
    fn pipe_connection_lost(&mut self, fd: i32, _exc: Option<io::Error>) {
        self.events.push(format!("pipe lost {fd}"));
    }
    fn process_exited(&mut self) {
        let rc = self.t.as_ref().unwrap().get_returncode().unwrap();
        self.events.push(format!("exited {rc}"));
    }
    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        self.events.push("lost".into());
        self.t = None;
    }
}

#[test]
fn watcher_pipe_drives_the_exit() {
    // SAFETY: this is the only test in this binary and it sets the variable before any other
    // thread of ours exists or reads the environment.
    unsafe { std::env::set_var("TOWER_EXEC_NO_PIDFD", "1") };
    no_fd_leak(|| {
        let before = util::fd_count();
        let lp = EventLoop::new().unwrap();
        let child = Command::new("cat")
            .stdin(Stdio::Pipe)
            .stdout(Stdio::Pipe)
            .spawn_raw()
            .unwrap();
        let proto = Rc::new(RefCell::new(Log::default()));
        let t = SubprocessTransport::new(&lp, child, proto.clone()).unwrap();
        run_until(&lp, || {
            proto.borrow().t.is_none() && !proto.borrow().events.is_empty()
        });
        let events = proto.borrow().events.clone();
        assert_eq!(events.first().unwrap(), "made");
        assert_eq!(events.last().unwrap(), "lost");
        assert!(events.contains(&"data 1 fallback".to_owned()), "{events:?}");
        assert!(events.contains(&"exited 0".to_owned()), "{events:?}");
        assert!(events.contains(&"pipe lost 0".to_owned()), "{events:?}");
        assert!(events.contains(&"pipe lost 1".to_owned()), "{events:?}");
        assert_eq!(t.get_returncode(), Some(0));
        let first = t;

        let child = Command::new("sleep").arg("30").spawn_raw().unwrap();
        let proto = Rc::new(RefCell::new(Log::default()));
        let t = SubprocessTransport::new(&lp, child, proto.clone()).unwrap();
        t.kill().unwrap();
        run_until(&lp, || {
            proto.borrow().t.is_none() && !proto.borrow().events.is_empty()
        });
        assert_eq!(proto.borrow().events, ["made", "exited -9", "lost"]);
        lp.close().unwrap();
        drop((t, first, lp)); // a transport holds its loop (and the loop its poller)
        // The watcher threads close their pipe ends as the children exit: wait for them.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while util::fd_count() != before {
            assert!(std::time::Instant::now() < deadline, "an fd leaked");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    });
}
