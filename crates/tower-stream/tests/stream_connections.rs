//! Streams over real sockets: open_connection/start_server (TCP and Unix), back-pressure on the
//! transport, drain and its errors, wait_closed, the client callback's outcome. Ports of
//! test_streams' socket scenarios (named in comments); every test checks the fd count.

mod util;

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

use tower_stream::{
    StreamReader, StreamReaderProtocol, StreamWriter, open_connection, open_unix_connection,
    start_server, start_server_sock, start_unix_server,
};
use tower_transport::{BaseTransport, ReadTransport, SocketAddress, WriteTransport, extra};
use util::{echo_lines, pair_streams, port_of, run, sock_path, turns};

// test_open_connection / test_start_server: an echo server and a client, TCP
#[test]
fn tcp_echo_through_start_server_and_open_connection() {
    run(async {
        let server = start_server(
            |reader, writer| async move { echo_lines(&reader, &writer).await },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let (reader, writer) = open_connection("127.0.0.1", port_of(&server))
            .await
            .unwrap();
        for i in 0..10 {
            let msg = format!("message {i}\n");
            writer.write(msg.as_bytes()).unwrap();
            writer.drain().await.unwrap();
            assert_eq!(reader.readline().await.unwrap(), msg.as_bytes());
        }
        assert!(writer.can_write_eof());
        writer.write_eof();
        assert_eq!(reader.read_to_end().await.unwrap(), b"");
        assert!(reader.at_eof());
        writer.close();
        assert!(writer.is_closing());
        writer.wait_closed().await.unwrap();
        server.close();
        server.wait_closed().await;
    });
}

// test_open_unix_connection / test_start_unix_server
#[test]
fn unix_echo_through_start_unix_server_and_open_unix_connection() {
    let path = sock_path("echo");
    let p = path.clone();
    run(async move {
        let server = start_unix_server(
            |reader, writer| async move {
                let data = reader.readexactly(5).await?;
                writer.write(&data)?;
                writer.drain().await
            },
            &p,
        )
        .limit(16)
        .await
        .unwrap();
        let (reader, writer) = open_unix_connection(&p).limit(16).await.unwrap();
        assert_eq!(reader.limit(), 16);
        writer.write(b"hello").unwrap();
        assert_eq!(reader.readexactly(5).await.unwrap(), b"hello");
        // The handler returned: its writer was dropped, which closed the connection.
        assert_eq!(reader.read_to_end().await.unwrap(), b"");
        drop(writer);
        server.close();
        server.wait_closed().await;
    });
    assert!(!path.exists());
}

// test_open_connection_no_loop_ssl's sibling: options reach create_connection
#[test]
fn open_connection_forwards_options_and_errors() {
    run(async {
        // A port nobody listens on: the connect error comes back with its kind.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let e = open_connection("127.0.0.1", port)
            .happy_eyeballs_delay(Duration::from_millis(10))
            .interleave(1)
            .all_errors(false)
            .family(tower_protocol::Family::V4)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        let e = open_connection("127.0.0.1", port)
            .limit(0)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    });
}

// One set of options (D6): configure() reaches tier 8's builder; the named forwards and the
// limit still apply; start_serving(false) through configure leaves the server not serving.
#[test]
fn helpers_configure_tier_8_builders() {
    run(async {
        let server = start_server(
            |reader, writer| async move {
                let line = reader.readline().await?;
                writer.write(&line)?;
                writer.drain().await
            },
            "127.0.0.1",
            0,
        )
        .limit(8)
        .configure(|b| b.backlog(4).start_serving(false))
        .await
        .unwrap();
        assert!(!server.is_serving());
        server.start_serving().unwrap();
        let SocketAddress::Inet(addr) = server.sockets()[0].address.clone() else {
            panic!()
        };
        let (reader, writer) = open_connection("127.0.0.1", addr.port())
            .configure(|b| b.family(tower_protocol::Family::V4).all_errors(true))
            .limit(4)
            .await
            .unwrap();
        assert_eq!(reader.limit(), 4);
        writer.write(b"short\n").unwrap(); // under the server's limit of 8
        assert_eq!(reader.read_to_end().await.unwrap(), b"short\n");
        writer.close();
        writer.wait_closed().await.unwrap();
        server.close();
        server.wait_closed().await;

        let path = sock_path("configure");
        let server = start_unix_server(|_reader, _writer| async {}, &path)
            .configure(|b| b.cleanup_socket(false))
            .backlog(2)
            .await
            .unwrap();
        let c = open_unix_connection(&path).configure(|b| b).limit(1);
        assert_eq!(
            c.to_string(),
            format!("open_unix_connection({})", path.display())
        );
        let (_reader, writer) = c.await.unwrap();
        writer.close();
        writer.wait_closed().await.unwrap();
        server.close();
        server.wait_closed().await;
        assert!(path.exists(), "cleanup_socket(false) kept the path");
        std::fs::remove_file(&path).unwrap();
    });
}

// test_read_limit's transport side: pause above 2 × limit, resume at or below limit
#[test]
fn reader_pauses_the_transport_above_twice_the_limit() {
    run(async {
        let (reader, writer, mut peer) = pair_streams(10).await;
        let t = writer.transport().clone();
        peer.write_all(&[b'x'; 20]).unwrap();
        assert_eq!(reader.readexactly(20).await.unwrap().len(), 20);
        assert!(t.is_reading(), "20 bytes is not above 2 x 10");
        peer.write_all(&[b'y'; 25]).unwrap();
        // Wait until the bytes are in (one read takes them all).
        while reader.read(0).await.is_ok() && t.is_reading() {
            turns(1).await;
        }
        assert!(!t.is_reading(), "25 bytes is above 2 x 10: paused");
        assert_eq!(reader.read(10).await.unwrap(), [b'y'; 10]);
        assert!(!t.is_reading(), "15 bytes left is above the limit");
        assert_eq!(reader.read(5).await.unwrap(), [b'y'; 5]);
        assert!(t.is_reading(), "10 bytes left: resumed");
        drop(peer);
        assert_eq!(reader.read_to_end().await.unwrap(), [b'y'; 10]);
    });
}

// test_readexactly with n > limit: waiting resumes a paused transport (no deadlock)
#[test]
fn waiting_read_resumes_a_paused_transport() {
    run(async {
        let (reader, _writer, peer) = pair_streams(8).await;
        let data: Vec<u8> = (0..200u8).collect();
        let d = data.clone();
        let th = std::thread::spawn(move || {
            let mut peer = peer;
            for c in d.chunks(7) {
                peer.write_all(c).unwrap();
                std::thread::sleep(Duration::from_millis(1));
            }
            peer
        });
        assert_eq!(reader.readexactly(200).await.unwrap(), data);
        drop(th.join().unwrap());
    });
}

// test_drain_raises / flow control: several tasks drain at once and all wake
#[test]
fn drain_waits_for_resume_writing_and_wakes_every_drainer() {
    run(async {
        let (_reader, writer, peer) = pair_streams(1024).await;
        let writer = Rc::new(writer);
        writer
            .transport()
            .set_write_buffer_limits(Some(1024), None)
            .unwrap();
        // More than the kernel takes: the transport buffers and pauses writing.
        let big = vec![b'z'; 1 << 20];
        writer.write(&big).unwrap();
        assert!(writer.transport().get_write_buffer_size() > 1024);
        let done = Rc::new(Cell::new(0));
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let w = writer.clone();
                let done = done.clone();
                tower_task::spawn_local(async move {
                    w.drain().await.unwrap();
                    done.set(done.get() + 1);
                })
            })
            .collect();
        turns(5).await;
        assert_eq!(done.get(), 0, "paused: every drain waits");
        // The peer reads everything on a thread.
        let th = std::thread::spawn(move || {
            let mut peer = peer;
            let mut got = vec![0u8; 1 << 20];
            peer.read_exact(&mut got).unwrap();
            peer
        });
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(done.get(), 3);
        writer.drain().await.unwrap(); // not paused: at once
        drop(th.join().unwrap());
    });
}

