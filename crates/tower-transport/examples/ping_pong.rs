//! Ping-pong between two transports on one loop over a Unix socketpair (or loopback TCP with
//! `tcp`): `N` round trips of a 64-byte message, each side answering from `data_received`.
//! For counting syscalls per round trip: `strace -c -f target/.../examples/ping_pong 10000`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tower_loop::EventLoop;
use tower_transport::{
    BaseTransport, SocketTransport, StreamEvents, StreamTransport, WriteTransport,
};

/// Answers every message; the client side stops after `left` answers.
struct Side {
    t: Option<StreamTransport>,
    left: Rc<Cell<u32>>,
    client: bool,
}

impl StreamEvents for Side {
    fn connection_made(&mut self, t: StreamTransport) {
        if self.client {
            t.write(&[0; 64]).unwrap();
        }
        self.t = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        let t = self.t.as_ref().unwrap();
        if self.client {
            self.left.set(self.left.get() - 1);
            if self.left.get() == 0 {
                t.close();
                tower_loop::get_running_loop().unwrap().stop();
                return;
            }
        }
        t.write(data).unwrap();
    }
    fn connection_lost(&mut self, _exc: Option<std::io::Error>) {
        self.t = None;
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let tcp = args.next().as_deref() == Some("tcp");
    let lp = EventLoop::new().unwrap();
    let (a, b): (std::os::fd::OwnedFd, std::os::fd::OwnedFd) = if tcp {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (s.into(), c.into())
    } else {
        let (s, c) = std::os::unix::net::UnixStream::pair().unwrap();
        (s.into(), c.into())
    };
    let left = Rc::new(Cell::new(n));
    let server = Side {
        t: None,
        left: left.clone(),
        client: false,
    };
    let client = Side {
        t: None,
        left: left.clone(),
        client: true,
    };
    SocketTransport::new(&lp, a, Rc::new(RefCell::new(server))).unwrap();
    SocketTransport::new(&lp, b, Rc::new(RefCell::new(client))).unwrap();
    let start = std::time::Instant::now();
    lp.run_forever().unwrap();
    let took = start.elapsed();
    println!("{n} round trips in {took:?} ({:?} each)", took / n);
    lp.close().unwrap();
}
