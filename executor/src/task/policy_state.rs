//! A task's policy state: its scheduling parameters as the run queues read them, and what the
//! policies account on it (virtual runtime, ready stamp). The user's parameters it starts from
//! are [`Sched`](crate::Sched).
//!
//! Each task header holds one [`PolicyState`]. It is written when the task is spawned, by the task
//! itself while it runs (`kairos::task::set_deadline` and friends), and by the worker that polls
//! it (fair share's virtual runtime, the ready stamp). It is read by whoever queues the task.
//!
//! # Why plain `Relaxed` atomics are enough
//!
//! Every write and every read that matters happens while the writer or reader owns the task's
//! scheduling right: the poller (holder of `RUNNING`) or the holder of the `Notified` reference
//! that is about to queue it. Those hand-offs go through the state word (`state.rs`) with
//! acquire/release ordering, which orders the fields too. The atomics only make the rare racy
//! read harmless (a `JoinHandle` holder reading the deadline while the task changes it sees the
//! old or the new value, never a torn one) and keep the header `Sync` without `unsafe`.

use super::budget::{self, Budget};
use crate::loom::atomic::{AtomicI8, AtomicU64, AtomicU8, Ordering};

/// `deadline` value of a task without a deadline.
pub(crate) const NO_DEADLINE: u64 = u64::MAX;

pub(crate) use crate::policy::fair::UNPLACED;

/// Per-task scheduling parameters and accounting. 48 bytes.
pub(crate) struct PolicyState {
    /// Absolute deadline, nanoseconds on the runtime clock (`time::Instant`), or
    /// [`NO_DEADLINE`]. Orders the task under `Edf`.
    deadline: AtomicU64,
    /// Virtual runtime under `Fair` (virtual nanoseconds on the queue the task last ran on), or
    /// [`UNPLACED`].
    vruntime: AtomicU64,
    /// When the task last became runnable (ns on the fast clock, `clock::fast_ns`), for the
    /// scheduling-latency histogram. 0: not stamped.
    ready_at: AtomicU64,
    /// Base priority, 0 lowest, 255 highest. Orders the task under `Priority`.
    priority: AtomicU8,
    /// Nice value, -20..=19. Gives the task's weight under `Fair`.
    nice: AtomicI8,
    /// Name for per-name metrics; set at spawn, never changed.
    name: Option<&'static str>,
    /// Slot of the bandwidth server of a task spawned with a budget (`Sched::budget`) in the
    /// process's table (`task/budget.rs`), 0 for none. A slot index rather than a box so that
    /// it fits the padding after `priority` and `nice`: the header does not grow. Set at spawn,
    /// released when the task is freed.
    budget: u32,
}

impl PolicyState {
    /// State for a task spawned with these parameters.
    pub(crate) fn new(
        deadline: Option<u64>,
        priority: u8,
        nice: i8,
        name: Option<&'static str>,
    ) -> PolicyState {
        PolicyState {
            deadline: AtomicU64::new(deadline.unwrap_or(NO_DEADLINE)),
            vruntime: AtomicU64::new(UNPLACED),
            ready_at: AtomicU64::new(0),
            priority: AtomicU8::new(priority),
            nice: AtomicI8::new(nice.clamp(-20, 19)),
            name,
            budget: 0,
        }
    }

    /// The same state with a bandwidth server of `runtime` ns per `period` ns (clamped as
    /// `Server::new` says).
    pub(crate) fn with_budget(mut self, runtime: u64, period: u64) -> PolicyState {
        budget::release(self.budget);
        self.budget = budget::insert(runtime, period);
        self
    }

    /// The bandwidth server, if the task has a budget.
    #[inline]
    pub(crate) fn budget(&self) -> Option<Budget> {
        Budget::of(self.budget)
    }

    /// The absolute deadline in ns, if any.
    #[inline]
    pub(crate) fn deadline(&self) -> Option<u64> {
        match self.deadline.load(Ordering::Relaxed) {
            NO_DEADLINE => None,
            d => Some(d),
        }
    }

    /// Sets or clears the absolute deadline.
    #[inline]
    pub(crate) fn set_deadline(&self, deadline: Option<u64>) {
        // A real deadline of u64::MAX ns (584 years) is read as "none"; nothing is lost.
        self.deadline
            .store(deadline.unwrap_or(NO_DEADLINE), Ordering::Relaxed);
    }

    /// The base priority.
    #[inline]
    pub(crate) fn priority(&self) -> u8 {
        self.priority.load(Ordering::Relaxed)
    }

    /// Sets the base priority.
    #[inline]
    pub(crate) fn set_priority(&self, priority: u8) {
        self.priority.store(priority, Ordering::Relaxed);
    }

    /// The nice value.
    #[inline]
    pub(crate) fn nice(&self) -> i8 {
        self.nice.load(Ordering::Relaxed)
    }

    /// Sets the nice value, clamped to -20..=19.
    #[inline]
    pub(crate) fn set_nice(&self, nice: i8) {
        self.nice.store(nice.clamp(-20, 19), Ordering::Relaxed);
    }

    /// The virtual runtime, or [`UNPLACED`].
    #[inline]
    pub(crate) fn vruntime(&self) -> u64 {
        self.vruntime.load(Ordering::Relaxed)
    }

    /// Sets the virtual runtime.
    #[inline]
    pub(crate) fn set_vruntime(&self, vruntime: u64) {
        self.vruntime.store(vruntime, Ordering::Relaxed);
    }

    /// When the task last became runnable (0: unknown), on the fast clock (`clock::fast_ns`:
    /// compared only with another fast reading, the poll's start).
    #[inline]
    pub(crate) fn ready_at(&self) -> u64 {
        self.ready_at.load(Ordering::Relaxed)
    }

    /// Stamps the moment the task became runnable.
    #[inline]
    pub(crate) fn set_ready_at(&self, now: u64) {
        self.ready_at.store(now, Ordering::Relaxed);
    }

    /// The metrics name.
    #[inline]
    pub(crate) fn name(&self) -> Option<&'static str> {
        self.name
    }
}

impl Drop for PolicyState {
    fn drop(&mut self) {
        budget::release(self.budget);
    }
}

impl Default for PolicyState {
    /// No deadline, priority 0, nice 0, no name.
    fn default() -> PolicyState {
        PolicyState::new(None, 0, 0, None)
    }
}
