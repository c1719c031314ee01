//! Picking and stealing under the ordered policies (`Edf`, `Priority`, `Fair`).
//!
//! # The rule
//!
//! A worker about to pick looks at the urgency mirrors (`queue/ordered.rs`) of its own queue, of
//! the injector and of every other worker's queue, and takes the most urgent head it sees:
//!
//! 1. its own head, if nothing visible is strictly more urgent (ties stay local: no lock
//!    traffic for equals);
//! 2. else the injector's head, if it is the most urgent (every [`GLOBAL_QUEUE_INTERVAL`]-th
//!    pick the injector also wins ties, so equal-urgency tasks from outside, e.g. no-deadline
//!    tasks under `Edf`, are not starved by a local queue that never empties);
//! 3. else it steals the most urgent task of the worker whose head is most urgent (one task
//!    while it has local work, up to half the victim's queue when it has none). The victim's lock
//!    is only `try_lock`ed: if the owner holds it, the thief falls back to its own queue for this
//!    pick.
//!
//! So, up to the races the mirrors allow, every pick on every worker takes the most urgent
//! runnable task in the runtime: the policy is global, not per worker. With one worker the only
//! other queue is the injector, and every decision is a function of the operations applied.
//!
//! Cost per pick: `2 + workers` atomic loads of mirrors (the other workers' lines move when
//! they push or pop), one uncontended lock of the own queue, and an `O(log n)` pop.

use super::{Core, Picked, RemoteQueue, Shared, GLOBAL_QUEUE_INTERVAL};
use crate::loom::Arc;
use crate::policy::runqueue::Urgency;
use crate::queue::ordered::{Ordered, STEAL_MAX};
use crate::task::Notified;
use crate::time::now_ns;

impl Core {
    /// Steps 1–3 of the module docs for the ordered policies: the most urgent visible task.
    pub(super) fn next_ordered(
        &mut self,
        local: &Arc<Ordered<Notified>>,
        shared: &Shared,
    ) -> Option<Picked> {
        let now = if shared.ages() { now_ns() } else { 0 };
        let own = local.head();
        let global = shared.global_head();
        let (victim, remote) = self.most_urgent_victim(shared);
        let best_other = global.min(remote);
        if best_other < own || (own != Urgency::IDLE && best_other == own && self.global_turn()) {
            if global <= remote {
                if let Some(picked) = self.pop_global(own, shared, now) {
                    return Some(picked);
                }
            } else if let Some(victim) = victim {
                // Local work exists: take only the urgent one. Empty: take a batch.
                let max = if own == Urgency::IDLE {
                    half(shared, victim)
                } else {
                    1
                };
                if let Some(picked) = self.steal_from(victim, local, max, shared, now) {
                    return Some(picked);
                }
            }
        }
        if let Some((key, task)) = local.pop(now) {
            return Some(Picked {
                task,
                key: Some(key),
            });
        }
        self.pop_global(Urgency::IDLE, shared, now)
    }

    /// The injector's head if it is at least as urgent as `bound`.
    fn pop_global(&mut self, bound: Urgency, shared: &Shared, now: u64) -> Option<Picked> {
        let global = shared.global.as_ref()?;
        if global.is_empty() {
            return None;
        }
        let (key, task) = global.pop_if(bound, now)?;
        Some(Picked {
            task,
            key: Some(key),
        })
    }

    /// The injector step of an idle worker (step 3 of `worker/mod.rs`).
    pub(super) fn take_from_global(&mut self, shared: &Shared) -> Option<Picked> {
        let now = if shared.ages() { now_ns() } else { 0 };
        self.pop_global(Urgency::IDLE, shared, now)
    }

    /// One search round of an idle worker: the most urgent victim first, then the injector.
    pub(super) fn steal_ordered(
        &mut self,
        local: &Arc<Ordered<Notified>>,
        shared: &Shared,
    ) -> Option<Picked> {
        let now = if shared.ages() { now_ns() } else { 0 };
        let global = shared.global_head();
        let (victim, remote) = self.most_urgent_victim(shared);
        if let Some(victim) = victim {
            if remote < global || global == Urgency::IDLE {
                let max = half(shared, victim);
                if let Some(picked) = self.steal_from(victim, local, max, shared, now) {
                    return Some(picked);
                }
            }
        }
        if let Some(picked) = self.pop_global(Urgency::IDLE, shared, now) {
            return Some(picked);
        }
        // The most urgent victim was busy (its lock held): try the others in random order.
        let n = shared.num_workers();
        let start = self.rng.below(n as u32) as usize;
        for i in 0..n {
            let v = (start + i) % n;
            if v == self.index || Some(v) == victim {
                continue;
            }
            if let Some(picked) = self.steal_from(v, local, half(shared, v), shared, now) {
                return Some(picked);
            }
        }
        None
    }

    /// The other worker whose queue head is most urgent, and that urgency (`IDLE`: none).
    /// Ties go to the first in the scan, which starts after this worker's index.
    fn most_urgent_victim(&self, shared: &Shared) -> (Option<usize>, Urgency) {
        let n = shared.num_workers();
        let mut best = (None, Urgency::IDLE);
        for i in 1..n {
            let v = (self.index + i) % n;
            if let RemoteQueue::Ordered(q) = &shared.remotes[v].queue {
                let head = q.head();
                if head < best.1 {
                    best = (Some(v), head);
                }
            }
        }
        best
    }

    /// Steals up to `max` tasks from `victim` into `local`, returning the most urgent one.
    fn steal_from(
        &mut self,
        victim: usize,
        local: &Arc<Ordered<Notified>>,
        max: usize,
        shared: &Shared,
        now: u64,
    ) -> Option<Picked> {
        let RemoteQueue::Ordered(q) = &shared.remotes[victim].queue else {
            return None;
        };
        let (key, task) = q.steal_into(local, max, now)?;
        shared.worker_metrics[self.index].inc_steals();
        crate::sim::hook::record(
            crate::sim::EventKind::Steal,
            task.header().id.0,
            victim as u64,
            0,
        );
        Some(Picked {
            task,
            key: Some(key),
        })
    }

    /// Whether this pick is one where the injector wins ties.
    fn global_turn(&self) -> bool {
        self.tick.is_multiple_of(GLOBAL_QUEUE_INTERVAL)
    }
}

/// Half of `victim`'s queue (rounded up), at most one steal batch.
fn half(shared: &Shared, victim: usize) -> usize {
    match &shared.remotes[victim].queue {
        RemoteQueue::Ordered(q) => q.len().div_ceil(2).clamp(1, STEAL_MAX),
        RemoteQueue::Fifo(_) => 1,
    }
}
