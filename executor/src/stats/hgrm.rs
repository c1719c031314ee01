//! Output of merged statistics: `.hgrm` files for HdrHistogram's plotter, and a text table.
//!
//! Both take what [`Recorder::merge_into`](super::recorder::Recorder::merge_into) produces: the
//! [`TaskStats`] of all tasks and a map from task name to that name's stats.
//!
//! # Files
//!
//! [`write_hgrm_files`] writes every non-empty histogram with
//! [`Histogram::write_hgrm`](super::Histogram::write_hgrm) in **microseconds** (unit ratio
//! 1000): `{prefix}{metric}.hgrm` for all tasks, then `{prefix}{name}.{metric}.hgrm` for each
//! name in the map's (sorted) order, metrics in the order `scheduling_latency`,
//! `response_time`, `lateness`, `poll_duration`. Names are made safe as file-name parts: every
//! character outside `[A-Za-z0-9_-]` becomes `_`, an empty name becomes `_`, and when two names
//! end up the same (`"a b"` and `"a_b"`) the later one in map order gets `-2`, `-3`, ... so no
//! file overwrites another. `prefix` is used as given (it may name a subdirectory, which must
//! exist). Files that exist are replaced.

// Used by the public `Metrics::summary` and `Metrics::write_hgrm` (`metrics.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::histogram::Nanos;
use super::{Histogram, TaskStats};

/// `.hgrm` values are written in microseconds: the unit HdrHistogram's tools and plotter
/// examples use for latencies, and the one that keeps 3 decimals meaningful (1 ns resolution).
const HGRM_UNIT_RATIO: f64 = 1000.0;

/// Writes one `.hgrm` file per non-empty histogram of `total` and of each name in `by_name`
/// into `dir` (created if missing), named as in the [module docs](self). Returns the paths
/// written, in the order written (deterministic for the same inputs).
///
/// # Errors
///
/// The first I/O error (creating `dir` or a file, or writing); files written before it stay.
pub(crate) fn write_hgrm_files(
    dir: &Path,
    prefix: &str,
    total: &TaskStats,
    by_name: &BTreeMap<&'static str, TaskStats>,
) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    write_set(dir, prefix, total, &mut written)?;
    let mut used = BTreeSet::new();
    for (name, stats) in by_name {
        let part = unique_file_part(name, &mut used);
        write_set(dir, &format!("{prefix}{part}."), stats, &mut written)?;
    }
    Ok(written)
}

/// Writes `{prefix}{metric}.hgrm` for each non-empty histogram of `stats`.
fn write_set(
    dir: &Path,
    prefix: &str,
    stats: &TaskStats,
    written: &mut Vec<PathBuf>,
) -> io::Result<()> {
    for (metric, histogram) in stats.histograms() {
        if histogram.is_empty() {
            continue;
        }
        let path = dir.join(format!("{prefix}{metric}.hgrm"));
        histogram.write_hgrm(File::create(&path)?, HGRM_UNIT_RATIO)?;
        written.push(path);
    }
    Ok(())
}

/// `name` with every character outside `[A-Za-z0-9_-]` replaced by `_` (`_` if empty).
fn sanitize(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() {
        String::from("_")
    } else {
        safe
    }
}

/// [`sanitize`]`(name)`, with `-2`, `-3`, ... appended if that is already in `used`; the result
/// is added to `used`.
fn unique_file_part(name: &str, used: &mut BTreeSet<String>) -> String {
    let base = sanitize(name);
    let mut part = base.clone();
    let mut n = 1u64;
    while used.contains(&part) {
        n += 1;
        part = format!("{base}-{n}");
    }
    used.insert(part.clone());
    part
}

/// A text table of `total` (row `all`) and each name in `by_name`: counters, scheduling
/// latency p50 / p99 / p99.9 / max, response time p99 and poll duration p99, in ns, µs, ms or
/// s; `-` where there are no samples. Columns are fixed-width (the name column as wide as the
/// longest name), ending with a legend line.
///
/// ```text
/// task        polls  preempt     jobs   misses   lat p50   lat p99 lat p99.9   lat max  resp p99  poll p99
/// all          1000        3       10        1    1.20µs    15.1µs    40.2µs    41.0µs    2.05ms     850ns
/// ```
pub(crate) fn summary(total: &TaskStats, by_name: &BTreeMap<&'static str, TaskStats>) -> String {
    let label = |name: &str| -> String {
        name.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    };
    let rows: Vec<(String, &TaskStats)> = std::iter::once((String::from("all"), total))
        .chain(by_name.iter().map(|(name, stats)| (label(name), stats)))
        .collect();
    let width = rows
        .iter()
        .map(|(name, _)| name.chars().count())
        .chain(std::iter::once("task".len()))
        .max()
        .unwrap_or(4);

    let mut s = String::new();
    // Writing into a `String` cannot fail, so the `fmt::Result`s below are ignored.
    let _ = writeln!(
        s,
        "{:<width$} {:>10} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "task",
        "polls",
        "preempt",
        "jobs",
        "misses",
        "lat p50",
        "lat p99",
        "lat p99.9",
        "lat max",
        "resp p99",
        "poll p99",
    );
    for (name, stats) in &rows {
        let lat = &stats.scheduling_latency;
        let _ = writeln!(
            s,
            "{:<width$} {:>10} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            name,
            stats.polls,
            stats.preemptions,
            stats.jobs,
            stats.deadline_misses,
            Cell(lat, Histogram::p50),
            Cell(lat, Histogram::p99),
            Cell(lat, Histogram::p999),
            Cell(lat, Histogram::max),
            Cell(&stats.response_time, Histogram::p99),
            Cell(&stats.poll_duration, Histogram::p99),
        );
    }
    s.push_str(
        "lat: scheduling latency (runnable -> poll), resp: response time (release -> \
         completion), poll: poll duration; - : no samples\n",
    );
    s
}

