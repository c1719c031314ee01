//! The default output of `compare` on a periodic workload: what a reader needs first, in at
//! most [`MAX_WIDTH`] columns.
//!
//! 1. One verdict line per backend: misses, release→poll p99, worst lateness
//!    (`kairos-edf: 0 of 2994 jobs missed; rel→poll p99 21 µs; worst lateness -900 µs`).
//! 2. A compact table: backend, jobs, miss ratio, release→poll p50/p99/max, worst lateness;
//!    medians over the rounds (worst lateness: the maximum over the rounds).
//! 3. Short notes; the full definitions are in `docs/sched-bench.md`.
//!
//! `--wide` prints the full tables and notes instead ([`super::report`]); `--json` writes every
//! field. Every line here is at most [`MAX_WIDTH`] characters for every built-in workload and
//! backend (a unit test renders them all).

use super::{RtOpts, RtRow};
use crate::table::{num, Table};

/// Widest line the default output prints, in characters.
pub const MAX_WIDTH: usize = 120;

/// The worst lateness over the rounds, µs (`None` when some round completed no job).
fn worst_lateness(r: &RtRow) -> Option<f64> {
    r.lateness_max.map(|s| s.max)
}

/// `s` cut to [`MAX_WIDTH`] characters, ending in `…` when cut.
fn fit(s: String) -> String {
    if s.chars().count() <= MAX_WIDTH {
        s
    } else {
        let mut cut: String = s.chars().take(MAX_WIDTH - 1).collect();
        cut.push('…');
        cut
    }
}

/// The verdict line of one row.
pub fn verdict(r: &RtRow) -> String {
    if !r.measured {
        let status = r.status.as_deref().unwrap_or("no round ran");
        return fit(format!(
            "{}: not run: {status} (full text: --wide)",
            r.backend
        ));
    }
    let lateness =
        worst_lateness(r).map_or_else(String::new, |l| format!("; worst lateness {} µs", num(l)));
    fit(format!(
        "{}: {} of {} jobs missed; rel→poll p99 {} µs{lateness}",
        r.backend,
        r.missed,
        r.jobs,
        num(r.start_p99.median)
    ))
}

/// The compact table.
pub fn table(rows: &[RtRow]) -> Table {
    let mut t = Table::new([
        "backend",
        "jobs",
        "miss ratio",
        "rel→poll µs p50",
        "p99",
        "max",
        "worst lateness µs",
    ]);
    for r in rows {
        if !r.measured {
            let mut cells = vec![r.backend.clone()];
            cells.extend((0..6).map(|_| "-".to_owned()));
            t.row(cells);
            continue;
        }
        t.row([
            r.backend.clone(),
            r.jobs.to_string(),
            format!("{:.1}%", r.miss_ratio.median * 100.0),
            num(r.start_p50.median),
            num(r.start_p99.median),
            num(r.start_max.median),
            worst_lateness(r).map_or_else(|| "-".to_owned(), num),
        ]);
    }
    t
}

