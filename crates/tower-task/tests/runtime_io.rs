//! Timers and fd readiness inside runtime tasks: every worker's loop keeps its reactor.
//! Ports test_asyncio's test_tasks sleep scenarios and selector-event readiness in tasks.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use tower_loop::{Async, Timer};
use tower_task::runtime::{RuntimeBuilder, RuntimeHandle};

#[test]
fn timers_fire_inside_runtime_tasks() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let handles: Vec<_> = (0..20u64)
        .map(|i| {
            rt.spawn(async move {
                Timer::after(Duration::from_millis(i % 5)).await;
                i
            })
        })
        .collect();
    let sum = rt
        .block_on(async {
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        })
        .unwrap();
    assert_eq!(sum, (0..20).sum::<u64>());
}

#[test]
fn fd_readiness_wakes_runtime_tasks() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let got = rt
        .block_on(rt.spawn(async {
            let h = RuntimeHandle::current().unwrap();
            let (a, b) = UnixStream::pair().unwrap();
            let a = Async::new(a).unwrap();
            let reader = h.spawn(async move {
                let mut buf = [0; 16];
                let n = a.read_with(|mut s| s.read(&mut buf)).await.unwrap();
                buf[..n].to_vec()
            });
            let writer = h.spawn(async move {
                // Written after the reader had a chance to wait on readiness.
                tower_coro::yield_now().await;
                (&b).write_all(b"ping").unwrap();
                b
            });
            let _b = writer.await.unwrap();
            reader.await.unwrap()
        }))
        .unwrap()
        .unwrap();
    assert_eq!(got, b"ping");
}
