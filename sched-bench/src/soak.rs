//! `sched-bench soak --duration D`: waves of random tasks on kairos under every policy, each
//! wave checked for exact outcomes and for leaks.
//!
//! A wave runs on one runtime (the policies take turns: Fifo, Edf, Priority, Fair, Classes) and
//! spawns
//! a random mix, drawn from a seeded xorshift generator, of:
//!
//! | kind | what it does | expected outcome |
//! |---|---|---|
//! | value | returns its index | `Ok(index)` |
//! | sleep | sleeps 0–2 ms, returns its index | `Ok(index)` |
//! | abort | sleeps an hour; aborted through its handle | `Err`, cancelled |
//! | panic | panics (with a marker payload the soak's panic hook keeps quiet) | `Err`, panic |
//! | timeout | `timeout(0–1 ms, sleep(1 h))` | `Ok` with `Err(Elapsed)` |
//! | children | spawns 1–4 children returning 1 each, awaits them | `Ok(children)` |
//! | periodic | a periodic task (period 200–1000 µs) stopped after its first jobs | its join returns |
//!
//! Every task's future (and each child's, and each periodic job closure) owns a [`Tracker`]
//! whose destructor counts into the wave's table: after the wave every tracker must have been
//! dropped **exactly once**, whatever the outcome. After each wave the runtime must be back to
//! zero: no live tasks, no pending timers ([`kairos::Metrics`]), and the task pool's live blocks
//! and the fallback (global allocator) task blocks back to their values before the wave
//! ([`kairos::task_memory`]): resident memory alone would hide a leak behind the pre-faulted
//! pool. The first failed check ends the soak with an error naming the wave, policy and check.
//! The task-block counters are process-wide, so the soak must be the only thing using kairos in
//! its process (it is tested through the command, `sched-bench/tests/soak.rs`).

use crate::error::BenchError;
use kairos::{Job, Periodic, Policy, Runtime};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Payload of the soak's deliberate panics (kept out of stderr by the panic hook).
const PANIC_MARKER: &str = "sched-bench soak: deliberate panic";

/// How long the counters may take to return to zero after a wave's last join.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// The policies the waves take turns on.
const POLICIES: [Policy; 5] = [
    Policy::Fifo,
    Policy::Edf,
    Policy::Priority,
    Policy::Fair,
    Policy::Classes,
];

/// What a soak run did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SoakReport {
    /// Waves run (each checked).
    pub waves: u64,
    /// Top-level tasks spawned (children and periodic jobs not included).
    pub tasks: u64,
    /// Children spawned by child-spawning tasks.
    pub children: u64,
    /// Periodic tasks spawned.
    pub periodic: u64,
    /// Destructors counted (each exactly once).
    pub drops: u64,
    /// The longest wave: its index, policy and wall-clock length (a wave far longer than the
    /// others points at tasks that waited on a stale queue or a late wake-up).
    pub slowest: Option<(u64, Policy, Duration)>,
}

/// Counts its own drop in slot `index` of the wave's table.
#[derive(Debug)]
struct Tracker {
    /// The wave's drop counts, one per tracker.
    drops: Arc<Vec<AtomicU32>>,
    /// This tracker's slot.
    index: usize,
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.drops[self.index].fetch_add(1, Ordering::Relaxed);
    }
}

/// xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators",
/// 2016): the wave's random choices, reproducible from the seed.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One top-level task's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Value,
    Sleep,
    Abort,
    Panic,
    Timeout,
    Children,
    Periodic,
}

const KINDS: [Kind; 7] = [
    Kind::Value,
    Kind::Sleep,
    Kind::Abort,
    Kind::Panic,
    Kind::Timeout,
    Kind::Children,
    Kind::Periodic,
];

/// Installs a panic hook that keeps the soak's deliberate panics quiet and reports any other.
fn quiet_deliberate_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&PANIC_MARKER) {
            default(info);
        }
    }));
}

/// Panics with [`PANIC_MARKER`].
fn deliberate_panic() -> u64 {
    std::panic::panic_any(PANIC_MARKER)
}

