//! The task state word: lifecycle flags and the reference count in one `AtomicUsize`.
//!
//! Every party that touches a task (run queues, the worker polling it, wakers, the `JoinHandle`,
//! the runtime's task registry) coordinates through this one word, so each transition is a single
//! compare-and-swap that checks and updates all flags at once. The layout and protocol follow the
//! state machine of tokio's `runtime/task/state.rs` and async-task's `state.rs`, rewritten for
//! kairos' needs.
//!
//! # Bits
//!
//! | bit | name            | meaning and invariant                                                   |
//! |-----|-----------------|-------------------------------------------------------------------------|
//! | 0   | `RUNNING`       | someone (a worker, or shutdown) has exclusive access to the future. Set by `transition_to_running` / `transition_to_shutdown`, cleared by `transition_to_idle` / `transition_to_complete`. Never set together with `COMPLETE`. |
//! | 1   | `COMPLETE`      | the future is gone and the stage holds the output (or the output was consumed). Final: never cleared. |
//! | 2   | `NOTIFIED`      | the task must be polled again. While the task is not `RUNNING`, exactly one `Notified` reference exists for it (in a run queue or on its way there). While `RUNNING`, no `Notified` exists and the poller resubmits the task when it sees this bit at the end of the poll. |
//! | 3   | `CANCELLED`     | abort or shutdown was requested. The next party that gets `RUNNING` drops the future instead of polling it. Never cleared. |
//! | 4   | `JOIN_INTEREST` | a `JoinHandle` exists. While set, the output belongs to the handle once `COMPLETE` is set; once cleared before completion, the task drops its own output. |
//! | 5   | `JOIN_WAKER`    | the join waker slot holds the `JoinHandle`'s waker and the task may read it. The handle writes the slot only while this bit is clear and `COMPLETE` is clear; the task reads it only if this bit was set in the same atomic step that set `COMPLETE`. |
//! | 6.. | ref count       | number of live references: the registry's, one per `Notified`, one per waker, the `JoinHandle`'s. The last one to go frees the task. |
//!
//! A new task starts as `NOTIFIED | JOIN_INTEREST` with three references: the registry's, the
//! first `Notified`, and the `JoinHandle`'s.
//!
//! # Memory ordering
//!
//! Transitions that hand the future or the output from one thread to another use `AcqRel`: the
//! `Release` half publishes what the previous owner wrote into the task cell, the `Acquire` half
//! makes it visible to the next owner. Reference increments are `Relaxed` (a new reference is made
//! from an existing one, which already synchronises); decrements are `AcqRel` so the thread that
//! frees the task sees every write made through every other reference, as with `Arc`.

use crate::loom::atomic::{AtomicUsize, Ordering};
use std::fmt;

/// Exclusive access to the future is held by someone.
const RUNNING: usize = 1 << 0;
/// The future has completed or was cancelled; the stage holds the output.
const COMPLETE: usize = 1 << 1;
/// The task must be (re)scheduled.
const NOTIFIED: usize = 1 << 2;
/// Abort or shutdown was requested.
const CANCELLED: usize = 1 << 3;
/// A `JoinHandle` exists.
const JOIN_INTEREST: usize = 1 << 4;
/// The join waker slot is populated and readable by the task.
const JOIN_WAKER: usize = 1 << 5;

/// All lifecycle bits; the rest of the word is the reference count.
const LIFECYCLE_MASK: usize = 0b11_1111;
/// Shift of the reference count.
const REF_SHIFT: usize = LIFECYCLE_MASK.count_ones() as usize;
/// One reference.
const REF_ONE: usize = 1 << REF_SHIFT;

/// Initial state: queued once, with a `JoinHandle`, and three references (registry, the first
/// `Notified`, the `JoinHandle`).
const INITIAL: usize = NOTIFIED | JOIN_INTEREST | (3 * REF_ONE);

