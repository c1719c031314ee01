//! Accounting: what each poll costs the task (`Fair`'s virtual runtime) and what the metrics
//! record (per-worker counters and histograms, panics, periodic jobs).
//!
//! Every figure is written by the worker it concerns, on its own cache line
//! (`worker/metrics.rs`); `Metrics` (`metrics.rs`) reads and merges them on demand.

use super::build::PolicyConfig;
use super::metrics::WorkerMetrics;
use super::Shared;
use crate::context;
use crate::event::clock::{fast_ns, now_ns};
use crate::loom::atomic::{AtomicU64, Ordering};
use crate::policy::{fair, Policy};
use crate::task::budget::Budget;
use crate::task::{policy_state::UNPLACED, Header};

/// The accounting part of [`Shared`].
pub(super) struct Accounting {
    /// One per worker, each written only by its worker.
    worker_metrics: Box<[WorkerMetrics]>,
    /// Panics of task futures (and destructors, and timer wakers) caught by `catch_unwind`.
    panics: AtomicU64,
}

impl Accounting {
    /// Zeroed counters for `workers` workers.
    pub(super) fn new(workers: usize) -> Accounting {
        Accounting {
            worker_metrics: (0..workers).map(|_| WorkerMetrics::default()).collect(),
            panics: AtomicU64::new(0),
        }
    }

    /// Counts `n` caught panics.
    pub(super) fn count_panics(&self, n: u64) {
        self.panics.fetch_add(n, Ordering::Relaxed);
    }
}

impl Shared {
    /// Worker `index`'s counters.
    #[inline]
    pub(crate) fn worker_metrics(&self, index: usize) -> &WorkerMetrics {
        &self.accounting.worker_metrics[index]
    }

    /// Every worker's counters, in worker order.
    pub(crate) fn all_worker_metrics(&self) -> &[WorkerMetrics] {
        &self.accounting.worker_metrics
    }

    /// Counts a caught panic.
    pub(crate) fn count_panic(&self) {
        self.accounting.count_panics(1);
    }

    /// Panics caught so far.
    pub(crate) fn panics(&self) -> u64 {
        self.accounting.panics.load(Ordering::Relaxed)
    }

    /// A poll of `header` on worker `worker`, started at `start` (`clock::fast_ns`), returned:
    /// charge it to the task under `Fair` (CFS's `update_curr`: virtual runtime grows by the
    /// poll's length scaled by 1024 / weight) and to its budget if it has one, and record it in
    /// the worker's metrics.
    #[inline]
    pub(crate) fn poll_ended(
        &self,
        worker: usize,
        header: &Header,
        start: u64,
        latency: Option<u64>,
    ) {
        if self.config().times_polls() {
            self.poll_timed_ended(worker, header, start, latency);
        }
    }

    /// [`poll_ended`](Self::poll_ended) when polls are timed. Out of line, so that the untimed
    /// path (`Fifo` by default) is a load and a branch where it is inlined.
    #[inline(never)]
    fn poll_timed_ended(&self, worker: usize, header: &Header, start: u64, latency: Option<u64>) {
        let config = self.config();
        let ran = fast_ns().saturating_sub(start);
        if let Some(table) = self.task_table() {
            // The table keeps when the poll ended on the runtime clock.
            table.polled(header.id.0, ran, now_ns());
        }
        if ran > config.long_poll_ns {
            self.report_long_poll(worker, header, ran);
        }
        if let Some(budget) = header.policy.budget() {
            charge_budget(config, budget, ran);
        }
        if config.is_fair() {
            // Wall time for short polls, CPU time at least every 50 µs (`context::fair_charge`).
            let cpu = context::fair_charge(ran);
            let sched = &header.policy;
            let vruntime = sched.vruntime();
            if vruntime != UNPLACED {
                let weight = fair::weight(sched.nice());
                sched.set_vruntime(fair::charge(vruntime, cpu, weight));
            }
        }
        if config.record_latency {
            self.worker_metrics(worker)
                .record_poll(header.policy.name(), latency, ran);
        }
    }

    /// The poll of `header` on `worker` took `ran` ns, more than the long-poll threshold.
    #[cold]
    fn report_long_poll(&self, worker: usize, header: &Header, ran: u64) {
        let poll = crate::trace::LongPoll {
            task: header.id.0,
            name: header.policy.name(),
            spawned_at: self
                .task_table()
                .and_then(|t| t.get(header.id.0))
                .map(|s| s.spawned_at),
            duration: std::time::Duration::from_nanos(ran),
            worker,
        };
        self.trace().long_poll.report(&poll);
    }

    /// A periodic job completed (recorded on the worker that runs its driver, or worker 0).
    pub(crate) fn record_job(&self, name: Option<&'static str>, response: u64, lateness: i64) {
        let worker = context::current_worker().unwrap_or(0);
        if let Some(m) = self.accounting.worker_metrics.get(worker) {
            m.record_job(name, response, lateness);
        }
    }

    /// The task polled on `worker` was asked to yield (`coop.rs`): one preemption.
    pub(crate) fn count_preemption(&self, worker: usize, header: &Header) {
        self.worker_metrics(worker)
            .record_preemption(header.policy.name());
    }
}

/// Charges a poll of `ran` ns to a budgeted task's bandwidth server (`policy/cbs.rs`), under
/// `Classes` (budgets act there only). Out of line: most tasks have no budget, and the poll path
/// it is called from stays small enough to be inlined into the worker loop.
#[cold]
#[inline(never)]
fn charge_budget(config: &PolicyConfig, budget: Budget, ran: u64) {
    if config.policy == Policy::Classes {
        let mut server = budget.load();
        server.charge(ran);
        budget.store(&server);
    }
}
