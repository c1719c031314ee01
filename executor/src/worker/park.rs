//! Parking a thread until it is unparked: the worker's sleep, and `block_on`'s.
//!
//! # Protocol
//!
//! One atomic word with three states, a mutex and a condition variable (the scheme of std's
//! generic thread parker and tokio's `park/thread.rs`):
//!
//! - `EMPTY`: nobody parked, no pending unpark.
//! - `PARKED`: the owner is (about to be) waiting on the condvar.
//! - `NOTIFIED`: an unpark arrived; the next `park` returns at once and consumes it.
//!
//! `unpark` swaps in `NOTIFIED`. Only if it replaced `PARKED` does it take the mutex (so it cannot
//! slip between the parker's check and its wait) and signal the condvar. `park` first tries to
//! consume a pending `NOTIFIED` without locking; otherwise it moves `EMPTY -> PARKED` under the
//! mutex and waits until it can move `NOTIFIED -> EMPTY`, so spurious condvar wake-ups are
//! absorbed and no unpark is lost: an unpark before `park` makes that `park` return immediately,
//! one during it wakes it.
//!
//! # Waiting in the I/O poller
//!
//! The worker that waits on the reactor (`reactor/mod.rs`) blocks in the OS poller instead of
//! the condvar. It announces it with a fourth state, `POLLING` ([`Parker::begin_poll`]:
//! `EMPTY -> POLLING`, refused and consuming the notification if one is pending), and leaves it
//! with a swap to `EMPTY` ([`Parker::end_poll`]). An `unpark` that replaces `POLLING` returns
//! `true`: the caller must then interrupt the poller (`Reactor::notify`, sticky like the
//! notification itself: a notify before the wait makes the wait return at once). One atomic
//! word decides, so either the worker sees `NOTIFIED` and skips the wait, or the unparker sees
//! `POLLING` and interrupts it (loom model `park::unpark_interrupts_poller`).

use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{lock, Arc, Condvar, Mutex};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;
const POLLING: usize = 3;

/// The owner's end: parks the current thread. Not `Clone`: one thread parks on it.
pub(crate) struct Parker {
    inner: Arc<Inner>,
}

/// The other end: wakes the parked owner. Cheap to clone and share.
#[derive(Clone)]
pub(crate) struct Unparker {
    inner: Arc<Inner>,
}

struct Inner {
    /// `EMPTY`, `PARKED`, `NOTIFIED` or `POLLING`.
    state: AtomicUsize,
    /// Held by `unpark` around the signal, so the signal cannot fall between the parker's
    /// state change and its wait.
    mutex: Mutex<()>,
    /// Where the parker waits.
    condvar: Condvar,
}

/// A connected parker / unparker pair.
pub(crate) fn pair() -> (Parker, Unparker) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(EMPTY),
        mutex: Mutex::new(()),
        condvar: Condvar::new(),
    });
    (
        Parker {
            inner: inner.clone(),
        },
        Unparker { inner },
    )
}

impl Inner {
    /// Consumes a pending unpark without locking. Returns `true` if there was one.
    #[inline]
    fn consume_notification(&self) -> bool {
        self.state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// With the mutex held: `EMPTY -> PARKED`. Returns `false` if an unpark arrived first (it
    /// is consumed: the caller must not wait).
    fn transition_to_parked(&self) -> bool {
        match self
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => true,
            Err(NOTIFIED) => {
                crate::loom::reached("park.notified_before_wait");
                // `swap`, not `store`, so this read-modify-write synchronises with the
                // unparker's swap.
                let old = self.state.swap(EMPTY, Ordering::SeqCst);
                debug_assert_eq!(old, NOTIFIED);
                false
            }
            Err(actual) => unreachable!("park: inconsistent state {actual}"),
        }
    }
}

impl Parker {
    /// Blocks until `unpark` is called (or returns at once if it was called since the last park).
    pub(crate) fn park(&self) {
        if !self.inner.consume_notification() {
            self.park_slow();
        }
    }

    /// Blocks until `unpark` is called or `timeout` passes (or spuriously earlier: callers
    /// re-check their condition). Consumes a pending unpark either way.
    pub(crate) fn park_timeout(&self, timeout: std::time::Duration) {
        let inner = &*self.inner;
        if inner.consume_notification() {
            return;
        }
        let guard = lock(&inner.mutex);
        if !inner.transition_to_parked() {
            return;
        }
        let guard = match inner.condvar.wait_timeout(guard, timeout) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        };
        // Timed out, notified, or spurious: back to EMPTY, consuming a NOTIFIED if one came.
        inner.state.swap(EMPTY, Ordering::SeqCst);
        drop(guard);
    }

    /// Whether an unpark is pending (not consumed): the timer waiter's spin (`worker/mod.rs`)
    /// ends on it, so a wake for work does not wait for the spin to run out.
    #[inline]
    pub(crate) fn is_notified(&self) -> bool {
        self.inner.state.load(Ordering::SeqCst) == NOTIFIED
    }

    /// About to block in the I/O poller: `EMPTY -> POLLING`. Returns `false` if an unpark was
    /// pending (it is consumed: the caller must not wait).
    pub(crate) fn begin_poll(&self) -> bool {
        match self
            .inner
            .state
            .compare_exchange(EMPTY, POLLING, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => true,
            Err(NOTIFIED) => {
                crate::loom::reached("park.notified_before_poll");
                self.inner.state.swap(EMPTY, Ordering::SeqCst);
                false
            }
            Err(actual) => unreachable!("begin_poll: inconsistent state {actual}"),
        }
    }

    /// Back from the poller: to `EMPTY`, consuming a notification that came during the wait.
    pub(crate) fn end_poll(&self) {
        self.inner.state.swap(EMPTY, Ordering::SeqCst);
    }

    #[cold]
    fn park_slow(&self) {
        let inner = &*self.inner;
        let mut guard = lock(&inner.mutex);
        if !inner.transition_to_parked() {
            return;
        }
        loop {
            guard = match inner.condvar.wait(guard) {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            if inner.consume_notification() {
                return;
            }
            // Spurious wake-up: still PARKED, wait again.
        }
    }
}

impl Unparker {
    /// Wakes the parker, or makes its next `park` return immediately. Returns `true` if the
    /// parker is blocked in the I/O poller: the caller must interrupt it (`Reactor::notify`).
    #[must_use = "a worker blocked in the I/O poller must be notified through the reactor"]
    pub(crate) fn unpark(&self) -> bool {
        let inner = &*self.inner;
        match inner.state.swap(NOTIFIED, Ordering::SeqCst) {
            EMPTY | NOTIFIED => false,
            POLLING => {
                crate::loom::reached("park.unpark_interrupts_poller");
                true
            }
            PARKED => {
                crate::loom::reached("park.unpark_wakes_waiter");
                // Taking the lock orders us after the parker's `EMPTY -> PARKED` + wait: it is
                // either waiting (and gets the signal) or has not locked yet (and will see
                // NOTIFIED).
                drop(lock(&inner.mutex));
                inner.condvar.notify_one();
                false
            }
            actual => unreachable!("unpark: inconsistent state {actual}"),
        }
    }
}
