//! `sched-bench micro --only periodic`: release-to-run latency of a 1 ms periodic task beside
//! [`BUSY_TASKS`] busy tasks that yield, on kairos `Edf` and on Go (with `--go`).
//!
//! # What is measured
//!
//! [`BUSY_TASKS`] tasks loop: spin [`BUSY_SLICE`] of wall time, yield, until the run ends. So
//! every worker always has runnable work, and the periodic task must get a worker back from
//! them. Beside them one periodic task with period [`PERIOD`] runs for `--timer-secs` seconds;
//! job `k` is released at `start + k·P` (absolute grid) and does nothing but read the clock.
//! Its *release-to-run latency* is that reading minus the release time: the timer's wake-up,
//! the runtime's dispatch, and the wait for a worker to leave a busy task. Every job is recorded
//! (no warm-up on either side, as the Go program records every job); the percentiles are exact
//! (nearest rank over the sorted samples).
//!
//! | row | busy tasks | periodic task |
//! |---|---|---|
//! | `kairos-edf` | `kairos::spawn` (no deadline), spin `BUSY_SLICE`, `kairos::yield_now` | `Runtime::spawn_periodic(Periodic::new(1 ms).deadline(1 ms))`, latency `Instant::now() - job.release()`; under `Edf` each job carries its deadline, so it runs before the deadline-less busy tasks |
//! | `go` | goroutines, spin 50 µs, `runtime.Gosched()` | a goroutine `time.Sleep`ing to each release, latency `time.Since(release)` (`peers/go`, row `periodic`) |
//!
//! Both runtimes get the same worker count (`GOMAXPROCS` = `--workers`). The kairos row has
//! `--pin` / `--worker-priority` applied ([`crate::rt_settings`]).

use crate::error::BenchError;
use crate::go_peer::{GoPeer, RunArgs};
use crate::machine::CpuSample;
use crate::rt_settings::RtSettings;
use crate::spawn_sleep::ChildCpu;
use crate::table::{num, Table};
use crate::watchdog::Watchdog;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Period of the measured task.
pub const PERIOD: Duration = Duration::from_millis(1);
/// Busy tasks beside it.
pub const BUSY_TASKS: usize = 8;
/// Wall time each busy task spins between two yields.
pub const BUSY_SLICE: Duration = Duration::from_micros(50);

/// Latency percentiles of one row, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Percentiles {
    /// Recorded jobs.
    pub samples: u64,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

