//! A server's clients, as asyncio's `Server._attach`/`_detach` keep them: the accepted
//! connections' transports in a slab ([`Clients`]), each connection made with the factory's
//! protocol and a transport that tells the server when it is done ([`Detacher`], tier 7's
//! [`DetachListener`]), and `wait_closed` woken when the last one of a closed server goes.

use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::rc::{Rc, Weak};

use tower_transport::{DetachListener, SocketTransport};

use crate::Protocol;
use crate::server::ServerInner;

/// Makes the transport of one accepted connection (the factory's generic part, erased).
pub(crate) type MakeConnection = Box<dyn Fn(&Rc<ServerInner>, OwnedFd)>;

/// The transports of the accepted connections, by key (a slab: a freed key is reused).
#[derive(Default)]
pub(crate) struct Clients {
    /// Slot `key`: `None` if free; the entry otherwise.
    pub(crate) slots: Vec<Option<Client>>,
    /// Free keys.
    pub(crate) free: Vec<usize>,
}

impl Clients {
    /// Occupied slots: the clients not yet detached.
    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

/// One accepted connection: its transport (`None` while the transport is being built).
pub(crate) type Client = Option<SocketTransport>;

impl ServerInner {
    /// A slot for a new client (asyncio's `_attach`).
    pub(crate) fn attach(&self) -> usize {
        let mut c = self.clients.borrow_mut();
        let entry = Some(None);
        if let Some(key) = c.free.pop() {
            c.slots[key] = entry;
            key
        } else {
            c.slots.push(entry);
            c.slots.len() - 1
        }
    }

    /// Gives client `key` its transport.
    pub(crate) fn set_transport(&self, key: usize, t: SocketTransport) {
        if let Some(Some(c)) = self.clients.borrow_mut().slots.get_mut(key) {
            *c = Some(t);
        }
    }

    /// Client `key` is gone (asyncio's `_detach`).
    pub(crate) fn detach(&self, key: usize) {
        let (gone, now_empty) = {
            let mut c = self.clients.borrow_mut();
            let gone = c.slots.get_mut(key).and_then(Option::take);
            if gone.is_some() {
                c.free.push(key);
            }
            (gone, c.len() == 0)
        };
        drop(gone); // the transport handle, outside the borrow
        if now_empty && self.is_closed() && !self.finished.get() {
            self.wakeup();
        }
    }

    /// The client transports, cloned out.
    pub(crate) fn client_transports(&self) -> Vec<SocketTransport> {
        self.clients
            .borrow()
            .slots
            .iter()
            .flatten()
            .filter_map(Clone::clone)
            .collect()
    }
}

/// A server as its clients' transports see it ([`DetachListener`]): weak, so a client does
/// not keep its server alive.
pub(crate) struct Detacher(pub(crate) Weak<ServerInner>);

impl DetachListener for Detacher {
    fn detach(&self, key: usize) {
        if let Some(s) = self.0.upgrade() {
            s.detach(key);
        }
    }
}

/// Makes each accepted connection with a protocol from `factory`: the transport gets the
/// factory's protocol itself, and tells the server when it is done.
pub(crate) fn make_connection<F, P>(factory: F) -> MakeConnection
where
    F: Fn() -> P + 'static,
    P: Protocol,
{
    Box::new(move |server: &Rc<ServerInner>, fd: OwnedFd| {
        // The factory first: if it panics, nothing is attached and `fd` closes.
        let protocol = Rc::new(RefCell::new(factory()));
        let key = server.attach();
        match SocketTransport::accepted(&server.lp, fd, protocol, server.detacher.clone(), key) {
            Ok(t) => server.set_transport(key, t),
            Err(e) => {
                server.detach(key);
                server
                    .lp
                    .call_exception_handler(&tower_loop::ExceptionContext::new(format!(
                        "error on transport creation for incoming connection: {e}"
                    )));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::Client;

    /// What a server adds per connection (decision 0013 states these figures).
    #[test]
    fn per_connection_sizes() {
        assert_eq!(std::mem::size_of::<Option<Client>>(), 16);
    }
}
