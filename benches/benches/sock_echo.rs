//! Loopback TCP echo, single-thread (`sock_echo_st`): 10 connections × 1000 round trips of
//! 1 KiB, client and server on one thread. tower through the loop's `sock_*` methods, its tasks
//! spawned by `tower_task::spawn_local` (asyncio's `create_task`: the task a user gets; `_local`
//! because the `sock_*` futures are `!Send`); tokio current-thread through its `TcpStream` and
//! `tokio::spawn`; async-io through `Async<TcpStream>` on a `LocalExecutor`. Each iteration sets
//! up its listener and connections (10 accepts: noise next to 10 000 round trips).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tower_loop::EventLoop;
use tower_task::spawn_local;

const CONNS: usize = 10;
const TRIPS: usize = 1000;
const SIZE: usize = 1024;

/// A bound, non-blocking listener on an ephemeral loopback port.
fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

/// One tower round of the workload.
async fn tower_round(lp: EventLoop) {
    let (l, addr) = listener();
    let server = {
        let lp = lp.clone();
        spawn_local(async move {
            let mut conns = Vec::new();
            for _ in 0..CONNS {
                let s = TcpStream::from(lp.sock_accept(&l).await.unwrap());
                s.set_nodelay(true).unwrap();
                let lp = lp.clone();
                conns.push(spawn_local(async move {
                    let mut buf = vec![0u8; SIZE];
                    loop {
                        let n = lp.sock_recv_into(&s, &mut buf).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        lp.sock_sendall(&s, &buf[..n]).await.unwrap();
                    }
                }));
            }
            for c in conns {
                c.await.unwrap();
            }
        })
    };
    let clients: Vec<_> = (0..CONNS)
        .map(|_| {
            let lp = lp.clone();
            spawn_local(async move {
                let s = TcpStream::connect(addr).unwrap();
                s.set_nonblocking(true).unwrap();
                s.set_nodelay(true).unwrap();
                let msg = vec![1u8; SIZE];
                let mut buf = vec![0u8; SIZE];
                for _ in 0..TRIPS {
                    lp.sock_sendall(&s, &msg).await.unwrap();
                    let mut got = 0;
                    while got < SIZE {
                        got += lp.sock_recv_into(&s, &mut buf[got..]).await.unwrap();
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    server.await.unwrap();
}

fn echo(c: &mut Criterion) {
    let mut g = c.benchmark_group("sock_echo_st");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_millis(500));

    let lp = EventLoop::new().unwrap();
    g.bench_function("tower", |b| {
        b.iter(|| lp.run_until_complete(tower_round(lp.clone())).unwrap())
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = l.local_addr().unwrap();
                let server = tokio::spawn(async move {
                    let mut conns = Vec::new();
                    for _ in 0..CONNS {
                        let (mut s, _) = l.accept().await.unwrap();
                        s.set_nodelay(true).unwrap();
                        conns.push(tokio::spawn(async move {
                            let mut buf = vec![0u8; SIZE];
                            loop {
                                let n = s.read(&mut buf).await.unwrap();
                                if n == 0 {
                                    return;
                                }
                                s.write_all(&buf[..n]).await.unwrap();
                            }
                        }));
                    }
                    for c in conns {
                        c.await.unwrap();
                    }
                });
                let clients: Vec<_> = (0..CONNS)
                    .map(|_| {
                        tokio::spawn(async move {
                            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                            s.set_nodelay(true).unwrap();
                            let msg = vec![1u8; SIZE];
                            let mut buf = vec![0u8; SIZE];
                            for _ in 0..TRIPS {
                                s.write_all(&msg).await.unwrap();
                                s.read_exact(&mut buf).await.unwrap();
                            }
                        })
                    })
                    .collect();
                for c in clients {
                    c.await.unwrap();
                }
                server.await.unwrap();
            })
        })
    });

    let ex = std::rc::Rc::new(async_executor::LocalExecutor::new());
    g.bench_function("async-io", |b| {
        b.iter(|| {
            let ex2 = ex.clone();
            async_io::block_on(ex.run(async move {
                let ex = ex2;
                use futures_lite::{AsyncReadExt, AsyncWriteExt};
                let l = async_io::Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
                let addr = l.get_ref().local_addr().unwrap();
                let ex3 = ex.clone();
                let server = ex.spawn(async move {
                    let ex = ex3;
                    let mut conns = Vec::new();
                    for _ in 0..CONNS {
                        let (mut s, _) = l.accept().await.unwrap();
                        s.get_ref().set_nodelay(true).unwrap();
                        conns.push(ex.spawn(async move {
                            let mut buf = vec![0u8; SIZE];
                            loop {
                                let n = s.read(&mut buf).await.unwrap();
                                if n == 0 {
                                    return;
                                }
                                s.write_all(&buf[..n]).await.unwrap();
                            }
                        }));
                    }
                    for c in conns {
                        c.await;
                    }
                });
                let clients: Vec<_> = (0..CONNS)
                    .map(|_| {
                        ex.spawn(async move {
                            let mut s = async_io::Async::<TcpStream>::connect(addr).await.unwrap();
                            s.get_ref().set_nodelay(true).unwrap();
                            let msg = vec![1u8; SIZE];
                            let mut buf = vec![0u8; SIZE];
                            for _ in 0..TRIPS {
                                s.write_all(&msg).await.unwrap();
                                s.read_exact(&mut buf).await.unwrap();
                            }
                        })
                    })
                    .collect();
                for c in clients {
                    c.await;
                }
                server.await;
            }))
        })
    });
    g.finish();
}

criterion_group!(benches, echo);
criterion_main!(benches);
