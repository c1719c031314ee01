//! Admission control: schedulability tests for sets of periodic tasks.
//!
//! Before a periodic task is admitted, the runtime can ask whether the whole set, the new task
//! included, provably meets every deadline under the policy and worker count in use. The
//! functions here answer from the task parameters alone. They are pure (no clock, no atomics, no
//! locks) and every time is an integer number of nanoseconds.
//!
//! # Task model
//!
//! A task `(C, D, T)` ([`TaskParams`]) releases a job every `T` ns (its *period*); each job needs
//! at most `C` ns of CPU (its worst-case execution time, *WCET*) and must finish within `D` ns of
//! its release (its relative *deadline*), with `0 < C <= D <= T` ([`validate`]). `D == T` is an
//! *implicit* deadline, `D < T` a *constrained* one. `D > T` (arbitrary deadlines) is refused:
//! none of the tests below covers it. Tasks are independent (no shared locks) and preemptible.
//!
//! A task's utilization is `C / T`, its density `C / min(D, T)`, which is `C / D` here. Every
//! number this module calls "utilization" (`u_i`, their sum `U`, the largest `u_max`) is the
//! density, i.e. the plain utilization whenever deadlines equal periods. `n` is the number of
//! tasks and `m` the number of workers.
//!
//! # The tests ([`Test`])
//!
//! - **`EdfUniprocessor`**, EDF on one worker: admit iff `U <= 1`. Liu & Layland, "Scheduling
//!   Algorithms for Multiprogramming in a Hard-Real-Time Environment", JACM 20(1), 1973,
//!   Theorem 7: with implicit deadlines EDF meets every deadline iff `U <= 1`, so the test is
//!   *exact* there. With constrained deadlines the density test is *sufficient* only (the exact
//!   test is the processor-demand analysis of Baruah, Rosier & Howell, Real-Time Systems 2(4),
//!   1990, not implemented here). Used for `Policy::Edf` with one worker. O(n).
//! - **`EdfGlobalGfb`**, global EDF on `m` workers: admit if `U <= m (1 - u_max) + u_max`.
//!   Goossens, Funk & Baruah, "Priority-driven scheduling of periodic task systems on
//!   multiprocessors", Real-Time Systems 25(2-3), 2003, for implicit deadlines; the same bound
//!   with densities holds for constrained deadlines (Bertogna, Cirinei & Lipari, ECRTS 2005;
//!   surveyed in Bertogna & Baruah, "Tests for global EDF schedulability analysis", J. Systems
//!   Architecture 57(5), 2011). *Sufficient* only. The bound falls as `u_max` grows because of
//!   Dhall's effect (Dhall & Liu, Operations Research 26(1), 1978): one heavy task plus `m`
//!   light ones with `U` barely above 1 can miss a deadline under global EDF on any `m`. Used for
//!   `Policy::Edf` with `m > 1` workers, which aims at global EDF (any worker runs the earliest
//!   deadline; per-worker queues plus stealing approximate one global queue, and the test
//!   assumes the exact global order). With `m = 1` it is the uniprocessor test. O(n).
//! - **`EdfPartitionedFfd`**, partitioned EDF: sort by utilization, largest first, put each task
//!   on the first worker whose utilization stays `<= 1` (first-fit decreasing: Johnson, Demers,
//!   Ullman, Garey & Graham, SIAM J. Computing 3(4), 1974), then each worker is a uniprocessor
//!   EDF system as above (utilization bounds of this scheme: López, Díaz & García, Real-Time
//!   Systems 28(1), 2004). *Sufficient*: partitioning is bin packing, NP-hard, and FFD can miss a
//!   packing that exists. kairos has no partitioned policy; the test is offered for comparison
//!   with the global one (it admits Dhall's set) and for the simulator. O(n log n + n b), `b <=
//!   min(n, m)` the workers in use.
//! - **`FixedPriorityUniprocessor`**, fixed priorities on one worker. First the Liu & Layland
//!   bound `U <= n (2^(1/n) - 1)` (JACM 1973, Theorem 5), which holds for rate-monotonic
//!   priorities (shorter period, higher priority). With constrained deadlines it is applied to
//!   densities when the order is deadline-monotonic: shrinking every period to its deadline only
//!   adds interference and turns deadline-monotonic into rate-monotonic. If the order is not
//!   deadline-monotonic or the bound fails, exact response-time analysis (RTA; Joseph & Pandya,
//!   "Finding response times in a real-time system", The Computer Journal 29(5), 1986; Audsley,
//!   Burns, Richardson, Tindell & Wellings, "Applying new scheduling theory to static priority
//!   pre-emptive scheduling", Software Engineering Journal 8(5), 1993): the worst-case response
//!   time of task `i` is the least fixed point of `R = C_i + sum over higher-priority j of
//!   ceil(R / T_j) C_j`, reached by iterating from `C_i + sum C_j`; admit iff `R_i <= D_i` for
//!   every task. *Exact* for independent preemptible tasks with `D <= T` (synchronous release is
//!   the critical instant, Liu & Layland Theorem 1). Used for `Policy::Priority` with one
//!   worker. O(n log n) for the order, O(n) for the bound; RTA is pseudo-polynomial (each step
//!   costs O(n), and a task can take about `sum_j D_i / T_j` steps), so it stops after
//!   [`RTA_BUDGET`] interference terms in all and rejects with [`AdmissionError::AnalysisLimit`]:
//!   what cannot be proven is not admitted.
//! - **`FixedPriorityGlobal`**, global fixed priorities on `m >= 2` workers: admit if every
//!   `u_i <= m / (3m - 2)` and `U <= m^2 / (3m - 2)`. Andersson, Baruah & Jonsson, "Static-priority
//!   scheduling on multiprocessors", RTSS 2001: under those conditions global rate-monotonic
//!   scheduling meets every deadline (their RM-US algorithm would also run heavier tasks at top
//!   priority; kairos does not, so a heavier task is rejected). *Sufficient*; it needs implicit
//!   deadlines and rate-monotonic priorities, both checked. It needs `m >= 2`: the bound is
//!   `(m/2)(1 - u_max) + u_max` at `u_max = m / (3m - 2)`, the minimum only when `m >= 2` (at
//!   `m = 1` the formula would claim `U <= 1`, false for rate-monotonic). Used for
//!   `Policy::Priority` with `m > 1` workers. O(n log n).
//!
//! Fixed priorities are `0..=255`, 255 highest, as in `Policy::Priority`; ties go to the task
//! earlier in the slice. Without a priority list the order is rate-monotonic.
//!
//! # Exact arithmetic
//!
//! Decisions never depend on floating point. Ratios are compared by `u128` cross multiplication.
//! A sum of fractions is compared with its bound by bracketing each term in 64.64 fixed point
//! (floor and ceiling in `u128`); only when the bound lies inside the bracket (the sum is within
//! `n * 2^-64` of it) is the sum recomputed as an exact fraction of arbitrary-precision integers
//! (`Big`, O(n^2) word operations). So `{(1, 3), (1, 3), (1, 3)}` (`U = 1` exactly) is admitted
//! on one worker, and a set exceeding 1 by `2^-64` is rejected. Floating point serves the
//! numbers in messages and [`Admitted`], and the Liu & Layland bound, which is irrational: the
//! bound is trusted only with a margin of [`LL_MARGIN`], and a set closer to it goes on to the
//! exact RTA.
//!
//! # What the tests assume
//!
//! - *Preemption.* The analyses assume a job is preempted the moment a more urgent one is
//!   released. kairos preempts only at `.await` points, so a job can wait for one poll of a less
//!   urgent task on its worker. Add the longest such poll to `C`, or keep polls short.
//! - *Overheads.* Scheduling, wake-up and timer latency are not modelled: include them in `C`.
//! - *Only these tasks.* The set analysed is all the work at its urgency on the workers counted.
//!   Under EDF, tasks without a deadline run after every task with one, so they only add the
//!   one-poll blocking above. Under fixed priorities every task at an equal or higher priority
//!   interferes and must be in the set.
//! - *Aging.* `Policy::Priority` raises a waiting task one level per aging interval `I`, and the
//!   fixed-priority tests assume fixed priorities, so aging can break their guarantee: a task
//!   that waited long enough, admitted or not, overtakes admitted ones. The guarantee holds with
//!   aging off (`I = u64::MAX`), or when the admitted tasks are the only tasks and `I` exceeds
//!   the longest deadline (then, inductively, no admitted job ever waits a whole interval, since
//!   each finishes within its deadline, so none is boosted). Background tasks under aging are
//!   not covered by any test here.

