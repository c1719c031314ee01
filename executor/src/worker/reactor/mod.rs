//! The I/O reactor, driven by the workers themselves: no I/O thread, no thread hop per event.
//!
//! # Who polls
//!
//! The reactor is created on the first socket registration (a runtime that never creates one
//! pays one null-pointer check per park and per [`EVENT_INTERVAL`] picks). From then on:
//!
//! - **A parked worker waits for I/O and its next timer in one blocking call.** The worker that
//!   holds the timer-waiter token (`time/driver.rs`: at most one at a time) takes the *turn*
//!   (the right to wait on the OS poller: a mutex, so one thread blocks in it) and waits with a
//!   timeout to the earliest timer. `polling` arms a `timerfd` in the epoll set for the
//!   timeout, so the deadline keeps nanosecond precision, as the condition-variable park it
//!   replaces. The other parked workers park on their condition variables as before.
//! - **A busy worker checks without blocking** every [`EVENT_INTERVAL`] picks and whenever
//!   [`EVENT_CHECK_NS`] passed since its last check (`worker::step`), and inside a poll that
//!   goes on computing at its explicit cooperative checks, at most every [`EVENT_CHECK_NS`]
//!   (`coop.rs`), if the turn is free (`try_lock`: it never waits behind the blocked poller,
//!   which will see the events itself).
//! - **Waking a worker blocked in the poller.** Its parker is in the `POLLING` state
//!   (`park.rs`); an unpark that replaces `POLLING` also calls [`Reactor::notify`] (an eventfd
//!   write that makes the wait return). The state and the unpark are one atomic word, so the
//!   handshake is the parker's own: an unpark before the wait makes the worker skip it, one
//!   during it interrupts it (loom model `park::unpark_interrupts_poller`).
//!
//! # What an event does
//!
//! Sources are registered edge-triggered. For each event, [`Reactor::turn`] records readiness
//! in the source's [`ScheduledIo`] and collects the wakers of the tasks waiting on it; the
//! worker then wakes them *with its core in the thread context*, as it fires timers, so an I/O
//! wake is an ordinary wake: the task goes to this worker's run queue under the runtime's
//! policy (an `Edf` task keeps its deadline, a `Priority` task its priority), and if more tasks
//! became ready than this worker can run, the idle protocol wakes parked workers to steal them
//! (`idle.rs`: the waking worker counts as searching, so the first task it picks wakes one more
//! worker, and so on).
//!
//! # Keys
//!
//! A registration's key is its slot index in the source table plus the slot's generation
//! (bumped at every deregistration), so a late event for a closed socket whose slot was reused
//! is recognised and dropped instead of waking a stranger.

mod scheduled;

/// The readable bit, for the loom model.
#[cfg(all(test, loom))]
pub(crate) use scheduled::READABLE as READABLE_BIT;
pub(crate) use scheduled::{shutdown_error, Direction, ReadyEvent, ScheduledIo};

use crate::event::{self, EventKind};
use crate::loom::atomic::{AtomicBool, AtomicPtr, Ordering};
use crate::loom::{lock, Arc, Mutex, MutexGuard};
use polling::{Event, Events, PollMode, Poller};
use std::io;
use std::os::fd::RawFd;
use std::task::Waker;
use std::time::Duration;

/// A busy worker checks the reactor without blocking every this many picks (tokio's
/// `event_interval` is 61 too; a prime, as `INJECTOR_INTERVAL`).
pub(crate) const EVENT_INTERVAL: u32 = 61;

/// A busy worker also checks the reactor when this long (100 µs) has passed since its last
/// check, so a request that arrives while the workers run long polls is seen after at most one
/// poll plus this, not after 61 polls. The check is an `epoll_wait` with a zero timeout (about
/// a microsecond), so it costs at most about 1% of a busy worker.
pub(crate) const EVENT_CHECK_NS: u64 = 100_000;

/// Events taken from the OS per wait.
const EVENTS_CAPACITY: usize = 1024;

/// Low bits of a key: the slot index. High bits: the slot's generation.
const GEN_SHIFT: u32 = usize::BITS / 2;
/// The index part of a key.
const INDEX_MASK: usize = (1 << GEN_SHIFT) - 1;

/// One runtime's reactor.
pub(crate) struct Reactor {
    /// The OS poller (epoll on Linux, kqueue on the BSDs and macOS).
    poller: Poller,
    /// The right to wait on `poller`, and the buffer the wait fills.
    turn: Mutex<Events>,
    /// Registered sources.
    sources: Mutex<Sources>,
    /// Set when the runtime is dropped: registrations fail from then on.
    shutdown: AtomicBool,
}

/// The source table.
struct Sources {
    /// Slots, indexed by the low bits of a key.
    slots: Vec<Slot>,
    /// Indices of empty slots.
    free: Vec<usize>,
}

