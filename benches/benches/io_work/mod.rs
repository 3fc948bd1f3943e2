//! The I/O echo workloads, written once and shared by the criterion benches (`io_echo.rs`) and
//! the syscall counter (`examples/echo.rs`, run by `cargo xtask syscalls`).
//!
//! - **TCP echo**: `conns` connections, each `trips` round trips of [`TCP_SIZE`] bytes; the
//!   client writes a message and reads it back whole, the server echoes what it reads.
//! - **UDP echo**: one client socket and one server socket; `trips` round trips of
//!   [`UDP_SIZE`]-byte datagrams.
//!
//! Each runtime does the same work through its public API: tower single-thread through the
//! loop's `sock_*` methods and `spawn_local` (asyncio's way), tower multi-thread through
//! `tower_loop::Async` in `Send` tasks; tokio through its `net` types; smol through `async-io`'s
//! `Async`. Each round sets up its own sockets (a few accepts: noise next to the round trips).
#![allow(dead_code)]
#![allow(clippy::new_without_default)]

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;

/// Bytes per TCP message.
pub(crate) const TCP_SIZE: usize = 1024;
/// Bytes per UDP datagram.
pub(crate) const UDP_SIZE: usize = 512;

/// A bound, non-blocking listener on an ephemeral loopback port.
fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

/// A bound, non-blocking UDP socket on an ephemeral loopback port.
fn udp() -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_nonblocking(true).unwrap();
    let a = s.local_addr().unwrap();
    (s, a)
}

// ---------------------------------------------------------------- tower, single thread