// Wired into the runtime's admission control by a later issue; until then only the tests use it
// (and under loom the tests are compiled out).
#![cfg_attr(any(not(test), loom), allow(dead_code))]

use std::cmp::{Ordering, Reverse};
use std::fmt;

/// One periodic task as admission control sees it. Times in nanoseconds; [`validate`] states
/// the constraints (`0 < wcet <= deadline <= period`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskParams {
    /// Worst-case execution time `C`: the most CPU time one job (one release) needs.
    pub(crate) wcet: u64,
    /// Period `T`: the time between two releases.
    pub(crate) period: u64,
    /// Relative deadline `D`: each job must finish within this long after its release. Equal
    /// to the period (implicit) or shorter (constrained).
    pub(crate) deadline: u64,
}

impl TaskParams {
    /// A task whose deadline is its period.
    pub(crate) fn implicit(wcet: u64, period: u64) -> TaskParams {
        TaskParams {
            wcet,
            period,
            deadline: period,
        }
    }

    /// The density `C / min(D, T)` as an exact fraction of weight 1.
    fn density(&self) -> Term {
        Term {
            weight: 1,
            num: self.wcet,
            den: self.deadline.min(self.period),
        }
    }

    /// The density rounded to `f64`, for messages only.
    fn density_f64(&self) -> f64 {
        self.wcet as f64 / self.deadline.min(self.period) as f64
    }
}

/// Which schedulability test to apply (see the module docs for each one's source and scope).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Test {
    /// EDF on one worker: `sum C / min(D, T) <= 1` (exact for implicit deadlines, Liu & Layland
    /// 1973 Theorem 7; sufficient for constrained ones).
    EdfUniprocessor,
    /// Global EDF on `m` workers: the GFB bound `U <= m (1 - u_max) + u_max` (Goossens, Funk &
    /// Baruah 2003), with densities for constrained deadlines. Sufficient.
    EdfGlobalGfb,
    /// Partitioned EDF: first-fit decreasing by density onto `m` workers, each with density
    /// `<= 1`. Sufficient.
    EdfPartitionedFfd,
    /// Fixed priorities on one worker: the Liu & Layland bound for (deadline-)rate-monotonic
    /// orders, then exact response-time analysis in the given order.
    FixedPriorityUniprocessor,
    /// Global fixed priorities on `m >= 2` workers: the RM-US bound of Andersson, Baruah &
    /// Jonsson 2001, `U <= m^2 / (3m - 2)` with every `u_i <= m / (3m - 2)`. Sufficient.
    FixedPriorityGlobal,
}

impl Test {
    /// The name used in messages: the test and its source.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Test::EdfUniprocessor => "uniprocessor EDF (density test, Liu & Layland 1973)",
            Test::EdfGlobalGfb => "global EDF (GFB bound, Goossens-Funk-Baruah 2003)",
            Test::EdfPartitionedFfd => "partitioned EDF (first-fit decreasing by density)",
            Test::FixedPriorityUniprocessor => {
                "uniprocessor fixed priority (Liu & Layland bound, then response-time analysis)"
            }
            Test::FixedPriorityGlobal => {
                "global fixed priority (RM-US bound, Andersson-Baruah-Jonsson 2001)"
            }
        }
    }

    /// Why this test cannot analyse `workers` workers, if it cannot.
    fn worker_problem(self, workers: usize) -> Option<&'static str> {
        if workers == 0 {
            return Some("a runtime has at least one worker");
        }
        if workers > MAX_WORKERS {
            return Some("the analysis supports at most 2^32 - 1 workers");
        }
        match self {
            Test::EdfUniprocessor if workers != 1 => Some(
                "the test is for exactly one worker; for more, use the global or partitioned \
                 EDF test",
            ),
            Test::FixedPriorityUniprocessor if workers != 1 => Some(
                "the test is for exactly one worker; for more, use the global fixed-priority test",
            ),
            Test::FixedPriorityGlobal if workers < 2 => Some(
                "the RM-US bound needs at least two workers; for one, use the uniprocessor \
                 fixed-priority test",
            ),
            _ => None,
        }
    }
}

/// Most workers the tests accept: keeps `m^2` and `3m - 2` inside `u64`.
const MAX_WORKERS: usize = u32::MAX as usize;

/// Most interference terms (`ceil(R / T_j) C_j`) response-time analysis evaluates for one
/// check before giving up. Typical sets converge in a few steps per task; exhausting the limit
/// took ~50 ms in an optimized build and ~260 ms in a debug build (1001 tasks, higher-priority
/// utilization 0.999, measured on the development machine). It bounds the time a pathological
/// set can take.
pub(crate) const RTA_BUDGET: u64 = 10_000_000;

/// How far below the Liu & Layland bound (computed in `f64`) a set's utilization must be for
/// the bound alone to admit it. `f64` errors here are around `1e-15`; the margin covers them
/// with room to spare, and sets inside it are decided by the exact RTA instead.
pub(crate) const LL_MARGIN: f64 = 1e-9;

/// A set the test admitted, with the numbers that admitted it (for logging).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Admitted {
    /// The test applied.
    pub(crate) test: Test,
    /// The workers the set was analysed for.
    pub(crate) workers: usize,
    /// Total utilization (density) `U`, rounded to `f64`; the decision itself was exact.
    pub(crate) utilization: f64,
    /// The utilization bound `U` was held against, if the test has one (for the uniprocessor
    /// fixed-priority test: the Liu & Layland bound, when the order allows it).
    pub(crate) bound: Option<f64>,
    /// How the set was shown schedulable.
    pub(crate) evidence: Evidence,
}

/// How an admitted set was shown schedulable.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Evidence {
    /// `U` is within the bound.
    WithinBound,
    /// A partition onto workers.
    Partition {
        /// `worker_of[i]`: the worker task `i` goes to.
        worker_of: Vec<usize>,
        /// Utilization of each worker in use (each `<= 1` exactly); workers past the end of
        /// this list get no task.
        loads: Vec<f64>,
    },
    /// Worst-case response time of each task, by task index, each within its deadline.
    ResponseTimes(Vec<u64>),
}

impl fmt::Display for Admitted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "admitted by {} on {} worker(s): total utilization {:.3}",
            self.test.name(),
            self.workers,
            self.utilization
        )?;
        match (&self.evidence, self.bound) {
            (Evidence::WithinBound, Some(bound)) => write!(f, " <= bound {bound:.3}"),
            (Evidence::Partition { loads, .. }, _) => {
                write!(f, ", per-worker utilization {}", Loads(loads))
            }
            (Evidence::ResponseTimes(_), _) => {
                write!(f, "; every worst-case response time is within its deadline")
            }
            (Evidence::WithinBound, None) => Ok(()),
        }
    }
}

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
    #[error("invalid periodic task{}: {field} = {value} ns {reason}", TaskLabel(*.index))]
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
    /// `m^2 / (3m - 2)` for global fixed priority); `None` for the others.
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
            AdmissionError::GlobalEdf { bound, .. }
            | AdmissionError::RmUsBound { bound, .. }
            | AdmissionError::RmUsHeavyTask { bound, .. } => Some(*bound),
            _ => None,
        }
    }
}

