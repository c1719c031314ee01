//! `micro`'s `inversion` row (issue 13): priority inversion on the real runtime, with and
//! without inheritance, under `Edf` and `Priority`.
//!
//! Two workers, every task on one time grid from the start of the run (phases fixed, the same
//! in every run). A *low* task takes a `kairos::sync::Mutex` every 5 ms and computes 1 ms holding
//! it. Two *medium* tasks compute 20 ms every 40 ms, starting 0.1 ms after one of low's
//! acquisitions, so each burst preempts low while it holds the lock and fills both workers. A
//! *high* task asks for the lock 0.25 ms after each of low's acquisitions and records how long it
//! waited (HdrHistogram, µs): every request finds the lock held, one in eight meets the
//! inversion. Without inheritance high then waits for a medium's 20 ms; with it, low runs with
//! high's urgency while high waits, and high waits for the rest of low's critical section.
//! Urgencies: under `Edf` each iteration sets its task's deadline (low +1 s, medium +500 ms,
//! high +1 ms: loose low and medium deadlines, so that a loaded machine does not turn the run
//! into an overload where an overdue medium rightly comes first); under `Priority` low 1,
//! medium 5, high 10. The scenario's code is the example `executor/examples/inversion.rs`,
//! included here as a module.
//!
//! Runs of `secs` seconds each, in the order (Edf off, Edf on, Priority off, Priority on).
//! Goal (issue 13): with inheritance, high's lock-wait p99 at most 1/10 of without and at most
//! 2 ms, per policy.

use crate::error::BenchError;
use crate::table::{num, Table};
use kairos::Policy;
use serde::Serialize;

/// The goal's bound on high's lock-wait p99 with inheritance, µs.
const P99_BOUND_US: u64 = 2_000;

/// One run's result: high's lock waits.
#[derive(Clone, Debug, Serialize)]
pub struct InversionRow {
    /// `Edf` or `Priority`.
    pub policy: String,
    /// Whether the mutex lent the waiters' urgency to its holder.
    pub inheritance: bool,
    /// Lock requests high made.
    pub requests: u64,
    /// Lock wait percentiles, µs.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Maximum.
    pub max_us: u64,
}

/// The scenario, from the example that shows it to users (one copy of the code).
#[allow(dead_code)]
#[path = "../../executor/examples/inversion.rs"]
mod scenario;

/// One run of `secs` seconds.
fn run_one(policy: Policy, inherit: bool, secs: u32) -> Result<InversionRow, BenchError> {
    let waits = scenario::run(policy, inherit, u64::from(secs)).map_err(|e| BenchError::Task {
        backend: format!("kairos-{policy}"),
        message: format!("inversion: {e}"),
    })?;
    Ok(InversionRow {
        policy: policy.to_string(),
        inheritance: inherit,
        requests: waits.len(),
        p50_us: waits.value_at_quantile(0.5),
        p99_us: waits.value_at_quantile(0.99),
        p999_us: waits.value_at_quantile(0.999),
        max_us: waits.max(),
    })
}

/// The four runs, `secs` seconds each.
///
/// # Errors
/// A runtime that cannot be built, a task that failed.
pub fn run(secs: u32) -> Result<Vec<InversionRow>, BenchError> {
    let mut rows = Vec::with_capacity(4);
    for policy in [Policy::Edf, Policy::Priority] {
        for inherit in [false, true] {
            eprintln!(
                "inversion: {policy}, inheritance {}, {secs} s",
                if inherit { "on" } else { "off" }
            );
            rows.push(run_one(policy, inherit, secs)?);
        }
    }
    Ok(rows)
}

/// The table: one line per run.
pub fn table(rows: &[InversionRow]) -> Table {
    let mut t = Table::new([
        "inversion (high's lock wait)",
        "inheritance",
        "requests",
        "p50 us",
        "p99 us",
        "p99.9 us",
        "max us",
    ])
    .text_columns(2);
    for r in rows {
        t.row([
            r.policy.clone(),
            if r.inheritance { "on" } else { "off" }.to_owned(),
            r.requests.to_string(),
            num(r.p50_us as f64),
            num(r.p99_us as f64),
            num(r.p999_us as f64),
            num(r.max_us as f64),
        ]);
    }
    t
}

/// The goal line of each policy that has both runs.
pub fn verdicts(rows: &[InversionRow]) -> Vec<String> {
    let mut out = Vec::new();
    for policy in ["Edf", "Priority"] {
        let find = |on: bool| {
            rows.iter()
                .find(|r| r.policy == policy && r.inheritance == on)
        };
        let (Some(off), Some(on)) = (find(false), find(true)) else {
            continue;
        };
        let ratio = on.p99_us as f64 / off.p99_us.max(1) as f64;
        let met = ratio <= 0.1 && on.p99_us <= P99_BOUND_US;
        out.push(format!(
            "goal: inversion {policy}: high's lock-wait p99 with inheritance {} us = {ratio:.3}x \
             without ({} us) (<= 0.1x and <= {} us): {}",
            on.p99_us,
            off.p99_us,
            P99_BOUND_US,
            if met { "met" } else { "MISSED" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(policy: &str, inheritance: bool, p99_us: u64) -> InversionRow {
        InversionRow {
            policy: policy.to_owned(),
            inheritance,
            requests: 400,
            p50_us: 1,
            p99_us,
            p999_us: p99_us,
            max_us: p99_us,
        }
    }

    #[test]
    fn verdicts_need_a_tenth_and_the_bound() {
        let v = verdicts(&[
            row("Edf", false, 20_000),
            row("Edf", true, 1_000),
            row("Priority", false, 5_000),
            row("Priority", true, 1_000),
        ]);
        assert_eq!(v.len(), 2);
        assert!(v[0].contains("0.050x") && v[0].ends_with(": met"), "{v:?}");
        assert!(v[1].contains("0.200x") && v[1].ends_with("MISSED"), "{v:?}");
        assert!(verdicts(&[row("Edf", true, 1)]).is_empty());
        let json = serde_json::to_value([row("Edf", true, 7)]).unwrap();
        assert_eq!(json[0]["p99_us"], 7);
        assert_eq!(json[0]["inheritance"], true);
    }
}
