//! Echo through streams (issue 16), side by side: one connection on loopback, client and
//! server on one thread, each round trip writes `size` bytes, drains, and reads them back
//! exactly; the server reads exactly `size`, writes, drains. Sizes 1, 10 and 100 KiB.
//!
//! tower: `tower_stream::open_connection`/`start_server` (`write` + `drain` + `readexactly`)
//! on a single-thread loop; tokio: `TcpStream` with `write_all` + `read_exact` on a
//! current-thread runtime (tokio's streams are its `AsyncRead`/`AsyncWrite` types).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tower_asyncio::stream::{StreamReader, StreamWriter, open_connection, start_server};
use tower_asyncio::transport::SocketAddress;

/// (group, message size, round trips per iteration).
const ROWS: [(&str, usize, usize); 3] = [
    ("stream_echo_1k", 1024, 1000),
    ("stream_echo_10k", 10 * 1024, 300),
    ("stream_echo_100k", 100 * 1024, 50),
];

/// The tower side: a loop, a server and one connection, kept across iterations.
struct Tower {
    lp: tower_asyncio::EventLoop,
    reader: StreamReader,
    writer: StreamWriter,
    server: tower_asyncio::protocol::Server,
}

impl Tower {
    fn new(size: usize) -> Tower {
        let lp = tower_asyncio::EventLoop::new().unwrap();
        let (server, reader, writer) = lp
            .run_until_complete(async move {
                let server = start_server(
                    move |reader, writer| async move {
                        while let Ok(data) = reader.readexactly(size).await {
                            writer.write(&data)?;
                            writer.drain().await?;
                        }
                        Ok::<(), std::io::Error>(())
                    },
                    "127.0.0.1",
                    0,
                )
                .await
                .unwrap();
                let SocketAddress::Inet(addr) = server.sockets()[0].address.clone() else {
                    panic!("not inet")
                };
                let (reader, writer) = open_connection("127.0.0.1", addr.port()).await.unwrap();
                (server, reader, writer)
            })
            .unwrap();
        Tower {
            lp,
            reader,
            writer,
            server,
        }
    }

    fn trips(&self, msg: &[u8], trips: usize) {
        self.lp
            .run_until_complete(async {
                for _ in 0..trips {
                    self.writer.write(msg).unwrap();
                    self.writer.drain().await.unwrap();
                    let back = self.reader.readexactly(msg.len()).await.unwrap();
                    assert_eq!(back.len(), msg.len());
                }
            })
            .unwrap();
    }

    fn finish(self) {
        let Tower {
            lp,
            reader,
            writer,
            server,
        } = self;
        lp.run_until_complete(async move {
            writer.close();
            let _ = writer.wait_closed().await;
            drop(reader);
            server.close();
            server.wait_closed().await;
        })
        .unwrap();
        lp.close().unwrap();
    }
}

/// The tokio side: a runtime, a server task and one connection.
struct Tokio {
    rt: tokio::runtime::Runtime,
    stream: tokio::net::TcpStream,
}

impl Tokio {
    fn new(size: usize) -> Tokio {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let stream = rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                s.set_nodelay(true).unwrap();
                let mut buf = vec![0u8; size];
                while s.read_exact(&mut buf).await.is_ok() {
                    if s.write_all(&buf).await.is_err() {
                        break;
                    }
                }
            });
            let s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            s
        });
        Tokio { rt, stream }
    }

    fn trips(&mut self, msg: &[u8], trips: usize) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let s = &mut self.stream;
        self.rt.block_on(async {
            let mut back = vec![0u8; msg.len()];
            for _ in 0..trips {
                s.write_all(msg).await.unwrap();
                s.read_exact(&mut back).await.unwrap();
            }
        });
    }
}

fn echo(c: &mut Criterion) {
    for (group, size, trips) in ROWS {
        let msg = vec![b'e'; size];
        let mut g = c.benchmark_group(group);
        g.sample_size(10)
            .measurement_time(Duration::from_secs(4))
            .warm_up_time(Duration::from_millis(500));
        let tower = Tower::new(size);
        g.bench_function("tower", |b| b.iter(|| tower.trips(&msg, trips)));
        tower.finish();
        let mut tokio = Tokio::new(size);
        g.bench_function("tokio", |b| b.iter(|| tokio.trips(&msg, trips)));
        drop(tokio);
        g.finish();
    }
}

criterion_group!(benches, echo);
criterion_main!(benches);
