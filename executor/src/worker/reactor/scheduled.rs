//! The readiness of one registered I/O source, and the tasks waiting on it.
//!
//! # Protocol
//!
//! Sources are registered edge-triggered: the OS reports a transition to readable or writable
//! once, and the reactor records it here in `readiness`. A task that wants to read:
//!
//! 1. looks at `readiness`; if the bit is set it tries the non-blocking system call;
//! 2. if the call says `WouldBlock`, it clears the bit with [`ScheduledIo::clear`], passing the
//!    *tick* it saw in step 1: the clear only happens if no new event arrived since (the tick,
//!    bumped by every event, has not moved), so an edge that came between the call and the clear
//!    is never lost (the scheme of tokio's `ScheduledIo`);
//! 3. if the bit is clear it stores its waker, then looks at `readiness` again (an event that
//!    arrived between the first look and the store finds no waker, so the second look is what
//!    catches it) and returns `Pending`.
//!
//! The reactor, for each event, sets the bits and bumps the tick (one read-modify-write), then
//! takes the waiting wakers under the waker lock. Setting before taking, and storing before
//! re-reading, make the pair race-free: whichever comes second sees the other's write.
//!
//! `SHUTDOWN` is set when the runtime is dropped: every waiter is woken and every later
//! readiness check fails with an error instead of waiting for a reactor that is gone.

use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{lock, Mutex};
use std::task::{Context, Poll, Waker};

/// Readable (or read-closed, or an error pending).
pub(crate) const READABLE: usize = 1;
/// Writable (or write-closed, or an error pending).
pub(crate) const WRITABLE: usize = 2;
/// The runtime that owned the reactor is gone.
const SHUTDOWN: usize = 4;
/// The bits of `readiness` below the tick.
const BITS: usize = 3;
/// One event's increment of the tick.
const TICK_ONE: usize = 1 << BITS;

/// A direction a task waits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Waiting to read (or accept, or receive).
    Read,
    /// Waiting to write (or connect, or send).
    Write,
}

impl Direction {
    /// The readiness bit of this direction.
    #[inline]
    fn bit(self) -> usize {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }
}

/// What a readiness check saw: passed back to [`ScheduledIo::clear`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    /// The tick of the event that made the source ready.
    tick: usize,
    /// The direction checked.
    dir: Direction,
}

/// Readiness and waiters of one registered source.
pub(crate) struct ScheduledIo {
    /// `tick << BITS | SHUTDOWN? | WRITABLE? | READABLE?`.
    readiness: AtomicUsize,
    /// The tasks waiting in each direction.
    waiters: Mutex<Waiters>,
}

/// One waiter per direction: a source is read by one task and written by one task at a time
/// (the split halves of a stream are the most a program shares).
#[derive(Default)]
struct Waiters {
    /// The task waiting to read.
    reader: Option<Waker>,
    /// The task waiting to write.
    writer: Option<Waker>,
}

/// The error every operation on a source of a dropped runtime returns.
pub(crate) fn shutdown_error() -> std::io::Error {
    std::io::Error::other(
        "kairos::net: the runtime this socket was registered with has been dropped; create \
         sockets inside the runtime that uses them",
    )
}

impl ScheduledIo {
    /// A new source, taken as readable and writable: the first operation tries the system call
    /// at once instead of waiting for the reactor's first report (a fresh connection is usually
    /// writable; a `WouldBlock` clears the bit at tick 0).
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(READABLE | WRITABLE),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Polls for readiness in `dir`: `Ready` with the event to clear on `WouldBlock`, or
    /// `Pending` with the task's waker stored (protocol step 3).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<std::io::Result<ReadyEvent>> {
        let seen = self.readiness.load(Ordering::Acquire);
        if let Some(ready) = Self::check(seen, dir) {
            return Poll::Ready(ready);
        }
        let mut waiters = lock(&self.waiters);
        let slot = match dir {
            Direction::Read => &mut waiters.reader,
            Direction::Write => &mut waiters.writer,
        };
        match slot {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        // Re-read after storing (protocol step 3).
        let seen = self.readiness.load(Ordering::Acquire);
        match Self::check(seen, dir) {
            Some(ready) => Poll::Ready(ready),
            None => Poll::Pending,
        }
    }

