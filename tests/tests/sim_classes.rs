//! `Policy::Classes` under the simulator: class order, a class change at run time, and
//! preemption between classes across workers.
//!
//! Under the cost model (`kairos::sim`) only `kairos::work` takes virtual time, so every order
//! below is exact. `work(C)` runs in `WORK_SLICE` (20 µs) slices with a cooperative check
//! between slices: a task asked to yield does so at the next slice boundary.

use kairos::sim::{self, Sim};
use kairos::time::{sleep, Instant};
use kairos::{task, yield_now, Policy, Sched, WORK_SLICE};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Log = Arc<Mutex<Vec<String>>>;

fn sim(workers: usize) -> Sim {
    sim::Builder::new()
        .seed(7)
        .workers(workers)
        .policy(Policy::Classes)
        .build()
        .unwrap()
}

fn log_of(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// Parameters, 1 worker: a fair task (plain parameters), two priority-class tasks (priorities
/// 3 and 9) and two deadline-class tasks (deadlines 900 µs and 100 µs; the second also has
/// priority 1, which the deadline ignores), spawned in that order, each polled three times
/// (it yields in between). Asserts the exact order: deadline class by deadline, then the
/// priority class by priority, then the fair task; each task's three polls are consecutive
/// (a yielding task stays the most urgent of its class).
#[test]
fn one_worker_runs_the_highest_class_first() {
    let mut sim = sim(1);
    let log: Log = Arc::default();
    let specs: [(&str, Sched); 5] = [
        ("fair", Sched::default()),
        ("p3", Sched::default().priority(3)),
        (
            "d900",
            Sched::default().deadline(Duration::from_micros(900)),
        ),
        ("p9", Sched::default().priority(9)),
        (
            "d100",
            Sched::default()
                .deadline(Duration::from_micros(100))
                .priority(1),
        ),
    ];
    let handles: Vec<_> = specs
        .into_iter()
        .map(|(name, sched)| {
            let log = log.clone();
            sim.spawn_with(sched, async move {
                for i in 0..3 {
                    log.lock().unwrap().push(format!("{name}.{i}"));
                    yield_now().await;
                }
            })
        })
        .collect();
    for h in handles {
        sim.block_on(h).unwrap();
    }
    let want: Vec<String> = ["d100", "d900", "p9", "p3", "fair"]
        .iter()
        .flat_map(|n| (0..3).map(move |i| format!("{n}.{i}")))
        .collect();
    assert_eq!(log_of(&log), want);
}

/// Parameters, 1 worker: a priority task `p` (priority 5) and two fair tasks, `mover` and
/// `other`, spawned in the order `mover`, `other`, `p` by a starter task; each logs and yields
/// three times.
/// `mover` raises itself to priority 10 in its first poll, then lowers itself back to 0 in its
/// second one. Asserts: `p` runs first (priority class); then `mover`'s first poll (the fair
/// class's head); its next poll comes right after it (queued in the priority class, ahead of
/// `other`, which is next in the fair class); back at priority 0 it is queued in the fair class
/// again, behind `other`, which has the same virtual runtime (no virtual time passes) and was
/// queued first; from then on the two alternate.
#[test]
fn a_task_changes_class_at_its_next_scheduling_point() {
    let mut sim = sim(1);
    let log: Log = Arc::default();
    let shared = log.clone();
    let spawn = move |name: &'static str, sched: Sched| {
        let log = shared.clone();
        kairos::spawn_with(sched, async move {
            for i in 0..3 {
                log.lock().unwrap().push(format!("{name}.{i}"));
                match (name, i) {
                    ("mover", 0) => task::set_priority(10).unwrap(),
                    ("mover", 1) => task::set_priority(0).unwrap(),
                    _ => {}
                }
                yield_now().await;
            }
        })
    };
    // Spawned from a task, so that all three start in the worker's own queue (a tie between
    // the injector's head and the local one stays local, `worker/ordered.rs`).
    let starter = sim.spawn(async move {
        let handles = [
            spawn("mover", Sched::default()),
            spawn("other", Sched::default()),
            spawn("p", Sched::default().priority(5)),
        ];
        for h in handles {
            h.await.unwrap();
        }
    });
    sim.block_on(starter).unwrap();
    assert_eq!(
        log_of(&log),
        ["p.0", "p.1", "p.2", "mover.0", "mover.1", "other.0", "mover.2", "other.1", "other.2"]
    );
}