/// Formats an optional task index for [`AdmissionError::InvalidTask`].
struct TaskLabel(Option<usize>);

impl fmt::Display for TaskLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(index) => write!(f, " {index}"),
            None => Ok(()),
        }
    }
}

/// Formats per-worker utilizations, at most [`Loads::SHOWN`] of them.
struct Loads<'a>(&'a [f64]);

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

/// Checks one task's parameters: `0 < wcet <= deadline <= period`.
pub(crate) fn validate(task: &TaskParams) -> Result<(), AdmissionError> {
    validate_at(task, None)
}

/// [`validate`], naming the task's index in the error.
fn validate_at(task: &TaskParams, index: Option<usize>) -> Result<(), AdmissionError> {
    let invalid = |field, value, reason: String| AdmissionError::InvalidTask {
        index,
        field,
        value,
        reason,
    };
    if task.wcet == 0 {
        return Err(invalid(
            "wcet",
            0,
            "must be positive: give the worst-case execution time of one job".into(),
        ));
    }
    if task.period == 0 {
        return Err(invalid(
            "period",
            0,
            "must be positive: the time between two releases".into(),
        ));
    }
    if task.deadline == 0 {
        return Err(invalid(
            "deadline",
            0,
            "must be positive: how long after its release each job must finish".into(),
        ));
    }
    if task.wcet > task.deadline {
        return Err(invalid(
            "wcet",
            task.wcet,
            format!(
                "exceeds the deadline of {} ns, so a job misses it even running alone; shorten \
                 the job or relax the deadline",
                task.deadline
            ),
        ));
    }
    if task.deadline > task.period {
        return Err(invalid(
            "deadline",
            task.deadline,
            format!(
                "exceeds the period of {} ns: arbitrary deadlines (deadline > period) are not \
                 supported by admission control; use a deadline <= period",
                task.period
            ),
        ));
    }
    Ok(())
}

/// Applies `test` to `tasks` on `workers` workers.
///
/// `priorities` is used by the fixed-priority tests only: `priorities[i]` is task `i`'s
/// priority, 255 highest, ties to the earlier task; `None` means rate-monotonic order (shorter
/// period first, ties to the earlier task). Every task is validated first.
pub(crate) fn check(
    test: Test,
    workers: usize,
    tasks: &[TaskParams],
    priorities: Option<&[u8]>,
) -> Result<Admitted, AdmissionError> {
    for (index, task) in tasks.iter().enumerate() {
        validate_at(task, Some(index))?;
    }
    let utilization: f64 = tasks.iter().map(TaskParams::density_f64).sum();
    if let Some(reason) = test.worker_problem(workers) {
        return Err(AdmissionError::Workers {
            test: test.name(),
            workers,
            reason,
            utilization,
        });
    }
    let admitted = |bound, evidence| Admitted {
        test,
        workers,
        utilization,
        bound,
        evidence,
    };
    // `workers <= MAX_WORKERS` was checked, so this is lossless.
    let m = workers as u64;
    match test {
        Test::EdfUniprocessor => {
            if sum_at_most(tasks.iter().map(TaskParams::density), 1) {
                Ok(admitted(Some(1.0), Evidence::WithinBound))
            } else {
                Err(AdmissionError::Edf { utilization })
            }
        }
        Test::EdfGlobalGfb => {
            // U <= m (1 - u_max) + u_max  <=>  U + (m - 1) u_max <= m.
            let heaviest = tasks.iter().max_by(|a, b| cmp_density(a, b));
            let u_max = heaviest.map_or(0.0, TaskParams::density_f64);
            let bound = m as f64 - (m - 1) as f64 * u_max;
            let extra = heaviest.map(|t| Term {
                weight: m - 1,
                ..t.density()
            });
            if sum_at_most(tasks.iter().map(TaskParams::density).chain(extra), m) {
                Ok(admitted(Some(bound), Evidence::WithinBound))
            } else {
                Err(AdmissionError::GlobalEdf {
                    utilization,
                    bound,
                    workers,
                    u_max,
                })
            }
        }
        Test::EdfPartitionedFfd => match first_fit_decreasing(tasks, workers) {
            Ok((worker_of, loads)) => Ok(admitted(None, Evidence::Partition { worker_of, loads })),
            Err((task, loads)) => Err(AdmissionError::Partition {
                utilization,
                workers,
                task,
                task_utilization: tasks[task].density_f64(),
                loads,
            }),
        },
        Test::FixedPriorityUniprocessor | Test::FixedPriorityGlobal => {
            if let Some(p) = priorities.filter(|p| p.len() != tasks.len()) {
                return Err(AdmissionError::PrioritiesLength {
                    test: test.name(),
                    tasks: tasks.len(),
                    priorities: p.len(),
                    utilization,
                });
            }
            let order = priority_order(tasks, priorities);
            if test == Test::FixedPriorityUniprocessor {
                fixed_priority_uniprocessor(tasks, &order, utilization, RTA_BUDGET)
            } else {
                rm_us(tasks, &order, workers, utilization)
            }
        }
    }
}

/// Task indices from highest priority to lowest; ties to the lower index (the sorts are stable).
fn priority_order(tasks: &[TaskParams], priorities: Option<&[u8]>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..tasks.len()).collect();
    match priorities {
        None => order.sort_by_key(|&i| tasks[i].period),
        Some(p) => order.sort_by_key(|&i| Reverse(p.get(i).copied().unwrap_or(0))),
    }
    order
}

/// `n (2^(1/n) - 1)`, Liu & Layland's bound for `n` tasks (1 for `n <= 1`).
fn liu_layland_bound(n: usize) -> f64 {
    if n <= 1 {
        return 1.0;
    }
    let n = n as f64;
    n * (2f64.powf(1.0 / n) - 1.0)
}

/// The uniprocessor fixed-priority test: Liu & Layland's bound when the order allows it, else
/// (or if it fails) response-time analysis with at most `budget` interference terms.
fn fixed_priority_uniprocessor(
    tasks: &[TaskParams],
    order: &[usize],
    utilization: f64,
    budget: u64,
) -> Result<Admitted, AdmissionError> {
    let deadline_monotonic = order
        .windows(2)
        .all(|w| tasks[w[0]].deadline <= tasks[w[1]].deadline);
    let bound = deadline_monotonic.then(|| liu_layland_bound(tasks.len()));
    let admitted = |evidence| Admitted {
        test: Test::FixedPriorityUniprocessor,
        workers: 1,
        utilization,
        bound,
        evidence,
    };
    if let Some(bound) = bound {
        let (_, hi) = bracket(tasks.iter().map(TaskParams::density));
        if (hi as f64) / ONE_F64 <= bound - LL_MARGIN {
            return Ok(admitted(Evidence::WithinBound));
        }
    }
    match response_times(tasks, order, budget) {
        Ok(times) => Ok(admitted(Evidence::ResponseTimes(times))),
        Err(RtaFailure::Miss {
            task,
            rank,
            response_at_least,
        }) => Err(AdmissionError::ResponseTime {
            utilization,
            task,
            rank: rank + 1,
            tasks: tasks.len(),
            response_at_least,
            deadline: tasks[task].deadline,
        }),
        Err(RtaFailure::Budget { task }) => Err(AdmissionError::AnalysisLimit {
            utilization,
            task,
            budget,
        }),
    }
}

