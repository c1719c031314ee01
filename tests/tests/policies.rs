//! The ordered policies on the real runtime: EDF and priority order, aging, fair shares,
//! periodic deadlines, admission control.

use kairos::time::Instant;
use kairos::{Job, Periodic, Policy, Runtime, Sched};
use kairos_tests::Watchdog;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Tests that measure CPU shares or deadlines take this lock, so that they do not run next to
/// each other's spinning workers (the test harness runs tests of one binary in parallel).
static CPU_BOUND: Mutex<()> = Mutex::new(());

fn cpu_bound() -> std::sync::MutexGuard<'static, ()> {
    CPU_BOUND.lock().unwrap_or_else(|e| e.into_inner())
}

fn rt(workers: usize, policy: Policy) -> Runtime {
    Runtime::builder()
        .workers(workers)
        .policy(policy)
        .build()
        .unwrap()
}

/// Spawns every `(sched, label)` from inside one task on a 1-worker runtime (so all are queued
/// before the worker picks again) and returns the labels in the order the tasks ran.
fn run_order(rt: &Runtime, tasks: Vec<(Sched, u32)>) -> Vec<u32> {
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    rt.block_on(rt.spawn(async move {
        let handles: Vec<_> = tasks
            .into_iter()
            .map(|(sched, label)| {
                let o = o.clone();
                kairos::spawn_with(sched, async move { o.lock().unwrap().push(label) })
            })
            .collect();
        handles
    }))
    .unwrap()
    .into_iter()
    .for_each(|h| rt.block_on(h).unwrap());
    let order = order.lock().unwrap().clone();
    order
}

#[test]
fn edf_runs_ready_tasks_in_deadline_order_on_one_worker() {
    let _dog = Watchdog::default_for("edf order");
    let rt = rt(1, Policy::Edf);
    // Deadlines far in the future (absolute), shuffled; three without a deadline.
    let deadlines = [50u64, 10, 40, 0, 30, 20, 0, 60, 0, 15];
    let base = Instant::now().as_nanos() + 3_600_000_000_000;
    let tasks = deadlines
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let sched = if d == 0 {
                Sched::default()
            } else {
                Sched::default().deadline_at(Instant::from_nanos(base + d))
            };
            (sched, i as u32)
        })
        .collect();
    let order = run_order(&rt, tasks);
    // By deadline; the no-deadline tasks (3, 6, 8) last, in spawn order.
    assert_eq!(order, vec![1, 9, 5, 4, 2, 0, 7, 3, 6, 8]);
}

#[test]
fn priority_runs_ready_tasks_in_priority_order_on_one_worker() {
    let _dog = Watchdog::default_for("priority order");
    let rt = rt(1, Policy::Priority);
    let priorities = [3u8, 200, 7, 200, 0, 255, 7];
    let tasks = priorities
        .iter()
        .enumerate()
        .map(|(i, &p)| (Sched::default().priority(p), i as u32))
        .collect();
    let order = run_order(&rt, tasks);
    // Highest first, equal priorities in spawn order.
    assert_eq!(order, vec![5, 1, 3, 2, 6, 0, 4]);
}

/// Under a saturating load of priority-255 tasks that never stop yielding until the
/// priority-0 task has run, the priority-0 task still runs (aging). Without aging this test
/// would hang (the watchdog would fail it).
#[test]
fn priority_aging_runs_a_starved_low_priority_task() {
    let _serial = cpu_bound();
    let _dog = Watchdog::new("priority aging", Duration::from_secs(60));
    let rt = Runtime::builder()
        .workers(1)
        .policy(Policy::Priority)
        .aging_interval(Duration::from_micros(20))
        .build()
        .unwrap();
    let low_ran = Arc::new(AtomicBool::new(false));
    let high_polls = Arc::new(AtomicU64::new(0));
    let (l, h) = (low_ran.clone(), high_polls.clone());
    let polls_when_low_ran = rt
        .block_on(rt.spawn(async move {
            let mut highs = Vec::new();
            for _ in 0..4 {
                let (l, h) = (l.clone(), h.clone());
                highs.push(kairos::spawn_with(
                    Sched::default().priority(255),
                    async move {
                        while !l.load(Ordering::SeqCst) {
                            h.fetch_add(1, Ordering::SeqCst);
                            kairos::yield_now().await;
                        }
                    },
                ));
            }
            let (l2, h2) = (l.clone(), h.clone());
            let low = kairos::spawn_with(Sched::default().priority(0), async move {
                l2.store(true, Ordering::SeqCst);
                h2.load(Ordering::SeqCst)
            });
            let seen = low.await.unwrap();
            for high in highs {
                high.await.unwrap();
            }
            seen
        }))
        .unwrap();
    assert!(low_ran.load(Ordering::SeqCst));
    // The high-priority tasks were polled many times before the low one got its turn: it ran
    // because it aged, not because the load went away.
    assert!(
        polls_when_low_ran >= 255,
        "low task ran after only {polls_when_low_ran} high-priority polls"
    );
}

