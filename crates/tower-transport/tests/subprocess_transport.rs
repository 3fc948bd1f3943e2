//! [`SubprocessTransport`]: a child and its pipes driving one [`SubprocessEvents`] protocol —
//! ports of test_subprocess.py's SubprocessProtocol-level scenarios (`test_subprocess_exec*`,
//! pipe data with its fd, `process_exited` before and after the pipes close, kill/terminate/
//! send_signal return codes, close with the child running, stdin flow control, the loop closing
//! with a child running). Every test checks that no fd and no child (zombie or running) is left.

mod util;

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use tower_exec::{Command, Stdio};
use tower_loop::EventLoop;
use tower_transport::{
    BaseTransport, ReadTransport, SubprocessEvents, SubprocessTransport, WriteTransport,
};
use util::{fd_count, run_once, run_until};

/// An event the [`Rec`] protocol saw.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    /// `connection_made`.
    Made,
    /// `pipe_data_received(fd, data)`.
    Data(i32, Vec<u8>),
    /// `pipe_connection_lost(fd, exc)`, with the error's kind.
    PipeLost(i32, Option<io::ErrorKind>),
    /// `process_exited`, with `get_returncode()` then.
    Exited(Option<i32>),
    /// `pause_writing`, with the stdin buffer size then.
    Pause(usize),
    /// `resume_writing`, with the stdin buffer size then.
    Resume(usize),
    /// `connection_lost`.
    Lost,
}

type Log = Rc<RefCell<Vec<Ev>>>;
type Hook = Box<dyn FnMut(&SubprocessTransport, &Ev)>;
type Signaller<'a> = dyn Fn(&SubprocessTransport) -> io::Result<()> + 'a;

/// Records its events; keeps its transport until `connection_lost`; runs `hook` after each.
struct Rec {
    log: Log,
    t: Option<SubprocessTransport>,
    hook: Option<Hook>,
}

impl Rec {
    fn new() -> (Rc<RefCell<Rec>>, Log) {
        let log = Log::default();
        let r = Rec {
            log: log.clone(),
            t: None,
            hook: None,
        };
        (Rc::new(RefCell::new(r)), log)
    }

    fn push(&mut self, ev: Ev) {
        self.log.borrow_mut().push(ev.clone());
        if let (Some(h), Some(t)) = (self.hook.as_mut(), self.t.as_ref()) {
            h(t, &ev);
        }
    }

    fn stdin_size(&self) -> usize {
        self.t
            .as_ref()
            .and_then(|t| t.get_pipe_transport(0))
            .map_or(0, |p| p.get_write_buffer_size())
    }
}

impl SubprocessEvents for Rec {
    fn connection_made(&mut self, t: SubprocessTransport) {
        self.t = Some(t);
        self.push(Ev::Made);
    }
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        self.push(Ev::Data(fd, data.to_vec()));
    }
    fn pipe_connection_lost(&mut self, fd: i32, exc: Option<io::Error>) {
        self.push(Ev::PipeLost(fd, exc.map(|e| e.kind())));
    }
    fn process_exited(&mut self) {
        let rc = self.t.as_ref().and_then(|t| t.get_returncode());
        self.push(Ev::Exited(rc));
    }
    fn pause_writing(&mut self) {
        let n = self.stdin_size();
        self.push(Ev::Pause(n));
    }
    fn resume_writing(&mut self) {
        let n = self.stdin_size();
        self.push(Ev::Resume(n));
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        assert!(exc.is_none());
        self.push(Ev::Lost);
        self.t = None;
    }
}

