//! The scheduling-classes issue's goals (issue 15), printed under `compare`'s tables when a run
//! has the rows they compare, as `goal: ... met` or `MISSED` (a measured shortfall against the
//! project's target, not an error: the exit status stays 0):
//!
//! | workload | goal |
//! |---|---|
//! | `non-yielding-hogs` | `kairos-classes-preemptive` rel→poll p99 at most 2x `kernel-fifo`'s |
//! | `mixed-latency`, `mixed-latency-hogs` | each classes row (`kairos-classes`, `kairos-classes-preemptive`): miss ratio no more than `kernel-fifo`'s, and the control task's (`ctrl`) rel→poll p99 at most 2x `kernel-fifo`'s |
//!
//! Medians over the rounds, as in the tables.
//!
//! Like with like: the kernel threads run on every CPU of the machine, the kairos backends on
//! `--workers` workers (per class under preemptive classes). With fewer workers than CPUs
//! (the periodic built-ins default to 1) a kairos row has less machine than the kernel rows,
//! and the goal lines say so and name the `--workers` that compares like with like. Likewise
//! the cooperative `kairos-classes` row runs its workers at normal OS priority unless
//! `--worker-priority realtime` was given, where `kernel-fifo`'s threads are `SCHED_FIFO`: a
//! line says so when that row missed a goal (on this project's 2-core VM a `SCHED_OTHER`
//! worker's timed park returned 0.3-4 ms late now and then; at `SCHED_FIFO` the same row met
//! the goals).

use super::RtRow;

/// The control task of the mixed-latency sets (the one with the shortest period).
const CONTROL: &str = "ctrl";

/// The cooperative classes backend (its workers' OS priority is `--worker-priority`'s).
const COOPERATIVE: &str = "kairos-classes";

/// The classes backends the mixed-latency goals apply to.
const CLASSES_ROWS: [&str; 2] = [COOPERATIVE, "kairos-classes-preemptive"];

/// `met` or `MISSED`.
fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

/// The goal lines for `workload`'s `rows` (none when the rows a goal compares are not all in the
/// run, or did not run), for a run of the kairos backends on `workers` workers on a machine of
/// `cpus` CPUs.
pub fn lines(
    workload: &str,
    rows: &[RtRow],
    workers: usize,
    cpus: usize,
    realtime: bool,
) -> Vec<String> {
    let row = |b: &str| rows.iter().find(|r| r.backend == b && r.measured);
    let Some(fifo) = row("kernel-fifo") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // Whether the cooperative classes row missed a goal (for the priority line below).
    let mut cooperative_missed = false;
    match workload {
        "non-yielding-hogs" => {
            if let Some(pre) = row("kairos-classes-preemptive") {
                let ratio = pre.start_p99.median / fifo.start_p99.median;
                out.push(format!(
                    "goal: {workload}: kairos-classes-preemptive rel→poll p99 / kernel-fifo's = \
                     {ratio:.2}x (<= 2x): {}",
                    verdict(ratio <= 2.0)
                ));
            }
        }
        "mixed-latency" | "mixed-latency-hogs" => {
            for b in CLASSES_ROWS {
                let Some(r) = row(b) else { continue };
                let (mine, theirs) = (r.miss_ratio.median, fifo.miss_ratio.median);
                let met = mine <= theirs;
                cooperative_missed |= b == COOPERATIVE && !met;
                out.push(format!(
                    "goal: {workload}: {b} miss ratio {:.2}% vs kernel-fifo {:.2}% (no more): {}",
                    mine * 100.0,
                    theirs * 100.0,
                    verdict(met)
                ));
                let ctrl = |r: &RtRow| {
                    r.tasks
                        .iter()
                        .find(|t| t.name == CONTROL)
                        .map(|t| t.start_p99.median)
                };
                if let (Some(mine), Some(theirs)) = (ctrl(r), ctrl(fifo)) {
                    let ratio = mine / theirs;
                    cooperative_missed |= b == COOPERATIVE && ratio > 2.0;
                    out.push(format!(
                        "goal: {workload}: {b} {CONTROL} rel→poll p99 / kernel-fifo's = {ratio:.2}x \
                         (<= 2x): {}",
                        verdict(ratio <= 2.0)
                    ));
                }
            }
        }
        _ => {}
    }
    if cooperative_missed && !realtime {
        out.push(
            "goal: not like with like: kairos-classes at normal priority, kernel-fifo at \
             SCHED_FIFO (try --worker-priority realtime)"
                .to_owned(),
        );
    }
    if !out.is_empty() && workers < cpus {
        out.push(format!(
            "goal: not like with like: kairos on {workers} worker(s) per class, kernel threads \
             on {cpus} CPUs (try --workers {cpus})"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt_compare::testing::row;

    #[test]
    fn goals_compare_the_classes_rows_with_kernel_fifo() {
        let mut fifo = row("kernel-fifo", "mixed-latency", &["ctrl", "sensor"]);
        fifo.miss_ratio.median = 0.002;
        fifo.tasks[0].start_p99.median = 70.0;
        let mut classes = row("kairos-classes", "mixed-latency", &["ctrl", "sensor"]);
        classes.miss_ratio.median = 0.003;
        classes.tasks[0].start_p99.median = 100.0;
        let mixed = lines(
            "mixed-latency",
            &[fifo.clone(), classes.clone()],
            2,
            2,
            true,
        );
        assert_eq!(mixed.len(), 2, "{mixed:?}");
        assert!(mixed[0].contains("0.30% vs kernel-fifo 0.20%") && mixed[0].ends_with("MISSED"));
        assert!(
            mixed[1].contains("1.43x") && mixed[1].ends_with(": met"),
            "{mixed:?}"
        );

        fifo.start_p99.median = 600.0;
        let mut pre = row("kairos-classes-preemptive", "non-yielding-hogs", &["ctrl"]);
        pre.start_p99.median = 80.0;
        let hogs = lines(
            "non-yielding-hogs",
            &[pre.clone(), fifo.clone()],
            2,
            2,
            false,
        );
        assert_eq!(hogs.len(), 1);
        assert!(
            hogs[0].contains("0.13x") && hogs[0].ends_with(": met"),
            "{hogs:?}"
        );

        // On another workload, or without a measured kernel-fifo row, nothing.
        // Fewer workers than CPUs: the lines say the comparison is not like with like.
        let fewer = lines(
            "mixed-latency",
            &[fifo.clone(), classes.clone()],
            1,
            2,
            true,
        );
        assert_eq!(fewer.len(), 3, "{fewer:?}");
        assert!(
            fewer[2].ends_with("kernel threads on 2 CPUs (try --workers 2)"),
            "{fewer:?}"
        );
        // The cooperative row missed at normal OS priority: a line says so.
        let normal = lines("mixed-latency", &[fifo.clone(), classes], 2, 2, false);
        assert_eq!(normal.len(), 3, "{normal:?}");
        assert!(
            normal[2].contains("--worker-priority realtime"),
            "{normal:?}"
        );

        // Every line fits the compact table's 120 columns, with the longest names and figures.
        for line in mixed.iter().chain(&hogs).chain(&fewer).chain(&normal) {
            assert!(
                line.chars().count() <= 120,
                "{} columns: {line}",
                line.len()
            );
        }

        // On another workload, or without a measured kernel-fifo row, nothing.
        assert!(lines(
            "latency-under-load",
            &[pre.clone(), fifo.clone()],
            1,
            2,
            false
        )
        .is_empty());
        fifo.measured = false;
        assert!(lines("non-yielding-hogs", &[pre, fifo], 1, 2, false).is_empty());
    }
}
