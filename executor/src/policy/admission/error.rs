//! `AdmissionError`: why a periodic task was refused, with the test and the numbers.

use super::Test;
use std::fmt;

/// Why a task set was not admitted.
///
/// Task numbers in messages are 0-based indices into the task list the runtime checked.
/// "Utilization" is the density `C / D` of a task (`C / T` when its deadline is its period).
///
/// ```
/// fn report(e: &kairos::AdmissionError) {
///     eprintln!("{e}");
/// }
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AdmissionError {
    /// A task's parameters are invalid (see the message for the rule broken).
    #[error("invalid task{}: {field} = {value} ns {reason}", TaskLabel(*.index))]
    #[non_exhaustive]
    InvalidTask {
        /// Index of the task in the list checked, if it came from one.
        index: Option<usize>,
        /// `"wcet"`, `"period"` or `"deadline"`.
        field: &'static str,
        /// The offending value, nanoseconds.
        value: u64,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The test cannot analyse this many workers.
    #[error("{test} cannot analyse {workers} worker(s): {reason}")]
    #[non_exhaustive]
    Workers {
        /// The test.
        test: &'static str,
        /// The workers asked for.
        workers: usize,
        /// Why not.
        reason: &'static str,
        /// Total utilization of the set.
        utilization: f64,
    },
    /// The priority list does not have one entry per task.
    #[error(
        "{test}: {priorities} priorities given for {tasks} tasks; give exactly one priority per \
         task, in task order (or none for rate-monotonic order)"
    )]
    #[non_exhaustive]
    PrioritiesLength {
        /// The test.
        test: &'static str,
        /// Number of tasks.
        tasks: usize,
        /// Number of priorities.
        priorities: usize,
        /// Total utilization of the set.
        utilization: f64,
    },
    /// `Policy::Classes`: the deadline class would use more than its share of the workers,
    /// `U > share * m` (`Builder::deadline_share`).
    #[error(
        "task set rejected by {}: total utilization {utilization:.3} of the deadline class > its \
         share {share_percent}% of {workers} worker(s) = {limit:.3}; remove load, add workers, or \
         raise Builder::deadline_share (at most 100% minus Builder::fair_reserve)",
        super::share::NAME
    )]
    #[non_exhaustive]
    DeadlineShare {
        /// Total utilization.
        utilization: f64,
        /// The share of each worker the deadline class may use, percent.
        share_percent: u8,
        /// `m`.
        workers: usize,
        /// `share * m`, the bound the total was held against.
        limit: f64,
    },
    /// Uniprocessor EDF: `U > 1`.
    #[error(
        "task set rejected by {}: total utilization {utilization:.3} > 1 on one worker; remove \
         load, use more workers with global or partitioned EDF, or turn admission control off",
        Test::EdfUniprocessor.name()
    )]
    #[non_exhaustive]
    Edf {
        /// Total utilization.
        utilization: f64,
    },
    /// Global EDF: `U > m (1 - u_max) + u_max`.
    #[error(
        "task set rejected by {}: total utilization {utilization:.3} > bound {bound:.3} = \
         m(1 - u_max) + u_max with m = {workers}, u_max = {u_max:.3}; remove load, add \
         workers, or turn admission control off",
        Test::EdfGlobalGfb.name()
    )]
    #[non_exhaustive]
    GlobalEdf {
        /// Total utilization.
        utilization: f64,
        /// The bound `m (1 - u_max) + u_max`.
        bound: f64,
        /// `m`.
        workers: usize,
        /// The largest task utilization.
        u_max: f64,
    },
    /// Partitioned EDF: a task fits on no worker.
    #[error(
        "task set rejected by {}: task {task} (utilization {task_utilization:.3}) fits on none \
         of the {workers} workers, whose utilizations after placing the larger tasks are {}; \
         total utilization {utilization:.3}; remove load, add workers, or turn admission \
         control off",
        Test::EdfPartitionedFfd.name(),
        Loads(.loads)
    )]
    #[non_exhaustive]
    Partition {
        /// Total utilization.
        utilization: f64,
        /// `m`.
        workers: usize,
        /// The task that did not fit.
        task: usize,
        /// Its utilization.
        task_utilization: f64,
        /// Each worker's utilization when it did not fit.
        loads: Vec<f64>,
    },
    /// Fixed priority, one worker: a task's worst-case response time exceeds its deadline.
    #[error(
        "task set rejected by {}: task {task} (priority rank {rank} of {tasks}, 1 = highest) has \
         a worst-case response time of at least {response_at_least} ns > its deadline \
         {deadline} ns (total utilization {utilization:.3}); give it a higher priority, reduce \
         higher-priority load, use the EDF policy, or turn admission control off",
        Test::FixedPriorityUniprocessor.name()
    )]
    #[non_exhaustive]
    ResponseTime {
        /// Total utilization.
        utilization: f64,
        /// The task that misses.
        task: usize,
        /// Its rank in the priority order, 1 = highest.
        rank: usize,
        /// Number of tasks.
        tasks: usize,
        /// A lower bound on its worst-case response time (the analysis stops once past the
        /// deadline), nanoseconds.
        response_at_least: u64,
        /// Its deadline, nanoseconds.
        deadline: u64,
    },
    /// Response-time analysis hit its work limit before deciding.
    #[error(
        "task set rejected by {}: response-time analysis stopped at its limit of {budget} \
         interference terms while analysing task {task}, so the set could not be proven \
         schedulable (total utilization {utilization:.3}); use fewer or longer-period \
         high-priority tasks, use the EDF policy, or turn admission control off",
        Test::FixedPriorityUniprocessor.name()
    )]
    #[non_exhaustive]
    AnalysisLimit {
        /// Total utilization.
        utilization: f64,
        /// The task being analysed.
        task: usize,
        /// The limit, in interference terms evaluated.
        budget: u64,
    },
    /// Global fixed priority: `U > m^2 / (3m - 2)`.
    #[error(
        "task set rejected by {}: total utilization {utilization:.3} > bound {bound:.3} = \
         m^2/(3m - 2) with m = {workers}; remove load, add workers, or turn admission control \
         off",
        Test::FixedPriorityGlobal.name()
    )]
    #[non_exhaustive]
    RmUsBound {
        /// Total utilization.
        utilization: f64,
        /// The bound `m^2 / (3m - 2)`.
        bound: f64,
        /// `m`.
        workers: usize,
    },
    /// Global fixed priority: a task's utilization exceeds `m / (3m - 2)`.
    #[error(
        "task set rejected by {}: task {task} has utilization {task_utilization:.3} > \
         m/(3m - 2) = {limit:.3} with m = {workers}, and the bound covers only lighter tasks; \
         split the task, use the EDF policy, or turn admission control off",
        Test::FixedPriorityGlobal.name()
    )]
    #[non_exhaustive]
    RmUsHeavyTask {
        /// Total utilization.
        utilization: f64,
        /// The bound `m^2 / (3m - 2)` on the total.
        bound: f64,
        /// `m`.
        workers: usize,
        /// The heavy task.
        task: usize,
        /// Its utilization.
        task_utilization: f64,
        /// The per-task limit `m / (3m - 2)`.
        limit: f64,
    },
    /// The test needs rate-monotonic priorities and got others.
    #[error(
        "task set rejected by {test}: the bound holds for rate-monotonic priorities only, but \
         task {higher} (period {higher_period} ns) has a higher priority than task {lower} \
         (period {lower_period} ns); give shorter periods higher priorities (or pass none), or \
         turn admission control off"
    )]
    #[non_exhaustive]
    NotRateMonotonic {
        /// The test.
        test: &'static str,
        /// Total utilization.
        utilization: f64,
        /// The task with the higher priority and longer period.
        higher: usize,
        /// Its period.
        higher_period: u64,
        /// The task with the lower priority and shorter period.
        lower: usize,
        /// Its period.
        lower_period: u64,
    },
    /// The test needs deadlines equal to periods.
    #[error(
        "task set rejected by {test}: the bound holds for deadlines equal to periods only, but \
         task {task} has deadline {deadline} ns < period {period} ns; set deadline = period, use \
         the EDF policy, or turn admission control off"
    )]
    #[non_exhaustive]
    NotImplicitDeadline {
        /// The test.
        test: &'static str,
        /// Total utilization.
        utilization: f64,
        /// The task.
        task: usize,
        /// Its deadline.
        deadline: u64,
        /// Its period.
        period: u64,
    },
}

