//! The short answer to "how do CFS, FIFO and EDF compare on latency?": one table per workload,
//! one row per policy, with the mean and p99 release → run latency, the miss ratio and the
//! preemptions. `results.md` opens with these tables (`sched-bench report`, see
//! [`crate::results`]); the full tables follow in each workload's section.
//!
//! Release → run is the comparison's `rel→poll` (release → the job's first clock read once its
//! task runs). Cells are medians over the rounds. Preemptions per round: kairos' cooperative
//! preemptions (`Metrics::preemptions`), the kernel threads' involuntary context switches;
//! tokio has no such count (`n/a`).

use super::RtRow;
use crate::table::{num, Table};

/// The policy a row stands for, as the summary names it: `kernel SCHED_DEADLINE`,
/// `kairos Edf`, `tokio`, ... (other rows keep their backend label).
pub fn policy(backend: &str) -> String {
    let named = match backend {
        "kernel-other" => "kernel SCHED_OTHER",
        "kernel-fifo" => "kernel SCHED_FIFO",
        "kernel-deadline" => "kernel SCHED_DEADLINE",
        "kairos-fifo" => "kairos Fifo",
        "kairos-edf" => "kairos Edf",
        "kairos-priority" => "kairos Priority",
        "kairos-fair" => "kairos Fair",
        other => other,
    };
    named.to_owned()
}

/// The summary table of one workload's rows.
pub fn table(rows: &[RtRow]) -> Table {
    let mut t = Table::new([
        "policy",
        "rel→run µs mean",
        "p99",
        "miss ratio",
        "preemptions/round",
    ]);
    for r in rows {
        if !r.measured {
            t.row([
                policy(&r.backend),
                "-".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
            ]);
            continue;
        }
        t.row([
            policy(&r.backend),
            num(r.start_mean.median),
            num(r.start_p99.median),
            format!("{:.1}%", r.miss_ratio.median * 100.0),
            r.preemptions
                .map_or_else(|| "n/a".to_owned(), |p| format!("{:.0}", p.median)),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt_compare::testing::row;
    use crate::stats::Summary;

    #[test]
    fn one_row_per_policy_with_mean_p99_misses_and_preemptions() {
        let mut edf = row("kairos-edf", "latency-under-load", &["tick"]);
        edf.start_mean = Summary::of(&[9.5]).unwrap();
        edf.start_p99 = Summary::of(&[21.0]).unwrap();
        edf.miss_ratio = Summary::of(&[0.0]).unwrap();
        edf.preemptions = Some(Summary::of(&[2817.0]).unwrap());
        let mut tokio = row("tokio", "latency-under-load", &["tick"]);
        tokio.preemptions = None;
        let mut refused = row("kernel-deadline", "latency-under-load", &["tick"]);
        refused.measured = false;
        let text = table(&[edf, tokio, refused]).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        let cells = |l: &str| -> Vec<String> {
            l.split('|')
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect()
        };
        assert_eq!(
            cells(lines[2]),
            ["kairos Edf", "9.50", "21.00", "0.0%", "2817"]
        );
        assert_eq!(cells(lines[3])[0], "tokio");
        assert_eq!(cells(lines[3])[4], "n/a");
        assert_eq!(
            cells(lines[4]),
            ["kernel SCHED_DEADLINE", "-", "-", "-", "-"]
        );
    }

    #[test]
    fn policies_are_named() {
        assert_eq!(policy("kernel-other"), "kernel SCHED_OTHER");
        assert_eq!(policy("kairos-fair"), "kairos Fair");
        assert_eq!(policy("sim-edf"), "sim-edf");
    }
}