/// Why response-time analysis did not admit.
#[derive(Debug, PartialEq, Eq)]
enum RtaFailure {
    /// `task` (at `rank` in the order, 0 = highest) cannot finish by its deadline: its
    /// response time is at least `response_at_least`.
    Miss {
        /// The task index.
        task: usize,
        /// Its position in the priority order.
        rank: usize,
        /// A lower bound on its response time, past its deadline.
        response_at_least: u64,
    },
    /// The budget ran out while analysing `task`.
    Budget {
        /// The task index.
        task: usize,
    },
}

/// Response-time analysis (Joseph & Pandya 1986; Audsley et al. 1993) in priority `order`:
/// each task's worst-case response time, by task index, or why not. Evaluates at most `budget`
/// interference terms.
fn response_times(
    tasks: &[TaskParams],
    order: &[usize],
    mut budget: u64,
) -> Result<Vec<u64>, RtaFailure> {
    let mut times = vec![0; tasks.len()];
    for (rank, &i) in order.iter().enumerate() {
        let task = tasks[i];
        let higher = &order[..rank];
        let step_cost = (higher.len() as u64).max(1);
        // One job of every higher-priority task: below the least fixed point, so iterating
        // from here climbs to it. Every value stays below 2^66 (r <= D < 2^64 before each
        // step, and ceil(r / T_j) C_j <= r + C_j), so u128 cannot overflow.
        let mut r = u128::from(task.wcet)
            + higher
                .iter()
                .map(|&j| u128::from(tasks[j].wcet))
                .sum::<u128>();
        loop {
            if r > u128::from(task.deadline) {
                return Err(RtaFailure::Miss {
                    task: i,
                    rank,
                    response_at_least: u64::try_from(r).unwrap_or(u64::MAX),
                });
            }
            budget = budget
                .checked_sub(step_cost)
                .ok_or(RtaFailure::Budget { task: i })?;
            let next = u128::from(task.wcet)
                + higher
                    .iter()
                    .map(|&j| r.div_ceil(u128::from(tasks[j].period)) * u128::from(tasks[j].wcet))
                    .sum::<u128>();
            if next == r {
                times[i] = u64::try_from(r).unwrap_or(u64::MAX);
                break;
            }
            r = next;
        }
    }
    Ok(times)
}

/// The global fixed-priority test (Andersson, Baruah & Jonsson 2001).
fn rm_us(
    tasks: &[TaskParams],
    order: &[usize],
    workers: usize,
    utilization: f64,
) -> Result<Admitted, AdmissionError> {
    let test = Test::FixedPriorityGlobal.name();
    if let Some((task, t)) = tasks
        .iter()
        .enumerate()
        .find(|(_, t)| t.deadline != t.period)
    {
        return Err(AdmissionError::NotImplicitDeadline {
            test,
            utilization,
            task,
            deadline: t.deadline,
            period: t.period,
        });
    }
    if let Some(w) = order
        .windows(2)
        .find(|w| tasks[w[0]].period > tasks[w[1]].period)
    {
        return Err(AdmissionError::NotRateMonotonic {
            test,
            utilization,
            higher: w[0],
            higher_period: tasks[w[0]].period,
            lower: w[1],
            lower_period: tasks[w[1]].period,
        });
    }
    // m <= 2^32 - 1, so m^2 and 3m - 2 fit in u64.
    let m = workers as u64;
    let scale = 3 * m - 2;
    let bound = (m * m) as f64 / scale as f64;
    let limit = m as f64 / scale as f64;
    // u_i <= m / (3m - 2)  <=>  C (3m - 2) <= m T.
    if let Some(task) = tasks
        .iter()
        .position(|t| u128::from(t.wcet) * u128::from(scale) > u128::from(m) * u128::from(t.period))
    {
        return Err(AdmissionError::RmUsHeavyTask {
            utilization,
            bound,
            workers,
            task,
            task_utilization: tasks[task].density_f64(),
            limit,
        });
    }
    // U <= m^2 / (3m - 2)  <=>  sum (3m - 2) C / T <= m^2.
    let scaled = tasks.iter().map(|t| Term {
        weight: scale,
        ..t.density()
    });
    if !sum_at_most(scaled, m * m) {
        return Err(AdmissionError::RmUsBound {
            utilization,
            bound,
            workers,
        });
    }
    Ok(Admitted {
        test: Test::FixedPriorityGlobal,
        workers,
        utilization,
        bound: Some(bound),
        evidence: Evidence::WithinBound,
    })
}

/// One worker of a partition being built.
#[derive(Default)]
struct Bin {
    /// Indices of the tasks on it.
    members: Vec<usize>,
    /// Its utilization in 64.64 fixed point, rounded down and up (see [`bracket`]).
    lo: u128,
    /// See `lo`.
    hi: u128,
}

/// First-fit decreasing by density onto at most `workers` bins of capacity 1 (exactly): each
/// task's worker and the bins' utilizations, or the first task that fits nowhere and the bins'
/// utilizations at that point.
#[allow(clippy::type_complexity)]
fn first_fit_decreasing(
    tasks: &[TaskParams],
    workers: usize,
) -> Result<(Vec<usize>, Vec<f64>), (usize, Vec<f64>)> {
    let mut by_density: Vec<usize> = (0..tasks.len()).collect();
    // Stable: equal densities keep index order.
    by_density.sort_by(|&a, &b| cmp_density(&tasks[b], &tasks[a]));
    let mut bins: Vec<Bin> = Vec::new();
    let mut worker_of = vec![0; tasks.len()];
    let loads = |bins: &[Bin]| -> Vec<f64> {
        bins.iter()
            .map(|bin| bin.members.iter().map(|&j| tasks[j].density_f64()).sum())
            .collect()
    };
    for &i in &by_density {
        let term = tasks[i].density();
        let (lo, hi) = bracket(std::iter::once(term));
        let fits = |bin: &Bin| {
            if bin.hi.saturating_add(hi) <= ONE {
                true
            } else if bin.lo.saturating_add(lo) > ONE {
                false
            } else {
                let members = bin.members.iter().map(|&j| tasks[j].density());
                exact_at_most(members.chain(std::iter::once(term)), 1)
            }
        };
        let worker = match bins.iter().position(fits) {
            Some(worker) => worker,
            // A task alone always fits (density <= 1), so an empty bin takes it.
            None if bins.len() < workers => {
                bins.push(Bin::default());
                bins.len() - 1
            }
            None => return Err((i, loads(&bins))),
        };
        let bin = &mut bins[worker];
        bin.members.push(i);
        bin.lo = bin.lo.saturating_add(lo);
        bin.hi = bin.hi.saturating_add(hi);
        worker_of[i] = worker;
    }
    Ok((worker_of, loads(&bins)))
}

/// Orders two tasks by density, exactly: `a.C / a.D` vs `b.C / b.D` by cross multiplication.
fn cmp_density(a: &TaskParams, b: &TaskParams) -> Ordering {
    let (a, b) = (a.density(), b.density());
    (u128::from(a.num) * u128::from(b.den)).cmp(&(u128::from(b.num) * u128::from(a.den)))
}

/// One term `weight * num / den` of a sum of fractions (`den > 0`).
#[derive(Clone, Copy, Debug)]
struct Term {
    /// How many times the fraction counts.
    weight: u64,
    /// Numerator.
    num: u64,
    /// Denominator, positive.
    den: u64,
}

/// 1 in 64.64 fixed point.
const ONE: u128 = 1 << 64;

/// [`ONE`] as `f64` (exactly representable).
const ONE_F64: f64 = 18_446_744_073_709_551_616.0;