/// Everything received on `fd`.
fn out(log: &Log, fd: i32) -> Vec<u8> {
    log.borrow()
        .iter()
        .filter_map(|e| match e {
            Ev::Data(f, d) if *f == fd => Some(d.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The log without data events.
fn shape(log: &Log) -> Vec<Ev> {
    log.borrow()
        .iter()
        .filter(|e| !matches!(e, Ev::Data(..)))
        .cloned()
        .collect()
}

/// Whether `connection_lost` ran.
fn lost(log: &Log) -> bool {
    log.borrow().contains(&Ev::Lost)
}

/// Checks asyncio's order: `connection_made` first, `connection_lost` last and once,
/// `process_exited` once, each pipe's `pipe_connection_lost` once and after its data.
fn check_order(log: &Log, pipes: &[i32]) {
    let log = log.borrow();
    assert_eq!(log.first(), Some(&Ev::Made), "{log:?}");
    assert_eq!(log.last(), Some(&Ev::Lost), "{log:?}");
    assert_eq!(log.iter().filter(|e| **e == Ev::Made).count(), 1);
    assert_eq!(log.iter().filter(|e| **e == Ev::Lost).count(), 1);
    let exited = log.iter().filter(|e| matches!(e, Ev::Exited(_))).count();
    assert_eq!(exited, 1, "{log:?}");
    for fd in pipes {
        let lost_at = log
            .iter()
            .position(|e| matches!(e, Ev::PipeLost(f, _) if f == fd));
        let lost_at = lost_at.unwrap_or_else(|| panic!("no pipe_connection_lost({fd}): {log:?}"));
        let count = log
            .iter()
            .filter(|e| matches!(e, Ev::PipeLost(f, _) if f == fd))
            .count();
        assert_eq!(count, 1);
        assert!(
            !log[lost_at..]
                .iter()
                .any(|e| matches!(e, Ev::Data(f, _) if f == fd)),
            "data on fd {fd} after its pipe_connection_lost: {log:?}"
        );
    }
}

mod subprocess_util;
use subprocess_util::{clean, wait_until};

/// A transport for `cmd` on `lp` with protocol `proto`.
fn spawn(lp: &EventLoop, cmd: &mut Command, proto: Rc<RefCell<Rec>>) -> SubprocessTransport {
    let child = cmd.spawn_raw().unwrap();
    SubprocessTransport::new(lp, child, proto).unwrap()
}

/// A command with all three streams piped (asyncio's `subprocess_exec` default).
fn piped(program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .stderr(Stdio::Pipe);
    cmd
}

// test_subprocess_exec (echo through cat): connection_made first, data back on fd 1,
// process_exited once with the returncode already set, connection_lost last.
#[test]
fn echo_through_cat() {
    clean(|lp| {
        let (proto, log) = Rec::new();
        proto.borrow_mut().hook = Some(Box::new(|t, ev| {
            if *ev == Ev::Made {
                let stdin = t.get_pipe_transport(0).unwrap();
                stdin.write(b"hello through cat").unwrap();
                stdin.write_eof();
            }
        }));
        let t = spawn(lp, &mut piped("cat", &[]), proto.clone());
        assert!(t.get_pid() > 0);
        assert_eq!(t.get_returncode(), None);
        assert!(t.get_pipe_transport(3).is_none());
        assert!(t.get_pipe_transport(-1).is_none());
        assert!(!format!("{t:?}").is_empty());
        run_until(lp, || lost(&log));
        assert_eq!(out(&log, 1), b"hello through cat");
        assert_eq!(out(&log, 2), b"");
        check_order(&log, &[0, 1, 2]);
        assert!(log.borrow().contains(&Ev::Exited(Some(0))));
        assert_eq!(t.get_returncode(), Some(0));
        assert!(proto.borrow().t.is_none());
        assert!(t.get_protocol().is_none());
        // The transport is done: signals are a ProcessLookupError (asyncio's `_check_proc`).
        assert_eq!(t.kill().unwrap_err().kind(), io::ErrorKind::NotFound);
    });
}

// test_subprocess_exec with stdout and stderr: each chunk comes with its fd, in the order the
// child wrote them (made certain by the child waiting for us between the two writes).
#[test]
fn stdout_and_stderr_arrive_with_their_fds_in_order() {
    clean(|lp| {
        let (proto, log) = Rec::new();
        proto.borrow_mut().hook = Some(Box::new(|t, ev| {
            if let Ev::Data(1, _) = ev {
                t.get_pipe_transport(0).unwrap().write(b"go\n").unwrap();
            }
        }));
        let mut cmd = piped("sh", &["-c", "echo out; read x; echo err >&2; exit 3"]);
        let t = spawn(lp, &mut cmd, proto);
        run_until(lp, || lost(&log));
        assert_eq!(out(&log, 1), b"out\n");
        assert_eq!(out(&log, 2), b"err\n");
        let data: Vec<i32> = log
            .borrow()
            .iter()
            .filter_map(|e| match e {
                Ev::Data(fd, _) => Some(*fd),
                _ => None,
            })
            .collect();
        assert_eq!(data, [1, 2]);
        check_order(&log, &[0, 1, 2]);
        assert!(log.borrow().contains(&Ev::Exited(Some(3))));
        assert_eq!(t.get_returncode(), Some(3));
    });
}

// Streams that are not pipes have no pipe transport, and stderr can share stdout's pipe.
#[test]
fn devnull_and_stderr_into_stdout() {
    clean(|lp| {
        let (proto, log) = Rec::new();
        let mut cmd = Command::shell("echo out; echo err >&2");
        cmd.stdin(Stdio::DevNull)
            .stdout(Stdio::Pipe)
            .stderr(Stdio::Stdout);
        let t = spawn(lp, &mut cmd, proto);
        assert!(t.get_pipe_transport(0).is_none());
        assert!(t.get_pipe_transport(1).is_some());
        assert!(t.get_pipe_transport(2).is_none());
        run_until(lp, || lost(&log));
        assert_eq!(out(&log, 1), b"out\nerr\n");
        check_order(&log, &[1]);
        // No pipes at all: connection_lost follows process_exited.
        let (proto, log) = Rec::new();
        let mut cmd = Command::shell("exit 4");
        cmd.stdin(Stdio::DevNull).stdout(Stdio::DevNull);
        let t = spawn(lp, &mut cmd, proto);
        run_until(lp, || lost(&log));
        assert_eq!(*log.borrow(), [Ev::Made, Ev::Exited(Some(4)), Ev::Lost]);
        assert_eq!(t.get_returncode(), Some(4));
    });
}

// process_exited before the pipes close: a grandchild keeps the pipes open (its stdin given
// explicitly: a background job's stdin is /dev/null otherwise), so connection_lost waits for
// it (asyncio's `_try_finish`).
#[test]
fn process_exited_before_the_pipes_close() {
    clean(|lp| {
        let (proto, log) = Rec::new();
        proto.borrow_mut().hook = Some(Box::new(|t, ev| {
            if matches!(ev, Ev::Exited(_)) {
                let stdin = t.get_pipe_transport(0).unwrap();
                stdin.write(b"go\n").unwrap();
            }
        }));
        let mut cmd = piped("sh", &["-c", "exec 3<&0; (read x <&3; echo late) & exit 0"]);
        let _t = spawn(lp, &mut cmd, proto);
        run_until(lp, || lost(&log));
        let log_ = log.borrow();
        let exited = log_.iter().position(|e| matches!(e, Ev::Exited(Some(0))));
        let late = log_
            .iter()
            .position(|e| *e == Ev::Data(1, b"late\n".to_vec()));
        assert!(exited.unwrap() < late.unwrap(), "{log_:?}");
        drop(log_);
        check_order(&log, &[0, 1, 2]);
    });
}

// The pipes close before the process exits: connection_lost waits for the exit.
#[test]
fn pipes_close_before_process_exited() {
    clean(|lp| {
        let (proto, log) = Rec::new();
        let mut cmd = piped(
            "sh",
            &[
                "-c",
                "exec </dev/null >/dev/null 2>/dev/null; exec sleep 30",
            ],
        );
        let t = spawn(lp, &mut cmd, proto);
        run_until(lp, || {
            log.borrow()
                .iter()
                .filter(|e| matches!(e, Ev::PipeLost(..)))
                .count()
                == 3
        });
        assert!(!lost(&log));
        assert_eq!(t.get_returncode(), None);
        assert!(!t.is_closing());
        t.terminate().unwrap();
        run_until(lp, || lost(&log));
        check_order(&log, &[0, 1, 2]);
        let tail: Vec<Ev> = shape(&log).into_iter().rev().take(2).collect();
        assert_eq!(tail, [Ev::Lost, Ev::Exited(Some(-15))]);
    });
}

// test_kill, test_terminate, test_send_signal: minus the signal number, as asyncio reports.
#[test]
fn kill_terminate_send_signal_return_codes() {
    clean(|lp| {
        let sigusr1 = rustix::process::Signal::USR1.as_raw();
        let cases: [(&Signaller<'_>, i32); 3] = [
            (&|t| t.kill(), -9),
            (&|t| t.terminate(), -15),
            (&move |t| t.send_signal(sigusr1), -sigusr1),
        ];
        for (signal, rc) in cases {
            let (proto, log) = Rec::new();
            let t = spawn(lp, &mut piped("sleep", &["30"]), proto);
            run_until(lp, || log.borrow().contains(&Ev::Made));
            signal(&t).unwrap();
            run_until(lp, || lost(&log));
            assert!(log.borrow().contains(&Ev::Exited(Some(rc))));
            assert_eq!(t.get_returncode(), Some(rc));
            check_order(&log, &[0, 1, 2]);
        }
        // After the exit, before the transport is done: nothing to signal, no error (asyncio's
        // Popen.send_signal); an unknown signal number is refused while it runs.
        let (proto, log) = Rec::new();
        let mut cmd = piped("sh", &["-c", "exec 3<&0; (read x <&3) & exit 0"]);
        let t = spawn(lp, &mut cmd, proto);
        assert_eq!(
            t.send_signal(12345).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        run_until(lp, || log.borrow().contains(&Ev::Exited(Some(0))));
        t.kill().unwrap();
        t.close(); // closes stdin: the background `read` ends, the pipes close
        run_until(lp, || lost(&log));
        assert_eq!(t.kill().unwrap_err().kind(), io::ErrorKind::NotFound);
    });
}

// test_close_kill_running / asyncio's `close()`: the pipes close and the child is killed;
// connection_lost follows the exit.
#[test]
fn close_kills_a_running_child() {
    clean(|lp| {
        let (proto, log) = Rec::new();
        let t = spawn(lp, &mut piped("sleep", &["30"]), proto);
        run_until(lp, || log.borrow().contains(&Ev::Made));
        t.close();
        assert!(t.is_closing());
        t.close(); // idempotent
        run_until(lp, || lost(&log));
        check_order(&log, &[0, 1, 2]);
        assert!(log.borrow().contains(&Ev::Exited(Some(-9))));
        assert_eq!(t.get_returncode(), Some(-9));
        // Closed before the loop ran at all: still killed, reaped and finished.
        let (proto, log) = Rec::new();
        let t = spawn(lp, &mut piped("sleep", &["30"]), proto);
        t.close();
        run_until(lp, || lost(&log));
        assert_eq!(t.get_returncode(), Some(-9));
        assert_eq!(log.borrow().first(), Some(&Ev::Made));
        check_order(&log, &[0, 1, 2]);
    });
}

// Flow control of stdin (asyncio's WriteSubprocessPipeProto forwards pause/resume): a child
// that does not read (stopped with SIGSTOP) makes the protocol pause above the high-water
// mark; once it reads again (SIGCONT) the protocol resumes at or below the low mark.
#[test]
fn stdin_flow_control_pauses_and_resumes() {
    clean(|lp| {
        let (proto, log) = Rec::new();
        let mut cmd = Command::new("cat");
        cmd.stdin(Stdio::Pipe).stdout(Stdio::DevNull);
        let t = spawn(lp, &mut cmd, proto);
        run_until(lp, || log.borrow().contains(&Ev::Made));
        t.send_signal(rustix::process::Signal::STOP.as_raw())
            .unwrap();
        let stdin = t.get_pipe_transport(0).unwrap();
        let (low, high) = stdin.get_write_buffer_limits();
        stdin.write(&vec![b'x'; 1 << 20]).unwrap();
        run_until(lp, || {
            log.borrow().iter().any(|e| matches!(e, Ev::Pause(_)))
        });
        let paused_at = log
            .borrow()
            .iter()
            .find_map(|e| match e {
                Ev::Pause(n) => Some(*n),
                _ => None,
            })
            .unwrap();
        assert!(paused_at > high, "paused at {paused_at}");
        // Stopped: it stays paused.
        for _ in 0..10 {
            run_once(lp);
        }
        assert!(!log.borrow().iter().any(|e| matches!(e, Ev::Resume(_))));
        t.send_signal(rustix::process::Signal::CONT.as_raw())
            .unwrap();
        run_until(lp, || {
            log.borrow().iter().any(|e| matches!(e, Ev::Resume(_)))
        });
        let resumed_at = log
            .borrow()
            .iter()
            .find_map(|e| match e {
                Ev::Resume(n) => Some(*n),
                _ => None,
            })
            .unwrap();
        assert!(resumed_at <= low, "resumed at {resumed_at}");
        stdin.write_eof();
        run_until(lp, || lost(&log));
        assert!(log.borrow().contains(&Ev::Exited(Some(0))));
        check_order(&log, &[0]);
        assert_eq!(stdin.get_write_buffer_size(), 0);
    });
}

// The pipe transports are the tier-7 ones: reading pauses and resumes on them.
#[test]
fn pipe_transports_pause_reading() {
    clean(|lp| {
        let (proto, log) = Rec::new();
        proto.borrow_mut().hook = Some(Box::new(|t, ev| {
            if *ev == Ev::Made {
                t.get_pipe_transport(1).unwrap().pause_reading();
                t.get_pipe_transport(0).unwrap().write(b"held").unwrap();
            }
        }));
        let mut cmd = piped("cat", &[]);
        let t = spawn(lp, &mut cmd, proto);
        run_until(lp, || log.borrow().contains(&Ev::Made));
        for _ in 0..20 {
            run_once(lp);
        }
        assert_eq!(out(&log, 1), b"");
        let stdout = t.get_pipe_transport(1).unwrap();
        assert!(!stdout.is_reading());
        stdout.resume_reading();
        run_until(lp, || out(&log, 1) == b"held");
        t.get_pipe_transport(0).unwrap().close();
        run_until(lp, || lost(&log));
        check_order(&log, &[0, 1, 2]);
    });
}

// Events raised while the protocol's owner holds it borrowed wait, in order, and none is lost.
#[test]
fn events_wait_while_the_owner_borrows_the_protocol() {
    clean(|lp| {
        let (proto, log) = Rec::new();
        let mut cmd = piped("sh", &["-c", "read x; echo a; echo b >&2; exit 5"]);
        let t = spawn(lp, &mut cmd, proto.clone());
        run_until(lp, || log.borrow().contains(&Ev::Made));
        {
            let _held = proto.borrow_mut();
            t.get_pipe_transport(0).unwrap().write(b"go\n").unwrap();
            t.get_pipe_transport(0).unwrap().close();
            // Driven by the loop's events, not by wall time: until the exit is seen (the
            // child wrote both lines before it), then a few iterations more for the pipes.
            run_until(lp, || t.get_returncode().is_some());
            for _ in 0..10 {
                run_once(lp);
            }
            assert_eq!(log.borrow().len(), 1, "delivered while borrowed");
        }
        run_until(lp, || lost(&log));
        assert_eq!(out(&log, 1), b"a\n");
        assert_eq!(out(&log, 2), b"b\n");
        check_order(&log, &[0, 1, 2]);
        assert!(log.borrow().contains(&Ev::Exited(Some(5))));
    });
}

// The loop closes with a child running: the pipes' pipe_connection_lost and connection_lost
// are called there and then, the child is killed and reaped (no zombie), no fd is left.
#[test]
fn loop_close_with_a_child_running() {
    clean(|lp| {
        let (proto, log) = Rec::new();
        let t = spawn(lp, &mut piped("sleep", &["30"]), proto);
        run_until(lp, || log.borrow().contains(&Ev::Made));
        let pid = t.get_pid();
        lp.close().unwrap();
        assert!(lost(&log));
        let s = shape(&log);
        assert_eq!(s.first(), Some(&Ev::Made));
        assert_eq!(s.last(), Some(&Ev::Lost));
        for fd in 0..3 {
            assert!(s.contains(&Ev::PipeLost(fd, None)), "{s:?}");
        }
        drop(t);
        assert!(wait_until(|| !std::path::Path::new(&format!(
            "/proc/{pid}"
        ))
        .exists()));
    });
    // The loop closes before connection_made ran: no call at all, and still no zombie.
    clean(|lp| {
        let (proto, log) = Rec::new();
        let t = spawn(lp, &mut piped("sleep", &["30"]), proto.clone());
        lp.close().unwrap();
        assert!(log.borrow().is_empty());
        assert!(t.get_protocol().is_none());
        drop(t);
        assert_eq!(Rc::strong_count(&proto), 1);
    });
}

// A panicking callback is reported to the loop's exception handler; the transport goes on.
#[test]
fn panicking_callback_is_reported() {
    clean(|lp| {
        /// Panics on data.
        struct Bad(Log);
        impl SubprocessEvents for Bad {
            fn pipe_data_received(&mut self, _fd: i32, _data: &[u8]) {
                panic!("bad protocol");
            }
            fn process_exited(&mut self) {
                self.0.borrow_mut().push(Ev::Exited(None));
            }
            fn connection_lost(&mut self, _exc: Option<io::Error>) {
                self.0.borrow_mut().push(Ev::Lost);
            }
        }
        let reports = Rc::new(RefCell::new(Vec::new()));
        let r = reports.clone();
        lp.set_exception_handler(move |_lp: &EventLoop, ctx: &tower_loop::ExceptionContext| {
            r.borrow_mut().push(ctx.message.clone());
        });
        let log = Log::default();
        let child = Command::new("echo")
            .arg("x")
            .stdout(Stdio::Pipe)
            .spawn_raw()
            .unwrap();
        let _t =
            SubprocessTransport::new(lp, child, Rc::new(RefCell::new(Bad(log.clone())))).unwrap();
        run_until(lp, || lost(&log));
        assert_eq!(*log.borrow(), [Ev::Exited(None), Ev::Lost]);
        assert!(
            reports
                .borrow()
                .iter()
                .any(|m| m.contains("pipe_data_received"))
        );
    });
}
