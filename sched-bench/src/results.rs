//! `sched-bench report`: reruns the documented comparisons and writes `results.md`.
//!
//! The three periodic built-in workloads (`latency-under-load`, `mixed-latency`,
//! `mixed-latency-hogs`) on `kernel,executor,tokio`, with docs/benchmarks.md's "Policies under
//! load" settings (5 rounds of the workload's 3 s; `--rounds` and `--duration` override). For
//! each workload `OUT/results.md` gets the exact `compare` command line it equals, the main and
//! per-task tables (Markdown), the notes, the line on how busy the machine was, and a link to
//! `OUT/results/<workload>.svg`, the release → start percentile plot of every row (`--plot`'s).
//! The file opens with one summary table per workload ([`rt_compare::summary`]: per policy the
//! mean and p99 release → run latency, miss ratio and preemptions).

use crate::backend::Backend;
use crate::error::BenchError;
use crate::machine::{self, CpuSample};
use crate::rt_compare::{self, KairosPeriodic, RtOpts, RtRow};
use crate::workload::{self, Shape};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The workloads the report runs, in order.
pub const WORKLOADS: [&str; 3] = ["latency-under-load", "mixed-latency", "mixed-latency-hogs"];

/// Rounds per backend when `--rounds` is not given (docs/benchmarks.md's).
pub const DEFAULT_ROUNDS: usize = 5;

/// Options of `sched-bench report`.
#[derive(Debug)]
pub struct ReportOpts {
    /// Directory of `results.md` (its SVGs go to `results/` inside it).
    pub out: PathBuf,
    /// Rounds per backend.
    pub rounds: usize,
    /// Length of one round (`None`: each workload's own).
    pub duration: Option<Duration>,
}

/// Rows each workload runs: three kernel rows, four kairos policies, tokio.
const ROWS_PER_WORKLOAD: u64 = 8;

/// What the report will run, how long it should take, and where it writes (printed first: the
/// run is silent for minutes).
fn plan(opts: &ReportOpts) -> String {
    let round = opts.duration.unwrap_or(Duration::from_secs(3));
    let runs = WORKLOADS.len() as f64 * ROWS_PER_WORKLOAD as f64 * opts.rounds as f64;
    let secs = (runs * round.as_secs_f64()).ceil() as u64;
    format!(
        "sched-bench report: {} workloads x {ROWS_PER_WORKLOAD} rows x {} round(s) of {:?}: \
         about {} min {} s; writing {}",
        WORKLOADS.len(),
        opts.rounds,
        round,
        secs / 60,
        secs % 60,
        opts.out.join("results.md").display()
    )
}

/// One workload's results: what [`render`] turns into a section of `results.md`.
#[derive(Debug)]
pub struct Section {
    /// The options it ran with.
    pub rt: RtOpts,
    /// Its rows.
    pub rows: Vec<RtRow>,
    /// How busy the machine was meanwhile ([`machine::busy_note`]).
    pub busy: Option<String>,
}

/// Runs every comparison, writes `results.md` and the SVGs, and returns the paths written.
///
/// # Errors
/// As [`rt_compare::run()`], and [`BenchError::Io`] for a file that cannot be written.
pub fn run(opts: &ReportOpts) -> Result<Vec<PathBuf>, BenchError> {
    eprintln!("{}", plan(opts));
    let svg_dir = opts.out.join("results");
    std::fs::create_dir_all(&svg_dir).map_err(|source| BenchError::Io {
        path: svg_dir.clone(),
        source,
    })?;
    let backends = [Backend::Kernel, Backend::Executor, Backend::Tokio];
    let mut written = Vec::new();
    let mut sections = Vec::new();
    for name in WORKLOADS {
        let workload = workload::find(name)?;
        let Shape::Periodic(set) = workload.shape else {
            return Err(BenchError::Usage(format!("{name} is not periodic")));
        };
        let rt = RtOpts {
            workload,
            rt: crate::rt_settings::RtSettings::default(),
            set,
            rounds: opts.rounds,
            workers: set.workers,
            duration: opts.duration.unwrap_or(set.duration),
            backends: backends.to_vec(),
            json: None,
            hgrm: None,
            trace: None,
            plot: None,
            kairos_periodic: KairosPeriodic::SpawnPeriodic,
            cyclic: false,
            rtapp_log: None,
            seed: rt_compare::sim::DEFAULT_SEED,
            wide: true,
        };
        let start = CpuSample::now();
        let rows = rt_compare::run(&rt)?;
        let busy = machine::busy_note(start);
        let svg = svg_dir.join(format!("{name}.svg"));
        write(&svg, &rt_compare::plot(&svg, name, &rows)?)?;
        written.push(svg);
        sections.push(Section { rt, rows, busy });
    }
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let path = opts.out.join("results.md");
    write(&path, &render(&sections, opts.duration, cpus))?;
    written.insert(0, path);
    Ok(written)
}