/// Ordering of the `RUNNING -> COMPLETE` transition, which publishes the output to the
/// `JoinHandle`.
///
/// `--cfg kairos_loom_weaken` weakens it to `Relaxed` on purpose: the loom model
/// `complete_vs_join_read` must then report a data race on the task's stage, which shows that the
/// model really checks this ordering (`scripts/loom-mutation.sh` runs exactly that).
#[cfg(not(kairos_loom_weaken))]
const COMPLETE_ORDERING: Ordering = Ordering::AcqRel;
#[cfg(kairos_loom_weaken)]
const COMPLETE_ORDERING: Ordering = Ordering::Relaxed;

/// The atomic state word of one task.
pub(crate) struct State {
    /// Lifecycle bits (low six) and reference count (the rest).
    val: AtomicUsize,
}

/// A copy of the state word at one instant, with readable accessors.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

/// Outcome of [`State::transition_to_running`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "the caller must poll, cancel, or drop its reference as the outcome says"]
pub(crate) enum TransitionToRunning {
    /// The caller now owns the future and must poll it.
    Success,
    /// The caller owns the future but the task was cancelled: drop the future and complete.
    Cancelled,
    /// The task is running elsewhere or complete: the caller only drops its reference.
    Failed,
}

/// Outcome of [`State::transition_to_idle`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "ignoring it loses a wake, leaks the task, or never drops a cancelled future"]
pub(crate) enum TransitionToIdle {
    /// Idle; the caller's reference was released in the same step (and was not the last one).
    Ok,
    /// Idle but woken during the poll: the caller's reference becomes the new `Notified` and the
    /// caller must submit it.
    OkNotified,
    /// Idle and the caller's reference was the last: the caller frees the task.
    OkDealloc,
    /// Cancelled during the poll: the caller still owns the future and must cancel it.
    Cancelled,
}

/// Outcome of a wake that consumes a reference ([`State::transition_to_notified_by_val`]).
#[derive(Debug, PartialEq, Eq)]
#[must_use = "ignoring it loses the wake (`Submit`) or leaks the task (`Dealloc`)"]
pub(crate) enum TransitionToNotifiedByVal {
    /// Nothing to do; the waker's reference was released and was not the last.
    DoNothing,
    /// The waker's reference became a `Notified`: submit it to a run queue.
    Submit,
    /// The waker's reference was the last: free the task.
    Dealloc,
}

/// Outcome of a wake that keeps the waker ([`State::transition_to_notified_by_ref`]).
#[derive(Debug, PartialEq, Eq)]
#[must_use = "ignoring `Submit` loses the wake and leaks the reference taken for it"]
pub(crate) enum TransitionToNotifiedByRef {
    /// Nothing to do.
    DoNothing,
    /// A new reference was taken for a `Notified`: submit it to a run queue.
    Submit,
}

impl State {
    /// State of a freshly spawned task (see [`INITIAL`]).
    pub(crate) fn new() -> State {
        State {
            val: AtomicUsize::new(INITIAL),
        }
    }

