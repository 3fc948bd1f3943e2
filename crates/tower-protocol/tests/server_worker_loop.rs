//! A server on a worker loop of the multi-thread runtime: made by a `spawn_local` task there,
//! it accepts and serves on that worker's loop (the server is `!Send`, bound to it).

mod server_util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::time::Duration;

use tower_protocol::create_server;
use tower_task::runtime::{RuntimeBuilder, spawn_local};

use server_util::{Echo, Stats, inet_addr, no_fd_leak};

#[test]
fn server_on_a_worker_loop() {
    no_fd_leak(|| {
        let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
        let task = rt.spawn(async {
            spawn_local(async {
                let stats = Rc::new(Stats::default());
                let server = create_server(Echo::factory(&stats), "127.0.0.1", 0)
                    .await
                    .unwrap();
                assert!(server.get_loop().is_running(), "the worker's loop");
                let addr = inet_addr(&server);
                // Blocking clients on their own threads; the worker's loop serves them.
                let clients: Vec<_> = (0..3)
                    .map(|i| {
                        std::thread::spawn(move || {
                            let mut c = TcpStream::connect(addr).unwrap();
                            let msg = format!("client {i}");
                            c.write_all(msg.as_bytes()).unwrap();
                            let mut got = vec![0; msg.len()];
                            c.read_exact(&mut got).unwrap();
                            String::from_utf8(got).unwrap()
                        })
                    })
                    .collect();
                while !clients.iter().all(|c| c.is_finished()) {
                    tower_task::sleep(Duration::from_millis(1)).await;
                }
                let got: Vec<String> = clients.into_iter().map(|c| c.join().unwrap()).collect();
                server.close();
                server.wait_closed().await; // the clients hung up
                assert_eq!(stats.made.get(), 3);
                assert_eq!(stats.lost.get(), 3);
                got
            })
            .unwrap()
            .await
            .unwrap()
        });
        let got = rt.block_on(task).unwrap().unwrap();
        assert_eq!(got, ["client 0", "client 1", "client 2"]);
        rt.shutdown_timeout(Duration::from_secs(5));
    });
}