    /// `Some` if `readiness` is ready in `dir` or shut down.
    #[inline]
    fn check(readiness: usize, dir: Direction) -> Option<std::io::Result<ReadyEvent>> {
        if readiness & SHUTDOWN != 0 {
            return Some(Err(shutdown_error()));
        }
        (readiness & dir.bit() != 0).then_some(Ok(ReadyEvent {
            tick: readiness >> BITS,
            dir,
        }))
    }

    /// The system call said `WouldBlock` after `event`: clears its bit unless a newer event
    /// arrived meanwhile (protocol step 2).
    pub(crate) fn clear(&self, event: ReadyEvent) {
        let mut current = self.readiness.load(Ordering::Acquire);
        loop {
            if current >> BITS != event.tick {
                crate::loom::reached("io.clear_skipped_new_event");
                return;
            }
            let new = current & !event.dir.bit();
            match self.readiness.compare_exchange_weak(
                current,
                new,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// The reactor saw `bits` (`READABLE | WRITABLE`): records them and bumps the tick, then
    /// hands the woken waiters to `wake` (called outside the waiter lock).
    pub(crate) fn set_ready(&self, bits: usize, mut wake: impl FnMut(Waker)) {
        let mut current = self.readiness.load(Ordering::Acquire);
        loop {
            let tick = (current >> BITS).wrapping_add(1);
            let new = (tick << BITS) | (current & (BITS_MASK)) | bits;
            match self.readiness.compare_exchange_weak(
                current,
                new,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        let (reader, writer) = {
            let mut waiters = lock(&self.waiters);
            let reader = if bits & READABLE != 0 {
                waiters.reader.take()
            } else {
                None
            };
            let writer = if bits & WRITABLE != 0 {
                waiters.writer.take()
            } else {
                None
            };
            (reader, writer)
        };
        reader.into_iter().chain(writer).for_each(&mut wake);
    }

    /// The runtime is gone: fail every later check and wake both waiters.
    pub(crate) fn shut_down(&self, wake: impl FnMut(Waker)) {
        self.readiness.fetch_or(SHUTDOWN, Ordering::AcqRel);
        let (reader, writer) = {
            let mut waiters = lock(&self.waiters);
            (waiters.reader.take(), waiters.writer.take())
        };
        reader.into_iter().chain(writer).for_each(wake);
    }

    /// Drops the stored wakers (the source is being deregistered: its owner is gone).
    pub(crate) fn clear_waiters(&self) {
        let taken = {
            let mut waiters = lock(&self.waiters);
            std::mem::take(&mut *waiters)
        };
        drop(taken);
    }
}

/// The flag bits of `readiness`.
const BITS_MASK: usize = TICK_ONE - 1;

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as Count;
    use std::sync::Arc;
    use std::task::Wake;

    struct Counter(Count);
    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn a_new_event_between_the_call_and_the_clear_is_kept() {
        let io = ScheduledIo::new();
        let counter = Arc::new(Counter(Count::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        // Optimistic start: ready both ways until a would-block.
        let Poll::Ready(Ok(first)) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!("a new source is not taken as readable");
        };
        io.clear(first);
        let Poll::Ready(Ok(first)) = io.poll_ready(&mut cx, Direction::Write) else {
            panic!("a new source is not taken as writable");
        };
        io.clear(first);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        io.set_ready(READABLE, Waker::wake);
        assert_eq!(counter.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        let Poll::Ready(Ok(seen)) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!("not ready after an event");
        };
        // An edge arrives after the would-block call, before the clear: the clear is skipped.
        io.set_ready(READABLE, Waker::wake);
        io.clear(seen);
        let Poll::Ready(Ok(again)) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!("the newer edge was lost");
        };
        io.clear(again);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        // Writable is independent of readable.
        io.set_ready(WRITABLE, Waker::wake);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        assert!(io.poll_ready(&mut cx, Direction::Write).is_ready());
    }

    #[test]
    fn shutdown_wakes_and_fails_waiters() {
        let io = ScheduledIo::new();
        let counter = Arc::new(Counter(Count::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let Poll::Ready(Ok(first)) = io.poll_ready(&mut cx, Direction::Write) else {
            panic!("a new source is not taken as writable");
        };
        io.clear(first);
        assert!(io.poll_ready(&mut cx, Direction::Write).is_pending());
        io.shut_down(Waker::wake);
        assert_eq!(counter.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(matches!(
            io.poll_ready(&mut cx, Direction::Write),
            Poll::Ready(Err(_))
        ));
    }
}
