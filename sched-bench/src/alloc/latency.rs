//! `latency`: how long single allocations take while another thread frees remotely.
//!
//! The producer allocates [`LATENCY_ITEMS`] blocks one by one and pushes each through the
//! [`Ring`]; the consumer, on the other core, frees them (for kairos: remote frees onto the
//! producer heap's remote list, which the producer's allocation slow path collects). Each
//! allocation is timed **individually**: `Instant::now()` before, `elapsed()` after, recorded in
//! nanoseconds in an HdrHistogram (3 significant digits). So every sample includes the cost of
//! one clock pair; [`clock_only`] measures that cost alone on the same core (no allocation, no
//! second thread), as the floor under every row. Batching (timing 16 allocations and recording
//! the mean) would hide a single slow allocation in its batch, which is what the tail is about.
//!
//! Reported per run: p50, p99, p99.9, p99.99 and max; the table shows the median (and min/max) of
//! each over the rounds.

use super::cases::{free_until_end, END, RING_SLOTS};
use super::family::{touch, Family, Local as _};
use super::spsc::Ring;
use super::threads::{pin, two_threads};
use crate::error::BenchError;
use hdrhistogram::Histogram;
use std::time::Instant;

/// Allocations timed in one run: enough that p99.99 rests on ~100 samples.
pub const LATENCY_ITEMS: usize = 1 << 20;

/// Highest latency the histogram tracks (1 s); larger samples are clamped to it.
const HIGHEST_NS: u64 = 1_000_000_000;

/// The quantiles of one run, in nanoseconds; serialised (the `alloc` report's clock floor) as
/// `p50`, `p99`, `p99_9`, `p99_99`, `max`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Tail {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    #[serde(rename = "p99_9")]
    pub p999: f64,
    /// 99.99th percentile.
    #[serde(rename = "p99_99")]
    pub p9999: f64,
    /// Largest sample.
    pub max: f64,
}

impl Tail {
    fn of(h: &Histogram<u64>) -> Tail {
        Tail {
            p50: h.value_at_quantile(0.5) as f64,
            p99: h.value_at_quantile(0.99) as f64,
            p999: h.value_at_quantile(0.999) as f64,
            p9999: h.value_at_quantile(0.9999) as f64,
            max: h.max() as f64,
        }
    }
}

fn histogram(which: &str) -> Result<Histogram<u64>, BenchError> {
    Histogram::new_with_bounds(1, HIGHEST_NS, 3).map_err(|e| BenchError::Build {
        backend: which.to_owned(),
        message: format!("histogram: {e}"),
    })
}

/// One run: the tail of the allocation latency, the measured threads' page faults, and whether
/// both were pinned.
///
/// # Errors
/// The allocator returned no block; a thread panicked.
pub fn latency<A: Family>(
    a: &A,
    cores: Option<[core_affinity::CoreId; 2]>,
) -> Result<(Tail, u64, bool), BenchError> {
    let mut ring = Ring::new(RING_SLOTS);
    let (mut tx, mut rx) = ring.split();
    let mut hist = histogram(a.which().name())?;
    let produce = move |local: &A::Local<'_>| {
        for i in 0..LATENCY_ITEMS {
            let start = Instant::now();
            let block = local.alloc();
            let ns = start.elapsed().as_nanos();
            let Some(block) = block else {
                tx.push(END);
                return Err(a.exhausted());
            };
            hist.saturating_record(u64::try_from(ns).unwrap_or(u64::MAX));
            touch(block, i);
            tx.push(block.as_ptr() as usize);
        }
        tx.push(END);
        Ok(Tail::of(&hist))
    };
    let consume = move |local: &A::Local<'_>| {
        free_until_end(local, &mut rx);
        Ok(())
    };
    let (run, pinned) = two_threads(a, cores, produce, consume)?;
    Ok((run.producer, run.faults, pinned))
}

/// The clock pair alone, [`LATENCY_ITEMS`] times on one thread pinned to `core`: the floor of
/// every latency sample, and how often the machine itself interrupts a thread.
///
/// # Errors
/// The histogram could not be built.
pub fn clock_only(core: Option<core_affinity::CoreId>) -> Result<Tail, BenchError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            pin(core);
            let mut hist = histogram("clock")?;
            for i in 0..LATENCY_ITEMS {
                let start = Instant::now();
                std::hint::black_box(i);
                let ns = start.elapsed().as_nanos();
                hist.saturating_record(u64::try_from(ns).unwrap_or(u64::MAX));
            }
            Ok(Tail::of(&hist))
        })
        .join()
        .unwrap_or_else(|_| {
            Err(BenchError::Usage(
                "latency: the clock-baseline thread panicked".to_owned(),
            ))
        })
    })
}
