//! Models of `worker/reactor/scheduled.rs`: readiness recorded by the reactor against a task
//! that tries an operation, sees `WouldBlock`, clears and waits.

use super::check;
use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::Arc;
use crate::worker::reactor::{Direction, ScheduledIo};
use loom::thread;
use std::task::{Context, Poll, Wake, Waker};

/// A waker that records that it was woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The task's operation would block and it clears readiness while the reactor records a new
/// edge. Whatever the interleaving, the edge is not lost: the task's next check is ready, or
/// it stored its waker and the reactor woke it.
#[test]
fn edge_is_never_lost() {
    check(&["io.clear_skipped_new_event"], || {
        let io = Arc::new(ScheduledIo::new());
        let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        // The optimistic first check: ready; the system call then says `WouldBlock`.
        let Poll::Ready(Ok(seen)) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!("a new source starts ready");
        };
        let reactor = {
            let io = io.clone();
            thread::spawn(move || io.set_ready(crate::worker::reactor::READABLE_BIT, Waker::wake))
        };
        io.clear(seen);
        let ready = io.poll_ready(&mut cx, Direction::Read).is_ready();
        reactor.join().unwrap();
        assert!(
            ready || flag.0.load(Ordering::SeqCst),
            "an edge was lost: not ready and not woken"
        );
    });
}
