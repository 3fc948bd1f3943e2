//! `subprocess_exec`/`subprocess_shell` with a [`SubprocessProtocol`] — ports of
//! test_subprocess.py's protocol-level scenarios (`test_subprocess_exec`,
//! `test_subprocess_shell`, `stderr=STDOUT`, `cwd`/`env`, the argument errors, cancelling the
//! spawn, on a runtime worker loop). Every test checks that no fd and no child (zombie or
//! running) is left.

use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use tower_exec::Stdio;
use tower_loop::EventLoop;
use tower_protocol::{SubprocessProtocol, subprocess_exec, subprocess_shell};
use tower_transport::{BaseTransport, SubprocessTransport, WriteTransport};

/// Records what happened: whether `connection_made` ran, the data per fd, the order of the
/// other events, and the returncode seen in `process_exited`.
#[derive(Debug, Default)]
struct Rec {
    transport: Option<SubprocessTransport>,
    made: bool,
    out: [Vec<u8>; 3],
    events: Vec<String>,
    input: Option<&'static [u8]>,
}

impl SubprocessProtocol for Rec {
    fn connection_made(&mut self, t: SubprocessTransport) {
        assert!(self.events.is_empty(), "connection_made is first");
        self.made = true;
        if let Some(input) = self.input {
            let stdin = t.get_pipe_transport(0).unwrap();
            stdin.write(input).unwrap();
            stdin.write_eof();
        }
        self.transport = Some(t);
    }
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        self.out[fd as usize].extend_from_slice(data);
    }
    fn pipe_connection_lost(&mut self, fd: i32, exc: Option<io::Error>) {
        assert!(exc.is_none());
        self.events.push(format!("pipe {fd}"));
    }
    fn process_exited(&mut self) {
        let rc = self.transport.as_ref().unwrap().get_returncode().unwrap();
        self.events.push(format!("exited {rc}"));
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        assert!(exc.is_none());
        self.events.push("lost".into());
        self.transport = None;
    }
}

/// The workspace's fd check, one file with tower-loop's tests.
#[path = "../../tower-loop/tests/sock_util/fd_leak.rs"]
mod fd_leak;
use fd_leak::fd_count;
/// The subprocess tests' lock and clean-run check, one file with tower-transport's.
#[path = "../../tower-transport/tests/subprocess_util/mod.rs"]
mod subprocess_util;
use subprocess_util::{SERIAL, children, clean, wait_until};

/// Runs `lp` an iteration at a time until `done`; fails with `what` after 10 s.
fn run_until(lp: &EventLoop, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        let l = lp.clone();
        lp.call_soon(move || l.stop());
        lp.run_forever().unwrap();
    }
}

/// Runs `lp` until `proto` saw `connection_lost`.
fn run_until_lost(lp: &EventLoop, proto: &Rc<RefCell<Rec>>) {
    run_until(lp, "no connection_lost in 10 s", || {
        proto.borrow().events.iter().any(|e| e == "lost")
    });
}

// test_subprocess_exec: the future resolves once connection_made ran, with all three streams
// piped by default; echo through cat; process_exited with the returncode set; connection_lost
// last.
#[test]
fn exec_echoes_through_cat() {
    clean(|lp| {
        let (t, proto) = lp
            .run_until_complete(async {
                subprocess_exec(
                    || Rec {
                        input: Some(b"hello, cat"),
                        ..Rec::default()
                    },
                    "cat",
                    [""; 0],
                )
                .await
            })
            .unwrap()
            .unwrap();
        assert!(proto.borrow().made, "resolved before connection_made");
        assert!(proto.borrow().transport.as_ref().unwrap().ptr_eq(&t));
        for fd in 0..3 {
            assert!(t.get_pipe_transport(fd).is_some(), "fd {fd} is not a pipe");
        }
        run_until_lost(lp, &proto);
        let p = proto.borrow();
        assert_eq!(p.out[1], b"hello, cat");
        assert_eq!(p.events.last().unwrap(), "lost");
        assert!(p.events.contains(&"exited 0".to_owned()));
        assert_eq!(p.events.len(), 5, "{:?}", p.events); // 3 pipes, exited, lost
        assert_eq!(t.get_returncode(), Some(0));
    });
}

// test_subprocess_shell, stderr=STDOUT, cwd and env: one pipe, both streams in it.
#[test]
fn shell_with_stderr_into_stdout_cwd_and_env() {
    clean(|lp| {
        let (t, proto) = lp
            .run_until_complete(
                subprocess_shell(
                    Rec::default,
                    "echo \"$GREETING from $(pwd)\"; echo err >&2; exit 3",
                )
                .stdin(Stdio::DevNull)
                .stderr(Stdio::Stdout)
                .current_dir("/")
                .env("GREETING", "hello")
                .into_future(),
            )
            .unwrap()
            .unwrap();
        assert!(t.get_pipe_transport(0).is_none());
        assert!(t.get_pipe_transport(2).is_none());
        run_until_lost(lp, &proto);
        let p = proto.borrow();
        assert_eq!(p.out[1], b"hello from /\nerr\n");
        // process_exited and the pipe's end come in either order; connection_lost is last.
        let mut first_two = p.events[..2].to_vec();
        first_two.sort();
        assert_eq!(first_two, ["exited 3", "pipe 1"]);
        assert_eq!(p.events[2..], ["lost"]);
        drop(p);
        // env_clear / env_remove / Inherit-free: nothing of the parent's environment.
        let (_t, proto) = lp
            .run_until_complete(
                subprocess_exec(Rec::default, "/usr/bin/env", [""; 0])
                    .env_clear()
                    .env("ONLY", "1")
                    .stdin(Stdio::DevNull)
                    .stderr(Stdio::DevNull)
                    .into_future(),
            )
            .unwrap()
            .unwrap();
        run_until_lost(lp, &proto);
        assert_eq!(proto.borrow().out[1], b"ONLY=1\n");
    });
}

