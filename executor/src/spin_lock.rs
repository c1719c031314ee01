//! A lock for critical sections of a few instructions that never block: taken with one
//! compare-and-swap, released with one plain store.
//!
//! `std::sync::Mutex` (a futex lock) releases with an atomic exchange, because the release must
//! learn whether a waiter sleeps in the kernel and needs a wake-up. On x86-64 that exchange is a
//! full barrier as costly as the acquiring compare-and-swap. A lock whose waiters never sleep in
//! the kernel waiting for a wake-up needs no exchange to release: a release store is a plain
//! `mov`. The task registry, which every spawn and every completion locks, and the channels of
//! `mpsc` and `mpmc`, which every message locks twice, use it.
//!
//! # Protocol
//!
//! One flag, `locked`.
//!
//! - **Take**: `compare_exchange(false, true, Acquire)`; success means taken. Otherwise wait one
//!   backoff step and try again. (A failed compare-and-swap writes nothing, unlike a failed
//!   `swap(true)`; loom cannot bound a wait whose every try writes. Polling with plain loads
//!   between tries would keep the line shared among many waiters; the sections here are a few
//!   instructions, rarely contended by more than one waiter.)
//! - **Release**: `store(false, Release)`, which hands the section's writes to the next taker's
//!   `Acquire` compare-and-swap. A section that unwinds releases too.
//! - **Waiting**: `Backoff` (exponentially longer runs of spin hints, then `yield_now`), then
//!   sleeps in doubling steps from 1 µs up to [`MAX_SLEEP_NS`]. The sleeps keep the lock safe
//!   for real-time threads: a `SCHED_FIFO` worker waiting for a holder of lower priority that
//!   was preempted on the same core would spin and yield forever (`sched_yield` gives the core
//!   only to threads of the same priority); asleep, it lets the holder finish its few
//!   instructions. The price is a wait of up to a timer slack in that case only.
//!
//! The section is a closure ([`SpinLock::with`]): it cannot be held across an `.await` or
//! escape its caller. It must not block or run user code beyond a waker's clone or drop (a
//! waiter spins on it).
//!
//! Under loom a waiter does not spin: loom cannot bound a wait for a preempted holder while
//! another thread spins too (it explores the schedule in which the spinners take turns
//! forever). There it waits on a condition variable that every release notifies, after its
//! release store; the flag's protocol, which the models check (`loom_tests/spin_lock.rs`, and
//! every model of the channels and the registry), is the same.

use crate::loom::atomic::{AtomicBool, Ordering};
#[cfg(not(loom))]
use crate::loom::Backoff;
use crate::loom::UnsafeCell;

/// The longest sleep of a waiter that spun and yielded in vain.
#[cfg(not(loom))]
const MAX_SLEEP_NS: u64 = 64_000;

/// The release's ordering. `--cfg kairos_loom_weaken` weakens it to `Relaxed` on purpose: the
/// loom model `spin_lock::sections_exclude_each_other` must then report the second section's
/// access as a causality violation (`scripts/loom-mutation.sh`).
#[cfg(not(kairos_loom_weaken))]
const RELEASE: Ordering = Ordering::Release;
#[cfg(kairos_loom_weaken)]
const RELEASE: Ordering = Ordering::Relaxed;

/// Data behind a [`SpinLock`] (see the module docs).
#[derive(Debug)]
pub(crate) struct SpinLock<T> {
    /// Taken.
    locked: AtomicBool,
    /// What the lock protects.
    data: UnsafeCell<T>,
    /// Loom only: where waiters wait for a release (see the module docs).
    #[cfg(loom)]
    released: (crate::loom::Mutex<()>, crate::loom::Condvar),
}

// SAFETY: the data is reached only inside `with`, by one thread at a time (the flag's CAS and
// store order the sections), so sharing the lock shares `T` only by moving access between
// threads: `T: Send` suffices, as for `std::sync::Mutex`.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: as above; the lock owns its data.
unsafe impl<T: Send> Send for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// An untaken lock around `data`.
    pub(crate) fn new(data: T) -> SpinLock<T> {
        SpinLock {
            locked: AtomicBool::new(false),
            data: UnsafeCell::new(data),
            #[cfg(loom)]
            released: (crate::loom::Mutex::new(()), crate::loom::Condvar::new()),
        }
    }

    /// Runs `section` with the data, the lock taken.
    #[inline]
    pub(crate) fn with<R>(&self, section: impl FnOnce(&mut T) -> R) -> R {
        if !self.try_take() {
            self.take_contended();
        }
        let _release = Release(self);
        // SAFETY: the lock is taken: no other section runs until `_release` drops.
        self.data.with_mut(|data| section(unsafe { &mut *data }))
    }

    /// Takes the lock if it is free.
    #[inline]
    fn try_take(&self) -> bool {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// The lock was taken: waits for it (see the module docs).
    #[cfg(not(loom))]
    #[cold]
    #[inline(never)]
    fn take_contended(&self) {
        crate::loom::reached("spin_lock.contended");
        let backoff = Backoff::new();
        let mut sleep_ns = 1_000;
        loop {
            if backoff.is_completed() {
                pause(sleep_ns);
                sleep_ns = (sleep_ns * 2).min(MAX_SLEEP_NS);
            } else {
                backoff.snooze();
            }
            if self.try_take() {
                return;
            }
        }
    }

    /// Loom: the lock was taken; waits for a release that lets a try succeed.
    #[cfg(loom)]
    fn take_contended(&self) {
        crate::loom::reached("spin_lock.contended");
        let (mutex, released) = &self.released;
        let mut guard = crate::loom::lock(mutex);
        while !self.try_take() {
            guard = released.wait(guard).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Releases the lock (and under loom wakes its waiters).
    #[inline]
    fn release(&self) {
        self.locked.store(false, RELEASE);
        #[cfg(loom)]
        {
            let _guard = crate::loom::lock(&self.released.0);
            self.released.1.notify_all();
        }
    }
}

/// Releases the lock when the section returns or unwinds.
struct Release<'a, T>(&'a SpinLock<T>);

impl<T> Drop for Release<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Sleeps `ns`.
#[cfg(not(loom))]
fn pause(ns: u64) {
    std::thread::sleep(std::time::Duration::from_nanos(ns));
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn sections_on_many_threads_add_up() {
        let lock = Arc::new(SpinLock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        lock.with(|n| *n += 1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(lock.with(|n| *n), 40_000);
    }

    #[test]
    fn a_section_that_unwinds_releases_the_lock() {
        let lock = SpinLock::new(1);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            lock.with(|_| panic!("inside the section"))
        }));
        assert!(caught.is_err());
        assert_eq!(lock.with(|n| *n), 1, "taken again after the unwind");
    }

    #[test]
    fn a_waiter_gets_the_lock_after_a_section_longer_than_its_spins() {
        // A section should never be this long; this one sleeps 5 ms inside, long past the
        // waiter's spins and yields, so the waiter ends up in its sleeping steps.
        let lock = Arc::new(SpinLock::new(Vec::new()));
        let (taken_tx, taken_rx) = std::sync::mpsc::channel();
        let (waiting_tx, waiting_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                lock.with(|v| {
                    taken_tx.send(()).unwrap();
                    waiting_rx.recv().unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    v.push("holder");
                })
            })
        };
        taken_rx.recv().unwrap();
        let waiter = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                waiting_tx.send(()).unwrap();
                lock.with(|v| v.push("waiter"))
            })
        };
        holder.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(lock.with(|v| v.clone()), ["holder", "waiter"]);
    }
}
