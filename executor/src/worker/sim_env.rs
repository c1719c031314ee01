//! The simulator's side of a worker: parking without a thread, and the hooks its event loop
//! uses to wake virtual workers (`sim/driver.rs`).
//!
//! A virtual worker runs the same [`step`](super::step) as a thread. Only parking differs: the
//! thread's park blocks in the kernel until notified or until the earliest timer; a virtual
//! worker's park does the same bookkeeping (it leaves the unparked count, the last searcher
//! rechecks the queues) and returns at once, and the event loop decides when it wakes: when a
//! notifier chose it (`Idle::worker_to_notify` removed it from the sleepers), or when the
//! earliest timer is due (the loop is the timer waiter: it wakes a parked worker exactly at the
//! deadline; the kernel's wake-up latency is not modelled).

use super::{Core, Env, Shared};
use crate::runtime::context;
use crate::sim::EventKind;
use crate::task::Notified;

/// The simulator's environment: parks by returning to the event loop.
pub(crate) struct SimEnv;

impl Env for SimEnv {
    fn park(&mut self, mut core: Box<Core>, shared: &Shared) -> Box<Core> {
        core.park_enter(shared);
        core
    }
}

impl Core {
    /// This worker's index.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// Whether a poll continues on this worker at its next step (a charged `work` slice).
    pub(crate) fn has_resume(&self) -> bool {
        self.resume.is_some()
    }

    /// Keeps `task` for this worker's next step: its poll continues after a charged slice.
    pub(crate) fn set_resume(&mut self, task: Notified) {
        debug_assert!(self.resume.is_none(), "two continuations on one worker");
        self.resume = Some(task);
    }

    /// A parked virtual worker was chosen by a notifier (it is counted as searching).
    pub(crate) fn wake_notified(&mut self) {
        crate::sim::hook::record(EventKind::Unpark, 0, 0, 0);
        self.is_searching = true;
    }

    /// A parked virtual worker wakes because timers are due at `now`: as the thread's timed park
    /// does, it leaves the parked state on its own and fires them, its core in the context so
    /// the woken tasks join its local queue.
    pub(crate) fn wake_for_timers(mut self: Box<Self>, shared: &Shared, now: u64) -> Box<Self> {
        crate::sim::hook::record(EventKind::Unpark, 0, 1, 0);
        shared.idle.unpark_self(self.index);
        self.is_searching = true;
        context::with_core(self, || shared.fire_timers(now))
    }
}
