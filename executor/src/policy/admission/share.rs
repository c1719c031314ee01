//! The deadline class's share of the workers under `Policy::Classes`.
//!
//! Linux admits a `SCHED_DEADLINE` task only while the bandwidths of all of them,
//! `sum runtime / period`, stay within the share of the CPUs that real-time classes may use
//! (`sched_rt_runtime_us / sched_rt_period_us`, 95% by default, times the number of CPUs:
//! `Documentation/scheduler/sched-deadline.rst`, "Admission control"). kairos applies the same
//! rule to the deadline class: `sum C / min(D, T) <= share * m`, with the share in percent
//! (`Builder::deadline_share`). What it guarantees:
//!
//! - the tasks of the set, if each job stays within `C` (or is held to it by a budget), leave
//!   the other classes at least `(1 - share) * m` workers' worth of time over every long
//!   enough window; `Builder::fair_reserve` is checked against it at build time;
//! - by itself, not that every deadline is met: on one worker it implies `U <= 1` (EDF's exact
//!   test for implicit deadlines), on `m > 1` only bounded tardiness under global EDF (Devi &
//!   Anderson, "Tardiness bounds under global EDF scheduling on a multiprocessor", RTSS 2005,
//!   which Linux cites for the same reason). So the runtime runs the EDF test of the worker
//!   count after it (`runtime/periodic.rs`).
//!
//! Exact: the sum is compared in integers (`super::exact`), each term scaled by 100.

use super::exact::{sum_at_most, Term};
use super::{AdmissionError, TaskParams};

/// The test's name in messages.
pub(crate) const NAME: &str = "deadline-class share (SCHED_DEADLINE's admission rule)";

/// Admits `tasks` if their total density is at most `share_percent`% of `workers` workers.
pub(crate) fn check_share(
    workers: usize,
    tasks: &[TaskParams],
    share_percent: u8,
) -> Result<(), AdmissionError> {
    let terms = tasks.iter().map(|t| Term {
        weight: 100,
        num: t.wcet,
        den: t.deadline.min(t.period).max(1),
    });
    let limit = u64::from(share_percent).saturating_mul(workers as u64);
    if sum_at_most(terms, limit) {
        return Ok(());
    }
    Err(AdmissionError::DeadlineShare {
        utilization: tasks
            .iter()
            .map(|t| t.wcet as f64 / t.deadline.min(t.period).max(1) as f64)
            .sum(),
        share_percent,
        workers,
        limit: f64::from(share_percent) / 100.0 * workers as f64,
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn task(wcet: u64, period: u64) -> TaskParams {
        TaskParams {
            wcet,
            period,
            deadline: period,
        }
    }

    #[test]
    fn admits_up_to_the_share_exactly() {
        // 0.95 on one worker at 95%: admitted; one ns more of C is over.
        assert!(check_share(1, &[task(95, 100)], 95).is_ok());
        let e = check_share(1, &[task(950_001, 1_000_000)], 95).unwrap_err();
        assert_eq!(e.bound(), Some(0.95));
        // Two workers: 1.9.
        assert!(check_share(2, &[task(95, 100), task(95, 100)], 95).is_ok());
        let e = check_share(2, &[task(95, 100), task(96, 100)], 95).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("1.910") && msg.contains("95% of 2 worker(s) = 1.900"),
            "{msg}"
        );
        assert_eq!(e.test_name(), NAME);
        // Constrained deadlines count their density.
        let constrained = TaskParams {
            wcet: 50,
            period: 100,
            deadline: 50,
        };
        assert!(check_share(1, &[constrained], 95).is_err());
    }
}
