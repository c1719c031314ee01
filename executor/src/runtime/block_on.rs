//! `block_on`: drive one future to completion on the calling thread.
//!
//! The future is polled on the caller's thread, not on a worker; tasks it spawns go to the
//! runtime's injector. Between polls the thread parks on a [`Parker`](crate::worker::park) that
//! the future's waker unparks, so a wake that arrives between a `Pending` and the park is not
//! lost (the parker remembers it).
//!
//! The waker is a `std::sync::Arc` (what `std::task::Wake` requires) around the parker's
//! unparker; the synchronisation itself is the parker's, which goes through the loom shim.
//!
//! A current-thread runtime (`Builder::current_thread`) has no worker thread: its `block_on`
//! ([`drive`]) takes the one worker core and runs it on the calling thread (`worker::drive`),
//! polling the future whenever its waker marks it woken and the runtime's tasks, timers and I/O
//! in between; the waker also unparks that worker, so a parked driver comes back at once.

use super::Handle;
use crate::context;
use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::{lock, Mutex};
use crate::worker::park::{self, Unparker};
use crate::worker::{self, AnyCore};
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
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

/// The waker of a current-thread `block_on` future: marks it woken and unparks the worker the
/// calling thread is running (`worker::drive` polls the future when the mark is set).
struct DriverWaker {
    /// Read and cleared by `worker::drive`.
    woken: AtomicBool,
    /// The runtime, to unpark its one worker.
    handle: Handle,
}

impl Wake for DriverWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.handle.shared().unpark_worker(0);
    }
}

/// `block_on` of a current-thread runtime (`Builder::current_thread`): runs its one worker on
/// this thread until `future` completes, polling the future whenever it is woken and the
/// runtime's tasks, timers and I/O in between. If another thread drives the worker already, waits
/// for the future like [`block_on`] does on a threaded runtime. The core goes back to `slot`
/// before this returns, also when the future panics (the panic then continues).
pub(crate) fn drive<F: Future>(
    handle: &Handle,
    slot: &Mutex<Option<AnyCore>>,
    future: F,
) -> F::Output {
    if context::is_worker() {
        panic!(
            "Runtime::block_on called on a kairos worker thread: blocking a worker stalls every \
             task queued on it and can deadlock the runtime. `.await` the future instead, or \
             spawn it and await its JoinHandle."
        );
    }
    let mut future = std::pin::pin!(future);
    let Some(core) = lock(slot).take() else {
        return block_on(handle, future);
    };
    let driver = Arc::new(DriverWaker {
        woken: AtomicBool::new(true),
        handle: handle.clone(),
    });
    let waker = Waker::from(Arc::clone(&driver));
    let mut cx = Context::from_waker(&waker);
    let (core, out) = worker::drive(core, handle, &driver.woken, || {
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))) {
            Ok(Poll::Ready(out)) => Some(Ok(out)),
            Ok(Poll::Pending) => None,
            Err(payload) => Some(Err(payload)),
        }
    });
    *lock(slot) = Some(core);
    match out {
        Some(Ok(out)) => out,
        Some(Err(payload)) => resume_unwind(payload),
        // Shutdown began while driving (not reachable through the public API: shutting down
        // takes the runtime by value, which `block_on` borrows). Wait like a threaded runtime.
        None => block_on(handle, future),
    }
}
