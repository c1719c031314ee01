//! The Fifo core: arrival order with work stealing, as tokio and Go schedule.
//!
//! Each worker owns a lock-free ring (`queue/local.rs`: the owner pushes and pops at its ends,
//! thieves take half of it); the runtime has one unordered injector (`queue/inject.rs`) for
//! tasks scheduled from outside the workers and for a ring's overflow. A pick (steps 1–3 of
//! `worker/mod.rs`): every [`INJECTOR_INTERVAL`]-th tick the injector's head, then the own ring,
//! then a fair share of the injector (`len / workers + 1`, at most half a ring). A search round:
//! half of another worker's ring, victims from a random start, then the injector. A short ring
//! whose owner is working through it is left to its owner (`patience.rs`).
//!
//! Nothing is compared between tasks, so nothing is published about the running task: no
//! urgency, no preemption request. A Fifo poll is timed only when latency is recorded.

use super::patience::Patience;
use super::{AnyCore, Core, Family, Picked, Shared, Wake, INJECTOR_INTERVAL};
use crate::event::clock::{fast_ns, now_ns};
use crate::event::{self, EventKind};
use crate::queue::inject::Inject;
use crate::queue::local::{Local, Steal, CAPACITY};
use crate::task::Notified;

/// The Fifo family (a marker type: the code is in its [`Family`] impl).
pub(crate) struct FifoFamily;

/// The Fifo core's shared queues.
pub(crate) struct FifoQueues {
    /// Tasks scheduled from outside the workers, and the rings' overflow.
    pub(super) inject: Inject<Notified>,
    /// Each worker's ring, as thieves see it.
    pub(super) stealers: Box<[Steal<Notified>]>,
}

impl FifoQueues {
    /// Empty queues for the workers whose rings' stealer ends are `stealers`.
    pub(super) fn new(stealers: Vec<Steal<Notified>>) -> FifoQueues {
        FifoQueues {
            inject: Inject::new(),
            stealers: stealers.into_boxed_slice(),
        }
    }

    /// Whether any queue looked non-empty.
    pub(super) fn any_work(&self) -> bool {
        !self.inject.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    /// Closes the injector and releases what it holds (shutdown).
    pub(super) fn close(&self) {
        self.inject.close();
        while let Some(task) = self.inject.pop() {
            drop(task);
        }
    }
}

/// A Fifo worker's private part: its ring's owner end, and what it saw of other rings as a
/// thief.
pub(crate) struct FifoLocal {
    /// This worker's ring.
    ring: Local<Notified>,
    /// Sightings of the other workers' rings (`patience.rs`).
    patience: Patience,
}

impl FifoLocal {
    /// The private part of a worker owning `ring`, in a runtime of `workers` workers.
    pub(super) fn new(ring: Local<Notified>, workers: usize) -> FifoLocal {
        FifoLocal {
            ring,
            patience: Patience::new(workers),
        }
    }
}

impl Family for FifoFamily {
    type Queues = FifoQueues;
    type Local = FifoLocal;
    type Key = ();

    #[inline]
    fn erase(core: Box<Core<Self>>) -> AnyCore {
        AnyCore::Fifo(core)
    }

    #[inline]
    fn unerase(core: AnyCore) -> Box<Core<Self>> {
        match core {
            AnyCore::Fifo(core) => core,
            _ => unreachable!("a Fifo worker's core changed family"),
        }
    }

    #[inline]
    fn next_task(core: &mut Core<Self>, shared: &Shared) -> Option<Picked<()>> {
        if core.tick.is_multiple_of(INJECTOR_INTERVAL) {
            if let Some(task) = core.queues.inject.pop() {
                return Some(Picked { task, key: () });
            }
        }
        if let Some(task) = core.local.ring.pop() {
            return Some(Picked { task, key: () });
        }
        take_from_injector(core, shared)
    }

    fn steal(core: &mut Core<Self>, shared: &Shared) -> Option<Picked<()>> {
        let n = core.queues.stealers.len();
        let start = core.rng.below(n as u32) as usize;
        let patient = !event::virtual_clock() && !core.eager;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == core.index {
                continue;
            }
            let stealer = &core.queues.stealers[victim];
            if patient {
                let (popped, len) = stealer.progress();
                if len == 0 {
                    continue;
                }
                if !core.local.patience.may_steal(victim, popped, len, now_ns()) {
                    core.declined = true;
                    continue;
                }
            }
            if let Some(task) = stealer.steal_into(&mut core.local.ring) {
                shared.worker_metrics(core.index).inc_steals();
                event::emit(EventKind::Steal, || (task.header().id.0, victim as u64, 0));
                return Some(Picked { task, key: () });
            }
        }
        take_from_injector(core, shared)
    }

    #[inline]
    fn begin_poll(_: &mut Core<Self>, _: &Shared, _: &Picked<()>) {}

    /// Wakes a parked worker now if the task is surplus (`Local::push_back`: other tasks were
    /// queued, or thieves emptied the ring since this worker last popped).
    #[inline]
    fn push_local(core: &mut Core<Self>, shared: &Shared, task: Notified) -> Wake {
        if shared.config().record_latency {
            task.header().policy.set_ready_at(fast_ns());
        }
        if core.local.ring.push_back(task, &core.queues.inject) {
            Wake::Now
        } else {
            Wake::No
        }
    }

    #[inline]
    fn before_park(_: &mut Core<Self>, _: &Shared) {}

    #[inline]
    fn after_park(_: &mut Core<Self>, _: &Shared) {}

    fn drain(core: &mut Core<Self>) {
        while let Some(task) = core.local.ring.pop() {
            drop(task);
        }
    }
}

/// Moves a fair share of the injector into the (empty) ring and returns one task.
fn take_from_injector(core: &mut Core<FifoFamily>, shared: &Shared) -> Option<Picked<()>> {
    let inject = &core.queues.inject;
    if inject.is_empty() {
        return None;
    }
    // Leave room for a steal in progress on our ring (up to half of it): with at most half
    // minus one added to an empty ring, the pushes below never overflow.
    let max = (inject.len() / shared.num_workers() + 1).min(CAPACITY / 2 - 1);
    let mut first = None;
    let mut batch = heapless::Vec::<Notified, { CAPACITY / 2 }>::new();
    inject.pop_batch(max, |task| {
        if first.is_none() {
            first = Some(task);
        } else if let Err(task) = batch.push(task) {
            unreachable!("batch bound exceeded: {:p}", task.header());
        }
    });
    // The injector lock is released: pushing may touch it on overflow.
    for task in batch {
        let _ = core.local.ring.push_back(task, &core.queues.inject);
    }
    first.map(|task| Picked { task, key: () })
}
