//! The futures that wait on a [`Server`](crate::Server): [`WaitClosed`] (closed and every
//! client gone, asyncio 3.12.1's `wait_closed`) and [`ServeForever`] (serving until closed;
//! dropping it closes the server).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::server::{ServerError, ServerInner};

/// [`Server::wait_closed`](crate::Server::wait_closed)'s future.
#[must_use = "futures do nothing unless awaited"]
pub struct WaitClosed {
    /// The server.
    pub(crate) server: Rc<ServerInner>,
}

impl fmt::Debug for WaitClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitClosed")
            .field("finished", &self.server.finished.get())
            .finish()
    }
}

impl Future for WaitClosed {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let s = &self.server;
        if s.finished.get() {
            return Poll::Ready(());
        }
        let mut waiters = s.waiters.borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Where a [`ServeForever`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ForeverState {
    /// Not polled yet.
    Start,
    /// Serving; it owns the server's `forever` flag.
    Serving,
    /// Returned.
    Done,
}

/// [`Server::serve_forever`](crate::Server::serve_forever)'s future. Dropping it while it serves closes the server.
#[must_use = "futures do nothing unless awaited"]
pub struct ServeForever {
    /// The server.
    pub(crate) server: Rc<ServerInner>,
    /// Where it is.
    pub(crate) state: ForeverState,
}

impl fmt::Debug for ServeForever {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeForever")
            .field("state", &self.state)
            .finish()
    }
}

impl Future for ServeForever {
    type Output = Result<(), ServerError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.state {
            ForeverState::Done => return Poll::Ready(Ok(())),
            ForeverState::Start => {
                let s = &self.server;
                if s.forever.get() {
                    self.state = ForeverState::Done;
                    return Poll::Ready(Err(ServerError::AlreadyServingForever));
                }
                if s.is_closed() {
                    self.state = ForeverState::Done;
                    return Poll::Ready(Err(ServerError::Closed));
                }
                if let Err(e) = s.start_serving() {
                    self.state = ForeverState::Done;
                    return Poll::Ready(Err(ServerError::Io(e)));
                }
                s.forever.set(true);
                self.state = ForeverState::Serving;
            }
            ForeverState::Serving => {}
        }
        let s = &self.server;
        if s.is_closed() {
            s.forever.set(false);
            s.forever_waker.borrow_mut().take();
            self.state = ForeverState::Done;
            return Poll::Ready(Ok(()));
        }
        *s.forever_waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for ServeForever {
    fn drop(&mut self) {
        if self.state == ForeverState::Serving {
            let s = &self.server;
            s.forever.set(false);
            s.forever_waker.borrow_mut().take();
            s.close();
        }
    }
}