    /// Reads the current state.
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Ordering::Acquire))
    }

    /// Applies `f` until its compare-and-swap succeeds. `f` returns the outcome and, if the state
    /// must change, the new state.
    #[inline]
    fn update<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut curr = Snapshot(self.val.load(Ordering::Acquire));
        loop {
            let (out, next) = f(curr);
            let Some(next) = next else { return out };
            match self.val.compare_exchange_weak(
                curr.0,
                next.0,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return out,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// A worker took the task's `Notified` out of a run queue and wants to poll it.
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        self.update(|mut s| {
            debug_assert!(s.is_notified(), "polling a task that was not notified");
            if s.is_running() || s.is_complete() {
                return (TransitionToRunning::Failed, None);
            }
            s.set(RUNNING);
            s.unset(NOTIFIED);
            let out = if s.is_cancelled() {
                TransitionToRunning::Cancelled
            } else {
                TransitionToRunning::Success
            };
            (out, Some(s))
        })
    }

    /// The poll returned `Pending`: give up `RUNNING`, and either hand the poller's reference to a
    /// new `Notified` (woken during the poll) or release it.
    pub(crate) fn transition_to_idle(&self) -> TransitionToIdle {
        self.update(|mut s| {
            debug_assert!(s.is_running());
            if s.is_cancelled() {
                return (TransitionToIdle::Cancelled, None);
            }
            s.unset(RUNNING);
            let out = if s.is_notified() {
                TransitionToIdle::OkNotified
            } else {
                s.ref_dec();
                if s.ref_count() == 0 {
                    TransitionToIdle::OkDealloc
                } else {
                    TransitionToIdle::Ok
                }
            };
            (out, Some(s))
        })
    }

    /// The future finished (or was dropped): `RUNNING` becomes `COMPLETE` in one step. Returns the
    /// state just before, whose `JOIN_INTEREST` and `JOIN_WAKER` bits decide who owns the output
    /// and whether the join waker must be woken.
    #[must_use = "the previous state says who owns the output and whether to wake the join waker"]
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_xor(RUNNING | COMPLETE, COMPLETE_ORDERING));
        debug_assert!(prev.is_running() && !prev.is_complete());
        prev
    }

    /// A waker is consumed by `wake()`: its reference either becomes the `Notified` or is released.
    pub(crate) fn transition_to_notified_by_val(&self) -> TransitionToNotifiedByVal {
        self.update(|mut s| {
            let out = if s.is_running() {
                // The poller resubmits when it sees NOTIFIED; it holds a reference, so ours is
                // not the last.
                s.set(NOTIFIED);
                s.ref_dec();
                debug_assert!(s.ref_count() > 0);
                TransitionToNotifiedByVal::DoNothing
            } else if s.is_complete() || s.is_notified() {
                s.ref_dec();
                if s.ref_count() == 0 {
                    TransitionToNotifiedByVal::Dealloc
                } else {
                    TransitionToNotifiedByVal::DoNothing
                }
            } else {
                s.set(NOTIFIED);
                TransitionToNotifiedByVal::Submit
            };
            (out, Some(s))
        })
    }

    /// A waker is used by `wake_by_ref()`: a new reference is taken for the `Notified` if the task
    /// must be submitted.
    pub(crate) fn transition_to_notified_by_ref(&self) -> TransitionToNotifiedByRef {
        self.update(|mut s| {
            if s.is_complete() || s.is_notified() {
                (TransitionToNotifiedByRef::DoNothing, None)
            } else if s.is_running() {
                s.set(NOTIFIED);
                (TransitionToNotifiedByRef::DoNothing, Some(s))
            } else {
                s.set(NOTIFIED);
                s.ref_inc();
                (TransitionToNotifiedByRef::Submit, Some(s))
            }
        })
    }

    /// `JoinHandle::abort`: mark the task cancelled. Returns `true` if the task was idle, in which
    /// case a reference was taken for a new `Notified` the caller must submit, so that a worker
    /// drops the future.
    #[must_use = "`true` means a reference was taken for a `Notified` that must be submitted"]
    pub(crate) fn transition_to_notified_and_cancel(&self) -> bool {
        self.update(|mut s| {
            if s.is_cancelled() || s.is_complete() {
                (false, None)
            } else if s.is_running() || s.is_notified() {
                // The poller or the worker that pops the Notified sees CANCELLED.
                s.set(CANCELLED);
                (false, Some(s))
            } else {
                s.set(CANCELLED | NOTIFIED);
                s.ref_inc();
                (true, Some(s))
            }
        })
    }

    /// Runtime shutdown: mark the task cancelled and, if nobody is running it and it is not
    /// complete, take `RUNNING` so the caller can drop the future. Returns whether it did.
    #[must_use = "`true` means the caller holds `RUNNING` and must drop the future"]
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.update(|mut s| {
            let claim = !s.is_running() && !s.is_complete();
            s.set(CANCELLED);
            if claim {
                s.set(RUNNING);
            }
            (claim, Some(s))
        })
    }

    /// `JoinHandle` dropped: clear `JOIN_INTEREST` unless the task already completed, in which
    /// case `Err` tells the handle that it owns the output and must drop it.
    pub(crate) fn unset_join_interest(&self) -> Result<(), ()> {
        self.update(|mut s| {
            debug_assert!(s.is_join_interested());
            if s.is_complete() {
                return (Err(()), None);
            }
            s.unset(JOIN_INTEREST);
            (Ok(()), Some(s))
        })
    }

    /// The `JoinHandle` wrote its waker into the empty slot: publish it to the task. Fails (the
    /// task completed first) with the current state.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|mut s| {
            debug_assert!(s.is_join_interested() && !s.is_join_waker_set());
            if s.is_complete() {
                return (Err(s), None);
            }
            s.set(JOIN_WAKER);
            (Ok(s), Some(s))
        })
    }

    /// The `JoinHandle` wants to replace its waker: take the slot back from the task. Fails (the
    /// task completed first) with the current state.
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|mut s| {
            debug_assert!(s.is_join_interested() && s.is_join_waker_set());
            if s.is_complete() {
                return (Err(s), None);
            }
            s.unset(JOIN_WAKER);
            (Ok(s), Some(s))
        })
    }

    /// Takes one more reference (a cloned waker).
    #[inline]
    pub(crate) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Ordering::Relaxed);
        // As `Arc` does: a count this high means references are being leaked in a loop; going on
        // would overflow into a use-after-free.
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Releases `n` references; returns `true` if they were the last ones.
    #[inline]
    pub(crate) fn ref_dec_n(&self, n: usize) -> bool {
        let prev = Snapshot(self.val.fetch_sub(n * REF_ONE, Ordering::AcqRel));
        debug_assert!(prev.ref_count() >= n, "task reference count underflow");
        prev.ref_count() == n
    }

    /// Releases one reference; returns `true` if it was the last one.
    #[inline]
    pub(crate) fn ref_dec(&self) -> bool {
        self.ref_dec_n(1)
    }
}