/// A table cell: a statistic of a histogram in human units, or `-` if it is empty.
struct Cell<'a>(&'a Histogram, fn(&Histogram) -> u64);

impl std::fmt::Display for Cell<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.pad("-")
        } else {
            Nanos((self.1)(self.0)).fmt(f)
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A fresh, empty scratch directory under the system temp dir.
    fn scratch(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kairos-stats-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn stats_with(latencies: &[u64], jobs: &[(u64, i64)]) -> TaskStats {
        let mut s = TaskStats::default();
        for &l in latencies {
            s.polls += 1;
            s.scheduling_latency.record(l);
            s.poll_duration.record(l / 2);
        }
        for &(response, lateness) in jobs {
            s.jobs += 1;
            s.deadline_misses += u64::from(lateness > 0);
            s.response_time.record(response);
            s.lateness.record(lateness.max(0) as u64);
        }
        s
    }

    #[test]
    fn sanitizes_and_deduplicates_names() {
        assert_eq!(sanitize("sensor-1_ok"), "sensor-1_ok");
        assert_eq!(sanitize("a b/c\\d.e:f"), "a_b_c_d_e_f");
        assert_eq!(sanitize("../etc/passwd"), "___etc_passwd");
        assert_eq!(sanitize("héllo"), "h_llo");
        assert_eq!(sanitize(""), "_");
        let mut used = BTreeSet::new();
        assert_eq!(unique_file_part("a b", &mut used), "a_b");
        assert_eq!(unique_file_part("a_b", &mut used), "a_b-2");
        assert_eq!(unique_file_part("a.b", &mut used), "a_b-3");
        assert_eq!(unique_file_part("a_b-2", &mut used), "a_b-2-2");
    }

    #[test]
    fn writes_one_file_per_non_empty_histogram() {
        let dir = scratch("files").join("nested");
        let total = stats_with(&[1_000, 2_000, 3_000], &[(10_000, -5)]);
        let mut by_name = BTreeMap::new();
        by_name.insert("ctl loop", stats_with(&[], &[(10_000, -5)]));
        by_name.insert("ctl/loop", stats_with(&[1_000], &[]));
        by_name.insert("idle", TaskStats::default());

        let paths = write_hgrm_files(&dir, "run1-", &total, &by_name).unwrap();
        let names: Vec<String> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "run1-scheduling_latency.hgrm",
                "run1-response_time.hgrm",
                "run1-lateness.hgrm",
                "run1-poll_duration.hgrm",
                "run1-ctl_loop.response_time.hgrm",
                "run1-ctl_loop.lateness.hgrm",
                "run1-ctl_loop-2.scheduling_latency.hgrm",
                "run1-ctl_loop-2.poll_duration.hgrm",
            ]
        );
        for p in &paths {
            assert_eq!(p.parent(), Some(dir.as_path()));
        }
        // Values are in microseconds: the total's max latency is 3 µs.
        let text = fs::read_to_string(&paths[0]).unwrap();
        assert!(
            text.contains("#[Max     =        3.001, Total count    =            3]"),
            "{text}"
        );
        let mut listed: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        listed.sort();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(listed, sorted, "no other file was written");

        // Same inputs, same files (replaced, not appended).
        assert_eq!(
            write_hgrm_files(&dir, "run1-", &total, &by_name).unwrap(),
            paths
        );
        assert_eq!(fs::read_to_string(&paths[0]).unwrap(), text);
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn nothing_recorded_writes_nothing() {
        let dir = scratch("empty");
        let paths = write_hgrm_files(&dir, "", &TaskStats::default(), &BTreeMap::new()).unwrap();
        assert!(paths.is_empty());
        assert!(dir.is_dir());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unwritable_directory_is_an_error() {
        let dir = scratch("blocked");
        fs::write(&dir, b"a file, not a directory").unwrap();
        let total = stats_with(&[1], &[]);
        assert!(write_hgrm_files(&dir, "", &total, &BTreeMap::new()).is_err());
        fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn summary_is_an_aligned_table() {
        let total = stats_with(&[1_200, 15_000, 41_000], &[(2_050_000, 1_000)]);
        let mut by_name = BTreeMap::new();
        by_name.insert("a-long-task-name", stats_with(&[500], &[]));
        by_name.insert("x\ny", TaskStats::default());
        let text = summary(&total, &by_name);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        let width = lines[0].chars().count();
        for line in &lines[..4] {
            assert_eq!(line.chars().count(), width, "{text}");
        }
        assert!(lines[0].starts_with("task             "), "{text}");
        let all: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            all,
            [
                "all", "3", "0", "1", "1", "15.0µs", "41.0µs", "41.0µs", "41.0µs", "2.05ms",
                "20.5µs"
            ]
        );
        let named: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(
            named,
            [
                "a-long-task-name",
                "1",
                "0",
                "0",
                "0",
                "500ns",
                "500ns",
                "500ns",
                "500ns",
                "-",
                "250ns"
            ]
        );
        assert!(lines[3].starts_with("x?y "), "{text}");
        assert_eq!(lines[3].split_whitespace().filter(|c| *c == "-").count(), 6);
        assert!(lines[4].starts_with("lat: scheduling latency"));
    }
}
