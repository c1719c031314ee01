//! Synthetic rows for the output tests (no timing involved).

use super::{RtRow, TaskRow};
use crate::stats::Summary;
use std::time::Duration;

/// A synthetic row with wide numbers in every cell (no timing involved).
pub fn row(backend: &str, workload: &'static str, tasks: &[&'static str]) -> RtRow {
    let s = |median: f64| Summary {
        median,
        min: median / 2.0,
        max: median * 2.0,
    };
    let kernel = backend.starts_with("kernel-");
    let task = |name: &'static str| TaskRow {
        name,
        params: "10ms / 100ms / 100ms".to_owned(),
        jobs: 123_456,
        missed: 12_345,
        miss_ratio: s(0.1234),
        start_p99: s(98_765.4),
        response_p99: s(98_765.4),
        response_max: s(987_654.3),
        lateness_max: Some(s(-98_765.4)),
        preemptions: Some(s(12_345.0)),
        index: 0,
        priority: 0,
        period: Duration::from_millis(100),
        work: Duration::from_millis(10),
        job_log: Vec::new(),
    };
    RtRow {
        backend: backend.to_owned(),
        status: kernel.then(|| "ok".to_owned()),
        measured: true,
        workload,
        workers: 2,
        rounds: 3,
        duration: Duration::from_secs(3),
        background_tasks: 4,
        jobs: 1_234_567,
        released: 1_234_568,
        missed: 123_456,
        start_mean: s(98_765.4),
        start_p50: s(-0.0),
        start_p99: s(98_765.4),
        start_p999: s(987_654.3),
        start_max: s(9_876_543.2),
        response_p99: s(987_654.3),
        miss_ratio: s(1.0),
        lateness_max: Some(s(-9_876_543.2)),
        lateness_p99: Some(s(987_654.3)),
        cpu_ms_per_s: Some(s(1999.9)),
        simulated: backend.starts_with("sim-"),
        preemptions: Some(s(123_456.0)),
        background_per_s: Some(s(123_456.0)),
        background_preemptions: Some(s(123_456.0)),
        start_latency: kairos::stats::Histogram::new(),
        tasks: tasks.iter().map(|&n| task(n)).collect(),
    }
}
