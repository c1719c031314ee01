//! Condition variables for a workload's `wait` / `signal` / `broad` / `sync` events on the
//! async runtimes, built from the runtime's own `Notify` and its mutex.
//!
//! rt-app runs these events on a `pthread_cond_t`: `wait` releases the mutex the thread holds,
//! blocks until a signal, and locks the mutex again; a `signal` wakes one thread waiting *now*
//! and is lost when none waits; `broad` wakes every one waiting now. A runtime's `Notify` is
//! close but not the same: its `notify_one` stores a permit when nobody waits, which would let
//! a later `wait` through at once. So each [`Cond`] counts its waiters and signals only a
//! counted one:
//!
//! 1. `wait` creates the `Notified` future and polls it once (it is now queued in the
//!    `Notify`, with the task's waker) *before* counting itself in `waiting` and *before*
//!    releasing the mutex, so a signal that sees it counted finds it queued, and one sent
//!    after the unlock cannot be missed (pthread's atomic release-and-block);
//! 2. `signal` takes one from the count, if it is not zero, and calls `notify_one` (which
//!    hands the notification to the first queued waiter); with a zero count it does nothing;
//! 3. `broad` zeroes the count and calls `notify_waiters`.
//!
//! With the signaller holding the mutex, as rt-app's files do, a counted waiter is always
//! queued, so no permit is ever stored and no signal is lost or duplicated. A `signal` or
//! `broad` sent without the mutex may race a waiter between its poll and its count: it then
//! either misses that waiter (as a pthread signal sent just before the wait would) or, after a
//! `broad`, leaves a count for a waiter already woken, so a later signal stores a permit and
//! lets one later wait through at once: a spurious wake-up, which `pthread_cond_wait` permits
//! too. Like rt-app, a wait is not wrapped in a predicate loop.

use super::jobs::until_end;
use super::AsyncTimer;
use crate::spin::Stopped;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;

/// One named condition variable of a run.
pub struct Cond<E: AsyncTimer> {
    /// The runtime's `Notify` its waiters queue in.
    notify: E::Notify,
    /// Waiters counted and not yet signalled (see the module docs).
    waiting: AtomicUsize,
}

impl<E: AsyncTimer> Cond<E> {
    /// A condition with no waiter.
    pub fn new() -> Cond<E> {
        Cond {
            notify: E::new_notify(),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Wakes one counted waiter, if there is one (rt-app `signal`).
    pub fn signal(&self) {
        let taken = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| w.checked_sub(1));
        if taken.is_ok() {
            E::notify_one(&self.notify);
        }
    }

    /// Wakes every waiter (rt-app `broad`).
    pub fn broadcast(&self) {
        if self.waiting.swap(0, Ordering::AcqRel) > 0 {
            E::notify_waiters(&self.notify);
        }
    }

    /// Releases `guard` (the caller's lock of `mutex`), waits for a signal or the end of the
    /// run (`CLOCK_MONOTONIC` ns `end`), then locks `mutex` again and returns the new guard.
    ///
    /// # Errors
    /// [`Stopped`] if the run ended first; the mutex is then not locked again.
    pub async fn wait(
        &self,
        mutex: Arc<E::Mutex>,
        guard: E::Guard,
        end: u64,
    ) -> Result<E::Guard, Stopped> {
        let mut notified = pin!(E::notified(&self.notify));
        // Step 1: queue the waiter with this task's waker before it counts and unlocks.
        let first = std::future::poll_fn(|cx| Poll::Ready(notified.as_mut().poll(cx))).await;
        self.waiting.fetch_add(1, Ordering::AcqRel);
        drop(guard);
        if first.is_pending() {
            until_end::<E, _>(notified, end).await?;
        }
        Ok(E::lock(mutex).await)
    }
}

impl<E: AsyncTimer> Default for Cond<E> {
    fn default() -> Cond<E> {
        Cond::new()
    }
}
