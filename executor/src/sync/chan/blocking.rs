//! Driving a channel operation to completion on a thread outside the runtime: the
//! `blocking_send` / `blocking_recv` methods.
//!
//! The operation is polled with a waker that unparks the calling thread; between polls the
//! thread parks on the runtime's own parker (`worker/park.rs`, through the loom shim), which
//! keeps an unpark that arrives before the park, so no wake-up is lost. No runtime is needed,
//! and the cooperative budget is not involved (the `poll_*_now` operations skip it: there is no
//! task to yield).

use crate::worker::park::{self, Unparker};
use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Wake, Waker};

/// The waker of a blocked thread.
struct ThreadWaker {
    /// Unparks the blocked thread.
    unparker: Unparker,
}

// The parked thread is a plain thread, never a worker blocked in the I/O poller, so whether
// `unpark` found one (its return value) does not matter here.
impl Wake for ThreadWaker {
    fn wake(self: StdArc<Self>) {
        let _ = self.unparker.unpark();
    }

    fn wake_by_ref(self: &StdArc<Self>) {
        let _ = self.unparker.unpark();
    }
}

/// Calls `poll` until it is ready, parking the thread while it is pending.
pub(crate) fn block_on<R>(mut poll: impl FnMut(&mut Context<'_>) -> Poll<R>) -> R {
    let (parker, unparker) = park::pair();
    let waker = Waker::from(StdArc::new(ThreadWaker { unparker }));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(r) = poll(&mut cx) {
            return r;
        }
        parker.park();
    }
}
