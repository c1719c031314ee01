//! The event loop: which virtual worker steps next, and when virtual time advances.
//!
//! # The model
//!
//! Each virtual worker is either *ready* at a virtual time `next_at` (it runs its next
//! `worker::step` then) or *parked*. One iteration:
//!
//! 1. Parked workers that a notifier chose since the last iteration (`Idle::worker_to_notify`
//!    removed them from the sleepers, exactly as it would wake a thread) become ready now.
//! 2. The earliest candidate event is found: the smallest `next_at` of a ready worker, and, if
//!    some worker is parked, the earliest timer deadline (the loop is the timer waiter; a busy
//!    worker fires due timers itself at its next step or cooperative check, as a thread does).
//! 3. Among candidates at the same instant, one is drawn from the *scheduling* stream; virtual
//!    time moves to that instant (never backwards).
//! 4. A timer event wakes one parked worker (drawn from the same stream), which fires the due
//!    timers into its local queue. A worker event runs one `step` with the worker's core and
//!    per-poll context swapped in. If the poll charged `work` slices, the worker is busy until
//!    `now + charged` and its poll continues then (`sim/hook.rs`); else it is ready again at
//!    `now + poll_overhead`. A worker whose step parked is parked.
//!
//! Time therefore advances only when every ready worker is busy or parked: idle stretches are
//! jumped over, and a run's length in real time depends on its number of events, not on its
//! virtual duration.

use super::Sim;
use crate::context;
use crate::worker::{AnyCore, Step};

/// What one iteration did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Advance {
    /// An event at or before the limit was processed.
    Event,
    /// No event at or before the limit: time stays (the caller decides where it goes).
    Idle {
        /// Whether any event is pending at all (after the limit).
        pending: bool,
    },
}

/// A candidate for the next event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Candidate {
    /// A ready worker's step.
    Worker(usize),
    /// The earliest timer, for a parked worker.
    Timer,
}

impl Sim {
    /// Processes the earliest pending event if it is at or before `until` (see the module docs).
    pub(super) fn advance(&mut self, until: u64) -> Advance {
        let now = self.state.now.get();
        self.wake_notified();
        let mut at = u64::MAX;
        let mut ties: heapless::Vec<Candidate, { super::MAX_VIRTUAL_WORKERS + 1 }> =
            heapless::Vec::new();
        let mut any_parked = false;
        for (i, w) in self.workers.iter().enumerate() {
            if w.parked {
                any_parked = true;
                continue;
            }
            consider(&mut at, &mut ties, w.next_at, Candidate::Worker(i));
        }
        if any_parked {
            if let Some(deadline) = self.handle.shared().timers().next_deadline() {
                consider(&mut at, &mut ties, deadline.max(now), Candidate::Timer);
            }
        }
        if ties.is_empty() || at > until {
            return Advance::Idle {
                pending: !ties.is_empty(),
            };
        }
        let chosen = if ties.len() == 1 {
            ties[0]
        } else {
            ties[self.sched_rng.below(ties.len() as u32) as usize]
        };
        if at == now {
            self.steps_at_instant += 1;
            if self.steps_at_instant > self.max_steps_per_instant {
                self.stuck(at);
            }
        } else {
            self.steps_at_instant = 0;
        }
        self.state.now.set(at);
        match chosen {
            Candidate::Worker(i) => self.step_worker(i, at),
            Candidate::Timer => self.wake_for_timers(at),
        }
        Advance::Event
    }

    /// Step 1: parked workers chosen by a notifier become ready now.
    fn wake_notified(&mut self) {
        let now = self.state.now.get();
        for i in 0..self.workers.len() {
            if self.workers[i].parked && !self.handle.shared().idle_of(i).is_parked(i) {
                let w = &mut self.workers[i];
                w.parked = false;
                w.next_at = now;
                self.state.worker.set(Some(i));
                if let Some(core) = w.core.as_mut() {
                    core.wake_notified();
                }
                self.state.worker.set(None);
            }
        }
    }

    /// A timer event: one parked worker (drawn from the scheduling stream) fires the due timers.
    fn wake_for_timers(&mut self, now: u64) {
        let parked: heapless::Vec<usize, { super::MAX_VIRTUAL_WORKERS }> = self
            .workers
            .iter()
            .enumerate()
            .filter(|(_, w)| w.parked)
            .map(|(i, _)| i)
            .collect();
        let i = match parked.len() {
            0 => return,
            1 => parked[0],
            n => parked[self.sched_rng.below(n as u32) as usize],
        };
        let handle = self.handle.clone();
        self.with_worker(i, |core| core.wake_for_timers(handle.shared(), now));
        let w = &mut self.workers[i];
        w.parked = false;
        w.next_at = now;
    }

    /// A worker event: one `worker::step` of worker `i` at `now`.
    fn step_worker(&mut self, i: usize, now: u64) {
        let continues = self.workers[i]
            .core
            .as_ref()
            .is_some_and(|core| core.has_resume());
        let handle = self.handle.clone();
        let mut step = Step::Polled;
        self.with_worker(i, |core| {
            let (core, s) = core.step(handle.shared());
            step = s;
            core
        });
        let charged = self.state.busy.replace(0);
        self.state.continuing.set(0);
        let w = &mut self.workers[i];
        match step {
            Step::Polled => {
                let overhead = if continues || !self.cost_model {
                    0
                } else {
                    self.poll_overhead
                };
                let cost = charged.saturating_add(overhead);
                let cpu = &self.state.cpu[i];
                cpu.set(cpu.get().saturating_add(cost));
                w.next_at = now.saturating_add(cost);
            }
            Step::Parked | Step::Shutdown => w.parked = true,
        }
    }

    /// Runs `f` on worker `i`'s core with the thread context switched to that worker.
    fn with_worker(&mut self, i: usize, f: impl FnOnce(AnyCore) -> AnyCore) {
        let w = &mut self.workers[i];
        let Some(core) = w.core.take() else {
            return;
        };
        let outer = context::switch_worker(Some(i), w.saved);
        self.state.worker.set(Some(i));
        let core = f(core);
        self.state.worker.set(None);
        let w = &mut self.workers[i];
        w.saved = context::switch_worker(None, outer);
        w.core = Some(core);
    }

    /// The run made no progress in time for too long: report it with the seed.
    #[cold]
    fn stuck(&self, at: u64) -> ! {
        panic!(
            "kairos::sim: {} steps at virtual time {} ns without time advancing (seed {}): a task \
             yields or wakes itself in a loop without sleeping or `work`, so virtual time cannot \
             move. Give the loop a cost (`kairos::work`, a sleep), set \
             sim::Builder::poll_overhead, or raise sim::Builder::max_steps_per_instant if the \
             scenario really needs that many steps at one instant",
            self.steps_at_instant, at, self.seed
        )
    }
}

/// Keeps the candidates with the earliest time.
fn consider<const N: usize>(
    at: &mut u64,
    ties: &mut heapless::Vec<Candidate, N>,
    time: u64,
    candidate: Candidate,
) {
    if time < *at {
        *at = time;
        ties.clear();
    }
    if time == *at {
        let _ = ties.push(candidate);
    }
}