/// Two CPU-bound tasks with weights ~2:1 (nice 0: 1024, nice 3: 526) on one worker get CPU
/// time ~2:1 (within ±10% of 2).
#[test]
fn fair_shares_cpu_by_weight() {
    let _serial = cpu_bound();
    let _dog = Watchdog::new("fair shares", Duration::from_secs(120));
    let rt = Runtime::builder()
        .workers(1)
        .policy(Policy::Fair)
        .fair_slice(Duration::from_micros(500))
        .build()
        .unwrap();
    // Total work: 3,000 slices of 20 µs = 60 ms of CPU... doubled, to average out noise.
    const TOTAL: u64 = 12_000;
    let done = Arc::new(AtomicU64::new(0));
    let counts = rt
        .block_on(rt.spawn({
            let done = done.clone();
            async move {
                let spawn = |nice: i8| {
                    let done = done.clone();
                    kairos::spawn_with(Sched::default().nice(nice), async move {
                        let mut mine = 0u64;
                        while done.load(Ordering::Relaxed) < TOTAL {
                            kairos::work(kairos::WORK_SLICE).await;
                            mine += 1;
                            done.fetch_add(1, Ordering::Relaxed);
                            if kairos::task::should_yield() {
                                kairos::yield_now().await;
                            }
                        }
                        mine
                    })
                };
                let heavy = spawn(0);
                let light = spawn(3);
                (heavy.await.unwrap(), light.await.unwrap())
            }
        }))
        .unwrap();
    let ratio = counts.0 as f64 / counts.1 as f64;
    eprintln!(
        "fair shares: nice 0 ran {} slices, nice 3 ran {} (ratio {ratio:.3}, weights 1.947)",
        counts.0, counts.1
    );
    assert!(
        (1.8..=2.2).contains(&ratio),
        "CPU ratio {ratio:.3} outside 2 ± 10% ({counts:?})"
    );
    assert!(rt.metrics().preemptions > 0, "slices never asked to yield");
}

/// Under `Edf` on 2 workers, a periodic set of total utilization 0.5 runs every job, and its
/// statistics and the runtime's metrics agree (releases, completions, misses, per-name jobs).
///
/// That global EDF meets every deadline of this set (plus two long tasks) is asserted under the
/// simulator (`sim_classic.rs`, `global_edf_on_two_workers_meets_every_deadline_where_fifo_misses`),
/// not here: on the 2-core VM a parked worker's timed wake-up overshoots by 2-4 ms at the 99th
/// percentile and up to 16 ms at worst, even at real-time priority (`nanosleep` of 3 ms, 300
/// samples), and this test asserted zero misses until it failed one run in ten that way. Misses
/// seen here are printed, not failed.
#[test]
fn edf_periodic_set_at_half_utilization_runs_and_accounts_every_job() {
    let _serial = cpu_bound();
    let _dog = Watchdog::new("edf periodic", Duration::from_secs(60));
    let rt = rt(2, Policy::Edf);
    // (C, T) in ms: 4/16 + 6/48 + 10/80 = 0.5 in total, on 2 workers.
    let set = [(4u64, 16u64), (6, 48), (10, 80)];
    let handles: Vec<_> = set
        .iter()
        .map(|&(c, t)| {
            rt.spawn_periodic(
                Periodic::new(Duration::from_millis(t)).name("edf-set"),
                move |_job: Job| kairos::work(Duration::from_millis(c)),
            )
            .unwrap()
        })
        .collect();
    // Run until the slowest task has completed 8 jobs (640 ms).
    while handles[2].stats().completed < 8 {
        std::thread::sleep(Duration::from_millis(5));
    }
    for h in &handles {
        h.stop();
    }
    let (mut total, mut missed) = (0, 0);
    for (h, (c, t)) in handles.into_iter().zip(set) {
        let s = rt.block_on(h.join());
        assert!(s.completed >= 8, "(C = {c}, T = {t}) ms: {s:?}");
        assert_eq!(
            s.completed, s.released,
            "a stopped task finishes its released jobs"
        );
        assert!(s.missed <= s.completed);
        assert_eq!(
            s.response_time.count(),
            s.completed,
            "one response time per job"
        );
        if s.missed > 0 {
            eprintln!(
                "edf periodic: (C = {c}, T = {t}) ms missed {} (machine latency?): {s:?}",
                s.missed
            );
        }
        total += s.completed;
        missed += s.missed;
    }
    let m = rt.metrics();
    assert_eq!(
        m.deadline_misses, missed,
        "metrics count the misses the tasks counted"
    );
    assert_eq!(m.by_name["edf-set"].jobs, total);
}

