//! Priority inversion on the real runtime, with and without inheritance.
//!
//! ```text
//! cargo run -p kairos --release --example inversion [seconds per run, default 2]
//! ```
//!
//! Two workers, under `Edf` and then `Priority`. A *low* task takes a `kairos::sync::Mutex`,
//! computes 1 ms holding it, releases it, and does it again after 4 ms. Two *medium* tasks
//! compute 20 ms each, then pause 20 ms, in a loop (the second starts 10 ms after the first):
//! for a quarter of the time they fill both workers. A *high* task asks for the lock every 5 ms
//! and records how long it waited (an HdrHistogram). Without inheritance, high sometimes waits
//! for low, and low, preempted by the mediums, for the rest of a medium's 20 ms; with it, low
//! runs with high's urgency while high waits. Each line prints the lock-wait percentiles of one
//! policy, with and without inheritance.
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
use kairos::time::{sleep, Instant};
use kairos::{Policy, Runtime, Sched};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const MS: Duration = Duration::from_millis(1);

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

    let (l, s) = (lock.clone(), stop.clone());
    let low = rt.spawn_with(prio(1), async move {
        while !s.load(Ordering::Relaxed) {
            deadline_in(policy, 1000 * MS);
            {
                let _g = l.lock().await;
                kairos::work(MS).await;
            }
            sleep(4 * MS).await;
        }
    });
    let mediums: Vec<_> = (0..2u32)
        .map(|i| {
            let s = stop.clone();
            rt.spawn_with(prio(5), async move {
                sleep(10 * MS * i).await;
                while !s.load(Ordering::Relaxed) {
                    deadline_in(policy, 500 * MS);
                    kairos::work(20 * MS).await;
                    sleep(20 * MS).await;
                }
            })
        })
        .collect();
    let (l, s) = (lock.clone(), stop.clone());
    let high = rt.spawn_with(prio(10), async move {
        let mut waits = Histogram::<u64>::new_with_bounds(1, 1_000_000, 3).expect("bounds");
        let mut next = Instant::now();
        while !s.load(Ordering::Relaxed) {
            next += 5 * MS;
            kairos::time::sleep_until(next).await;
            deadline_in(policy, MS);
            let asked = Instant::now();
            drop(l.lock().await);
            let waited = (Instant::now() - asked).as_micros() as u64;
            waits.saturating_record(waited.max(1));
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