// test_drain_raises: the connection's error reaches a waiting drain, then every later one
#[test]
fn drain_raises_the_connections_error() {
    run(async {
        let (reader, writer, peer) = pair_streams(1024).await;
        writer
            .transport()
            .set_write_buffer_limits(Some(1024), None)
            .unwrap();
        writer.write(&vec![b'z'; 1 << 20]).unwrap();
        let lp = tower_loop::get_running_loop().unwrap();
        let peer = RefCell::new(Some(peer));
        lp.call_soon(move || drop(peer.borrow_mut().take())); // the peer goes away unread
        let e = writer.drain().await.unwrap_err();
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ),
            "{e:?}"
        );
        // The reader has it as its exception; drain raises it again.
        assert!(reader.exception().is_some());
        assert_eq!(writer.drain().await.unwrap_err().kind(), e.kind());
        assert_eq!(writer.wait_closed().await.unwrap_err().kind(), e.kind());
    });
}

// test_drain after close: "Connection lost"
#[test]
fn drain_after_the_connection_is_lost_is_connection_reset() {
    run(async {
        let (_reader, writer, _peer) = pair_streams(1024).await;
        writer.close();
        writer.wait_closed().await.unwrap();
        let e = writer.drain().await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(e.to_string(), "Connection lost");
    });
}

