//! Building the workers of a runtime (or a simulation): the family's queues, one core per
//! worker, and the shared state, from one [`Config`].

use super::class_threads::{Groups, CLASSES};
use super::fifo::{FifoFamily, FifoLocal, FifoQueues};
use super::ordered::{OrderedErase, OrderedFamily, OrderedLocal};
use super::preempt::Slot;
use super::shared::{Queues, Remote};
use super::spawn::Spawner;
use super::{park, AnyCore, Core, Handle, Shared};
use crate::loom::Arc;
use crate::policy::runqueue::QueueOrder;
use crate::policy::Policy;
use crate::queue::local;
use crate::task::TaskAllocator;
use std::time::Duration;

/// What the workers of a runtime are built from (`Builder` validates it; the simulator fills
/// its own).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    /// Number of workers (under preemptive classes: of all groups together, a multiple of 3).
    pub(crate) workers: usize,
    /// Preemptive classes: the workers are split into one group per scheduling class
    /// (`class_threads.rs`). Needs a `Classes` ordering.
    pub(crate) class_threads: bool,
    /// Seed of every worker's victim-order stream.
    pub(crate) seed: u64,
    /// Search rounds an idle worker spins before parking.
    pub(crate) spin_rounds: u32,
    /// Where task blocks come from.
    pub(crate) task_allocator: TaskAllocator,
    /// How long before a timer deadline the timer waiter stops sleeping and spins.
    pub(crate) timer_spin: Duration,
    /// The policy.
    pub(crate) policy: PolicyConfig,
    /// The blocking pool's bound and keep-alive.
    pub(crate) blocking: super::blocking::Limits,
}

/// The scheduling policy of a runtime, with its parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PolicyConfig {
    /// The policy.
    pub(crate) policy: Policy,
    /// Its ordered structure (`None` for `Fifo`): decides the family.
    pub(crate) ordering: Option<QueueOrder>,
    /// `Fair`: a poll longer than this is asked to yield (ns); `u64::MAX` under the others.
    pub(crate) fair_slice: u64,
    /// Whether `spawn_periodic` runs a schedulability test.
    pub(crate) admission_control: bool,
    /// `Classes`: the deadline class's share of each worker for admission, percent.
    pub(crate) deadline_share: u8,
    /// Whether every poll's scheduling latency and duration go into the histograms.
    pub(crate) record_latency: bool,
    /// Whether each live task's spawn location and poll statistics are kept for
    /// `Handle::dump` (`trace/tasks.rs`).
    pub(crate) track_tasks: bool,
    /// Polls longer than this (ns) are reported (`Builder::long_poll`); `u64::MAX`: off.
    pub(crate) long_poll_ns: u64,
    /// Whether each poll's start and end are timed: for the histograms (`record_latency`), to
    /// charge `Fair`, for the task table (`track_tasks`), or to find long polls. One flag, read
    /// on every poll, computed once by [`PolicyConfig::with_timing`].
    pub(crate) times_polls: bool,
}

impl PolicyConfig {
    /// Whether polls are charged to tasks' virtual runtimes (`Fair`, and `Classes` for its fair
    /// class).
    #[inline]
    pub(crate) fn is_fair(&self) -> bool {
        matches!(
            self.ordering,
            Some(QueueOrder::Fair { .. } | QueueOrder::Classes { .. })
        )
    }

    /// Whether each poll's start and end are timed (see the field).
    #[inline]
    pub(crate) fn times_polls(&self) -> bool {
        self.times_polls
    }

    /// The configuration with its `times_polls` flag computed from the other fields.
    pub(crate) fn with_timing(mut self) -> PolicyConfig {
        self.times_polls = self.record_latency
            || self.is_fair()
            || self.track_tasks
            || self.long_poll_ns != u64::MAX;
        self
    }
}

/// The queues and cores of ordered family `F`.
fn ordered<F: OrderedErase>(
    order: QueueOrder,
    groups: Groups,
    seed: u64,
    parks: Vec<park::Parker>,
) -> (Queues, Vec<AnyCore>) {
    let queues = F::new_queues(order, parks.len(), groups);
    let cores = parks
        .into_iter()
        .enumerate()
        .map(|(i, park)| {
            let local = OrderedLocal::new(groups, groups.of(i));
            F::erase(Box::new(Core::<F>::new(
                i,
                seed,
                queues.clone(),
                local,
                park,
            )))
        })
        .collect();
    (F::erase_queues(queues), cores)
}

/// Builds the workers: the handle every task and thread will share, and one core per worker
/// (in worker order) for the threads or virtual workers that will run them.
pub(crate) fn build(config: Config) -> (Handle, Vec<AnyCore>) {
    let n = config.workers;
    let groups = if config.class_threads {
        debug_assert!(matches!(
            config.policy.ordering,
            Some(QueueOrder::Classes { .. })
        ));
        Groups::per_class(n / CLASSES)
    } else {
        Groups::single(n)
    };
    let (parks, unparks): (Vec<_>, Vec<_>) = (0..n).map(|_| park::pair()).unzip();
    let (queues, cores): (Queues, Vec<AnyCore>) = match config.policy.ordering {
        None => {
            let (locals, stealers): (Vec<_>, Vec<_>) = (0..n).map(|_| local::local()).unzip();
            let queues = Arc::new(FifoQueues::new(stealers));
            let cores = locals
                .into_iter()
                .zip(parks)
                .enumerate()
                .map(|(i, (local, park))| {
                    let local = FifoLocal::new(local, n);
                    let core = Core::<FifoFamily>::new(i, config.seed, queues.clone(), local, park);
                    AnyCore::Fifo(Box::new(core))
                })
                .collect();
            (Queues::Fifo(queues), cores)
        }
        Some(order @ QueueOrder::Classes { .. }) => {
            ordered::<OrderedFamily<true>>(order, groups, config.seed, parks)
        }
        Some(order) => ordered::<OrderedFamily<false>>(order, groups, config.seed, parks),
    };
    let remotes = unparks
        .into_iter()
        .map(|unpark| Remote {
            surplus_wake: crate::loom::atomic::AtomicBool::new(false),
            unpark,
            slot: Slot::new(),
        })
        .collect();
    let shared = Shared::new(
        remotes,
        groups,
        queues,
        &config,
        Spawner::new(n, config.task_allocator),
    );
    (Handle::new(shared), cores)
}