impl AdmissionError {
    /// An invalid-parameter error for a task outside any list (the runtime's own checks).
    pub(crate) fn invalid_task(field: &'static str, value: u64, reason: String) -> AdmissionError {
        AdmissionError::InvalidTask {
            index: None,
            field,
            value,
            reason,
        }
    }
}

impl AdmissionError {
    /// Name of the test that refused, with its source, e.g. `"global EDF (GFB bound,
    /// Goossens-Funk-Baruah 2003)"`; `"task parameter validation"` for an invalid task.
    ///
    /// ```
    /// fn report(e: &kairos::AdmissionError) {
    ///     eprintln!("refused by {}: {e}", e.test_name());
    /// }
    /// ```
    pub fn test_name(&self) -> &'static str {
        match self {
            AdmissionError::InvalidTask { .. } => "task parameter validation",
            AdmissionError::Workers { test, .. }
            | AdmissionError::PrioritiesLength { test, .. }
            | AdmissionError::NotRateMonotonic { test, .. }
            | AdmissionError::NotImplicitDeadline { test, .. } => test,
            AdmissionError::DeadlineShare { .. } => super::share::NAME,
            AdmissionError::Edf { .. } => Test::EdfUniprocessor.name(),
            AdmissionError::GlobalEdf { .. } => Test::EdfGlobalGfb.name(),
            AdmissionError::Partition { .. } => Test::EdfPartitionedFfd.name(),
            AdmissionError::ResponseTime { .. } | AdmissionError::AnalysisLimit { .. } => {
                Test::FixedPriorityUniprocessor.name()
            }
            AdmissionError::RmUsBound { .. } | AdmissionError::RmUsHeavyTask { .. } => {
                Test::FixedPriorityGlobal.name()
            }
        }
    }

    /// Total utilization of the set, the new task included: the sum of `C / D` (`C / T` when
    /// deadlines equal periods), rounded to `f64` (the test itself compared exactly). NaN for an
    /// invalid task, where no total was computed.
    ///
    /// ```
    /// fn report(e: &kairos::AdmissionError) {
    ///     eprintln!("utilization {:.3}: {e}", e.utilization());
    /// }
    /// ```
    pub fn utilization(&self) -> f64 {
        match self {
            AdmissionError::InvalidTask { .. } => f64::NAN,
            AdmissionError::Workers { utilization, .. }
            | AdmissionError::PrioritiesLength { utilization, .. }
            | AdmissionError::DeadlineShare { utilization, .. }
            | AdmissionError::Edf { utilization }
            | AdmissionError::GlobalEdf { utilization, .. }
            | AdmissionError::Partition { utilization, .. }
            | AdmissionError::ResponseTime { utilization, .. }
            | AdmissionError::AnalysisLimit { utilization, .. }
            | AdmissionError::RmUsBound { utilization, .. }
            | AdmissionError::RmUsHeavyTask { utilization, .. }
            | AdmissionError::NotRateMonotonic { utilization, .. }
            | AdmissionError::NotImplicitDeadline { utilization, .. } => *utilization,
        }
    }

    /// The utilization bound the total was held against, when the refusing test is a
    /// utilization bound (`1` for uniprocessor EDF, `m (1 - u_max) + u_max` for global EDF,
    /// `m^2 / (3m - 2)` for global fixed priority, `share * m` for the deadline class's share
    /// under `Classes`); `None` for the others.
    ///
    /// ```
    /// fn report(e: &kairos::AdmissionError) {
    ///     if let Some(bound) = e.bound() {
    ///         eprintln!("{:.3} > {bound:.3}", e.utilization());
    ///     }
    /// }
    /// ```
    pub fn bound(&self) -> Option<f64> {
        match self {
            AdmissionError::Edf { .. } => Some(1.0),
            AdmissionError::DeadlineShare { limit: bound, .. }
            | AdmissionError::GlobalEdf { bound, .. }
            | AdmissionError::RmUsBound { bound, .. }
            | AdmissionError::RmUsHeavyTask { bound, .. } => Some(*bound),
            _ => None,
        }
    }
}

/// Formats an optional task index for [`AdmissionError::InvalidTask`].
pub(super) struct TaskLabel(Option<usize>);

impl fmt::Display for TaskLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(index) => write!(f, " {index}"),
            None => Ok(()),
        }
    }
}

/// Formats per-worker utilizations, at most [`Loads::SHOWN`] of them.
pub(super) struct Loads<'a>(pub(super) &'a [f64]);

impl Loads<'_> {
    /// Workers listed before the rest is elided.
    const SHOWN: usize = 8;
}

impl fmt::Display for Loads<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, load) in self.0.iter().take(Loads::SHOWN).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{load:.3}")?;
        }
        if self.0.len() > Loads::SHOWN {
            write!(f, ", ... ({} more)", self.0.len() - Loads::SHOWN)?;
        }
        f.write_str("]")
    }
}