/// Task-block counters of the process: (pool live blocks, fallback blocks not freed).
fn task_blocks() -> (u64, u64) {
    let m = kairos::task_memory();
    (m.pool.map_or(0, |p| p.live_blocks), m.system_live)
}

/// Runs waves of `tasks_per_wave` tasks for `duration` (and at least `min_waves` waves) on
/// `workers` workers, from `seed`.
///
/// # Errors
/// [`BenchError::Build`] if a runtime cannot be built; [`BenchError::Task`] naming the wave,
/// policy and check that failed.
pub fn run(
    duration: Duration,
    min_waves: u64,
    workers: usize,
    tasks_per_wave: usize,
    seed: u64,
) -> Result<SoakReport, BenchError> {
    quiet_deliberate_panics();
    let mut rng = Rng(seed | 1);
    let mut report = SoakReport::default();
    let runtimes = POLICIES
        .iter()
        .map(|&p| {
            Runtime::builder()
                .workers(workers)
                .policy(p)
                .build()
                .map_err(|e| BenchError::Build {
                    backend: format!("kairos-{p:?}"),
                    message: e.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let start = Instant::now();
    while report.waves < min_waves.max(1) || start.elapsed() < duration {
        let i = (report.waves % POLICIES.len() as u64) as usize;
        let wave_start = Instant::now();
        wave(
            &runtimes[i],
            POLICIES[i],
            tasks_per_wave,
            &mut rng,
            &mut report,
        )?;
        let took = wave_start.elapsed();
        if report.slowest.is_none_or(|(_, _, longest)| took > longest) {
            report.slowest = Some((report.waves, POLICIES[i], took));
        }
        report.waves += 1;
    }
    for rt in runtimes {
        rt.shutdown_timeout(Duration::from_secs(10))
            .map_err(|e| BenchError::Task {
                backend: "soak".to_owned(),
                message: format!("shutdown after the soak: {e}"),
            })?;
    }
    Ok(report)
}

/// One wave on `rt`; see the module docs.
fn wave(
    rt: &Runtime,
    policy: Policy,
    n: usize,
    rng: &mut Rng,
    report: &mut SoakReport,
) -> Result<(), BenchError> {
    let fail = |what: String| BenchError::Task {
        backend: format!("soak wave {} ({policy:?})", report.waves),
        message: what,
    };
    let blocks_before = task_blocks();
    let kinds: Vec<Kind> = (0..n)
        .map(|_| KINDS[rng.below(KINDS.len() as u64) as usize])
        .collect();
    let params: Vec<(u64, u64)> = (0..n).map(|_| (rng.next(), rng.next())).collect();
    // Slots: one per task, 4 per child-spawning task's children, one per periodic closure.
    let slots = n * 5;
    let drops: Arc<Vec<AtomicU32>> = Arc::new((0..slots).map(|_| AtomicU32::new(0)).collect());
    let tracker = |index: usize| Tracker {
        drops: Arc::clone(&drops),
        index,
    };
    let mut used = vec![false; slots];
    let mut handles = Vec::new();
    let mut periodic = Vec::new();
    for (i, (&kind, &(a, b))) in kinds.iter().zip(&params).enumerate() {
        used[i] = true;
        let t = tracker(i);
        match kind {
            Kind::Value => handles.push((
                i,
                kind,
                0,
                rt.spawn(async move {
                    let _t = t;
                    i as u64
                }),
            )),
            Kind::Sleep => handles.push((
                i,
                kind,
                0,
                rt.spawn(async move {
                    let _t = t;
                    kairos::time::sleep(Duration::from_micros(a % 2000)).await;
                    i as u64
                }),
            )),
            Kind::Abort => {
                let h = rt.spawn(async move {
                    let _t = t;
                    kairos::time::sleep(Duration::from_secs(3600)).await;
                    i as u64
                });
                h.abort();
                handles.push((i, kind, 0, h));
            }
            Kind::Panic => handles.push((
                i,
                kind,
                0,
                rt.spawn(async move {
                    let _t = t;
                    deliberate_panic()
                }),
            )),
            Kind::Timeout => handles.push((
                i,
                kind,
                0,
                rt.spawn(async move {
                    let _t = t;
                    let slow = kairos::time::sleep(Duration::from_secs(3600));
                    match kairos::time::timeout(Duration::from_micros(a % 1000), slow).await {
                        Err(_elapsed) => i as u64,
                        Ok(()) => u64::MAX,
                    }
                }),
            )),
            Kind::Children => {
                let k = 1 + (b % 4) as usize;
                let child_slots: Vec<usize> = (0..k).map(|c| n + i * 4 + c).collect();
                for &s in &child_slots {
                    used[s] = true;
                }
                let children: Vec<Tracker> = child_slots.iter().map(|&s| tracker(s)).collect();
                report.children += k as u64;
                handles.push((
                    i,
                    kind,
                    k as u64,
                    rt.spawn(async move {
                        let _t = t;
                        let joins: Vec<_> = children
                            .into_iter()
                            .map(|ct| {
                                kairos::spawn(async move {
                                    let _ct = ct;
                                    kairos::yield_now().await;
                                    1u64
                                })
                            })
                            .collect();
                        let mut sum = 0;
                        for j in joins {
                            sum += j.await.unwrap_or(0);
                        }
                        sum
                    }),
                ));
            }
            Kind::Periodic => {
                // The task's own slot is held by the job closure.
                let period = Duration::from_micros(200 + a % 800);
                let h = rt
                    .spawn_periodic(Periodic::new(period), move |job: Job| {
                        let _ = &t;
                        async move {
                            let _ = job;
                            kairos::yield_now().await;
                        }
                    })
                    .map_err(|e| fail(format!("spawn_periodic: {e}")))?;
                periodic.push(h);
                report.periodic += 1;
            }
        }
    }
    report.tasks += n as u64;
    // The periodic tasks run for about a millisecond, then are stopped and joined before the
    // other tasks are awaited: under Edf, jobs with deadlines run before tasks without, so
    // periodic tasks left running could starve the rest of the wave (policy, not a bug).
    let outcomes = rt.block_on(async {
        kairos::time::sleep(Duration::from_millis(1)).await;
        for h in periodic {
            h.stop();
            let _stats = h.join().await;
        }
        let mut out = Vec::with_capacity(handles.len());
        for (i, kind, k, h) in handles {
            out.push((i, kind, k, h.await));
        }
        out
    });
    for (i, kind, k, outcome) in outcomes {
        let ok = match (kind, &outcome) {
            (Kind::Value | Kind::Sleep | Kind::Timeout, Ok(v)) => *v == i as u64,
            (Kind::Abort, Err(e)) => e.is_cancelled(),
            (Kind::Panic, Err(e)) => e.is_panic(),
            (Kind::Children, Ok(v)) => *v == k,
            _ => false,
        };
        if !ok {
            return Err(fail(format!("task {i} ({kind:?}) ended with {outcome:?}")));
        }
    }
    // Every tracker dropped exactly once (the closures of stopped periodic tasks included).
    for (s, d) in drops.iter().enumerate() {
        let count = d.load(Ordering::Relaxed);
        let expected = u32::from(used[s]);
        if count != expected {
            return Err(fail(format!(
                "tracker {s} was dropped {count} times, expected {expected}"
            )));
        }
    }
    report.drops += used.iter().filter(|&&u| u).count() as u64;
    // A worker drops its reference to a finished task just after waking the joiner, so the
    // counters reach zero shortly after the last join returns: wait for them, with a bound.
    let settled = |m: &kairos::Metrics| {
        m.live_tasks == 0 && m.pending_timers == 0 && task_blocks() == blocks_before
    };
    let limit = Instant::now() + SETTLE_LIMIT;
    let mut m = rt.metrics();
    while !settled(&m) && Instant::now() < limit {
        std::thread::sleep(Duration::from_millis(1));
        m = rt.metrics();
    }
    if !settled(&m) {
        return Err(fail(format!(
            "{SETTLE_LIMIT:?} after the wave: {} live tasks, {} pending timers, task blocks \
             (pool live, fallback live) {:?} against {blocks_before:?} before the wave",
            m.live_tasks,
            m.pending_timers,
            task_blocks()
        )));
    }
    Ok(())
}