/// `results.md`: the summary table of every workload first, then one section per workload
/// (command line, full tables, notes, machine load, plot). `duration`: the `--duration` given
/// (it goes into the command lines); `cpus`: the CPUs the process could use.
pub fn render(sections: &[Section], duration: Option<Duration>, cpus: usize) -> String {
    let mut md = String::from(
        "# sched-bench results\n\n\
         Generated by `sched-bench report` (do not edit by hand): the periodic built-in \
         workloads on `kernel,executor,tokio`, as in docs/benchmarks.md, \"Policies under \
         load\". Columns and metrics: docs/sched-bench.md, \"Periodic built-in workloads\". \
         Each section's command reproduces it (a release build: `cargo build --release -p \
         sched-bench`).\n\n",
    );
    let _ = writeln!(md, "Machine: {cpus} CPUs available to the process.\n");
    let _ = writeln!(
        md,
        "## Summary\n\n\
         Per workload and policy: release → run latency (the job's first poll; mean and p99, \
         µs), the share of jobs that missed their deadline, and preemptions per round (kairos: \
         cooperative preemptions; kernel: involuntary context switches of the periodic \
         threads; n/a for tokio). Medians over the rounds; the sections below have the ranges \
         and every other column.\n"
    );
    for s in sections {
        let _ = writeln!(md, "### `{}`\n", s.rt.workload.name);
        let _ = writeln!(md, "{}", rt_compare::summary::table(&s.rows));
    }
    for s in sections {
        let name = s.rt.workload.name;
        let _ = writeln!(md, "## `{name}`\n\n{}\n", s.rt.workload.summary);
        let _ = writeln!(md, "```sh\n{}\n```\n", command_line(&s.rt, duration));
        let _ = writeln!(md, "{}", rt_compare::table(&s.rows));
        if s.rt.set.tasks.len() > 1 {
            let _ = writeln!(md, "{}", rt_compare::task_table(&s.rows));
        }
        for note in rt_compare::notes(&s.rt, &s.rows) {
            let _ = writeln!(md, "- {}", note.trim_start_matches("note: "));
        }
        let _ = writeln!(
            md,
            "\nMachine: {}.\n\n![{name}: release → poll latency by percentile](results/{name}.svg)\n",
            s.busy
                .clone()
                .unwrap_or_else(|| "no CPU accounting available (/proc)".to_owned())
        );
    }
    md
}

/// The `compare` command line that runs what one section shows.
fn command_line(rt: &RtOpts, duration: Option<Duration>) -> String {
    let mut line = format!(
        "sched-bench compare --workload {} --backends kernel,executor,tokio --rounds {}",
        rt.workload.name, rt.rounds
    );
    if duration.is_some() {
        let _ = write!(line, " --duration {}ms", rt.duration.as_millis());
    }
    let _ = write!(line, " --plot results/{}.svg", rt.workload.name);
    line
}

