//! The simulator's side of a worker: parking without a thread, and the hooks its event loop
//! uses to wake virtual workers (`sim/driver.rs`).
//!
//! A virtual worker runs the same [`step`] as a thread. Only parking differs: the
//! thread's park blocks in the kernel until notified or until the earliest timer; a virtual
//! worker's park does the same bookkeeping (it leaves the unparked count, the last searcher
//! rechecks the queues) and returns at once, and the event loop decides when it wakes: when a
//! notifier chose it (`Idle::worker_to_notify` removed it from the sleepers), or when the
//! earliest timer is due (the loop is the timer waiter: it wakes a parked worker exactly at the
//! deadline; the kernel's wake-up latency is not modelled).

use super::{step, AnyCore, Core, Env, Family, Shared, Step};
use crate::event::{self, EventKind};
use crate::task::Notified;

/// The simulator's environment: parks by returning to the event loop.
pub(crate) struct SimEnv;

impl Env for SimEnv {
    fn park<F: Family>(&mut self, mut core: Box<Core<F>>, shared: &Shared) -> Box<Core<F>> {
        core.park_enter(shared);
        core
    }
}

impl AnyCore {
    /// One [`step`] of this virtual worker.
    pub(crate) fn step(self, shared: &Shared) -> (AnyCore, Step) {
        match self {
            AnyCore::Fifo(core) => {
                let (core, s) = step(core, shared, &mut SimEnv);
                (AnyCore::Fifo(core), s)
            }
            AnyCore::Ordered(core) => {
                let (core, s) = step(core, shared, &mut SimEnv);
                (AnyCore::Ordered(core), s)
            }
            AnyCore::Classes(core) => {
                let (core, s) = step(core, shared, &mut SimEnv);
                (AnyCore::Classes(core), s)
            }
        }
    }

    /// Whether a poll continues on this worker at its next step (a charged `work` slice).
    pub(crate) fn has_resume(&self) -> bool {
        with_any_core!(self, core => core.resume.is_some())
    }

    /// Keeps `task` for this worker's next step: its poll continues after a charged slice.
    pub(crate) fn set_resume(&mut self, task: Notified) {
        with_any_core!(self, core => {
            debug_assert!(core.resume.is_none(), "two continuations on one worker");
            core.resume = Some(task);
        })
    }

    /// A parked virtual worker was chosen by a notifier (it is counted as searching).
    pub(crate) fn wake_notified(&mut self) {
        event::emit(EventKind::Unpark, || (0, 0, 0));
        with_any_core!(self, core => core.is_searching = true)
    }

    /// A parked virtual worker wakes because timers are due at `now`: as the thread's timed park
    /// does, it leaves the parked state on its own and fires them, its core in the context so
    /// the woken tasks join its local queue.
    pub(crate) fn wake_for_timers(self, shared: &Shared, now: u64) -> AnyCore {
        event::emit(EventKind::Unpark, || (0, 1, 0));
        match self {
            AnyCore::Fifo(core) => AnyCore::Fifo(core.wake_for_timers(shared, now)),
            AnyCore::Ordered(core) => AnyCore::Ordered(core.wake_for_timers(shared, now)),
            AnyCore::Classes(core) => AnyCore::Classes(core.wake_for_timers(shared, now)),
        }
    }
}