// kill/terminate/send_signal through the returned transport; close kills a running child.
#[test]
fn signals_and_close_through_the_returned_transport() {
    clean(|lp| {
        for (how, rc) in [("kill", -9), ("terminate", -15), ("close", -9)] {
            let (t, proto) = lp
                .run_until_complete(subprocess_exec(Rec::default, "sleep", ["30"]).into_future())
                .unwrap()
                .unwrap();
            match how {
                "kill" => t.kill().unwrap(),
                "terminate" => t.terminate().unwrap(),
                _ => t.close(),
            }
            run_until_lost(lp, &proto);
            assert!(proto.borrow().events.contains(&format!("exited {rc}")));
            assert_eq!(t.get_returncode(), Some(rc));
        }
    });
}

// asyncio's argument errors, as far as they remain in Rust: a missing program, a NUL byte, a
// stream set to Stdout where only stderr may be, no running loop. Nothing is left behind.
#[test]
fn argument_errors_leave_nothing_behind() {
    clean(|lp| {
        let made = Rc::new(RefCell::new(0));
        let m = made.clone();
        let err = lp
            .run_until_complete(
                subprocess_exec(
                    move || {
                        *m.borrow_mut() += 1;
                        Rec::default()
                    },
                    "/nonexistent/program",
                    [""; 0],
                )
                .into_future(),
            )
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            *made.borrow(),
            1,
            "the factory runs before the spawn, as asyncio's"
        );
        let err = lp
            .run_until_complete(subprocess_shell(Rec::default, "exit 0\0").into_future())
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = lp
            .run_until_complete(
                subprocess_exec(Rec::default, "cat", [""; 0])
                    .stdout(Stdio::Stdout)
                    .into_future(),
            )
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = lp
            .run_until_complete(
                subprocess_exec(Rec::default, "cat", [""; 0])
                    .current_dir("/nonexistent/dir")
                    .into_future(),
            )
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        // No running loop.
        let err = tower_coro::block_on(subprocess_shell(Rec::default, "exit 0").into_future())
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Other);
    });
}

// Cancelling the spawn (asyncio: `subprocess_exec` cancelled closes the transport): the future
// dropped after its first poll kills the child, which the loop reaps; no zombie, no fd.
#[test]
fn dropping_the_spawn_kills_the_child() {
    clean(|lp| {
        let dbg = lp
            .run_until_complete(async {
                let mut spawn = pin!(subprocess_exec(Rec::default, "sleep", ["30"]).into_future());
                let pending =
                    std::future::poll_fn(|cx| Poll::Ready(spawn.as_mut().poll(cx).is_pending()))
                        .await;
                assert!(pending, "resolved before connection_made could run");
                format!("{spawn:?}")
            })
            .unwrap();
        assert!(dbg.contains("SubprocessTransport"), "{dbg}");
        // The loop reaps the killed child; nothing is left once it ran a little.
        run_until(lp, "the child was not reaped", || children(|_| true) == 0);
    });
}

// The loop closes with the child running: connection_lost is called, the child killed and
// reaped (by the orphan reaper), no fd left.
#[test]
fn loop_close_with_a_child_running() {
    clean(|lp| {
        let (t, proto) = lp
            .run_until_complete(subprocess_exec(Rec::default, "sleep", ["30"]).into_future())
            .unwrap()
            .unwrap();
        lp.close().unwrap();
        let p = proto.borrow();
        assert_eq!(p.events.last().unwrap(), "lost");
        assert!(p.events.contains(&"pipe 0".to_owned()));
        drop(p);
        drop(t);
    });
}

// On a runtime worker loop: a `spawn_local` task awaits subprocess_exec there.
#[test]
fn exec_on_a_worker_loop() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = fd_count();
    let rt = tower_task::runtime::RuntimeBuilder::new()
        .worker_threads(2)
        .build()
        .unwrap();
    let task = rt.spawn(async {
        tower_task::runtime::spawn_local(async {
            let (t, proto) = subprocess_exec(
                || Rec {
                    input: Some(b"worker"),
                    ..Rec::default()
                },
                "cat",
                [""; 0],
            )
            .await
            .unwrap();
            let deadline = Instant::now() + Duration::from_secs(20);
            while !proto.borrow().events.iter().any(|e| e == "lost") {
                assert!(Instant::now() < deadline, "not finished: {t:?}");
                tower_task::sleep(Duration::from_millis(1)).await;
            }
            let out = std::mem::take(&mut proto.borrow_mut().out[1]);
            (out, t.get_returncode())
        })
        .unwrap()
        .await
        .unwrap()
    });
    let (out, rc) = rt.block_on(task).unwrap().unwrap();
    assert_eq!(out, b"worker");
    assert_eq!(rc, Some(0));
    rt.shutdown_timeout(Duration::from_secs(5));
    assert!(wait_until(|| children(|_| true) == 0));
    assert!(wait_until(|| fd_count() == before), "an fd leaked");
}