/// The sum of `terms` in 64.64 fixed point, rounded down and up: `lo <= sum * 2^64 <= hi`,
/// with `hi - lo` at most the total weight. Saturates, which keeps both sides true bounds for
/// the comparisons made with them (a saturated value exceeds every limit compared against).
fn bracket(terms: impl Iterator<Item = Term>) -> (u128, u128) {
    terms.fold((0u128, 0u128), |(lo, hi), t| {
        let scaled = u128::from(t.num) << 64;
        let den = u128::from(t.den.max(1));
        let weight = u128::from(t.weight);
        let floor = (scaled / den).saturating_mul(weight);
        let ceil = scaled.div_ceil(den).saturating_mul(weight);
        (lo.saturating_add(floor), hi.saturating_add(ceil))
    })
}

/// Whether `sum weight * num / den <= limit`, exactly: decided by the fixed-point bracket when
/// the limit lies outside it, otherwise by [`exact_at_most`].
fn sum_at_most(terms: impl Iterator<Item = Term> + Clone, limit: u64) -> bool {
    let limit_fixed = u128::from(limit) << 64;
    let (lo, hi) = bracket(terms.clone());
    if hi <= limit_fixed {
        true
    } else if lo > limit_fixed {
        false
    } else {
        exact_at_most(terms, limit)
    }
}

/// Whether `sum weight * num / den <= limit`, in exact rational arithmetic: the sum is kept
/// as `num / den` over arbitrary-precision integers, with `den` the product of the
/// denominators. O(n^2) word operations for `n` terms.
fn exact_at_most(terms: impl Iterator<Item = Term>, limit: u64) -> bool {
    let mut num = Big::from(0);
    let mut den = Big::from(1);
    for t in terms {
        if t.weight == 0 || t.num == 0 {
            continue;
        }
        // num/den + w c/d = (num d + w c den) / (den d)
        num.mul_small(t.den);
        let mut add = den.clone();
        add.mul_small(t.num);
        add.mul_small(t.weight);
        num.add(&add);
        den.mul_small(t.den);
    }
    den.mul_small(limit);
    num.cmp(&den) != Ordering::Greater
}

/// An unsigned integer of any size: little-endian 64-bit limbs. Only what [`exact_at_most`]
/// needs: multiply by a word, add, compare.
#[derive(Clone, Debug)]
struct Big(Vec<u64>);

impl From<u64> for Big {
    fn from(value: u64) -> Big {
        Big(vec![value])
    }
}

impl Big {
    /// `self *= k`.
    fn mul_small(&mut self, k: u64) {
        let mut carry = 0u128;
        for limb in &mut self.0 {
            let product = u128::from(*limb) * u128::from(k) + carry;
            *limb = product as u64; // low word; the high word carries
            carry = product >> 64;
        }
        if carry != 0 {
            self.0.push(carry as u64);
        }
    }