/// Runs `hogs` CPU-bound tasks (`work(10 ms)`, spawned with `hog`) on 2 virtual workers, and one
/// task spawned with `urgent` that sleeps until 300 µs, then returns the time it starts at.
/// Returns the virtual time from the release to the start.
fn release_to_start(hog: Sched, urgent: Sched) -> Duration {
    let mut sim = sim(2);
    let start = sim.now();
    for _ in 0..2 {
        sim.spawn_with(hog, async { kairos::work(Duration::from_millis(10)).await });
    }
    let at = start + Duration::from_micros(300);
    let h = sim.spawn_with(urgent, async move {
        sleep(at - Instant::now()).await;
        Instant::now()
    });
    let began = sim.block_on(h).unwrap();
    began - at
}

/// Parameters: 2 virtual workers busy with two hogs of 10 ms each; one urgent task released
/// at 300 µs (inside the hogs' first 1 ms fair slice). Asserts, for a priority task over fair hogs and for a deadline task over priority
/// hogs, that the urgent task starts within one `WORK_SLICE` of its release: a running task of
/// a lower class is asked to yield (cross-worker preemption) and the freed worker picks the
/// higher class. A fair task released over fair hogs does not preempt them by urgency: it waits
/// for the end of a hog's fair slice (1 ms), so its delay is longer than a slice of work.
#[test]
fn a_higher_class_preempts_a_lower_one_across_workers() {
    let fair = Sched::default();
    let prio = Sched::default().priority(50);
    let deadline = Sched::default().deadline(Duration::from_millis(5));
    let d = release_to_start(fair, prio);
    assert!(d <= WORK_SLICE, "priority over fair hogs: {d:?}");
    let d = release_to_start(prio, deadline);
    assert!(d <= WORK_SLICE, "deadline over priority hogs: {d:?}");
    let d = release_to_start(fair, fair);
    assert!(
        d > WORK_SLICE,
        "fair over fair hogs must not preempt: {d:?}"
    );
}

/// Runs the classic inversion on 1 worker under `Classes`: a fair task `low` holds a
/// `kairos::sync::Mutex` (with inheritance, the default) and yields; a priority task `medium`
/// (priority 5) computes for 10 ms; a deadline task `high` (deadline 1 ms) waits for the lock.
/// Returns the log and the virtual time `high` got the lock at, from the start.
fn inversion(inherit: bool) -> (Vec<String>, Duration) {
    let mut sim = sim(1);
    let log: Log = Arc::default();
    let start = sim.now();
    let l = log.clone();
    let low = sim.spawn(async move {
        let lock = Arc::new(kairos::sync::Mutex::with_inheritance((), inherit));
        let guard = lock.lock().await;
        let (lm, lh) = (l.clone(), l.clone());
        let medium = kairos::spawn_with(Sched::default().priority(5), async move {
            kairos::work(Duration::from_millis(10)).await;
            lm.lock().unwrap().push("medium done".into());
        });
        let lock2 = lock.clone();
        let high = kairos::spawn_with(
            Sched::default().deadline(Duration::from_millis(1)),
            async move {
                let _g = lock2.lock().await;
                lh.lock().unwrap().push("high locked".into());
                Instant::now()
            },
        );
        // `high` and `medium` are of higher classes: both run before this task's next poll,
        // unless `high`'s wait lends this task its deadline (the deadline class).
        yield_now().await;
        l.lock().unwrap().push("low releases".into());
        drop(guard);
        let at = high.await.unwrap();
        medium.await.unwrap();
        at
    });
    let at = sim.block_on(low).unwrap();
    (log_of(&log), at - start)
}

