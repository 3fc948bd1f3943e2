//! The `Async` readiness source (what tier 5 uses for pipes and pidfds).

mod sock_util;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use sock_util::no_fd_leak;
use tower_loop::{Async, EventLoop};

// A read waits for data written later by another task.
#[test]
fn read_with_waits_for_data() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let handle = lp.handle();
        let got = lp
            .run_until_complete(async move {
                let (a, b) = UnixStream::pair().unwrap();
                let a = Async::new(a).unwrap();
                let b = Async::new(b).unwrap();
                let (r, writer) = async_task::spawn_local(
                    async move {
                        b.write_with(|mut s| s.write(b"hello")).await.unwrap();
                        b
                    },
                    handle.scheduler(),
                );
                let mut buf = [0u8; 16];
                // Polled before the writer runs: must wait for readiness.
                let reader = async { a.read_with(|mut s| s.read(&mut buf)).await.unwrap() };
                r.schedule();
                let n = reader.await;
                let _b = writer.await;
                buf[..n].to_vec()
            })
            .unwrap();
        assert_eq!(got, b"hello");
    });
}

// readable() resolves once the peer writes; writable() at once on a fresh socket.
#[test]
fn readable_and_writable_resolve() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        lp.run_until_complete(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            let a = Async::new(a).unwrap();
            a.writable().await.unwrap();
            b.write_all(b"x").unwrap();
            a.readable().await.unwrap();
            let mut buf = [0u8; 1];
            a.read_with(|mut s| s.read(&mut buf)).await.unwrap();
        })
        .unwrap();
    });
}

// Creating an Async outside a running loop is an error, not a panic.
#[test]
fn async_new_without_a_loop_is_an_error() {
    no_fd_leak(|| {
        let (a, _b) = UnixStream::pair().unwrap();
        assert!(Async::new(a).is_err());
    });
}

// Async is Send (the multi-threaded runtime moves tasks holding it).
#[test]
fn async_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Async<UnixStream>>();
}

// The multi-threaded runtime moves tasks: an Async registered with loop A is awaited by a task
// on loop B (another thread); A's reactor delivers the readiness, B's task wakes.
#[test]
fn async_registered_on_one_loop_is_awaited_on_another() {
    no_fd_leak(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        let a_thread = std::thread::spawn(move || {
            let a = EventLoop::new().unwrap();
            tx.send(a.handle()).unwrap();
            a.run_forever().unwrap();
        });
        let a_handle = rx.recv().unwrap();
        let (x, mut y) = UnixStream::pair().unwrap();
        let x = Async::with_handle(x, &a_handle).unwrap();
        let b = EventLoop::new().unwrap();
        let n = b
            .run_until_complete(async {
                // Written by a callback queued during the first poll, which then finds nothing:
                // the read must wait for A's reactor.
                let lp = tower_loop::get_running_loop().unwrap();
                lp.call_soon(move || y.write_all(b"hi").unwrap());
                let mut buf = [0u8; 4];
                x.read_with(|mut s| s.read(&mut buf)).await.unwrap()
            })
            .unwrap();
        assert_eq!(n, 2);
        a_handle.stop();
        a_thread.join().unwrap();
    });
}