    /// `self += other`.
    fn add(&mut self, other: &Big) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        let mut carry = false;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let (sum, c1) = limb.overflowing_add(other.0.get(i).copied().unwrap_or(0));
            let (sum, c2) = sum.overflowing_add(u64::from(carry));
            *limb = sum;
            carry = c1 || c2;
        }
        if carry {
            self.0.push(1);
        }
    }

    /// The limbs without high zero limbs.
    fn significant(&self) -> &[u64] {
        let len = self.0.iter().rposition(|&l| l != 0).map_or(0, |i| i + 1);
        &self.0[..len]
    }

    /// Numeric comparison.
    fn cmp(&self, other: &Big) -> Ordering {
        let (a, b) = (self.significant(), other.significant());
        a.len()
            .cmp(&b.len())
            .then_with(|| a.iter().rev().cmp(b.iter().rev()))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn task(wcet: u64, period: u64) -> TaskParams {
        TaskParams::implicit(wcet, period)
    }

    fn constrained(wcet: u64, deadline: u64, period: u64) -> TaskParams {
        TaskParams {
            wcet,
            period,
            deadline,
        }
    }

    #[test]
    fn textbook_set_edf_admits_rate_monotonic_rejects() {
        let set = [task(2, 5), task(4, 7)];
        let edf = check(Test::EdfUniprocessor, 1, &set, None).unwrap();
        assert!((edf.utilization - (0.4 + 4.0 / 7.0)).abs() < 1e-12);
        assert_eq!(edf.bound, Some(1.0));
        assert!(edf.to_string().contains("0.971 <= bound 1.000"), "{edf}");
        // 0.971 > 0.828 = 2(sqrt 2 - 1), so RTA decides: task 1 needs 4 + 2 ceil(8/5) = 8 > 7.
        assert!((liu_layland_bound(2) - 0.828_427).abs() < 1e-6);
        let err = check(Test::FixedPriorityUniprocessor, 1, &set, None).unwrap_err();
        assert!(matches!(
            err,
            AdmissionError::ResponseTime {
                task: 1,
                rank: 2,
                tasks: 2,
                response_at_least: 8,
                deadline: 7,
                ..
            }
        ));
        let msg = err.to_string();
        assert!(
            msg.contains("response time of at least 8 ns > its deadline 7 ns"),
            "{msg}"
        );
        assert!(msg.contains("response-time analysis"), "{msg}");
        assert_eq!(err.bound(), None);
        assert_eq!(err.test_name(), Test::FixedPriorityUniprocessor.name());
    }

    #[test]
    fn textbook_set_admitted_by_response_time_analysis() {
        let set = [task(1, 4), task(2, 6), task(3, 12)];
        let ok = check(Test::FixedPriorityUniprocessor, 1, &set, None).unwrap();
        // U = 0.833 > 3(2^(1/3) - 1) = 0.780: the bound fails, RTA admits.
        assert!((ok.utilization - 5.0 / 6.0).abs() < 1e-12);
        assert!((ok.bound.unwrap() - 0.779_763).abs() < 1e-6);
        assert_eq!(ok.evidence, Evidence::ResponseTimes(vec![1, 3, 10]));
        // Inverted priorities make task 0 wait for everything: R = 1 + 2 + 3 = 6 > 4.
        let err = check(Test::FixedPriorityUniprocessor, 1, &set, Some(&[0, 1, 2])).unwrap_err();
        assert!(matches!(
            err,
            AdmissionError::ResponseTime {
                task: 0,
                rank: 3,
                response_at_least: 6,
                ..
            }
        ));
        // Under the bound, the bound alone admits.
        let light = [task(1, 4), task(1, 6), task(1, 12)];
        let ok = check(Test::FixedPriorityUniprocessor, 1, &light, None).unwrap();
        assert_eq!(ok.evidence, Evidence::WithinBound);
    }

    #[test]
    fn dhall_set_global_rejects_partitioned_admits() {
        let set = [task(2, 100), task(2, 100), task(100, 101)];
        let err = check(Test::EdfGlobalGfb, 2, &set, None).unwrap_err();
        let AdmissionError::GlobalEdf {
            utilization,
            bound,
            workers,
            u_max,
        } = err.clone()
        else {
            panic!("{err:?}");
        };
        assert_eq!(workers, 2);
        assert!((utilization - (0.04 + 100.0 / 101.0)).abs() < 1e-12);
        assert!((u_max - 100.0 / 101.0).abs() < 1e-12);
        assert!((bound - (2.0 - 100.0 / 101.0)).abs() < 1e-12);
        assert_eq!(err.bound(), Some(bound));
        assert_eq!(err.utilization(), utilization);
        assert_eq!(
            err.to_string(),
            "task set rejected by global EDF (GFB bound, Goossens-Funk-Baruah 2003): total \
             utilization 1.030 > bound 1.010 = m(1 - u_max) + u_max with m = 2, u_max = 0.990; \
             remove load, add workers, or turn admission control off"
        );
        let ok = check(Test::EdfPartitionedFfd, 2, &set, None).unwrap();
        let Evidence::Partition { worker_of, loads } = &ok.evidence else {
            panic!("{ok:?}");
        };
        assert_eq!(worker_of, &[1, 1, 0]);
        assert!((loads[0] - 100.0 / 101.0).abs() < 1e-12 && (loads[1] - 0.04).abs() < 1e-12);
        // On one worker nothing fits the heavy task's partner.
        let err = check(Test::EdfPartitionedFfd, 1, &set, None).unwrap_err();
        assert!(
            matches!(err, AdmissionError::Partition { task: 0, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("fits on none of the 1 workers"),
            "{err}"
        );
    }

    #[test]
    fn utilization_exactly_one_is_admitted_and_one_ulp_more_is_not() {
        let thirds = [task(1, 3), task(1, 3), task(1, 3)];
        for test in [
            Test::EdfUniprocessor,
            Test::EdfGlobalGfb,
            Test::EdfPartitionedFfd,
        ] {
            assert!(check(test, 1, &thirds, None).is_ok(), "{test:?}");
        }
        // 1/2 + (2^62 - 1)/(2^63 - 1) = 1 - 2^-64 (about) and 1/2 + (2^62 + 1)/(2^63 - 1) =
        // 1 + 2^-64 (about): both 1.0 in f64, told apart only by exact arithmetic.
        let (half, big) = (1u64 << 62, (1u64 << 63) - 1);
        let under = [task(half, 1 << 63), task(half - 1, big)];
        let over = [task(half, 1 << 63), task(half + 1, big)];
        assert_eq!(under[0].density_f64() + under[1].density_f64(), 1.0);
        assert_eq!(over[0].density_f64() + over[1].density_f64(), 1.0);
        assert!(check(Test::EdfUniprocessor, 1, &under, None).is_ok());
        assert!(check(Test::EdfUniprocessor, 1, &over, None).is_err());
        assert!(check(Test::EdfPartitionedFfd, 1, &under, None).is_ok());
        assert!(check(Test::EdfPartitionedFfd, 1, &over, None).is_err());
        // Global fixed priority, m = 2: bound 4/4 = 1 and per-task limit 2/4, both hit exactly.
        let rm = [task(1, 2), task(1, 4), task(1, 4)];
        let ok = check(Test::FixedPriorityGlobal, 2, &rm, None).unwrap();
        assert_eq!(ok.bound, Some(1.0));
        assert!(check(
            Test::FixedPriorityGlobal,
            2,
            &[task(1, 2), task(2, 7), task(1, 4)],
            None
        )
        .is_err());
    }

    #[test]
    fn rm_us_preconditions() {
        let set = [task(1, 4), task(3, 5)];
        let err = check(Test::FixedPriorityGlobal, 2, &set, None).unwrap_err();
        assert!(
            matches!(err, AdmissionError::RmUsHeavyTask { task: 1, .. }),
            "{err:?}"
        );
        assert_eq!(err.bound(), Some(1.0));
        assert!(
            err.to_string().contains("0.600 > m/(3m - 2) = 0.500"),
            "{err}"
        );
        let light = [task(1, 4), task(1, 5), task(2, 9)];
        assert!(check(Test::FixedPriorityGlobal, 3, &light, None).is_ok());
        let err = check(Test::FixedPriorityGlobal, 3, &light, Some(&[9, 9, 10])).unwrap_err();
        assert!(matches!(
            err,
            AdmissionError::NotRateMonotonic {
                higher: 2,
                higher_period: 9,
                lower: 0,
                lower_period: 4,
                ..
            }
        ));
        let err = check(Test::FixedPriorityGlobal, 3, &[constrained(1, 4, 5)], None).unwrap_err();
        assert!(matches!(
            err,
            AdmissionError::NotImplicitDeadline { task: 0, .. }
        ));
        let heavy = [task(1, 4), task(1, 2)]; // 1/2 > 3/7
        let err = check(Test::FixedPriorityGlobal, 3, &heavy, None).unwrap_err();
        assert!(
            matches!(err, AdmissionError::RmUsHeavyTask { .. }),
            "{err:?}"
        );
        let many = [task(2, 5); 9]; // 0.4 each <= 4/10, total 3.6 > 16/10
        let err = check(Test::FixedPriorityGlobal, 4, &many, None).unwrap_err();
        assert!(
            matches!(err, AdmissionError::RmUsBound { workers: 4, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn validate_rejects_each_bad_parameter() {
        let cases = [
            (constrained(0, 5, 10), "wcet", 0, "must be positive"),
            (constrained(1, 5, 0), "period", 0, "must be positive"),
            (constrained(1, 0, 10), "deadline", 0, "must be positive"),
            (
                constrained(6, 5, 10),
                "wcet",
                6,
                "exceeds the deadline of 5 ns",
            ),
            (
                constrained(1, 11, 10),
                "deadline",
                11,
                "arbitrary deadlines",
            ),
        ];
        for (t, field, value, text) in cases {
            let err = validate(&t).unwrap_err();
            let AdmissionError::InvalidTask {
                index: None,
                field: f,
                value: v,
                ..
            } = &err
            else {
                panic!("{err:?}");
            };
            assert_eq!((*f, *v), (field, value));
            assert!(err.to_string().contains(text), "{err}");
            assert!(err.utilization().is_nan());
            assert_eq!(err.test_name(), "task parameter validation");
        }
        assert!(validate(&constrained(5, 5, 5)).is_ok());
        let err = check(Test::EdfGlobalGfb, 2, &[task(1, 2), task(3, 2)], None).unwrap_err();
        assert!(matches!(
            err,
            AdmissionError::InvalidTask { index: Some(1), .. }
        ));
        assert!(
            err.to_string()
                .starts_with("invalid periodic task 1: wcet = 3 ns exceeds the deadline of 2 ns"),
            "{err}"
        );
    }

    #[test]
    fn usage_errors() {
        let set = [task(1, 4)];
        for test in [
            Test::EdfUniprocessor,
            Test::EdfGlobalGfb,
            Test::EdfPartitionedFfd,
            Test::FixedPriorityUniprocessor,
            Test::FixedPriorityGlobal,
        ] {
            let err = check(test, 0, &set, None).unwrap_err();
            assert!(matches!(err, AdmissionError::Workers { workers: 0, .. }));
            assert_eq!(err.test_name(), test.name());
            assert_eq!(err.utilization(), 0.25);
            // Nothing to schedule is always schedulable.
            let workers = if test == Test::FixedPriorityGlobal {
                2
            } else {
                1
            };
            let ok = check(test, workers, &[], None).unwrap();
            assert_eq!(ok.utilization, 0.0);
        }
        assert!(check(Test::EdfUniprocessor, 2, &set, None).is_err());
        assert!(check(Test::FixedPriorityUniprocessor, 2, &set, None).is_err());
        assert!(check(Test::FixedPriorityGlobal, 1, &set, None).is_err());
        assert!(check(Test::EdfGlobalGfb, MAX_WORKERS + 1, &set, None).is_err());
        assert!(check(Test::EdfGlobalGfb, MAX_WORKERS, &set, None).is_ok());
        assert!(check(Test::EdfPartitionedFfd, MAX_WORKERS, &set, None).is_ok());
        let err = check(Test::FixedPriorityUniprocessor, 1, &set, Some(&[1, 2])).unwrap_err();
        assert!(matches!(
            err,
            AdmissionError::PrioritiesLength {
                tasks: 1,
                priorities: 2,
                ..
            }
        ));
        // The EDF tests ignore priorities.
        assert!(check(Test::EdfUniprocessor, 1, &set, Some(&[])).is_ok());
    }

    #[test]
    fn response_time_analysis_stops_at_its_budget() {
        // U = 0.9991, so RTA decides. Task 1's iteration climbs towards R = 10^7 by a factor
        // of 0.999 of the remaining gap per step: thousands of steps.
        let set = [task(999, 1000), task(10_000, 100_000_000)];
        let order = [0, 1];
        assert_eq!(
            response_times(&set, &order, 1),
            Err(RtaFailure::Budget { task: 1 })
        );
        assert_eq!(
            response_times(&set, &order, RTA_BUDGET),
            Ok(vec![999, 10_000_000])
        );
        let err = fixed_priority_uniprocessor(&set, &order, 0.9991, 1000).unwrap_err();
        assert!(matches!(
            err,
            AdmissionError::AnalysisLimit {
                task: 1,
                budget: 1000,
                ..
            }
        ));
        assert!(
            err.to_string()
                .contains("stopped at its limit of 1000 interference terms"),
            "{err}"
        );
        assert!(check(Test::FixedPriorityUniprocessor, 1, &set, None).is_ok());
    }

    #[test]
    fn big_arithmetic() {
        let mut a = Big::from(u64::MAX);
        a.mul_small(u64::MAX); // (2^64 - 1)^2 = 2^128 - 2^65 + 1
        assert_eq!(a.0, vec![1, u64::MAX - 1]);
        a.add(&Big(vec![u64::MAX, 1]));
        assert_eq!(a.0, vec![0, 0, 1]);
        assert_eq!(a.cmp(&Big(vec![0, 0, 1, 0])), Ordering::Equal);
        assert_eq!(a.cmp(&Big(vec![u64::MAX, u64::MAX])), Ordering::Greater);
        let mut zero = Big::from(5);
        zero.mul_small(0);
        assert_eq!(zero.cmp(&Big(vec![0, 0])), Ordering::Equal);
    }

    // ---- reference models ----

    fn gcd(a: u128, b: u128) -> u128 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }

    /// Exact `sum weight * num / den` as a reduced `u128` fraction, `None` on overflow.
    fn ref_sum(terms: &[(u64, u64, u64)]) -> Option<(u128, u128)> {
        terms.iter().try_fold((0u128, 1u128), |(p, q), &(w, c, d)| {
            let (a, b) = (u128::from(w).checked_mul(u128::from(c))?, u128::from(d));
            let l = (q / gcd(q, b)).checked_mul(b)?;
            let p = p.checked_mul(l / q)?.checked_add(a.checked_mul(l / b)?)?;
            let g = gcd(p, l).max(1);
            Some((p / g, l / g))
        })
    }

    fn ref_at_most(terms: &[(u64, u64, u64)], limit: u64) -> Option<bool> {
        let (p, q) = ref_sum(terms)?;
        Some(p <= q.checked_mul(u128::from(limit))?)
    }

    fn densities(tasks: &[TaskParams]) -> Vec<(u64, u64, u64)> {
        tasks.iter().map(|t| (1, t.wcet, t.deadline)).collect()
    }

    fn lcm(a: u64, b: u64) -> u64 {
        a / gcd(a.into(), b.into()) as u64 * b
    }

    /// Synchronous periodic release over one hyperperiod on `m` workers in unit time steps,
    /// each step running the `m` pending jobs with the smallest `key(task, absolute deadline)`.
    /// Each task's largest response time, or `None` on a deadline miss. Unit steps are exact
    /// for integer parameters: every release, completion and deadline falls on an integer.
    fn simulate(
        tasks: &[TaskParams],
        m: usize,
        key: impl Fn(usize, u64) -> (u64, usize),
    ) -> Option<Vec<u64>> {
        let n = tasks.len();
        let hyperperiod = tasks.iter().fold(1, |h, t| lcm(h, t.period));
        let (mut left, mut release, mut worst) = (vec![0; n], vec![0; n], vec![0; n]);
        for now in 0..hyperperiod {
            for (i, t) in tasks.iter().enumerate() {
                if left[i] > 0 && release[i] + t.deadline <= now {
                    return None;
                }
                if now.is_multiple_of(t.period) {
                    (left[i], release[i]) = (t.wcet, now);
                }
            }
            let mut ready: Vec<usize> = (0..n).filter(|&i| left[i] > 0).collect();
            ready.sort_by_key(|&i| key(i, release[i] + tasks[i].deadline));
            for &i in ready.iter().take(m) {
                left[i] -= 1;
                if left[i] == 0 {
                    worst[i] = worst[i].max(now + 1 - release[i]);
                }
            }
        }
        left.iter().all(|&l| l == 0).then_some(worst)
    }

    fn simulate_edf(tasks: &[TaskParams], m: usize) -> Option<Vec<u64>> {
        simulate(tasks, m, |i, deadline| (deadline, i))
    }

    fn simulate_fixed(tasks: &[TaskParams], m: usize, order: &[usize]) -> Option<Vec<u64>> {
        let mut rank = vec![0; tasks.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r as u64;
        }
        simulate(tasks, m, |i, _| (rank[i], i))
    }

    /// A random small set: periods in 2..=12, deadlines in wcet..=period (implicit if asked).
    fn small_set(rng: &mut Rng, n: u32, implicit: bool) -> Vec<TaskParams> {
        (0..1 + rng.below(n))
            .map(|_| {
                let period = 2 + u64::from(rng.below(11));
                let deadline = if implicit || rng.below(2) == 0 {
                    period
                } else {
                    1 + u64::from(rng.below(period as u32))
                };
                let wcet = 1 + u64::from(rng.below((deadline as u32).div_ceil(2)));
                constrained(wcet, deadline, period)
            })
            .collect()
    }

    // ---- property tests ----

    /// Uniprocessor EDF admits iff the exact total is <= 1, on sets built to land on, just
    /// under and just over 1, and on sets with large denominators.
    #[test]
    fn edf_uniprocessor_matches_exact_reference() {
        const L: u64 = 720_720; // lcm(1..=16): divisors make exact totals reachable
        let divisors: Vec<u64> = (1..=L).filter(|d| L.is_multiple_of(*d)).collect();
        let (mut checked, mut admitted, mut on_one) = (0, 0, 0);
        for seed in 0..600u64 {
            let mut rng = Rng::new(seed);
            let mut set = Vec::new();
            if seed % 3 == 0 {
                // Random large values: mostly far from 1, and the reference may overflow.
                for _ in 0..1 + rng.below(6) {
                    let period = 1 + rng.next_u64() % (1 << 40);
                    let deadline = period - rng.next_u64() % period.div_ceil(2);
                    set.push(constrained(1 + rng.next_u64() % deadline, deadline, period));
                }
            } else {
                // Exact construction: the last task takes the remainder to 1, then +-1.
                let mut left = L;
                for _ in 0..rng.below(6) {
                    let period = divisors[rng.below(divisors.len() as u32) as usize];
                    let wcet = 1 + rng.next_u64() % period.div_ceil(4);
                    if wcet * (L / period) < left {
                        left -= wcet * (L / period);
                        set.push(task(wcet, period));
                    }
                }
                let wcet = match rng.below(3) {
                    0 => left - 1,
                    1 => left,
                    _ => left + 1,
                };
                if (1..=L).contains(&wcet) {
                    set.push(task(wcet, L));
                }
                if set.is_empty() {
                    continue;
                }
            }
            let got = check(Test::EdfUniprocessor, 1, &set, None).is_ok();
            let terms = densities(&set);
            if let Some(want) = ref_at_most(&terms, 1) {
                assert_eq!(got, want, "seed {seed}: {set:?}");
                checked += 1;
                admitted += u32::from(got);
                on_one += u32::from(ref_sum(&terms).is_some_and(|(p, q)| p == q));
            }
            // GFB with one worker is the same test.
            assert_eq!(check(Test::EdfGlobalGfb, 1, &set, None).is_ok(), got);
        }
        assert!(
            checked > 450 && admitted > 150 && on_one > 50,
            "{checked} {admitted} {on_one}"
        );
    }

    /// GFB agrees with an exact reference and never admits `U > m`; FFD agrees with a
    /// reference FFD in exact arithmetic, and every bin it builds holds at most 1.
    #[test]
    fn global_and_partitioned_edf_match_references() {
        let (mut gfb_admits, mut ffd_admits, mut ffd_rejects) = (0, 0, 0);
        for seed in 0..800u64 {
            let mut rng = Rng::new(seed);
            let m = 1 + rng.below(4) as usize;
            let scale = [1, 7, 1000][rng.below(3) as usize];
            let set: Vec<TaskParams> = (0..1 + rng.below(12))
                .map(|_| {
                    let period = scale * (2 + u64::from(rng.below(30)));
                    let deadline = period - u64::from(rng.below(3)) * period / 4;
                    constrained(1 + rng.next_u64() % deadline, deadline, period)
                })
                .collect();
            let terms = densities(&set);
            let total_ok = ref_at_most(&terms, m as u64).unwrap();

            // GFB: U + (m - 1) u_max <= m.
            let heaviest = set.iter().max_by(|a, b| cmp_density(a, b)).unwrap();
            let mut gfb_terms = terms.clone();
            gfb_terms.push((m as u64 - 1, heaviest.wcet, heaviest.deadline));
            let gfb = check(Test::EdfGlobalGfb, m, &set, None);
            assert_eq!(
                gfb.is_ok(),
                ref_at_most(&gfb_terms, m as u64).unwrap(),
                "seed {seed}"
            );
            assert!(gfb.is_err() || total_ok, "seed {seed}: GFB admitted U > m");
            gfb_admits += u32::from(gfb.is_ok());

            // Reference FFD: decreasing density (ties by index), first bin with room.
            let mut sorted: Vec<usize> = (0..set.len()).collect();
            sorted.sort_by(|&a, &b| {
                let (x, y) = (&set[a], &set[b]);
                (u128::from(y.wcet) * u128::from(x.deadline))
                    .cmp(&(u128::from(x.wcet) * u128::from(y.deadline)))
                    .then(a.cmp(&b))
            });
            let mut bins: Vec<Vec<(u64, u64, u64)>> = Vec::new();
            let mut want = Ok(vec![0; set.len()]);
            for &i in &sorted {
                let term = (1, set[i].wcet, set[i].deadline);
                let fits = |bin: &Vec<_>| {
                    let mut with = bin.clone();
                    with.push(term);
                    ref_at_most(&with, 1).unwrap()
                };
                match bins.iter().position(fits) {
                    Some(b) => {
                        bins[b].push(term);
                        want.as_mut().map(|w| w[i] = b).ok();
                    }
                    None if bins.len() < m => {
                        bins.push(vec![term]);
                        want.as_mut().map(|w| w[i] = bins.len() - 1).ok();
                    }
                    None => {
                        want = Err(i);
                        break;
                    }
                }
            }
            match (check(Test::EdfPartitionedFfd, m, &set, None), want) {
                (Ok(ok), Ok(want)) => {
                    let Evidence::Partition { worker_of, loads } = ok.evidence else {
                        panic!()
                    };
                    assert_eq!(worker_of, want, "seed {seed}");
                    for (w, load) in loads.iter().enumerate() {
                        let mine: Vec<_> = (0..set.len())
                            .filter(|&i| worker_of[i] == w)
                            .map(|i| (1, set[i].wcet, set[i].deadline))
                            .collect();
                        assert!(!mine.is_empty() && ref_at_most(&mine, 1).unwrap());
                        let sum: f64 = mine.iter().map(|&(_, c, d)| c as f64 / d as f64).sum();
                        assert!((sum - load).abs() < 1e-9);
                    }
                    assert!(loads.len() <= m && worker_of.iter().all(|&w| w < loads.len()));
                    ffd_admits += 1;
                }
                (Err(AdmissionError::Partition { task, loads, .. }), Err(want)) => {
                    assert_eq!((task, loads.len()), (want, m), "seed {seed}");
                    ffd_rejects += 1;
                }
                (got, want) => panic!("seed {seed}: {got:?} vs {want:?}"),
            }
        }
        assert!(gfb_admits > 100 && ffd_admits > 200 && ffd_rejects > 100);
    }

    /// Uniprocessor fixed priorities against a brute-force simulation over the hyperperiod:
    /// admitted iff no deadline is missed, and the response times are the simulated worst.
    #[test]
    fn fixed_priority_matches_simulation() {
        let (mut admitted, mut by_bound, mut rejected) = (0, 0, 0);
        for seed in 0..1000u64 {
            let mut rng = Rng::new(seed);
            let set = small_set(&mut rng, 5, seed % 2 == 0);
            let priorities: Option<Vec<u8>> =
                (rng.below(2) == 0).then(|| set.iter().map(|_| rng.below(4) as u8).collect());
            let mut order: Vec<usize> = (0..set.len()).collect();
            match &priorities {
                None => order.sort_by_key(|&i| (set[i].period, i)),
                Some(p) => order.sort_by_key(|&i| (Reverse(p[i]), i)),
            }
            let simulated = simulate_fixed(&set, 1, &order);
            let got = check(
                Test::FixedPriorityUniprocessor,
                1,
                &set,
                priorities.as_deref(),
            );
            assert_eq!(
                got.is_ok(),
                simulated.is_some(),
                "seed {seed}: {set:?} {got:?}"
            );
            match (response_times(&set, &order, RTA_BUDGET), &simulated) {
                (Ok(times), Some(worst)) => assert_eq!(&times, worst, "seed {seed}"),
                (Err(RtaFailure::Miss { .. }), None) => {}
                (rta, sim) => panic!("seed {seed}: {rta:?} vs {sim:?}"),
            }
            match got {
                Ok(Admitted {
                    evidence: Evidence::WithinBound,
                    ..
                }) => by_bound += 1,
                Ok(_) => admitted += 1,
                Err(AdmissionError::ResponseTime { .. }) => rejected += 1,
                Err(e) => panic!("seed {seed}: {e:?}"),
            }
        }
        assert!(admitted > 100 && by_bound > 50 && rejected > 100);
    }

    /// Whatever the EDF and global tests admit meets every deadline in simulation; for
    /// implicit deadlines on one worker, EDF also admits everything the simulation schedules.
    #[test]
    fn admitted_sets_meet_deadlines_in_simulation() {
        let mut admitted = [0u32; 4];
        for seed in 0..1000u64 {
            let mut rng = Rng::new(seed);
            let implicit = seed % 2 == 0;
            let m = 1 + rng.below(3) as usize;
            let set = small_set(&mut rng, 3 + 2 * m as u32, implicit);
            let one = simulate_edf(&set, 1).is_some();
            let edf = check(Test::EdfUniprocessor, 1, &set, None).is_ok();
            assert!(!edf || one, "seed {seed}: EDF admitted a miss: {set:?}");
            if implicit {
                assert_eq!(edf, one, "seed {seed}: {set:?}");
            }
            if check(Test::EdfGlobalGfb, m, &set, None).is_ok() {
                assert!(
                    simulate_edf(&set, m).is_some(),
                    "seed {seed}: GFB, m = {m}: {set:?}"
                );
                admitted[usize::from(m > 1)] += 1;
            }
            if m > 1 && check(Test::FixedPriorityGlobal, m, &set, None).is_ok() {
                let mut order: Vec<usize> = (0..set.len()).collect();
                order.sort_by_key(|&i| (set[i].period, i));
                let ok = simulate_fixed(&set, m, &order).is_some();
                assert!(ok, "seed {seed}: RM-US, m = {m}: {set:?}");
                admitted[2] += 1;
            }
            admitted[3] += u32::from(edf);
        }
        assert!(admitted.iter().all(|&a| a > 50), "{admitted:?}");
    }
}