/// The short notes under the compact table.
pub fn notes(opts: &RtOpts, rows: &[RtRow]) -> Vec<String> {
    let mut notes = vec![
        format!(
            "note: {}: {} worker{}, {} round(s) of {:.1} s per backend, interleaved; cells are \
             medians over the rounds",
            opts.workload.name,
            opts.workers,
            if opts.workers == 1 { "" } else { "s" },
            opts.rounds,
            opts.duration.as_secs_f64()
        ),
        "note: rel→poll = release → the job's first poll; lateness = end − (release + D), \
         negative = early"
            .to_owned(),
        "note: --wide: ranges, response, CPU, preemptions, background, per task; definitions: \
         docs/sched-bench.md"
            .to_owned(),
    ];
    if rows.iter().any(|r| r.backend == "tokio") {
        notes.push(
            "note: tokio wakes on its 1 ms timer grid, so its rel→poll is near 1 ms by \
             construction (see docs/sched-bench.md)"
                .to_owned(),
        );
    }
    if rows.iter().any(|r| r.status.is_some()) {
        notes.push(
            "note: kernel-*: one OS thread per periodic task on every allowed CPU (not pinned; \
             --workers does not apply)"
                .to_owned(),
        );
    }
    if rows.iter().any(|r| r.simulated) {
        notes.push(format!(
            "note: sim-*: kairos::sim on virtual time from seed {}: the policy's queueing delay \
             alone, deterministic",
            opts.seed
        ));
    }
    notes.into_iter().map(fit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::rt_compare::testing::row;
    use crate::rt_compare::KairosPeriodic;
    use crate::stats::Summary;
    use crate::workload::{self, Shape};
    use std::time::Duration;

    /// Every backend kind a periodic comparison prints a row for.
    fn backend_rows() -> Vec<String> {
        let mut names: Vec<String> = [Backend::Executor, Backend::Tokio, Backend::SimAll]
            .iter()
            .flat_map(|b| b.expand())
            .map(|b| b.to_string())
            .collect();
        names.extend(["kernel-other", "kernel-fifo", "kernel-deadline"].map(String::from));
        names.push("kairos-fifo+loop".to_owned());
        names
    }

    #[test]
    fn default_output_fits_120_columns_for_every_builtin_and_backend() {
        let mut checked = 0;
        for w in workload::BUILTIN {
            let Shape::Periodic(set) = w.shape else {
                continue;
            };
            let names: Vec<&'static str> = set.tasks.iter().map(|t| t.name).collect();
            let mut rows: Vec<RtRow> = backend_rows()
                .iter()
                .map(|b| row(b, w.name, &names))
                .collect();
            // A refused kernel row with a long reason.
            let mut refused = row("kernel-deadline", w.name, &names);
            refused.measured = false;
            refused.status = Some("refused: ".to_owned() + &"EPERM ".repeat(40));
            rows.push(refused);
            let opts = RtOpts {
                workload: w,
                rt: crate::rt_settings::RtSettings::default(),
                set,
                rounds: 1000,
                workers: 1024,
                duration: Duration::from_secs(3600),
                backends: Vec::new(),
                json: None,
                hgrm: None,
                trace: None,
                plot: None,
                kairos_periodic: KairosPeriodic::SpawnPeriodic,
                cyclic: false,
                rtapp_log: None,
                seed: u64::MAX,
                wide: false,
            };
            let mut text: Vec<String> = rows.iter().map(verdict).collect();
            text.push(table(&rows).to_string());
            text.extend(notes(&opts, &rows));
            for line in text.iter().flat_map(|t| t.lines()) {
                assert!(
                    line.chars().count() <= MAX_WIDTH,
                    "{}: {} chars: {line}",
                    w.name,
                    line.chars().count()
                );
            }
            // Every backend is in the table and has a verdict.
            for r in &rows {
                assert!(text
                    .iter()
                    .any(|l| l.starts_with(&format!("{}: ", r.backend))));
            }
            checked += 1;
        }
        assert!(checked >= 3, "only {checked} periodic built-ins");
    }

    #[test]
    fn verdict_says_misses_p99_and_lateness() {
        let mut r = row("kairos-edf", "latency-under-load", &["ctrl"]);
        r.missed = 0;
        r.jobs = 2994;
        r.start_p99 = Summary::of(&[21.0]).unwrap();
        r.lateness_max = Some(Summary::of(&[-900.0]).unwrap());
        assert_eq!(
            verdict(&r),
            "kairos-edf: 0 of 2994 jobs missed; rel→poll p99 21.00 µs; worst lateness -900.0 µs"
        );
        r.lateness_max = None;
        assert_eq!(
            verdict(&r),
            "kairos-edf: 0 of 2994 jobs missed; rel→poll p99 21.00 µs"
        );
        r.measured = false;
        r.status = Some("SCHED_DEADLINE refused".to_owned());
        assert_eq!(
            verdict(&r),
            "kairos-edf: not run: SCHED_DEADLINE refused (full text: --wide)"
        );
    }
}