/// One slot of the source table.
struct Slot {
    /// Bumped when the slot is emptied: a key with an older generation is stale.
    generation: usize,
    /// The source, while registered.
    io: Option<Arc<ScheduledIo>>,
}

/// A registered source: its key and its readiness.
pub(crate) struct Registered {
    /// The key events carry.
    pub(crate) key: usize,
    /// Readiness and waiters.
    pub(crate) io: Arc<ScheduledIo>,
}

impl Reactor {
    /// A reactor with no sources.
    fn new() -> io::Result<Reactor> {
        Ok(Reactor {
            poller: Poller::new()?,
            turn: Mutex::new(Events::with_capacity(
                std::num::NonZeroUsize::new(EVENTS_CAPACITY).expect("non-zero"),
            )),
            sources: Mutex::new(Sources {
                slots: Vec::new(),
                free: Vec::new(),
            }),
            shutdown: AtomicBool::new(false),
        })
    }

    /// Registers `fd` (non-blocking, owned by the caller, which must [`deregister`] it before
    /// closing it) for edge-triggered read and write readiness.
    ///
    /// [`deregister`]: Reactor::deregister
    pub(crate) fn register(&self, fd: RawFd) -> io::Result<Registered> {
        let io = Arc::new(ScheduledIo::new());
        let key = {
            let mut sources = lock(&self.sources);
            if self.shutdown.load(Ordering::Acquire) {
                return Err(shutdown_error());
            }
            let index = match sources.free.pop() {
                Some(index) => index,
                None => {
                    sources.slots.push(Slot {
                        generation: 0,
                        io: None,
                    });
                    sources.slots.len() - 1
                }
            };
            if index > INDEX_MASK {
                sources.free.push(index);
                return Err(io::Error::other(
                    "kairos::net: too many sockets registered with one runtime",
                ));
            }
            let slot = &mut sources.slots[index];
            slot.io = Some(io.clone());
            (slot.generation << GEN_SHIFT) | index
        };
        // SAFETY: the caller owns `fd` and deregisters it before closing it (`net/evented.rs`).
        let added = unsafe {
            self.poller
                .add_with_mode(fd, Event::all(key), PollMode::Edge)
        };
        if let Err(e) = added {
            self.release(key);
            return Err(e);
        }
        Ok(Registered { key, io })
    }

    /// Removes `fd`, registered under `key`, from the poller and empties its slot. Call before
    /// closing `fd`.
    pub(crate) fn deregister(&self, fd: RawFd, key: usize) {
        // SAFETY: the caller still owns the open `fd` (it closes it after this call).
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        // An error here means the fd was not in the set (the reactor is shutting down): nothing
        // to remove.
        let _ = self.poller.delete(fd);
        self.release(key);
    }

    /// Empties the slot of `key` (if it still holds that registration).
    fn release(&self, key: usize) {
        let io = {
            let mut sources = lock(&self.sources);
            let index = key & INDEX_MASK;
            match sources.slots.get_mut(index) {
                Some(slot) if slot.generation == key >> GEN_SHIFT && slot.io.is_some() => {
                    slot.generation = slot.generation.wrapping_add(1) & INDEX_MASK;
                    let io = slot.io.take();
                    sources.free.push(index);
                    io
                }
                _ => None,
            }
        };
        if let Some(io) = io {
            io.clear_waiters();
        }
    }

    /// Takes the turn, waiting for a thread that holds it (a worker checking without blocking
    /// holds it for one non-blocking call).
    pub(crate) fn lock_turn(&self) -> MutexGuard<'_, Events> {
        lock(&self.turn)
    }

    /// Takes the turn if it is free.
    pub(crate) fn try_lock_turn(&self) -> Option<MutexGuard<'_, Events>> {
        self.turn.try_lock().ok()
    }

    /// With the turn held: waits for events for at most `timeout` (`None`: until an event or a
    /// [`notify`](Reactor::notify)), records the readiness they report and returns the wakers of
    /// the tasks they woke, to be woken by the caller.
    pub(crate) fn turn(&self, events: &mut Events, timeout: Option<Duration>) -> Vec<Waker> {
        events.clear();
        if let Err(e) = self.poller.wait(events, timeout) {
            // Interrupted waits are retried inside `polling`; anything else (out of memory in
            // the kernel) leaves the worker to retry at its next park.
            debug_assert!(false, "kairos reactor: poll failed: {e}");
            return Vec::new();
        }
        if events.is_empty() {
            return Vec::new();
        }
        let mut wakers = Vec::new();
        let sources = lock(&self.sources);
        for event in events.iter() {
            let index = event.key & INDEX_MASK;
            let Some(slot) = sources.slots.get(index) else {
                continue;
            };
            if slot.generation != event.key >> GEN_SHIFT {
                continue;
            }
            let Some(io) = &slot.io else { continue };
            let mut bits = 0;
            if event.readable {
                bits |= scheduled::READABLE;
            }
            if event.writable {
                bits |= scheduled::WRITABLE;
            }
            if bits != 0 {
                event::emit(EventKind::IoReady, || (0, index as u64, bits as u64));
                io.set_ready(bits, |w| wakers.push(w));
            }
        }
        wakers
    }

    /// Makes the current (or the next) blocking wait return.
    pub(crate) fn notify(&self) {
        // Fails only if the eventfd is gone, which it is not while `self` lives.
        let _ = self.poller.notify();
    }

    /// The runtime is being dropped: refuse new registrations, fail every later readiness
    /// check and wake every waiting task (its future is dropped by the runtime's cleanup, or,
    /// outside the runtime, sees the error).
    pub(crate) fn shutdown(&self) {
        let sources = {
            let sources = lock(&self.sources);
            self.shutdown.store(true, Ordering::Release);
            sources
                .slots
                .iter()
                .filter_map(|s| s.io.clone())
                .collect::<Vec<_>>()
        };
        for io in sources {
            io.shut_down(|w| {
                wake_caught(w);
            });
        }
    }

    /// Number of registered sources (tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        lock(&self.sources)
            .slots
            .iter()
            .filter(|s| s.io.is_some())
            .count()
    }
}

