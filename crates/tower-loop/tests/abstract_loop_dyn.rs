//! `AbstractEventLoop` as a trait object: an `EventLoop` driven through `&dyn AbstractEventLoop`
//! and `Rc<dyn AbstractEventLoop>`, and a wrapper that implements the trait itself (asyncio code
//! is written against `AbstractEventLoop`, and tests substitute their own loops for it).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io::{Read, Write};
use std::os::fd::BorrowedFd;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tower_loop::error::{CloseError, RunError};
use tower_loop::{
    AbstractEventLoop, CallbackHandle, EventLoop, ExceptionContext, LoopHandle, ThreadsafeHandle,
    TimerHandle,
};

type Log = Rc<RefCell<Vec<&'static str>>>;

/// Schedules one callback of each kind and a stop, through the trait object only.
fn schedule_all(lp: &dyn AbstractEventLoop, log: &Log) {
    let l = log.clone();
    lp.call_later(Duration::from_millis(2), move || {
        l.borrow_mut().push("later")
    });
    let l = log.clone();
    lp.call_at(lp.time() + Duration::from_millis(1), move || {
        l.borrow_mut().push("at")
    });
    let l = log.clone();
    lp.call_soon(move || l.borrow_mut().push("soon"));
    let cancelled = lp.call_soon(|| unreachable!("cancelled"));
    cancelled.cancel();
    let handle = lp.handle();
    lp.call_soon_threadsafe(move || handle.stop());
    let handle = lp.handle();
    lp.call_later(Duration::from_millis(3), move || handle.stop());
}

// test_events.EventLoopTestsMixin.test_call_later / test_call_soon, through the interface.
#[test]
fn event_loop_runs_through_a_dyn_reference() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let dyn_lp: &dyn AbstractEventLoop = &lp;
    let log = Log::default();
    schedule_all(dyn_lp, &log);
    assert!(!dyn_lp.is_running());
    // The threadsafe stop comes after `soon` in the one FIFO.
    dyn_lp.run_forever().unwrap();
    assert_eq!(*log.borrow(), ["soon"]);
    dyn_lp.run_forever().unwrap();
    assert_eq!(*log.borrow(), ["soon", "at", "later"]);
    let answer = dyn_lp
        .run_until_complete(async {
            assert!(tower_loop::get_running_loop().is_ok());
            6 * 7
        })
        .unwrap();
    assert_eq!(answer, 42);
    dyn_lp.set_debug(true);
    assert!(dyn_lp.get_debug() && lp.get_debug());
    dyn_lp.close().unwrap();
    assert!(dyn_lp.is_closed());
    assert_eq!(
        dyn_lp.run_until_complete(async {}).unwrap_err(),
        RunError::Closed
    );
}

// test_events.EventLoopTestsMixin.test_add_reader, through `Rc<dyn AbstractEventLoop>`.
#[test]
fn event_loop_runs_through_an_rc_dyn() {
    let lp: Rc<dyn AbstractEventLoop> = Rc::new(EventLoop::new().unwrap());
    let (a, mut b) = UnixStream::pair().unwrap();
    b.write_all(b"x").unwrap();
    let a = Rc::new(a);
    let read = Rc::new(Cell::new(0u8));
    let (lp2, r, seen) = (lp.clone(), a.clone(), read.clone());
    lp.add_reader(&*a, move || {
        let mut buf = [0; 1];
        (&*r).read_exact(&mut buf).unwrap();
        seen.set(buf[0]);
        assert!(lp2.remove_reader(&*r).unwrap());
        lp2.stop();
    })
    .unwrap();
    lp.run_forever().unwrap();
    assert_eq!(read.get(), b'x');
    assert!(!lp.remove_reader(&*a).unwrap());
    let b = Rc::new(b);
    let (lp2, w, wrote) = (lp.clone(), b.clone(), Rc::new(Cell::new(false)));
    let flag = wrote.clone();
    lp.add_writer(&*b, move || {
        flag.set(true);
        assert!(lp2.remove_writer(&*w).unwrap());
        lp2.stop();
    })
    .unwrap();
    lp.run_forever().unwrap();
    assert!(wrote.get());
    let out = lp
        .run_until_complete(tower_loop::Timer::after(Duration::from_millis(1)))
        .unwrap();
    assert!(out <= lp.time());
    lp.close().unwrap();
}

/// A loop of its own: an `EventLoop` that counts the callbacks scheduled through it.
struct Counting {
    inner: EventLoop,
    scheduled: Cell<u32>,
}

impl AbstractEventLoop for Counting {
    fn time(&self) -> Instant {
        self.inner.time()
    }
    fn call_soon_boxed(&self, f: Box<dyn FnOnce()>) -> CallbackHandle {
        self.scheduled.set(self.scheduled.get() + 1);
        self.inner.call_soon(f)
    }
    fn call_soon_threadsafe_boxed(&self, f: Box<dyn FnOnce() + Send>) -> ThreadsafeHandle {
        self.scheduled.set(self.scheduled.get() + 1);
        self.inner.call_soon_threadsafe(f)
    }
    fn call_later_boxed(&self, delay: Duration, f: Box<dyn FnOnce()>) -> TimerHandle {
        self.scheduled.set(self.scheduled.get() + 1);
        self.inner.call_later(delay, f)
    }
    fn call_at_boxed(&self, when: Instant, f: Box<dyn FnOnce()>) -> TimerHandle {
        self.scheduled.set(self.scheduled.get() + 1);
        self.inner.call_at(when, f)
    }
    fn run_until_complete_pinned(
        &self,
        fut: Pin<&mut dyn Future<Output = ()>>,
    ) -> Result<(), RunError> {
        self.inner.run_until_complete(fut)
    }
    fn run_forever(&self) -> Result<(), RunError> {
        self.inner.run_forever()
    }
    fn stop(&self) {
        self.inner.stop()
    }
    fn close(&self) -> Result<(), CloseError> {
        self.inner.close()
    }
    fn is_running(&self) -> bool {
        self.inner.is_running()
    }
    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
    fn handle(&self) -> LoopHandle {
        self.inner.handle()
    }
    fn add_reader_boxed(&self, fd: BorrowedFd<'_>, f: Box<dyn FnMut()>) -> std::io::Result<()> {
        self.inner.add_reader(fd, f)
    }
    fn remove_reader_fd(&self, fd: BorrowedFd<'_>) -> std::io::Result<bool> {
        self.inner.remove_reader(fd)
    }
    fn add_writer_boxed(&self, fd: BorrowedFd<'_>, f: Box<dyn FnMut()>) -> std::io::Result<()> {
        self.inner.add_writer(fd, f)
    }
    fn remove_writer_fd(&self, fd: BorrowedFd<'_>) -> std::io::Result<bool> {
        self.inner.remove_writer(fd)
    }
    fn call_exception_handler(&self, context: &ExceptionContext) {
        self.inner.call_exception_handler(context)
    }
    fn set_debug(&self, on: bool) {
        self.inner.set_debug(on)
    }
    fn get_debug(&self) -> bool {
        self.inner.get_debug()
    }
}

#[test]
fn code_written_against_the_trait_runs_on_another_implementation() {
    let counting = Counting {
        inner: EventLoop::builder().paused_clock().build().unwrap(),
        scheduled: Cell::new(0),
    };
    let log = Log::default();
    schedule_all(&counting, &log);
    counting.run_forever().unwrap();
    counting.run_forever().unwrap();
    assert_eq!(*log.borrow(), ["soon", "at", "later"]);
    assert_eq!(counting.scheduled.get(), 6);
    counting.close().unwrap();
}
