//! A non-blocking OS socket registered with the runtime's reactor: the one place where
//! `kairos::net` types wait.
//!
//! # Protocol
//!
//! An operation ([`Evented::poll_io`]) spends one unit of the task's cooperative budget, then
//! loops: wait for readiness in its direction (`ScheduledIo::poll_ready`), try the non-blocking
//! system call, and on `WouldBlock` clear the readiness seen and wait again. Any other result,
//! success or error, is the operation's result: errors are never swallowed or retried here.
//!
//! Registration needs a runtime: the one of the calling task, or the one entered by
//! `Runtime::block_on`. Outside of one, and inside the simulator (whose time is virtual: a real
//! socket would wait on the OS while virtual time stands still), registration and every wait
//! fail with an error of kind `Unsupported` that says so, instead of hanging.
//!
//! Dropping an `Evented` deregisters the socket from the poller before closing it.

use crate::context;
use crate::event::clock::is_virtual;
use crate::loom::Arc;
use crate::worker::reactor::{Direction, Reactor, ScheduledIo};
use std::future::poll_fn;
use std::io;
use std::os::fd::AsRawFd;
use std::task::{ready, Context, Poll};

/// The error of a socket used inside `kairos::sim`.
pub(crate) fn simulation_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "kairos::net: the simulator has no network model; a real socket cannot be waited on in \
         virtual time. Use the real runtime (kairos::Runtime) for tasks that do I/O",
    )
}

/// The error of a socket created outside a runtime.
fn no_runtime_error() -> io::Error {
    io::Error::other(
        "kairos::net: no kairos runtime here; create sockets inside a task or inside \
         Runtime::block_on",
    )
}

/// A registered non-blocking socket.
pub(crate) struct Evented<E: AsRawFd> {
    /// The socket; `None` only during drop.
    io: Option<E>,
    /// The reactor it is registered with.
    reactor: Arc<Reactor>,
    /// Its registration key.
    key: usize,
    /// Its readiness and waiters.
    sched: Arc<ScheduledIo>,
}

impl<E: AsRawFd> Evented<E> {
    /// Registers `io`, which must already be in non-blocking mode, with the current runtime's
    /// reactor (created on first use).
    pub(crate) fn new(io: E) -> io::Result<Evented<E>> {
        if is_virtual() {
            return Err(simulation_error());
        }
        let reactor = context::with_handle(|handle| match handle {
            Some(handle) => handle.shared().reactor_or_create(),
            None => Err(no_runtime_error()),
        })?;
        let registered = reactor.register(io.as_raw_fd())?;
        Ok(Evented {
            io: Some(io),
            reactor,
            key: registered.key,
            sched: registered.io,
        })
    }

    /// The socket.
    #[inline]
    pub(crate) fn get(&self) -> &E {
        match &self.io {
            Some(io) => io,
            None => unreachable!("Evented used during drop"),
        }
    }

    /// Runs `op` when the socket is ready in `dir`, retrying after `WouldBlock` (see the module
    /// docs).
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        ready!(crate::coop::poll_proceed(cx));
        loop {
            let event = match self.sched.poll_ready(cx, dir) {
                Poll::Ready(event) => event?,
                Poll::Pending => {
                    if is_virtual() {
                        return Poll::Ready(Err(simulation_error()));
                    }
                    return Poll::Pending;
                }
            };
            match op(self.get()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.sched.clear(event),
                result => return Poll::Ready(result),
            }
        }
    }

    /// [`poll_io`](Evented::poll_io) as a future.
    pub(crate) async fn io<R>(
        &self,
        dir: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        poll_fn(|cx| self.poll_io(cx, dir, &mut op)).await
    }

    /// Waits until the socket is ready in `dir` once (a connect in progress), without an
    /// operation: returns the event to clear if the caller finds it was not.
    pub(crate) async fn ready(
        &self,
        dir: Direction,
    ) -> io::Result<crate::worker::reactor::ReadyEvent> {
        poll_fn(|cx| match self.sched.poll_ready(cx, dir) {
            Poll::Pending if is_virtual() => Poll::Ready(Err(simulation_error())),
            other => other,
        })
        .await
    }

    /// Forgets readiness `event` (the caller's check found the socket not ready after all).
    pub(crate) fn clear(&self, event: crate::worker::reactor::ReadyEvent) {
        self.sched.clear(event);
    }
}

impl<E: AsRawFd> Drop for Evented<E> {
    fn drop(&mut self) {
        if let Some(io) = self.io.take() {
            self.reactor.deregister(io.as_raw_fd(), self.key);
            drop(io);
        }
    }
}

impl<E: AsRawFd + std::fmt::Debug> std::fmt::Debug for Evented<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}