/// Admission control rejects an over-utilized set, naming the test and the numbers, and
/// admits the task again once another one stopped.
#[test]
fn admission_control_rejects_an_over_utilized_set() {
    let _dog = Watchdog::default_for("admission");
    let rt = Runtime::builder()
        .workers(1)
        .policy(Policy::Edf)
        .admission_control(true)
        .build()
        .unwrap();
    let task = |c: u64, t: u64| Periodic::new(Duration::from_secs(t)).wcet(Duration::from_secs(c));
    let a = rt.spawn_periodic(task(2, 5), |_| async {}).unwrap();
    let b = rt.spawn_periodic(task(2, 7), |_| async {}).unwrap();
    let err = rt.spawn_periodic(task(1, 3), |_| async {}).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("EDF"), "{msg}");
    assert!(
        msg.contains("1.019"),
        "total utilization 2/5 + 2/7 + 1/3 = 1.019: {msg}"
    );
    assert!((err.utilization() - 1.0190).abs() < 1e-3);
    // Without a WCET admission control cannot decide: a clear error.
    let err = rt
        .spawn_periodic(Periodic::new(Duration::from_secs(1)), |_| async {})
        .unwrap_err();
    assert!(err.to_string().contains("Periodic::wcet"), "{err}");
    // Stopping a task frees its share.
    b.stop();
    let c = rt.spawn_periodic(task(1, 3), |_| async {}).unwrap();
    a.stop();
    c.stop();
    rt.block_on(async {
        a.join().await;
        b.join().await;
        c.join().await;
    });
}

/// `task::set_deadline` changes the key the task is queued with the next time it yields.
#[test]
fn a_task_can_move_its_own_deadline() {
    let _dog = Watchdog::default_for("set_deadline");
    let rt = rt(1, Policy::Edf);
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    rt.block_on(rt.spawn(async move {
        let far = Instant::now() + Duration::from_secs(3600);
        let o1 = o.clone();
        let mover = kairos::spawn_with(Sched::default().deadline_at(far), async move {
            o1.lock().unwrap().push("mover-1");
            // Becomes the least urgent: the other task runs before the mover's second part.
            kairos::task::set_deadline(far + Duration::from_secs(100)).unwrap();
            kairos::yield_now().await;
            o1.lock().unwrap().push("mover-2");
        });
        let o2 = o.clone();
        let other = kairos::spawn_with(
            Sched::default().deadline_at(far + Duration::from_secs(10)),
            async move { o2.lock().unwrap().push("other") },
        );
        mover.await.unwrap();
        other.await.unwrap();
    }))
    .unwrap();
    assert_eq!(*order.lock().unwrap(), vec!["mover-1", "other", "mover-2"]);
    assert!(kairos::task::set_deadline(Instant::now()).is_err());
}

