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

mod error;
mod exact;
mod share;
#[cfg(all(test, not(loom)))]
mod tests;

pub use error::AdmissionError;
use error::Loads;
use exact::*;
pub(crate) use share::check_share;
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
    #[cfg_attr(any(not(test), loom), allow(dead_code))] // used by the tests
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
        if workers > MAX_ANALYSED_WORKERS {
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
const MAX_ANALYSED_WORKERS: usize = u32::MAX as usize;

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

/// Checks one task's parameters: `0 < wcet <= deadline <= period`.
#[cfg_attr(any(not(test), loom), allow(dead_code))] // used by the tests
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
    // `workers <= MAX_ANALYSED_WORKERS` was checked, so this is lossless.
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

/// The periodic tasks a runtime admitted so far (admission control on), by admission id.
#[derive(Default)]
pub(crate) struct AdmittedSet {
    /// Next admission id.
    pub(crate) next_id: u64,
    /// `(id, parameters, priority)` of each admitted, not yet stopped task.
    pub(crate) tasks: Vec<(u64, TaskParams, u8)>,
}
