//! The datagram transport's send queue allocates nothing per datagram in steady state: with
//! batching on, `sendto` queues each datagram into one contiguous buffer (not a `Vec` of its
//! own), and the iteration's flush sends them. A counting global allocator (this binary only,
//! counting on the test's thread) measures the allocations of bursts of 64 `sendto` calls,
//! after a first burst grew the buffers.
#![cfg(target_os = "linux")]

mod util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::net::UdpSocket;
use std::rc::Rc;

use tower_loop::EventLoop;
use tower_transport::datagram_batch::Batching;
use tower_transport::{
    BaseTransport, DatagramEvents, DatagramSocketTransport, DatagramTransport, SocketAddress,
};
use util::{no_fd_leak, run_once};

/// The system allocator, counting the allocations made on a thread that turned counting on.
struct Counting;

thread_local! {
    /// Counting is on for this thread.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// Allocations counted on this thread.
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the thread-locals may be gone while a thread exits.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every call goes to `System` unchanged; counting only touches thread-local cells
// (no allocation, no reentrancy).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `realloc`, passed on to the allocator of `ptr`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    ALLOCS.with(|n| n.get())
}

struct Quiet;
impl DatagramEvents for Quiet {}

/// Datagrams per burst.
const BURST: usize = 64;

#[test]
fn queued_datagrams_allocate_nothing_each() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = SocketAddress::Inet(rx.local_addr().unwrap());
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let t = DatagramSocketTransport::new(&lp, tx, Rc::new(RefCell::new(Quiet))).unwrap();
        t.set_batching(Some(Batching::default().gso(false).gro(false)))
            .unwrap();
        run_once(&lp);
        let got = Rc::new(RefCell::new(Vec::new()));
        let payload: Vec<u8> = (0..1000).map(|i| i as u8).collect();
        // Returns the allocations of the burst's `sendto` calls.
        let burst = |lp: &EventLoop| {
            let mut buf = [0u8; 2048];
            let allocs = allocations(|| {
                for i in 0..BURST {
                    t.sendto(&payload[..200 + i], Some(&to)).unwrap();
                }
            });
            run_once(lp); // the flush: one sendmmsg
            rx.set_nonblocking(true).unwrap();
            let mut n = 0;
            while let Ok(len) = rx.recv(&mut buf) {
                assert_eq!(len, 200 + n, "in order, whole");
                n += 1;
            }
            got.borrow_mut().push(n);
            allocs
        };
        burst(&lp); // grows the buffers
        let allocs: usize = (0..10).map(|_| burst(&lp)).sum();
        assert_eq!(*got.borrow(), [BURST; 11], "every datagram arrived");
        let per_datagram = allocs as f64 / (10 * BURST) as f64;
        println!(
            "{allocs} allocations for 10 bursts of {BURST} datagrams: {per_datagram:.3} per \
             datagram"
        );
        // The flush's scheduling (`call_soon`, at the first `sendto`) may allocate once per
        // burst; nothing per datagram.
        assert!(allocs <= 10, "{allocs} allocations: some per datagram");
        t.close();
        run_once(&lp);
        lp.close().unwrap();
    });
}