impl Snapshot {
    fn set(&mut self, bits: usize) {
        self.0 |= bits;
    }
    fn unset(&mut self, bits: usize) {
        self.0 &= !bits;
    }
    fn ref_inc(&mut self) {
        self.0 += REF_ONE;
    }
    fn ref_dec(&mut self) {
        debug_assert!(self.ref_count() > 0);
        self.0 -= REF_ONE;
    }
    /// `RUNNING` bit.
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    /// `COMPLETE` bit.
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    /// `NOTIFIED` bit.
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    /// `CANCELLED` bit.
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    /// `JOIN_INTEREST` bit.
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    /// `JOIN_WAKER` bit.
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    /// Number of live references.
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("ref_count", &self.ref_count())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn initial_state_has_three_refs_and_is_notified() {
        let s = State::new().load();
        assert!(s.is_notified() && s.is_join_interested());
        assert!(!s.is_running() && !s.is_complete() && !s.is_cancelled());
        assert_eq!(s.ref_count(), 3);
    }

    #[test]
    fn wake_during_poll_is_not_lost() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), TransitionToRunning::Success);
        // A wake while running only sets NOTIFIED ...
        assert_eq!(
            state.transition_to_notified_by_ref(),
            TransitionToNotifiedByRef::DoNothing
        );
        // ... and the end of the poll hands the poller's reference to a new Notified.
        assert_eq!(state.transition_to_idle(), TransitionToIdle::OkNotified);
        assert_eq!(state.load().ref_count(), 3);
    }

    #[test]
    fn idle_releases_the_pollers_reference() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(state.transition_to_idle(), TransitionToIdle::Ok);
        assert_eq!(state.load().ref_count(), 2);
        assert!(!state.load().is_notified());
    }

    #[test]
    fn abort_of_idle_task_submits_it_once() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(state.transition_to_idle(), TransitionToIdle::Ok);
        assert!(state.transition_to_notified_and_cancel());
        assert!(!state.transition_to_notified_and_cancel());
        assert_eq!(
            state.transition_to_running(),
            TransitionToRunning::Cancelled
        );
    }

    #[test]
    fn join_handle_drop_after_complete_owns_output() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), TransitionToRunning::Success);
        let prev = state.transition_to_complete();
        assert!(prev.is_join_interested());
        assert!(state.unset_join_interest().is_err());
    }

    #[test]
    fn shutdown_claims_only_idle_tasks() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), TransitionToRunning::Success);
        assert!(!state.transition_to_shutdown());
        assert_eq!(state.transition_to_idle(), TransitionToIdle::Cancelled);
        let idle = State::new();
        assert!(idle.transition_to_shutdown());
        assert!(idle.load().is_running() && idle.load().is_cancelled());
    }
}