/// Parameters: see [`inversion`]. With inheritance, `high`'s wait lends the fair lock holder its
/// deadline, which moves it to the deadline class while it is queued (`ClassQueue::rekey`):
/// it runs before `medium`, releases, and `high` gets the lock at once (no virtual time passes
/// before `medium` starts). Without inheritance the holder stays in the fair class and `high`
/// waits for `medium`'s whole 10 ms.
#[test]
fn an_inherited_deadline_moves_a_fair_holder_to_the_deadline_class() {
    let (log, at) = inversion(true);
    assert_eq!(log, ["low releases", "high locked", "medium done"]);
    assert_eq!(at, Duration::ZERO);
    let (log, at) = inversion(false);
    assert_eq!(log, ["medium done", "low releases", "high locked"]);
    assert!(at >= Duration::from_millis(10), "{at:?}");
}

/// CPU time each of two never-ending tasks got in 1 s of virtual time on 1 worker: `hog`, spawned
/// with `hog_sched`, and a plain fair task, both computing in `work(100 µs)` steps forever.
fn hog_vs_fair(hog_sched: Sched) -> (Duration, Duration) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let mut sim = sim(1);
    let step = Duration::from_micros(100);
    let counters: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    for (i, sched) in [(0, hog_sched), (1, Sched::default())] {
        let counters = counters.clone();
        sim.spawn_with(sched, async move {
            loop {
                kairos::work(step).await;
                counters[i].fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    sim.run_for(Duration::from_secs(1));
    let cpu = |i: usize| step * counters[i].load(Ordering::Relaxed) as u32;
    (cpu(0), cpu(1))
}

/// Parameters: 1 virtual worker for 1 s; a deadline-class task with a budget of 1 ms per 10 ms
/// that never stops computing (it overruns every period), beside a fair task that never stops
/// either. Asserts: the fair task gets at least 95% - (one poll of overrun per period) of the
/// CPU, far more than the 5% the fair class is reserved, and the budgeted task at most its
/// 10% plus one 100 µs step per period: the hard CBS parks it until each period's end. Without
/// the budget (a plain 10 ms deadline) the deadline class takes the whole worker and the fair
/// task never runs, which is what the budget prevents.
#[test]
fn a_throttled_overrunning_deadline_task_leaves_the_fair_class_its_share() {
    let budgeted = Sched::default().budget(Duration::from_millis(1), Duration::from_millis(10));
    let (hog, fair) = hog_vs_fair(budgeted);
    // 100 periods of 1 ms, plus at most one 100 µs step of overrun each (a step that starts
    // with budget left runs to its end).
    assert!(
        hog <= Duration::from_millis(110),
        "budgeted task got {hog:?}"
    );
    assert!(
        hog >= Duration::from_millis(90),
        "budgeted task got {hog:?}"
    );
    assert!(fair >= Duration::from_millis(880), "fair task got {fair:?}");
    let unbudgeted = Sched::default().deadline(Duration::from_millis(10));
    let (hog, fair) = hog_vs_fair(unbudgeted);
    assert_eq!(
        fair,
        Duration::ZERO,
        "the deadline class starves the fair one without a budget"
    );
    assert!(hog >= Duration::from_millis(990), "{hog:?}");
}

/// Parameters: 1 virtual worker, `Classes`, admission control on, deadline share 50%; periodic
/// tasks of 3 ms every 10 ms (utilization 0.3 each). Asserts: the first is admitted, the second
/// refused by the share test with a message naming the total (0.600), the share and the limit
/// (50% of 1 worker = 0.500), and the admitted one meets its deadlines. With the default share
/// (95%) three are admitted (0.9) and a fourth (1.2) is refused by the share test, which runs
/// before EDF's.
#[test]
fn admission_refuses_a_deadline_set_over_the_share_and_names_the_numbers() {
    use kairos::{AdmissionError, Periodic};
    let periodic = || Periodic::new(Duration::from_millis(10)).wcet(Duration::from_millis(3));
    let job = |_job| async { kairos::work(Duration::from_millis(3)).await };

    let mut sim = sim::Builder::new()
        .policy(Policy::Classes)
        .admission_control(true)
        .deadline_share(50)
        .fair_reserve(50)
        .build()
        .unwrap();
    let first = sim.spawn_periodic(periodic(), job).unwrap();
    let err = sim.spawn_periodic(periodic(), job).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, AdmissionError::DeadlineShare { .. }),
        "{err:?}"
    );
    assert!(msg.contains("0.600"), "{msg}");
    assert!(msg.contains("share 50% of 1 worker(s) = 0.500"), "{msg}");
    assert_eq!(err.bound(), Some(0.5));
    sim.run_for(Duration::from_millis(100));
    let stats = first.stats();
    assert_eq!(stats.missed, 0);
    assert!(stats.completed >= 9, "{stats:?}");

    let sim = sim::Builder::new()
        .policy(Policy::Classes)
        .admission_control(true)
        .build()
        .unwrap();
    for _ in 0..3 {
        sim.spawn_periodic(periodic(), job).unwrap();
    }
    let err = sim.spawn_periodic(periodic(), job).unwrap_err();
    assert!(
        err.to_string().contains("1.200") && err.to_string().contains("95% of 1 worker(s)"),
        "{err}"
    );
}

/// Parameters: 1 virtual worker under `Fair` (budgets act under `Classes` only); a task with a
/// budget of 1 ms per 10 ms and a plain task, both computing forever. Asserts the budget
/// changes nothing there: both get about half the worker (each at least 450 ms), and polls are
/// asked to yield only at the end of a 1 ms fair slice (at most 1,001 requests in 1 s).
#[test]
fn budgets_are_ignored_outside_classes() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let mut sim = sim::Builder::new().policy(Policy::Fair).build().unwrap();
    let step = Duration::from_micros(100);
    let counters: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let budgeted = Sched::default().budget(Duration::from_millis(1), Duration::from_millis(10));
    for (i, sched) in [(0, budgeted), (1, Sched::default())] {
        let counters = counters.clone();
        sim.spawn_with(sched, async move {
            loop {
                kairos::work(step).await;
                counters[i].fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    sim.run_for(Duration::from_secs(1));
    for c in counters.iter() {
        let cpu = step * c.load(Ordering::Relaxed) as u32;
        assert!(cpu >= Duration::from_millis(450), "{cpu:?}");
    }
    // Yields asked: one per 1 ms fair slice, not one per 20 µs `work` slice of the budgeted
    // task (which a budget check applied under `Fair` would ask for).
    let preemptions = sim.metrics().preemptions;
    assert!(preemptions <= 1_001, "{preemptions}");
}

/// Parameters: 1 virtual worker, `Classes`; a lone task with a budget of 1 ms per 10 ms that
/// computes forever in `work(100 µs)` steps, for 1 s. Asserts it keeps running period after
/// period although nothing else runs: while it is parked the worker idles, and the throttle
/// timer wakes the worker at each replenishment (100 periods of 1 ms, plus at most one step of
/// overrun each: 100 to 110 ms).
#[test]
fn a_lone_throttled_task_is_released_by_its_timer() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let mut sim = sim(1);
    let step = Duration::from_micros(100);
    let steps = Arc::new(AtomicU64::new(0));
    let s = steps.clone();
    let budgeted = Sched::default().budget(Duration::from_millis(1), Duration::from_millis(10));
    sim.spawn_with(budgeted, async move {
        loop {
            kairos::work(step).await;
            s.fetch_add(1, Ordering::Relaxed);
        }
    });
    sim.run_for(Duration::from_secs(1));
    let cpu = step * steps.load(Ordering::Relaxed) as u32;
    assert!(cpu >= Duration::from_millis(99), "{cpu:?}");
    assert!(cpu <= Duration::from_millis(110), "{cpu:?}");
}
