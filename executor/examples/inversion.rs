//! Priority inversion on the real runtime, with and without inheritance.
//!
//! ```text
//! cargo run -p kairos --release --example inversion [seconds per run, default 2]
//! ```
//!
//! Two workers, under `Edf` and then `Priority`, every task on one time grid that starts when
//! the run does (so the phases are the same in every run):
//!
//! - *low* takes a `kairos::sync::Mutex` at every multiple of 5 ms, computes 1 ms holding it and
//!   releases it;
//! - two *medium* tasks compute 20 ms each at every multiple of 40 ms, plus 0.1 ms: each burst
//!   starts while low holds the lock, and the two of them fill both workers;
//! - *high* asks for the lock 0.25 ms after each of low's acquisitions and records how long it
//!   waited (an HdrHistogram).
//!
//! So every request finds the lock held, and one request in eight (the one at the start of a
//! burst) meets the classic inversion: low, holding the lock, preempted by the mediums. Without
//! inheritance high then waits for a medium's 20 ms; with it, low runs with high's urgency and
//! high waits for the rest of low's critical section only. Each line prints the lock-wait
//! percentiles of one policy, with and without inheritance. A task that falls behind its grid
//! (low and high do, by a burst, without inheritance) skips to its next point in the future.
//!
//! The load is kept below the two workers (mediums 1.0, low 0.2): under overload `Edf` lets
//! whichever task is most overdue run first, which is not what this example measures.
//!
//! The urgencies: under `Edf` each iteration sets its task's deadline (low +1 s, medium
//! +500 ms, high +1 ms); under `Priority` low 1, medium 5, high 10. The low and medium deadlines
//! are loose on purpose: on a loaded machine (the OS giving the workers less than two cores)
//! a medium with a +50 ms deadline falls behind it, and an overdue medium is, rightly, more
//! urgent under `Edf` than a holder boosted to high's future deadline; the wait then measures
//! the overload, not the inversion.

use hdrhistogram::Histogram;
use kairos::sync::Mutex;
use kairos::time::Instant;
use kairos::{Policy, Runtime, Sched};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const MS: Duration = Duration::from_millis(1);
/// Low's (and high's) period.
const LOW_PERIOD: Duration = Duration::from_millis(5);
/// The mediums' period: a 20 ms burst, then 20 ms of pause.
const MEDIUM_PERIOD: Duration = Duration::from_millis(40);
/// Where the mediums' bursts start, after low's acquisition on the same grid point.
const MEDIUM_OFFSET: Duration = Duration::from_micros(100);
/// Where high asks, after low's acquisition.
const HIGH_OFFSET: Duration = Duration::from_micros(250);

/// The first point after `at` on its grid of `period` that is still in the future (a task that
/// fell behind skips the points it missed).
fn next_point(at: Instant, period: Duration) -> Instant {
    let mut next = at + period;
    let now = Instant::now();
    while next <= now {
        next += period;
    }
    next
}

/// Sets the calling task's deadline to `d` from now under `Edf` (no-op under `Priority`).
fn deadline_in(policy: Policy, d: Duration) {
    if policy == Policy::Edf {
        kairos::task::set_deadline(Instant::now() + d).expect("inside a task");
    }
}

/// One run of `secs` seconds; returns high's lock-wait histogram (µs). (`pub`: `sched-bench`
/// includes this file as the scenario of its `micro --only inversion` row.)
pub fn run(
    policy: Policy,
    inherit: bool,
    secs: u64,
) -> Result<Histogram<u64>, Box<dyn std::error::Error>> {
    let rt = Runtime::builder().workers(2).policy(policy).build()?;
    let lock = Arc::new(Mutex::with_inheritance((), inherit));
    let stop = Arc::new(AtomicBool::new(false));
    let prio = |p: u8| Sched::default().priority(p);

    // The grid's origin: late enough that every task is spawned and parked before it.
    let origin = Instant::now() + 10 * MS;

    let (l, s) = (lock.clone(), stop.clone());
    let low = rt.spawn_with(prio(1), async move {
        let mut at = origin;
        while !s.load(Ordering::Relaxed) {
            kairos::time::sleep_until(at).await;
            deadline_in(policy, 1000 * MS);
            {
                let _g = l.lock().await;
                kairos::work(MS).await;
            }
            at = next_point(at, LOW_PERIOD);
        }
    });
    let mediums: Vec<_> = (0..2)
        .map(|_| {
            let s = stop.clone();
            rt.spawn_with(prio(5), async move {
                let mut at = origin + MEDIUM_OFFSET;
                while !s.load(Ordering::Relaxed) {
                    kairos::time::sleep_until(at).await;
                    deadline_in(policy, 500 * MS);
                    kairos::work(20 * MS).await;
                    at = next_point(at, MEDIUM_PERIOD);
                }
            })
        })
        .collect();
    let (l, s) = (lock.clone(), stop.clone());
    let high = rt.spawn_with(prio(10), async move {
        let mut waits = Histogram::<u64>::new_with_bounds(1, 1_000_000, 3).expect("bounds");
        let mut at = origin + HIGH_OFFSET;
        while !s.load(Ordering::Relaxed) {
            kairos::time::sleep_until(at).await;
            deadline_in(policy, MS);
            let asked = Instant::now();
            drop(l.lock().await);
            let waited = (Instant::now() - asked).as_micros() as u64;
            waits.saturating_record(waited.max(1));
            at = next_point(at, LOW_PERIOD);
        }
        waits
    });
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let waits = rt.block_on(high)?;
    rt.block_on(low)?;
    for m in mediums {
        rt.block_on(m)?;
    }
    Ok(waits)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secs = std::env::args()
        .nth(1)
        .map(|s| s.parse::<u64>())
        .transpose()?
        .unwrap_or(2);
    println!("lock wait of the high task (µs), 2 workers, {secs} s per run");
    println!(
        "{:<9} {:<12} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "policy", "inheritance", "count", "p50", "p99", "p99.9", "max"
    );
    for policy in [Policy::Edf, Policy::Priority] {
        for inherit in [false, true] {
            let h = run(policy, inherit, secs)?;
            println!(
                "{:<9} {:<12} {:>7} {:>7} {:>7} {:>7} {:>7}",
                policy.to_string(),
                if inherit { "on" } else { "off" },
                h.len(),
                h.value_at_quantile(0.5),
                h.value_at_quantile(0.99),
                h.value_at_quantile(0.999),
                h.max()
            );
        }
    }
    Ok(())
}