/// Both workers run CPU-bound tasks that never finish on their own and only yield when asked
/// (`should_yield`); an urgent task arriving from outside the runtime still runs, because the
/// least urgent running task is asked to yield (cross-worker preemption) and the next pick takes
/// the most urgent visible task. Without preemption this test would hang (watchdog).
#[test]
fn urgent_task_preempts_cpu_bound_tasks_on_all_workers() {
    let _dog = Watchdog::new("cross-worker preemption", Duration::from_secs(60));
    let _serial = cpu_bound();
    let deadline = Sched::default().deadline(Duration::from_millis(1));
    for (policy, hog, urgent) in [
        (Policy::Edf, Sched::default(), deadline),
        (
            Policy::Priority,
            Sched::default(),
            Sched::default().priority(200),
        ),
        // Priority-class hogs (not held to the fair slice) under a deadline-class task.
        (Policy::Classes, Sched::default().priority(10), deadline),
    ] {
        let rt = rt(2, policy);
        let done = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicU64::new(0));
        let hogs: Vec<_> = (0..2)
            .map(|_| {
                let (done, started) = (done.clone(), started.clone());
                rt.spawn_with(hog, async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    while !done.load(Ordering::SeqCst) {
                        std::hint::spin_loop();
                        if kairos::task::should_yield() {
                            kairos::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        // Both workers are busy before the urgent task arrives.
        kairos_tests::wait_until(|| started.load(Ordering::SeqCst) == 2);
        let d = done.clone();
        let urgent = rt.spawn_with(urgent, async move { d.store(true, Ordering::SeqCst) });
        rt.block_on(urgent).unwrap();
        for h in hogs {
            rt.block_on(h).unwrap();
        }
        assert!(
            rt.metrics().preemptions >= 1,
            "{policy}: no preemption counted"
        );
    }
}

/// Named tasks appear in `Metrics::by_name`, the summary names them, and the `.hgrm` files
/// written are HdrHistogram percentile tables (4 numeric columns per row, the last row 3).
#[test]
fn metrics_by_name_summary_and_hgrm_files() {
    let _dog = Watchdog::default_for("metrics by name");
    let rt = Runtime::builder()
        .workers(1)
        .policy(Policy::Edf)
        .build()
        .unwrap();
    for _ in 0..20 {
        rt.block_on(rt.spawn_with(Sched::default().name("sensor"), async {
            kairos::yield_now().await;
        }))
        .unwrap();
    }
    let m = rt.metrics();
    let sensor = &m.by_name["sensor"];
    assert_eq!(sensor.polls, 40, "two polls per task");
    assert_eq!(sensor.poll_duration.count(), 40);
    assert!(m.tasks.polls >= 40);
    assert!(m.summary().contains("sensor"));
    let dir = std::env::temp_dir().join(format!("kairos-hgrm-test-{}", std::process::id()));
    let files = m.write_hgrm(&dir, "t.").unwrap();
    assert!(files
        .iter()
        .any(|f| f.file_name().unwrap().to_string_lossy().contains("sensor")));
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let rows: Vec<Vec<f64>> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with(['#', 'V']))
            .map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect())
            .collect();
        assert!(!rows.is_empty(), "{}: no rows", file.display());
        let (last, body) = rows.split_last().unwrap();
        assert!(body.iter().all(|r| r.len() == 4), "{}", file.display());
        assert_eq!(last.len(), 3);
        assert_eq!(last[1], 1.0, "last row is the 100th percentile");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Releases stay on the absolute grid (`release = first + index * period`, exactly), and an
/// overrunning job makes `Overrun::Queue` run every index while `Overrun::Skip` skips the
/// releases that passed, counting each (timing-independent invariants: which releases are
/// skipped depends on the machine, their bookkeeping does not).
#[test]
fn periodic_releases_stay_on_the_grid_and_overruns_queue_or_skip() {
    let _dog = Watchdog::new("periodic overruns", Duration::from_secs(60));
    let _serial = cpu_bound();
    for overrun in [kairos::Overrun::Queue, kairos::Overrun::Skip] {
        let rt = rt(1, Policy::Edf);
        let period = Duration::from_millis(1);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let h = rt
            .spawn_periodic(Periodic::new(period).overrun(overrun), move |job: Job| {
                s.lock().unwrap().push((job.index(), job.release()));
                // Every third job overruns by 2.5 periods.
                let long = job.index().is_multiple_of(3);
                async move {
                    if long {
                        kairos::work(Duration::from_micros(2_500)).await;
                    }
                }
            })
            .unwrap();
        kairos_tests::wait_until(|| h.stats().completed >= 12);
        h.stop();
        let stats = rt.block_on(h.join());
        let seen = seen.lock().unwrap().clone();
        let (first_index, first_release) = seen[0];
        assert_eq!(first_index, 0);
        for &(index, release) in &seen {
            assert_eq!(
                release,
                first_release + period * index as u32,
                "{overrun:?}: release {index} off the grid"
            );
        }
        let gaps: u64 = seen.windows(2).map(|w| w[1].0 - w[0].0 - 1).sum();
        assert_eq!(stats.released as usize, seen.len());
        assert_eq!(
            stats.released + stats.skipped,
            seen.last().unwrap().0 + 1,
            "released + skipped is the last index + 1"
        );
        match overrun {
            kairos::Overrun::Queue => {
                assert_eq!(gaps, 0, "Queue skipped a release");
                assert_eq!(stats.skipped, 0);
            }
            kairos::Overrun::Skip => {
                assert_eq!(stats.skipped, gaps, "skips counted != indices jumped");
                assert!(stats.skipped >= 2, "a 2.5-period overrun skipped nothing");
            }
        }
        // Overrunning jobs finished after their deadline.
        assert!(stats.missed >= 1, "{overrun:?}: {stats:?}");
    }
}

/// A periodic task's releases preempt a CPU-bound task that only yields when asked: each
/// release is queued with its job's deadline (or the task's priority), so the running task is
/// asked to yield. Regression test: releases queued without their deadline waited forever
/// behind such a task (this test hung).
#[test]
fn periodic_releases_preempt_a_cpu_bound_task() {
    let _dog = Watchdog::new("periodic preemption", Duration::from_secs(60));
    let _serial = cpu_bound();
    for policy in [Policy::Edf, Policy::Priority] {
        let rt = rt(1, policy);
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let hog = rt.spawn(async move {
            while !d.load(Ordering::SeqCst) {
                std::hint::spin_loop();
                if kairos::task::should_yield() {
                    kairos::yield_now().await;
                }
            }
        });
        let jobs = Arc::new(AtomicU64::new(0));
        let (j, d) = (jobs.clone(), done.clone());
        let periodic = rt
            .spawn_periodic(
                Periodic::new(Duration::from_millis(2))
                    .offset(Duration::from_millis(2))
                    .priority(200),
                move |_job: Job| {
                    if j.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
                        d.store(true, Ordering::SeqCst);
                    }
                    async {}
                },
            )
            .unwrap();
        rt.block_on(hog).unwrap();
        periodic.stop();
        let stats = rt.block_on(periodic.join());
        // The hog only stops after three jobs ran, and it only yields when asked: reaching
        // this line is the proof that releases preempted it (without that the test hangs and
        // the watchdog fails it). No count of preemptions is asserted: a driver the machine
        // delays past several releases runs those jobs in one poll, asked or not.
        assert!(stats.completed >= 3, "{policy}: {stats:?}");
    }
}

/// A simulation of `workers` virtual workers under `Fair` (default slice), seeded with `seed`.
fn fair_sim(seed: u64, workers: usize) -> kairos::sim::Sim {
    kairos::sim::Builder::new()
        .seed(seed)
        .workers(workers)
        .policy(Policy::Fair)
        .build()
        .unwrap()
}

/// Under `Fair`, a task from outside the workers (on the injector) runs beside a local queue that
/// never empties. (A steal margin tried in session 4, applied to the injector too, starved such
/// tasks: `sched-bench`'s mixed-latency-hogs test caught it as a row with no latency. The margin
/// was withdrawn; this test keeps the case covered.)
#[test]
fn fair_injector_task_runs_beside_a_local_queue_that_never_empties() {
    let mut sim = fair_sim(1, 1);
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    sim.spawn(async move {
        // Two hogs: while one runs, the other is in the local queue.
        for _ in 0..2 {
            let s = s.clone();
            kairos::spawn(async move {
                while !s.load(Ordering::SeqCst) {
                    kairos::work(kairos::WORK_SLICE).await;
                    kairos::yield_now().await;
                }
            });
        }
    });
    sim.run_for(Duration::from_millis(20));
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    sim.spawn(async move { r.store(true, Ordering::SeqCst) });
    sim.run_for(Duration::from_millis(20));
    let ran = ran.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    sim.run_for(Duration::from_millis(1));
    assert!(
        ran,
        "the injector's task did not run in 20 ms beside two hogs"
    );
}

/// `Classes` on threads: a deadline-class task with a budget of 1 ms per 5 ms that computes
/// until told to stop, and a fair task that needs 20 ms of `work` to finish, on one worker. The
/// fair task finishes (then stops the budgeted one): the budgeted task is parked at the end of
/// each budget until its period ends (real timer), which is when the fair class runs. Without the
/// budget the deadline class would keep the only worker and the test would hang (watchdog).
#[test]
fn a_budgeted_deadline_task_leaves_the_fair_class_room_on_threads() {
    let _dog = Watchdog::new("budget throttling on threads", Duration::from_secs(60));
    let _serial = cpu_bound();
    let rt = rt(1, Policy::Classes);
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let budget = Sched::default().budget(Duration::from_millis(1), Duration::from_millis(5));
    let hog = rt.spawn_with(budget, async move {
        while !s.load(Ordering::SeqCst) {
            kairos::work(Duration::from_micros(100)).await;
        }
    });
    let fair = rt.spawn(async move {
        kairos::work(Duration::from_millis(20)).await;
        stop.store(true, Ordering::SeqCst);
    });
    rt.block_on(fair).unwrap();
    rt.block_on(hog).unwrap();
}
