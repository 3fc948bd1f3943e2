//! `communicate` and the pipes: large data both ways, stdin closed early, redirections.

use std::io::ErrorKind;

use tower_exec::{Command, Stdio};
use tower_loop::EventLoop;

/// Runs `f` on a fresh loop.
fn run<F: std::future::Future>(f: F) -> F::Output {
    let lp = EventLoop::new().unwrap();
    let out = lp.run_until_complete(f).unwrap();
    lp.close().unwrap();
    out
}

/// `n` bytes of a repeating pattern.
fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

// Ports test_subprocess.py `test_communicate` and `test_stdin_stdout` with large data: 4 MB
// through `cat` — far more than a pipe holds, so writing and reading must interleave.
#[test]
fn communicate_large_data_through_cat() {
    let input = data(4 << 20);
    let out = run(async {
        let mut p = Command::new("cat")
            .stdin(Stdio::Pipe)
            .stdout(Stdio::Pipe)
            .spawn()
            .unwrap();
        p.communicate(Some(&input)).await.unwrap()
    });
    assert_eq!(out.returncode, 0);
    assert_eq!(out.stdout.len(), input.len());
    assert!(out.stdout == input);
}

// Ports test_subprocess.py `test_communicate` with stdout and stderr both large at once: a
// child writing megabytes to both pipes never deadlocks, because both are drained together.
#[test]
fn communicate_drains_stdout_and_stderr_together() {
    let input = data(3 << 20);
    let out = run(async {
        let mut p = Command::new("sh")
            .args(["-c", "head -c 3000000 /dev/zero >&2 & cat; wait"])
            .stdin(Stdio::Pipe)
            .stdout(Stdio::Pipe)
            .stderr(Stdio::Pipe)
            .spawn()
            .unwrap();
        p.communicate(Some(&input)).await.unwrap()
    });
    assert_eq!(out.returncode, 0);
    assert!(out.stdout == input);
    assert_eq!(out.stderr.len(), 3_000_000);
}

// Ports test_subprocess.py `test_communicate_ignore_broken_pipe`: the child exits without
// reading its stdin; communicate ignores the BrokenPipe.
#[test]
fn communicate_ignores_broken_pipe() {
    let input = data(4 << 20);
    let out = run(async {
        let mut p = Command::new("sh")
            .args(["-c", "exit 0"])
            .stdin(Stdio::Pipe)
            .stdout(Stdio::Pipe)
            .spawn()
            .unwrap();
        p.communicate(Some(&input)).await.unwrap()
    });
    assert_eq!(out.returncode, 0);
    assert!(out.stdout.is_empty());
}

// Ports test_subprocess.py `test_stdin_broken_pipe`: writing to the stdin of a child that exited
// without reading fails with BrokenPipe (asyncio: BrokenPipeError or ConnectionResetError).
#[test]
fn writing_to_a_child_that_closed_stdin_is_broken_pipe() {
    let input = data(4 << 20);
    let (err, rc) = run(async {
        let mut p = Command::new("sh")
            .args(["-c", "exec 0<&-; exit 0"])
            .stdin(Stdio::Pipe)
            .spawn()
            .unwrap();
        let mut stdin = p.stdin.take().unwrap();
        let err = stdin.write_all(&input).await.unwrap_err();
        (err, p.wait().await.unwrap())
    });
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    assert_eq!(rc, 0);
}

// Ports test_subprocess.py `test_read_stdout_after_process_exit`: the child exits before its
// stdout is read; the output is still there afterwards.
#[test]
fn stdout_can_be_read_after_the_child_exited() {
    let (rc, out) = run(async {
        let mut p = Command::new("sh")
            .args(["-c", "echo exited-first"])
            .stdout(Stdio::Pipe)
            .spawn()
            .unwrap();
        let rc = p.wait().await.unwrap();
        let mut out = Vec::new();
        p.stdout
            .as_mut()
            .unwrap()
            .read_to_end(&mut out)
            .await
            .unwrap();
        (rc, out)
    });
    assert_eq!(rc, 0);
    assert_eq!(out, b"exited-first\n");
}

// Ports test_subprocess.py `test_stderr_redirect_to_stdout`: stderr=STDOUT merges both into one
// pipe.
#[test]
fn stderr_redirected_to_stdout() {
    let out = run(async {
        let mut p = Command::new("sh")
            .args(["-c", "echo out; echo err >&2"])
            .stdout(Stdio::Pipe)
            .stderr(Stdio::Stdout)
            .spawn()
            .unwrap();
        assert!(p.stderr.is_none());
        p.communicate(None).await.unwrap()
    });
    assert_eq!(out.stdout, b"out\nerr\n");
    assert!(out.stderr.is_empty());
}

// Ports test_subprocess.py `test_devnull_input`, `test_devnull_output`, `test_devnull_error`.
#[test]
fn devnull_streams() {
    let out = run(async {
        let mut p = Command::new("sh")
            .args(["-c", "cat; echo to-null; echo to-null >&2"])
            .stdin(Stdio::DevNull)
            .stdout(Stdio::DevNull)
            .stderr(Stdio::DevNull)
            .spawn()
            .unwrap();
        assert!(p.stdin.is_none() && p.stdout.is_none() && p.stderr.is_none());
        p.communicate(None).await.unwrap()
    });
    assert_eq!(out.returncode, 0);
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

// Ports test_subprocess.py `test_empty_input`: communicate with empty input closes stdin at once.
#[test]
fn empty_input_closes_stdin() {
    let out = run(async {
        let mut p = Command::new("cat")
            .stdin(Stdio::Pipe)
            .stdout(Stdio::Pipe)
            .spawn()
            .unwrap();
        p.communicate(Some(b"")).await.unwrap()
    });
    assert_eq!(out.returncode, 0);
    assert!(out.stdout.is_empty());
}

// Stdio::Stdout means nothing for stdin: spawn refuses it with InvalidInput.
#[test]
fn stdout_is_invalid_for_stdin() {
    let err = run(async {
        Command::new("true")
            .stdin(Stdio::Stdout)
            .spawn()
            .unwrap_err()
    });
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

// `AsyncWrite::poll_close` closes the pipe, so the child reads end-of-file (what
// `futures::io::copy` followed by `close()` relies on; asyncio's `stdin.close()`).
#[test]
fn poll_close_sends_eof() {
    use std::future::poll_fn;
    use std::pin::Pin;

    use futures_io::AsyncWrite;

    let out = run(async {
        let mut p = Command::new("cat")
            .stdin(Stdio::Pipe)
            .stdout(Stdio::Pipe)
            .spawn()
            .unwrap();
        let stdin = p.stdin.as_mut().unwrap();
        stdin.write_all(b"bye").await.unwrap();
        poll_fn(|cx| Pin::new(&mut *stdin).poll_close(cx))
            .await
            .unwrap();
        assert!(stdin.as_fd().is_none());
        let mut out = Vec::new();
        p.stdout
            .as_mut()
            .unwrap()
            .read_to_end(&mut out)
            .await
            .unwrap();
        assert_eq!(p.wait().await.unwrap(), 0);
        out
    });
    assert_eq!(out, b"bye");
}
