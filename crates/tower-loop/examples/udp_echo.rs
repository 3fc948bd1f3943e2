//! A UDP echo server and its client on one loop, with the datagram socket methods
//! (`sock_recvfrom`, `sock_sendto`, `sock_recvfrom_into`), and a receive given up on after a
//! timeout — which takes no datagram: the next receive gets it whole.
//!
//! `cargo run -p tower-loop --example udp_echo`

use std::net::UdpSocket;
use std::time::Duration;

use tower_coro::{Either, select};
use tower_loop::{EventLoop, Timer};

fn main() -> std::io::Result<()> {
    let lp = EventLoop::new()?;
    let server = UdpSocket::bind("127.0.0.1:0")?;
    server.set_nonblocking(true)?;
    let server_addr = server.local_addr()?;

    // The server: echo three datagrams back to their senders.
    let l2 = lp.clone();
    let (runnable, echo) = async_task::spawn_local(
        async move {
            for _ in 0..3 {
                let (data, from) = l2.sock_recvfrom(&server, 1500).await?;
                l2.sock_sendto(&server, &data, from).await?;
            }
            Ok::<_, std::io::Error>(())
        },
        lp.handle().scheduler(),
    );
    runnable.schedule();

    let client = UdpSocket::bind("127.0.0.1:0")?;
    client.set_nonblocking(true)?;
    let out = lp.run_until_complete(async {
        let mut replies = Vec::new();
        for msg in [&b"ping"[..], b"pong", b"bye"] {
            // Nothing has arrived yet: give up on a receive when a zero timer fires. Dropping it is
            // cancel-safe: it took no datagram.
            let early = select(
                lp.sock_recvfrom(&client, 1500),
                Timer::after(Duration::ZERO),
            )
            .await;
            assert!(
                matches!(early, Either::Right(_)),
                "no reply before the request"
            );

            lp.sock_sendto(&client, msg, server_addr).await?;
            let mut buf = [0u8; 1500];
            let (n, from) = lp.sock_recvfrom_into(&client, &mut buf).await?;
            assert_eq!(from, server_addr);
            replies.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        echo.await?;
        Ok::<_, std::io::Error>(replies)
    });
    let replies = out.map_err(std::io::Error::other)??;
    println!("echoed: {replies:?}");
    lp.close().map_err(std::io::Error::other)?;
    Ok(())
}