/// tower, one thread: TCP echo through the loop's `sock_*` methods.
pub(crate) async fn tower_tcp_st(lp: tower_loop::EventLoop, conns: usize, trips: usize) {
    use tower_task::spawn_local;
    let (l, addr) = listener();
    let server = {
        let lp = lp.clone();
        spawn_local(async move {
            let mut hs = Vec::new();
            for _ in 0..conns {
                let s = TcpStream::from(lp.sock_accept(&l).await.unwrap());
                s.set_nodelay(true).unwrap();
                let lp = lp.clone();
                hs.push(spawn_local(async move {
                    let mut buf = vec![0u8; TCP_SIZE];
                    loop {
                        let n = lp.sock_recv_into(&s, &mut buf).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        lp.sock_sendall(&s, &buf[..n]).await.unwrap();
                    }
                }));
            }
            for h in hs {
                h.await.unwrap();
            }
        })
    };
    let clients: Vec<_> = (0..conns)
        .map(|_| {
            let lp = lp.clone();
            spawn_local(async move {
                let s = TcpStream::connect(addr).unwrap();
                s.set_nonblocking(true).unwrap();
                s.set_nodelay(true).unwrap();
                let msg = vec![1u8; TCP_SIZE];
                let mut buf = vec![0u8; TCP_SIZE];
                for _ in 0..trips {
                    lp.sock_sendall(&s, &msg).await.unwrap();
                    let mut got = 0;
                    while got < TCP_SIZE {
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

/// tower, one thread: UDP echo through `sock_sendto`/`sock_recvfrom_into`.
pub(crate) async fn tower_udp_st(lp: tower_loop::EventLoop, trips: usize) {
    use tower_task::spawn_local;
    let (srv, srv_addr) = udp();
    let (cli, _) = udp();
    let server = {
        let lp = lp.clone();
        spawn_local(async move {
            let mut buf = vec![0u8; UDP_SIZE];
            for _ in 0..trips {
                let (n, from) = lp.sock_recvfrom_into(&srv, &mut buf).await.unwrap();
                lp.sock_sendto(&srv, &buf[..n], from).await.unwrap();
            }
        })
    };
    let msg = vec![1u8; UDP_SIZE];
    let mut buf = vec![0u8; UDP_SIZE];
    for _ in 0..trips {
        lp.sock_sendto(&cli, &msg, srv_addr).await.unwrap();
        let (n, _) = lp.sock_recvfrom_into(&cli, &mut buf).await.unwrap();
        assert_eq!(n, UDP_SIZE);
    }
    server.await.unwrap();
}

// ---------------------------------------------------------------- tower, multi-thread

/// tower's multi-thread runtime: TCP echo through `tower_loop::Async` in `Send` tasks.
pub(crate) async fn tower_tcp_mt(
    h: tower_task::runtime::RuntimeHandle,
    conns: usize,
    trips: usize,
) {
    use std::io::{Read, Write};
    use tower_loop::Async;
    let (l, addr) = listener();
    let h2 = h.clone();
    let server = h.spawn(async move {
        let l = Async::new(l).unwrap();
        let mut hs = Vec::new();
        for _ in 0..conns {
            let (s, _) = l.read_with(|l| l.accept()).await.unwrap();
            s.set_nodelay(true).unwrap();
            hs.push(h2.spawn(async move {
                let s = Async::new(s).unwrap();
                let mut buf = vec![0u8; TCP_SIZE];
                loop {
                    let n = s.read_with(|mut s| s.read(&mut buf)).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    let mut sent = 0;
                    while sent < n {
                        sent += s.write_with(|mut s| s.write(&buf[sent..n])).await.unwrap();
                    }
                }
            }));
        }
        for t in hs {
            t.await.unwrap();
        }
    });
    let clients: Vec<_> = (0..conns)
        .map(|_| {
            h.spawn(async move {
                let s = TcpStream::connect(addr).unwrap();
                s.set_nodelay(true).unwrap();
                let s = Async::new(s).unwrap();
                let msg = vec![1u8; TCP_SIZE];
                let mut buf = vec![0u8; TCP_SIZE];
                for _ in 0..trips {
                    let mut sent = 0;
                    while sent < TCP_SIZE {
                        sent += s.write_with(|mut s| s.write(&msg[sent..])).await.unwrap();
                    }
                    let mut got = 0;
                    while got < TCP_SIZE {
                        got += s.read_with(|mut s| s.read(&mut buf[got..])).await.unwrap();
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

/// tower's multi-thread runtime: UDP echo through `tower_loop::Async` in `Send` tasks.
pub(crate) async fn tower_udp_mt(h: tower_task::runtime::RuntimeHandle, trips: usize) {
    use tower_loop::Async;
    let (srv, srv_addr) = udp();
    let (cli, _) = udp();
    let server = h.spawn(async move {
        let srv = Async::new(srv).unwrap();
        let mut buf = vec![0u8; UDP_SIZE];
        for _ in 0..trips {
            let (n, from) = srv.read_with(|s| s.recv_from(&mut buf)).await.unwrap();
            srv.write_with(|s| s.send_to(&buf[..n], from))
                .await
                .unwrap();
        }
    });
    let client = h.spawn(async move {
        let cli = Async::new(cli).unwrap();
        let msg = vec![1u8; UDP_SIZE];
        let mut buf = vec![0u8; UDP_SIZE];
        for _ in 0..trips {
            cli.write_with(|s| s.send_to(&msg, srv_addr)).await.unwrap();
            let (n, _) = cli.read_with(|s| s.recv_from(&mut buf)).await.unwrap();
            assert_eq!(n, UDP_SIZE);
        }
    });
    client.await.unwrap();
    server.await.unwrap();
}

// ---------------------------------------------------------------- tokio (either flavour)

/// tokio: TCP echo through `tokio::net` (spawned with `tokio::spawn`, so the runtime's flavour
/// decides where it runs).
pub(crate) async fn tokio_tcp(conns: usize, trips: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut hs = Vec::new();
        for _ in 0..conns {
            let (mut s, _) = l.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            hs.push(tokio::spawn(async move {
                let mut buf = vec![0u8; TCP_SIZE];
                loop {
                    let n = s.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    s.write_all(&buf[..n]).await.unwrap();
                }
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
    });
    let clients: Vec<_> = (0..conns)
        .map(|_| {
            tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                let msg = vec![1u8; TCP_SIZE];
                let mut buf = vec![0u8; TCP_SIZE];
                for _ in 0..trips {
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
}

/// tokio: UDP echo through `tokio::net::UdpSocket`.
pub(crate) async fn tokio_udp(trips: usize) {
    let srv = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let srv_addr = srv.local_addr().unwrap();
    let cli = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server = tokio::spawn(async move {
        let mut buf = vec![0u8; UDP_SIZE];
        for _ in 0..trips {
            let (n, from) = srv.recv_from(&mut buf).await.unwrap();
            srv.send_to(&buf[..n], from).await.unwrap();
        }
    });
    let client = tokio::spawn(async move {
        let msg = vec![1u8; UDP_SIZE];
        let mut buf = vec![0u8; UDP_SIZE];
        for _ in 0..trips {
            cli.send_to(&msg, srv_addr).await.unwrap();
            let (n, _) = cli.recv_from(&mut buf).await.unwrap();
            assert_eq!(n, UDP_SIZE);
        }
    });
    client.await.unwrap();
    server.await.unwrap();
}

// ---------------------------------------------------------------- smol / async-io

/// The async-io workloads over an `async-executor` type `$ex` (the single-thread
/// `LocalExecutor` or the shared `Executor`, each behind its pointer).
macro_rules! smol_workloads {
    ($tcp:ident, $udp:ident, $ex:ty) => {
        /// async-io on an `async-executor` (`LocalExecutor` or `Executor` alike): TCP echo through
        /// `Async<TcpStream>`.
        pub(crate) async fn $tcp(ex: $ex, conns: usize, trips: usize) {
            use futures_lite::{AsyncReadExt, AsyncWriteExt};
            let l = async_io::Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
            let addr = l.get_ref().local_addr().unwrap();
            let ex2 = ex.clone();
            let server = ex.spawn(async move {
                let mut hs = Vec::new();
                for _ in 0..conns {
                    let (mut s, _) = l.accept().await.unwrap();
                    s.get_ref().set_nodelay(true).unwrap();
                    hs.push(ex2.spawn(async move {
                        let mut buf = vec![0u8; TCP_SIZE];
                        loop {
                            let n = s.read(&mut buf).await.unwrap();
                            if n == 0 {
                                return;
                            }
                            s.write_all(&buf[..n]).await.unwrap();
                        }
                    }));
                }
                for h in hs {
                    h.await;
                }
            });
            let clients: Vec<_> = (0..conns)
                .map(|_| {
                    ex.spawn(async move {
                        let mut s = async_io::Async::<TcpStream>::connect(addr).await.unwrap();
                        s.get_ref().set_nodelay(true).unwrap();
                        let msg = vec![1u8; TCP_SIZE];
                        let mut buf = vec![0u8; TCP_SIZE];
                        for _ in 0..trips {
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
        }

        /// async-io: UDP echo through `Async<UdpSocket>`.
        pub(crate) async fn $udp(ex: $ex, trips: usize) {
            let srv = async_io::Async::<UdpSocket>::bind(([127, 0, 0, 1], 0)).unwrap();
            let srv_addr = srv.get_ref().local_addr().unwrap();
            let cli = async_io::Async::<UdpSocket>::bind(([127, 0, 0, 1], 0)).unwrap();
            let server = ex.spawn(async move {
                let mut buf = vec![0u8; UDP_SIZE];
                for _ in 0..trips {
                    let (n, from) = srv.recv_from(&mut buf).await.unwrap();
                    srv.send_to(&buf[..n], from).await.unwrap();
                }
            });
            let client = ex.spawn(async move {
                let msg = vec![1u8; UDP_SIZE];
                let mut buf = vec![0u8; UDP_SIZE];
                for _ in 0..trips {
                    cli.send_to(&msg, srv_addr).await.unwrap();
                    let (n, _) = cli.recv_from(&mut buf).await.unwrap();
                    assert_eq!(n, UDP_SIZE);
                }
            });
            client.await;
            server.await;
        }
    };
}
smol_workloads!(
    smol_tcp_st,
    smol_udp_st,
    std::rc::Rc<async_executor::LocalExecutor<'static>>
);
smol_workloads!(
    smol_tcp_mt,
    smol_udp_mt,
    Arc<async_executor::Executor<'static>>
);

// ---------------------------------------------------------------- the runtimes

/// smol's executor on [`WORKERS`] threads (shared with `runtime_mt.rs`).
#[path = "../smol_pool/mod.rs"]
mod smol_pool;
pub(crate) use smol_pool::{Smol, WORKERS};

/// tower's multi-thread runtime with [`WORKERS`] workers.
pub(crate) fn tower_mt() -> tower_task::runtime::Runtime {
    tower_task::runtime::RuntimeBuilder::new()
        .worker_threads(WORKERS)
        .build()
        .unwrap()
}

/// tokio's multi-thread runtime with [`WORKERS`] workers.
pub(crate) fn tokio_mt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .unwrap()
}

/// tokio's current-thread runtime.
pub(crate) fn tokio_st() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs one round of `work` (`"tcp"` or `"udp"`) on `runtime` (`"tower"`, `"tokio"`, `"smol"`)
/// of `flavour` (`"st"`, `"mt"`), with `conns` TCP connections and `trips` round trips each.
pub(crate) struct Runner {
    /// tower's loop (single thread).
    lp: tower_loop::EventLoop,
    /// tower's runtime (multi-thread), made on first use.
    tower_mt: Option<tower_task::runtime::Runtime>,
    /// tokio current-thread.
    tokio_st: tokio::runtime::Runtime,
    /// tokio multi-thread, made on first use.
    tokio_mt: Option<tokio::runtime::Runtime>,
    /// async-executor, one thread.
    local: std::rc::Rc<async_executor::LocalExecutor<'static>>,
    /// async-executor on threads, made on first use.
    smol: Option<Smol>,
}

impl Runner {
    /// Every single-thread runtime; the multi-thread ones are started when first used.
    pub(crate) fn new() -> Runner {
        Runner {
            lp: tower_loop::EventLoop::new().unwrap(),
            tower_mt: None,
            tokio_st: tokio_st(),
            tokio_mt: None,
            local: std::rc::Rc::new(async_executor::LocalExecutor::new()),
            smol: None,
        }
    }

    /// One round. Panics on an unknown runtime, flavour or workload.
    pub(crate) fn run(
        &mut self,
        runtime: &str,
        flavour: &str,
        work: &str,
        conns: usize,
        trips: usize,
    ) {
        let tcp = match work {
            "tcp" => true,
            "udp" => false,
            w => panic!("unknown workload {w} (tcp, udp)"),
        };
        match (runtime, flavour) {
            ("tower", "st") => {
                let lp = self.lp.clone();
                if tcp {
                    self.lp.run_until_complete(tower_tcp_st(lp, conns, trips))
                } else {
                    self.lp.run_until_complete(tower_udp_st(lp, trips))
                }
                .unwrap()
            }
            ("tower", "mt") => {
                let rt = self.tower_mt.get_or_insert_with(tower_mt);
                let h = rt.handle().clone();
                if tcp {
                    rt.block_on(rt.spawn(tower_tcp_mt(h, conns, trips)))
                } else {
                    rt.block_on(rt.spawn(tower_udp_mt(h, trips)))
                }
                .unwrap()
                .unwrap()
            }
            ("tokio", "st") => self.tokio_st.block_on(async {
                if tcp {
                    tokio_tcp(conns, trips).await
                } else {
                    tokio_udp(trips).await
                }
            }),
            ("tokio", "mt") => {
                let rt = self.tokio_mt.get_or_insert_with(tokio_mt);
                if tcp {
                    rt.block_on(rt.spawn(tokio_tcp(conns, trips)))
                } else {
                    rt.block_on(rt.spawn(tokio_udp(trips)))
                }
                .unwrap()
            }
            ("smol", "st") => {
                let ex = self.local.clone();
                async_io::block_on(self.local.run(async move {
                    if tcp {
                        smol_tcp_st(ex, conns, trips).await
                    } else {
                        smol_udp_st(ex, trips).await
                    }
                }))
            }
            ("smol", "mt") => {
                let smol = self.smol.get_or_insert_with(Smol::new);
                let ex = smol.ex.clone();
                if tcp {
                    async_io::block_on(smol.ex.spawn(smol_tcp_mt(ex, conns, trips)))
                } else {
                    async_io::block_on(smol.ex.spawn(smol_udp_mt(ex, trips)))
                }
            }
            (r, f) => panic!("unknown runtime/flavour {r}/{f} (tower|tokio|smol, st|mt)"),
        }
    }
}