impl Percentiles {
    /// Nearest-rank percentiles (the value at rank `ceil(q·n)`) of `samples`; `None` if empty.
    pub fn of(mut samples: Vec<u64>) -> Option<Percentiles> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let n = samples.len();
        let rank = |q: f64| samples[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        Some(Percentiles {
            samples: n as u64,
            p50: rank(0.50),
            p99: rank(0.99),
            p999: rank(0.999),
            max: samples[n - 1],
        })
    }
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct PeriodicRow {
    /// `kairos-edf (...)` or `go`.
    pub label: String,
    /// The latencies.
    pub latency: Percentiles,
    /// Jobs the run should have had.
    pub expected: u64,
    /// Other processes' share of the machine's CPU during the row (0..=1), if known.
    pub others_share: Option<f64>,
}

/// Runs the kairos row, then the Go row if `go` is given; progress on stderr.
///
/// # Errors
/// A runtime that cannot be built or shut down, a failed peer run.
pub fn run(
    secs: u32,
    workers: usize,
    rt: RtSettings,
    go: Option<&GoPeer>,
) -> Result<Vec<PeriodicRow>, BenchError> {
    let expected = u64::from(secs) * 1_000_000_000 / PERIOD.as_nanos() as u64;
    let mut rows = Vec::new();
    let label = format!("kairos-edf ({})", rt.describe());
    eprintln!(
        "periodic: {label}: 1 ms task beside {BUSY_TASKS} busy tasks, {secs} s, {workers} workers"
    );
    let before = CpuSample::now();
    let latency = {
        let _watchdog = Watchdog::arm(format!("periodic on {label}"), limit(secs));
        kairos_edf(secs, workers, rt)?
    };
    rows.push(PeriodicRow {
        label,
        latency,
        expected,
        others_share: before.and_then(|b| CpuSample::now()?.others_share_since(&b)),
    });
    if let Some(go) = go {
        eprintln!("periodic: go: the same in the Go peer, GOMAXPROCS={workers}");
        let before = CpuSample::now();
        let children = ChildCpu::now();
        let round = go
            .run(
                "periodic",
                1,
                RunArgs {
                    secs: Some(secs),
                    ..RunArgs::default()
                },
            )?
            .remove(0);
        let l = round.latency.ok_or_else(|| BenchError::Task {
            backend: "go".to_owned(),
            message: "the periodic row printed no latency_ns".to_owned(),
        })?;
        rows.push(PeriodicRow {
            label: "go".to_owned(),
            latency: Percentiles {
                samples: l.samples,
                p50: l.p50,
                p99: l.p99,
                p999: l.p999,
                max: l.max,
            },
            expected,
            // The peer is a child process: its CPU time is not other processes'.
            others_share: before
                .and_then(|b| CpuSample::now()?.others_share_since(&b))
                .map(|s| (s - children.share_since()).max(0.0)),
        });
    }
    Ok(rows)
}

/// A row taking longer than its run plus a minute is a hang.
fn limit(secs: u32) -> Duration {
    Duration::from_secs(u64::from(secs) + 60)
}

fn kairos_edf(secs: u32, workers: usize, rt: RtSettings) -> Result<Percentiles, BenchError> {
    use kairos::{Job, Periodic};
    let label = || format!("kairos-edf ({})", rt.describe());
    let runtime = rt
        .apply(
            kairos::Runtime::builder()
                .workers(workers)
                .policy(kairos::Policy::Edf)
                .thread_name("kairos-periodic"),
        )
        .build()
        .map_err(|e| BenchError::Build {
            backend: label(),
            message: e.to_string(),
        })?;
    let stop = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..BUSY_TASKS)
        .map(|_| {
            let stop = Arc::clone(&stop);
            runtime.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    crate::spin::wall(BUSY_SLICE);
                    kairos::yield_now().await;
                }
            })
        })
        .collect();
    let jobs = u64::from(secs) * 1_000_000_000 / PERIOD.as_nanos() as u64;
    let samples = Arc::new(Mutex::new(Vec::with_capacity(jobs as usize)));
    let recorder = Arc::clone(&samples);
    let handle = runtime
        .spawn_periodic(Periodic::new(PERIOD).deadline(PERIOD), move |job: Job| {
            let late = kairos::time::Instant::now().saturating_duration_since(job.release());
            if job.index() < jobs {
                recorder
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(u64::try_from(late.as_nanos()).unwrap_or(u64::MAX));
            }
            async {}
        })
        .map_err(|e| BenchError::Build {
            backend: label(),
            message: e.to_string(),
        })?;
    let end = Instant::now() + PERIOD * (jobs as u32) + PERIOD;
    while Instant::now() < end && !handle.is_stopped() {
        std::thread::sleep(Duration::from_millis(10));
    }
    handle.stop();
    runtime.block_on(handle.join());
    stop.store(true, Ordering::Relaxed);
    for b in busy {
        runtime.block_on(b).map_err(|e| BenchError::Task {
            backend: label(),
            message: e.to_string(),
        })?;
    }
    runtime
        .shutdown_timeout(Duration::from_secs(10))
        .map_err(|e| BenchError::Shutdown {
            backend: label(),
            message: e.to_string(),
        })?;
    let samples = std::mem::take(
        &mut *samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    Percentiles::of(samples).ok_or_else(|| BenchError::Task {
        backend: label(),
        message: "the periodic task ran no job".to_owned(),
    })
}

/// The results table (µs).
pub fn table(rows: &[PeriodicRow]) -> Table {
    let mut t = Table::new([
        "periodic (1 ms, 8 busy tasks)",
        "jobs",
        "p50 us",
        "p99 us",
        "p99.9 us",
        "max us",
        "others' CPU",
    ]);
    let us = |ns: u64| num(ns as f64 / 1e3);
    for r in rows {
        let l = &r.latency;
        t.row([
            r.label.clone(),
            format!("{}/{}", l.samples, r.expected),
            us(l.p50),
            us(l.p99),
            us(l.p999),
            us(l.max),
            r.others_share
                .map_or_else(|| "-".to_owned(), |s| format!("{:.0}%", s * 100.0)),
        ]);
    }
    t
}

