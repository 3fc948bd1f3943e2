//! Transports on the multi-thread runtime's worker loops: a transport is `!Send` and bound to
//! the loop that made it; a `spawn_local` task on a worker makes and drives a pair there.

mod util;

use std::os::unix::net::UnixStream;
use std::time::Duration;

use tower_task::runtime::{RuntimeBuilder, spawn_local};
use tower_transport::{BaseTransport, SocketTransport, StreamTransport, WriteTransport};
use util::{Recorder, lost_count, no_fd_leak, received};

#[test]
fn echo_on_a_worker_loop() {
    no_fd_leak(|| {
        let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
        let task = rt.spawn(async {
            spawn_local(async {
                let lp = tower_loop::get_running_loop().unwrap();
                let (a, b) = UnixStream::pair().unwrap();
                let (sp, sl) = Recorder::new();
                sp.borrow_mut().on_data = Some(Box::new(|t: &StreamTransport, d: &[u8]| {
                    t.write(d).unwrap();
                }));
                let (cp, cl) = Recorder::new();
                let _server = SocketTransport::new(&lp, a, sp).unwrap();
                let client = SocketTransport::new(&lp, b, cp).unwrap();
                client.write(b"on a worker").unwrap();
                while received(&cl).len() < 11 {
                    tower_task::sleep(Duration::from_millis(1)).await;
                }
                client.close();
                while lost_count(&cl) + lost_count(&sl) < 2 {
                    tower_task::sleep(Duration::from_millis(1)).await;
                }
                received(&cl)
            })
            .unwrap()
            .await
            .unwrap()
        });
        let got = rt.block_on(task).unwrap().unwrap();
        assert_eq!(got, b"on a worker");
        rt.shutdown_timeout(Duration::from_secs(5));
    });
}
