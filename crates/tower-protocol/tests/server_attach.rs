//! How a server keeps its clients (asyncio's `Server._attach`/`_detach`): each accepted
//! transport holds the factory's protocol itself, and tells the server when it is done, right
//! after the protocol's `connection_lost` — whatever protocol it has by then.

mod server_util;

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;

use tower_protocol::{Protocol, create_server};
use tower_transport::{BaseTransport, StreamTransport, WriteTransport};

use server_util::{Echo, connect, echo, inet_addr, make, no_fd_leak, poll_once, run_until, setup};

/// Records where it lives and hands its transport out.
struct Marked {
    /// Its own address, written in `connection_made`.
    at: Rc<Cell<usize>>,
    /// The transports it was given.
    transports: Rc<RefCell<Vec<StreamTransport>>>,
}

impl Protocol for Marked {
    fn connection_made(&mut self, t: StreamTransport) {
        let me = self as *const Self as usize;
        self.at.set(me);
        self.transports.borrow_mut().push(t);
    }
}

/// `get_protocol()` on an accepted connection's transport is the factory's protocol itself,
/// not a wrapper around it.
#[test]
fn get_protocol_is_the_factorys_protocol() {
    no_fd_leak(|| {
        let (lp, _stats) = setup();
        let at = Rc::new(Cell::new(0));
        let transports = Rc::new(RefCell::new(Vec::new()));
        let (a, ts) = (at.clone(), transports.clone());
        let server = make(
            &lp,
            create_server(
                move || Marked {
                    at: a.clone(),
                    transports: ts.clone(),
                },
                "127.0.0.1",
                0,
            ),
        )
        .unwrap();
        let c = connect(inet_addr(&server));
        run_until(&lp, || !transports.borrow().is_empty());
        let t = transports.borrow()[0].clone();
        let p = t.get_protocol().expect("a protocol");
        assert_eq!(
            p.as_ptr() as *const () as usize,
            at.get(),
            "the same object as the factory's"
        );
        assert_eq!(
            std::mem::size_of_val(&*p.borrow()),
            std::mem::size_of::<Marked>(),
            "nothing wraps it"
        );
        drop(p);
        drop(c);
        transports.borrow_mut().clear();
        drop(t);
        server.close();
        let mut waiting = server.wait_closed();
        run_until(&lp, || poll_once(&mut waiting).is_ready());
        lp.close().unwrap();
    });
}

/// Counts its `connection_lost` and reads the server's client count right then.
struct Replacement {
    /// Its transport.
    t: Option<StreamTransport>,
    /// `connection_lost` ran.
    lost: Rc<Cell<bool>>,
}

impl Protocol for Replacement {
    fn data_received(&mut self, data: &[u8]) {
        self.t.as_ref().unwrap().write(data).unwrap();
    }
    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        self.lost.set(true);
        self.t = None;
    }
}

/// Hands the transport over to a [`Replacement`] at `connection_made`.
struct Switcher {
    /// The replacement's `connection_lost` flag.
    lost: Rc<Cell<bool>>,
}

impl Protocol for Switcher {
    fn connection_made(&mut self, t: StreamTransport) {
        let r = Rc::new(RefCell::new(Replacement {
            t: Some(t.clone()),
            lost: self.lost.clone(),
        }));
        t.set_protocol(r);
    }
}

/// After `set_protocol`, closing the server and its clients: the client leaves the count at
/// the replacement's `connection_lost` (no polling), and `wait_closed` returns.
#[test]
fn set_protocol_then_close_wait_closed_returns() {
    no_fd_leak(|| {
        let (lp, _stats) = setup();
        let lost = Rc::new(Cell::new(false));
        let l = lost.clone();
        let server = make(
            &lp,
            create_server(move || Switcher { lost: l.clone() }, "127.0.0.1", 0),
        )
        .unwrap();
        let mut c = connect(inet_addr(&server));
        echo(&lp, &mut c, b"through the replacement");
        assert_eq!(server.client_count(), 1);
        server.close();
        let mut waiting = server.wait_closed();
        assert!(poll_once(&mut waiting).is_pending(), "a client is open");
        server.close_clients();
        let s = server.clone();
        let counted_at_lost = Rc::new(Cell::new(usize::MAX));
        // Step the loop one callback at a time: the count drops together with connection_lost.
        run_until(&lp, || {
            if lost.get() && counted_at_lost.get() == usize::MAX {
                counted_at_lost.set(s.client_count());
            }
            lost.get()
        });
        assert_eq!(
            counted_at_lost.get(),
            0,
            "detached right after connection_lost"
        );
        assert!(poll_once(&mut waiting).is_ready());
        drop(c);
        lp.close().unwrap();
    });
}

/// `client_count` is exact at every step: one more per accepted connection, one less at each
/// `connection_lost`.
#[test]
fn client_count_is_exact() {
    no_fd_leak(|| {
        let (lp, stats) = setup();
        let server = make(&lp, create_server(Echo::factory(&stats), "127.0.0.1", 0)).unwrap();
        let addr = inet_addr(&server);
        let mut clients = Vec::new();
        for n in 1..=4 {
            let mut c = connect(addr);
            echo(&lp, &mut c, b"hi");
            assert_eq!(server.client_count(), n);
            assert_eq!(stats.connected.get(), n);
            clients.push(c);
        }
        for n in (0..4).rev() {
            drop(clients.pop());
            run_until(&lp, || stats.lost.get() == 4 - n);
            assert_eq!(server.client_count(), n, "gone at its connection_lost");
        }
        server.close();
        let mut waiting = server.wait_closed();
        assert!(poll_once(&mut waiting).is_ready());
        lp.close().unwrap();
    });
}