/// The goal of issue 17 under the table: kairos Edf's p99 below Go's.
pub fn verdict(rows: &[PeriodicRow]) -> Option<String> {
    let [kairos, go] = rows else {
        return None;
    };
    let ok = kairos.latency.p99 < go.latency.p99;
    Some(format!(
        "{} p99 {} us < go p99 {} us: {}",
        kairos.label,
        num(kairos.latency.p99 as f64 / 1e3),
        num(go.latency.p99 as f64 / 1e3),
        if ok { "met" } else { "MISSED" }
    ))
}

/// One row as its JSON report object (`micro --json`, under `periodic`; latencies in ns),
/// serialised by derived `Serialize`.
#[derive(Debug, Serialize)]
pub struct PeriodicRowJson<'a> {
    /// [`PeriodicRow::label`].
    pub row: &'a str,
    /// [`PERIOD`], ns.
    pub period_ns: u64,
    /// [`BUSY_TASKS`].
    pub busy_tasks: u64,
    /// [`PeriodicRow::expected`].
    pub jobs_expected: u64,
    /// [`Percentiles::samples`].
    pub jobs_recorded: u64,
    /// [`Percentiles::p50`].
    pub p50_ns: u64,
    /// [`Percentiles::p99`].
    pub p99_ns: u64,
    /// [`Percentiles::p999`].
    pub p999_ns: u64,
    /// [`Percentiles::max`].
    pub max_ns: u64,
    /// [`PeriodicRow::others_share`] (`null` if unknown).
    pub others_cpu_share: Option<f64>,
}

impl PeriodicRow {
    /// This row's JSON report object.
    pub fn json(&self) -> PeriodicRowJson<'_> {
        let l = &self.latency;
        PeriodicRowJson {
            row: &self.label,
            period_ns: PERIOD.as_nanos() as u64,
            busy_tasks: BUSY_TASKS as u64,
            jobs_expected: self.expected,
            jobs_recorded: l.samples,
            p50_ns: l.p50,
            p99_ns: l.p99,
            p999_ns: l.p999,
            max_ns: l.max,
            others_cpu_share: self.others_share,
        }
    }
}

/// The rows as JSON report objects ([`PeriodicRowJson`]).
pub fn to_json(rows: &[PeriodicRow]) -> Vec<PeriodicRowJson<'_>> {
    rows.iter().map(PeriodicRow::json).collect()
}

#[cfg(test)]
mod tests {
    use super::{to_json, Percentiles, PeriodicRow};

    #[test]
    fn nearest_rank_percentiles() {
        let p = Percentiles::of((1..=1000).rev().collect()).unwrap();
        assert_eq!(
            (p.samples, p.p50, p.p99, p.p999, p.max),
            (1000, 500, 990, 999, 1000)
        );
        let one = Percentiles::of(vec![7]).unwrap();
        assert_eq!((one.p50, one.max), (7, 7));
        assert!(Percentiles::of(Vec::new()).is_none());
    }

    /// The derived JSON rows keep their keys, in ns, with `null` for an unknown CPU share.
    #[test]
    fn json_rows_keep_their_keys() {
        let row = PeriodicRow {
            label: "go".to_owned(),
            latency: Percentiles::of(vec![3, 1, 2]).unwrap(),
            expected: 4,
            others_share: None,
        };
        let text = serde_json::to_string(&to_json(&[row])).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let r = &v[0];
        assert_eq!(r["row"], "go");
        assert_eq!(
            (r["period_ns"].as_u64(), r["busy_tasks"].as_u64()),
            (Some(1_000_000), Some(8))
        );
        assert_eq!(
            (r["jobs_expected"].as_u64(), r["jobs_recorded"].as_u64()),
            (Some(4), Some(3))
        );
        assert_eq!(
            (r["p50_ns"].as_u64(), r["max_ns"].as_u64()),
            (Some(2), Some(3))
        );
        assert!(r["p99_ns"].is_u64() && r["p999_ns"].is_u64());
        assert!(r["others_cpu_share"].is_null());
        assert_eq!(r.as_object().unwrap().len(), 10);
    }
}