/// Wakes `waker`, containing a panic (a hand-made waker's): the caller is a worker.
pub(crate) fn wake_caught(waker: Waker) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake())).is_err()
}

/// The reactor slot of a runtime: empty until the first registration.
pub(crate) struct LazyReactor {
    /// The reactor once created (points into `owner`'s `Arc`), null before. Read without a
    /// lock on every park and event check.
    ptr: AtomicPtr<Reactor>,
    /// Owns the reactor; serialises its creation.
    owner: Mutex<Option<Arc<Reactor>>>,
}

impl LazyReactor {
    /// No reactor yet.
    pub(crate) fn new() -> LazyReactor {
        LazyReactor {
            ptr: AtomicPtr::new(std::ptr::null_mut()),
            owner: Mutex::new(None),
        }
    }

    /// The reactor, if one was created.
    #[inline]
    pub(crate) fn get(&self) -> Option<&Reactor> {
        let ptr = self.ptr.load(Ordering::Acquire);
        // SAFETY: a non-null `ptr` points into the `Arc` held by `owner`, which is never
        // replaced once set and lives as long as `self`.
        (!ptr.is_null()).then(|| unsafe { &*ptr })
    }

    /// The reactor, created if needed; `true` if this call created it.
    #[cold]
    pub(crate) fn get_or_create(&self) -> io::Result<(Arc<Reactor>, bool)> {
        let mut owner = lock(&self.owner);
        if let Some(reactor) = &*owner {
            return Ok((reactor.clone(), false));
        }
        let reactor = Arc::new(Reactor::new()?);
        self.ptr
            .store(Arc::as_ptr(&reactor).cast_mut(), Ordering::SeqCst);
        *owner = Some(reactor.clone());
        Ok((reactor, true))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::task::{Context, Poll};

    #[test]
    fn an_event_wakes_the_waiting_reader_and_stale_keys_are_ignored() {
        let reactor = Reactor::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let reg = reactor.register(a.as_raw_fd()).unwrap();
        assert_eq!(reactor.len(), 1);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        // The optimistic first check, then "would block": the reader waits.
        let Poll::Ready(Ok(first)) = reg.io.poll_ready(&mut cx, Direction::Read) else {
            panic!("a new source starts ready");
        };
        reg.io.clear(first);
        assert!(reg.io.poll_ready(&mut cx, Direction::Read).is_pending());
        b.write_all(b"x").unwrap();
        let wakers = {
            let mut turn = reactor.lock_turn();
            // Returns at once: the event is there.
            reactor.turn(&mut turn, None)
        };
        assert_eq!(wakers.len(), 1, "the waiting reader is woken, nobody else");
        assert!(reg.io.poll_ready(&mut cx, Direction::Read).is_ready());
        // Deregistered, the slot is reused under a new generation: the old key is stale.
        reactor.deregister(a.as_raw_fd(), reg.key);
        assert_eq!(reactor.len(), 0);
        let (c, _d) = UnixStream::pair().unwrap();
        let reg2 = reactor.register(c.as_raw_fd()).unwrap();
        assert_eq!(reg2.key & INDEX_MASK, reg.key & INDEX_MASK);
        assert_ne!(reg2.key, reg.key);
        reactor.release(reg.key);
        assert_eq!(reactor.len(), 1, "a stale key released nothing");
        reactor.deregister(c.as_raw_fd(), reg2.key);
        // After shutdown, registration is refused with an error saying why.
        reactor.shutdown();
        let err = reactor
            .register(c.as_raw_fd())
            .err()
            .expect("registered after shutdown");
        assert!(err.to_string().contains("dropped"), "{err}");
    }
}