// test_wait_closed_on_close, get_extra_info
#[test]
fn writer_extra_info_and_wait_closed() {
    run(async {
        let server = start_server(
            |_r, w: StreamWriter| async move {
                w.write(b"hi").unwrap();
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let port = port_of(&server);
        let (reader, writer) = open_connection("127.0.0.1", port).await.unwrap();
        let Some(SocketAddress::Inet(peer)) = writer.get_extra_info(extra::Peername) else {
            panic!("no peername")
        };
        assert_eq!(peer.port(), port);
        assert!(writer.get_extra_info(extra::Sockname).is_some());
        assert_eq!(reader.read_to_end().await.unwrap(), b"hi");
        assert!(!writer.is_closing());
        writer.close();
        writer.wait_closed().await.unwrap();
        writer.wait_closed().await.unwrap(); // again: at once
        assert!(format!("{writer:?}").contains("lost: true"));
        server.close();
        server.wait_closed().await;
    });
}

// test_unhandled_exceptions / client callback errors (3.12): reported, the transport closed
#[test]
fn client_callback_error_is_reported_and_closes_the_connection() {
    run(async {
        let lp = tower_loop::get_running_loop().unwrap();
        let reported = Rc::new(RefCell::new(Vec::<String>::new()));
        let r2 = reported.clone();
        lp.set_exception_handler(move |_, ctx| r2.borrow_mut().push(ctx.message.clone()));
        let keep = Rc::new(RefCell::new(Vec::new()));
        let k2 = keep.clone();
        let server = start_server(
            move |_r, w: StreamWriter| {
                // Keep the writer alive elsewhere: only the error closes the transport.
                let t = w.transport().clone();
                k2.borrow_mut().push(w);
                async move {
                    let _ = t;
                    Err::<(), _>(io::Error::other("handler failed"))
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let (reader, _writer) = open_connection("127.0.0.1", port_of(&server))
            .await
            .unwrap();
        assert_eq!(reader.read_to_end().await.unwrap(), b"");
        assert_eq!(
            reported.borrow().as_slice(),
            ["Unhandled exception in client_connected_cb: handler failed"]
        );
        keep.borrow_mut().clear();
        server.close();
        server.wait_closed().await;
    });
}

// StreamWriter.__del__: dropping the writer closes the transport
#[test]
fn dropping_the_writer_closes_the_transport() {
    run(async {
        let (reader, writer, mut peer) = pair_streams(1024).await;
        let t = writer.transport().clone();
        drop(writer);
        assert!(t.is_closing());
        turns(3).await;
        let mut buf = [0u8; 1];
        assert_eq!(peer.read(&mut buf).unwrap(), 0, "the peer sees the end");
        assert_eq!(reader.read_to_end().await.unwrap(), b"");
    });
}

// The server side's cancellation: a client task dropped with the loop closes its transport
#[test]
fn closing_the_server_with_clients_leaks_nothing() {
    run(async {
        let server = start_server(
            |reader, _w| async move {
                let _ = reader.read_to_end().await;
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let mut clients = Vec::new();
        for _ in 0..4 {
            clients.push(
                open_connection("127.0.0.1", port_of(&server))
                    .await
                    .unwrap(),
            );
        }
        while server.client_count() < 4 {
            turns(1).await;
        }
        server.close();
        server.close_clients();
        for (reader, _) in &clients {
            assert_eq!(reader.read_to_end().await.unwrap(), b"");
        }
        drop(clients);
        server.wait_closed().await;
    });
}

// Streams on a worker loop of the multi-thread runtime: the server and the client live on
// that worker's loop (made by a `spawn_local` task there); each client task runs there too.
#[test]
fn streams_on_a_worker_loop() {
    util::no_fd_leak(|| {
        use tower_task::runtime::{RuntimeBuilder, spawn_local};
        let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
        let task = rt.spawn(async {
            spawn_local(async {
                let server = start_server(
                    |reader, writer| async move {
                        let line = reader.readline().await?;
                        writer.write(&line)?;
                        writer.drain().await
                    },
                    "127.0.0.1",
                    0,
                )
                .await
                .unwrap();
                let mut got = Vec::new();
                for i in 0..3 {
                    let (reader, writer) = open_connection("127.0.0.1", port_of(&server))
                        .await
                        .unwrap();
                    writer.write(format!("client {i}\n").as_bytes()).unwrap();
                    got.push(String::from_utf8(reader.readline().await.unwrap()).unwrap());
                    writer.close();
                    writer.wait_closed().await.unwrap();
                }
                server.close();
                server.wait_closed().await;
                got
            })
            .unwrap()
            .await
            .unwrap()
        });
        let got = rt.block_on(task).unwrap().unwrap();
        assert_eq!(got, ["client 0\n", "client 1\n", "client 2\n"]);
        rt.shutdown_timeout(Duration::from_secs(5));
    });
}

// test_eof_feed_when_closing_writer: closing our writer ends our reader too
#[test]
fn closing_the_writer_feeds_eof_to_the_reader() {
    run(async {
        let (reader, writer, _peer) = pair_streams(1024).await;
        writer.close();
        writer.wait_closed().await.unwrap();
        assert_eq!(reader.read(10).await.unwrap(), b"");
        assert!(reader.at_eof());
    });
}

// test_wait_closed_on_close_with_unread_data
#[test]
fn wait_closed_with_unread_data() {
    run(async {
        let (reader, writer, mut peer) = pair_streams(1024).await;
        peer.write_all(b"unread").unwrap();
        while reader.read(0).await.is_ok() && !format!("{reader:?}").contains("buffered: 6") {
            turns(1).await;
        }
        writer.close();
        writer.wait_closed().await.unwrap();
        // The bytes received before the close are still there to read.
        assert_eq!(reader.read_to_end().await.unwrap(), b"unread");
    });
}

// test_read_all_from_pipe_reader: a StreamReaderProtocol on a read pipe, more than the limit
#[test]
fn reader_on_a_read_pipe_reads_everything() {
    run(async {
        let (r, w) = rustix::pipe::pipe().unwrap();
        let (_t, protocol) =
            tower_protocol::connect_read_pipe(|| StreamReaderProtocol::new(1).unwrap(), r)
                .await
                .unwrap();
        let reader = StreamReader::from_protocol(&protocol);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let d = data.clone();
        let th = std::thread::spawn(move || {
            let mut w = std::fs::File::from(w);
            w.write_all(&d).unwrap();
        });
        assert_eq!(reader.read_to_end().await.unwrap(), data);
        th.join().unwrap();
    });
}

// test_start_server with sock=: an existing listening socket
#[test]
fn start_server_on_an_existing_socket() {
    run(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = start_server_sock(
            |reader, writer| async move {
                let line = reader.readline().await?;
                writer.write(&line)?;
                writer.drain().await
            },
            OwnedFd::from(listener),
        )
        .limit(100)
        .await
        .unwrap();
        let (reader, writer) = open_connection("127.0.0.1", port).await.unwrap();
        writer.write(b"via sock\n").unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"via sock\n");
        drop(writer);
        server.close();
        server.wait_closed().await;
    });
}