fn write(path: &Path, text: &str) -> Result<(), BenchError> {
    std::fs::write(path, text).map_err(|source| BenchError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_writes_every_workload() {
        let out = std::env::temp_dir().join(format!("sched-bench-report-{}", std::process::id()));
        let written = run(&ReportOpts {
            out: out.clone(),
            rounds: 1,
            duration: Some(Duration::from_millis(20)),
        })
        .unwrap();
        assert_eq!(written.len(), 1 + WORKLOADS.len());
        let md = std::fs::read_to_string(out.join("results.md")).unwrap();
        for name in WORKLOADS {
            assert!(md.contains(&format!("## `{name}`")), "{md}");
            assert!(md.contains(&format!("results/{name}.svg")), "{md}");
            let svg =
                std::fs::read_to_string(out.join("results").join(format!("{name}.svg"))).unwrap();
            assert!(svg.contains("<svg") && svg.contains(name), "{name}");
        }
        assert!(md.contains("| kairos-edf"), "{md}");
        let _ = std::fs::remove_dir_all(&out);
    }

    /// On synthetic rows (no timing): the file opens with the summary, one table per workload
    /// with a row per policy (kernel, kairos, tokio) and the mean and p99 columns, before the
    /// first full section.
    #[test]
    fn render_opens_with_one_summary_table_per_workload() {
        let backends = [
            "kernel-other",
            "kernel-fifo",
            "kernel-deadline",
            "kairos-fifo",
            "kairos-edf",
            "kairos-priority",
            "kairos-fair",
            "tokio",
        ];
        let sections: Vec<Section> = WORKLOADS
            .iter()
            .map(|name| {
                let workload = workload::find(name).unwrap();
                let Shape::Periodic(set) = workload.shape else {
                    panic!("{name} is not periodic");
                };
                let tasks: Vec<&'static str> = set.tasks.iter().map(|t| t.name).collect();
                let mut rows: Vec<RtRow> = backends
                    .iter()
                    .map(|b| rt_compare::testing::row(b, name, &tasks))
                    .collect();
                rows[4].start_mean = crate::stats::Summary::of(&[12.5]).unwrap();
                Section {
                    rt: RtOpts {
                        workload,
                        rt: crate::rt_settings::RtSettings::default(),
                        set,
                        rounds: 5,
                        workers: set.workers,
                        duration: set.duration,
                        backends: Vec::new(),
                        json: None,
                        hgrm: None,
                        trace: None,
                        plot: None,
                        kairos_periodic: KairosPeriodic::SpawnPeriodic,
                        cyclic: false,
                        rtapp_log: None,
                        seed: 1,
                        wide: true,
                    },
                    rows,
                    busy: None,
                }
            })
            .collect();
        let md = render(&sections, None, 2);
        let summary = md.find("## Summary").expect("a summary");
        let first_section = md.find("\n## `latency-under-load`").expect("a section");
        assert!(summary < first_section, "{md}");
        let head = &md[summary..first_section];
        for name in WORKLOADS {
            assert!(head.contains(&format!("### `{name}`")), "{head}");
        }
        assert_eq!(head.matches("| policy ").count(), WORKLOADS.len(), "{head}");
        assert_eq!(
            head.matches("rel→run µs mean").count(),
            WORKLOADS.len(),
            "{head}"
        );
        for policy in [
            "kernel SCHED_OTHER",
            "kernel SCHED_FIFO",
            "kernel SCHED_DEADLINE",
            "kairos Fifo",
            "kairos Edf",
            "kairos Priority",
            "kairos Fair",
            "tokio",
        ] {
            assert_eq!(
                head.matches(&format!("| {policy} ")).count(),
                3,
                "{policy}: {head}"
            );
        }
        let edf = head
            .lines()
            .find(|l| l.starts_with("| kairos Edf "))
            .unwrap();
        assert!(edf.contains(" 12.50 |"), "{edf}");
        // The full tables follow, with the mean column too.
        assert!(md[first_section..].contains("rel→poll µs mean"), "{md}");
        assert!(
            md.contains("```sh\nsched-bench compare --workload mixed-latency "),
            "{md}"
        );
    }
}
