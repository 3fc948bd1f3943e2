//! Bursts of 64 UDP datagrams over loopback between two datagram transports on one loop: the
//! receiver answers each whole burst with one datagram, which triggers the next burst. For
//! counting system calls per datagram, batched or not:
//! `strace -c -f target/.../examples/udp_burst <plain|mmsg|gso> [bursts] [equal|mixed]`
//! (`plain`: batching off; `mmsg`: `recvmmsg`/`sendmmsg` only; `gso`: with UDP GSO and GRO).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tower_loop::EventLoop;
use tower_transport::datagram_batch::Batching;
use tower_transport::{
    BaseTransport, DatagramEvents, DatagramSocketTransport, DatagramTransport, SocketAddress,
};

/// Datagrams per burst.
const BURST: usize = 64;

/// Sends a burst at `connection_made` and at each answer; stops after `left` bursts.
struct Sender {
    t: Option<DatagramSocketTransport>,
    to: SocketAddress,
    left: u32,
    mixed: bool,
}

impl Sender {
    fn burst(&self) {
        let t = self.t.as_ref().unwrap();
        for i in 0..BURST {
            let len = if self.mixed { 200 + i * 13 } else { 1000 };
            t.sendto(&vec![i as u8; len], Some(&self.to)).unwrap();
        }
    }
}

impl DatagramEvents for Sender {
    fn connection_made(&mut self, t: DatagramSocketTransport) {
        self.t = Some(t);
        self.burst();
    }
    fn datagram_received(&mut self, _data: &[u8], _addr: Option<SocketAddress>) {
        self.left -= 1;
        if self.left == 0 {
            tower_loop::get_running_loop().unwrap().stop();
        } else {
            self.burst();
        }
    }
}

/// Counts datagrams; answers each full burst.
struct Receiver {
    t: Option<DatagramSocketTransport>,
    got: Rc<Cell<usize>>,
}

impl DatagramEvents for Receiver {
    fn connection_made(&mut self, t: DatagramSocketTransport) {
        self.t = Some(t);
    }
    fn datagram_received(&mut self, _data: &[u8], addr: Option<SocketAddress>) {
        self.got.set(self.got.get() + 1);
        if self.got.get() % BURST == 0 {
            self.t
                .as_ref()
                .unwrap()
                .sendto(b"next", addr.as_ref())
                .unwrap();
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "plain".into());
    let bursts: u32 = args.next().map_or(100, |s| s.parse().unwrap());
    let mixed = args.next().as_deref() == Some("mixed");
    let batching = match mode.as_str() {
        "plain" => None,
        "mmsg" => Some(Batching::default().gso(false).gro(false)),
        "gso" => Some(Batching::default()),
        other => panic!("mode {other}: plain, mmsg or gso"),
    };
    let lp = EventLoop::new().unwrap();
    let rs = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // Room for whole bursts in the receive queue.
    rustix::net::sockopt::set_socket_recv_buffer_size(&rs, 4 << 20).unwrap();
    let to = SocketAddress::Inet(rs.local_addr().unwrap());
    let got = Rc::new(Cell::new(0));
    let receiver = Rc::new(RefCell::new(Receiver {
        t: None,
        got: got.clone(),
    }));
    let rt = DatagramSocketTransport::new(&lp, rs, receiver).unwrap();
    let sender = Rc::new(RefCell::new(Sender {
        t: None,
        to,
        left: bursts,
        mixed,
    }));
    let ss = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let st = DatagramSocketTransport::new(&lp, ss, sender).unwrap();
    rt.set_batching(batching).unwrap();
    st.set_batching(batching).unwrap();
    eprintln!("receiver {:?}, sender {:?}", rt.batching(), st.batching());
    lp.run_forever().unwrap();
    eprintln!("{} datagrams in {bursts} bursts", got.get());
    rt.close();
    st.close();
    lp.close().unwrap();
}
