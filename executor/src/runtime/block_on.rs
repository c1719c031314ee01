//! `block_on`: drive one future to completion on the calling thread.
//!
//! The future is polled on the caller's thread, not on a worker; tasks it spawns go to the
//! runtime's injector. Between polls the thread parks on a [`Parker`](crate::worker::park) that
//! the future's waker unparks, so a wake that arrives between a `Pending` and the park is not
//! lost (the parker remembers it).
//!
//! The waker is a `std::sync::Arc` (what `std::task::Wake` requires) around the parker's
//! unparker; the synchronisation itself is the parker's, which goes through the loom shim.

use super::Handle;
use crate::context;
use crate::worker::park::{self, Unparker};
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct BlockOnWaker(Unparker);

impl Wake for BlockOnWaker {
    fn wake(self: Arc<Self>) {
        let _ = self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let _ = self.0.unpark();
    }
}

pub(crate) fn block_on<F: Future>(handle: &Handle, future: F) -> F::Output {
    if context::is_worker() {
        panic!(
            "Runtime::block_on called on a kairos worker thread: blocking a worker stalls every \
             task queued on it and can deadlock the runtime. `.await` the future instead, or \
             spawn it and await its JoinHandle."
        );
    }
    let _enter = context::enter(handle);
    let (parker, unparker) = park::pair();
    let waker = Waker::from(Arc::new(BlockOnWaker(unparker)));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        parker.park();
    }
}
