//! Unit tests of the event loop's time model.

use super::{Builder, Mode};
use crate::{Policy, Sched};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const MS: Duration = Duration::from_millis(1);

/// Spawns `n` tasks that each `work(d)`, waits for all, returns the virtual time it took.
fn parallel_work(workers: usize, n: usize, d: Duration, mode: Mode) -> Duration {
    let mut sim = Builder::new().workers(workers).mode(mode).build().unwrap();
    let start = sim.now();
    sim.block_on(async move {
        let hs: Vec<_> = (0..n).map(|_| crate::spawn(crate::work(d))).collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    sim.now() - start
}

#[test]
fn work_occupies_its_worker_and_workers_run_in_parallel() {
    assert_eq!(parallel_work(1, 1, MS, Mode::CostModel), MS);
    assert_eq!(parallel_work(1, 3, MS, Mode::CostModel), 3 * MS);
    assert_eq!(parallel_work(2, 2, MS, Mode::CostModel), MS);
    assert_eq!(parallel_work(2, 4, MS, Mode::CostModel), 2 * MS);
    // A work length that is not a whole number of slices.
    let odd = Duration::from_nanos(45_001);
    assert_eq!(parallel_work(1, 2, odd, Mode::CostModel), 2 * odd);
}

#[test]
fn idle_jump_mode_makes_work_free() {
    assert_eq!(parallel_work(1, 5, MS, Mode::IdleJump), Duration::ZERO);
}

#[test]
fn poll_overhead_is_charged_per_poll_not_per_slice() {
    let overhead = Duration::from_micros(1);
    let mut sim = Builder::new().poll_overhead(overhead).build().unwrap();
    let start = sim.now();
    let h = sim.spawn(crate::work(Duration::from_micros(100))); // 5 slices, one poll
    sim.block_on(h).unwrap();
    let polls = sim.metrics().polls;
    assert_eq!(polls, 1, "one poll, continued across its slices");
    assert_eq!(sim.now() - start, Duration::from_micros(100) + overhead);
}

#[test]
fn sleeps_jump_and_timeouts_fire_on_virtual_time() {
    let mut sim = Builder::new().workers(2).build().unwrap();
    let start = sim.now();
    let r = sim.block_on(async {
        crate::time::timeout(
            Duration::from_secs(5),
            crate::time::sleep(Duration::from_secs(60)),
        )
        .await
    });
    assert!(r.is_err());
    assert_eq!(sim.now() - start, Duration::from_secs(5));
}

#[test]
fn edf_preempts_between_slices_under_simulation() {
    // A long job without deadline runs; a job due 2 ms after the start sleeps 1 ms, then needs
    // 100 us: it must preempt the long job at the slice boundary where its timer fires, and
    // finish at exactly 1.1 ms (releases and slices are aligned here, so it waits for nothing).
    let mut sim = Builder::new().policy(Policy::Edf).build().unwrap();
    let t0 = sim.now();
    let done = Arc::new(AtomicU64::new(0));
    let d2 = done.clone();
    let urgent = sim.spawn_with(Sched::default().deadline(2 * MS), async move {
        crate::time::sleep(MS).await;
        crate::work(Duration::from_micros(100)).await;
        d2.store(crate::time::Instant::now().as_nanos(), Ordering::SeqCst);
    });
    let long = sim.spawn(crate::work(10 * MS));
    sim.block_on(async {
        urgent.await.unwrap();
        long.await.unwrap();
    });
    let finished = Duration::from_nanos(done.load(Ordering::SeqCst) - t0.as_nanos());
    assert_eq!(finished, MS + Duration::from_micros(100));
    assert_eq!(sim.now() - t0, 10 * MS + Duration::from_micros(100));
    assert!(sim.metrics().preemptions >= 1);
}

#[test]
fn a_task_that_yields_forever_is_reported_with_the_seed() {
    let mut sim = Builder::new()
        .seed(77)
        .max_steps_per_instant(1_000)
        .build()
        .unwrap();
    let h = sim.spawn(async {
        loop {
            crate::yield_now().await;
        }
    });
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sim.run_for(MS);
    }));
    let msg = r.expect_err("must be reported");
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("seed 77") && msg.contains("without time advancing"),
        "{msg}"
    );
    h.abort();
}

#[test]
fn fair_shares_virtual_cpu_by_weight() {
    // Two CPU-bound tasks, nice 0 and nice 3 (weights 1024 and 526): over 200 ms of one
    // virtual worker the CPU splits about 1024 : 526. Each `work` call is 10 slices, so the
    // fair-slice check between slices can ask the task to yield.
    let mut sim = Builder::new().policy(Policy::Fair).build().unwrap();
    let a = Arc::new(AtomicU64::new(0));
    let b = Arc::new(AtomicU64::new(0));
    for (nice, count) in [(0, a.clone()), (3, b.clone())] {
        sim.spawn_with(Sched::default().nice(nice), async move {
            loop {
                crate::work(10 * crate::WORK_SLICE).await;
                count.fetch_add(10, Ordering::Relaxed);
            }
        });
    }
    sim.run_for(200 * MS);
    let (a, b) = (
        a.load(Ordering::Relaxed) as f64,
        b.load(Ordering::Relaxed) as f64,
    );
    let ratio = a / b;
    assert!(
        (ratio - 1024.0 / 526.0).abs() < 0.1,
        "ratio {ratio} ({a} vs {b} slices)"
    );
    // The worker is never idle: 200 ms / 20 us slices, minus the unfinished calls.
    assert!(a + b > 9_950.0 && a + b <= 10_000.0, "{a} + {b} slices");
}

#[test]
fn timers_made_outside_the_simulation_run_on_virtual_time() {
    // Built on the test thread (real clock), polled by the simulation: anchored at first poll.
    let fut = crate::time::timeout(Duration::from_secs(1), std::future::pending::<()>());
    let sleep = crate::time::sleep(3 * MS);
    let mut sim = Builder::new().build().unwrap();
    assert!(sim.block_on(fut).is_err());
    assert_eq!(sim.elapsed(), Duration::from_secs(1));
    let h = sim.spawn(sleep);
    sim.block_on(h).unwrap();
    assert_eq!(sim.elapsed(), Duration::from_secs(1) + 3 * MS);
    let mut every = crate::time::interval(MS);
    let ticks = sim.block_on(async move {
        let a = every.tick().await;
        let b = every.tick().await;
        (a, b)
    });
    assert_eq!(ticks.1 - ticks.0, MS);
    assert_eq!(ticks.0, super::EPOCH + Duration::from_secs(1) + 3 * MS);
}
