//! `sched-bench schedulability`: the fraction of random periodic task sets each kairos policy
//! schedules without a deadline miss, swept over utilization, under the deterministic simulator.
//!
//! # The experiment
//!
//! For each utilization `U` of the sweep (`--from`, `--to`, `--step`; default 0.50 to 1.00 in
//! 0.05 steps) and each of `--sets` task sets:
//!
//! 1. **The set.** `kairos::sim::generate` with `TaskSetSpec { tasks: n, utilization: U · m,
//!    min_period, max_period, granularity: WORK_SLICE }`, `m` = `--workers`: UUniFast
//!    utilizations (Bini & Buttazzo 2005), log-uniform periods in `[min, max]` (default 1 to
//!    100 ms), periods and execution times rounded down to whole 20 µs slices (so a set's real
//!    utilization is at most `U · m`; the table's `mean U` shows it), implicit deadlines. For
//!    `U · m > 1` a task's UUniFast share can exceed 1; such sets are drawn again
//!    (UUniFast-Discard, Davis & Burns 2009, up to [`MAX_DRAWS`] draws) because `generate` clamps
//!    such a task to `C = T` instead. The random stream of a set depends only on `--seed`, `U`
//!    and the set's index, so every policy sees the same sets, and a point's sets do not change
//!    when the sweep's other points do.
//! 2. **The run.** For each policy, a fresh [`kairos::sim::Sim`] (cost model, `m` virtual
//!    workers, seed = the set's seed) gets one `spawn_periodic` task per task of the set, all
//!    released together at time 0 (the synchronous release), each job running
//!    `kairos::work(C)`, and runs for `--horizon` of virtual time (default 1 s).
//!    Policies: `edf` (`Policy::Edf`: each job's absolute deadline), `priority-rm`
//!    (`Policy::Priority` with rate-monotonic priorities: shorter period, higher priority, spread
//!    evenly from 255 down to 1 by period rank; kairos' default aging of one level per 10 ms
//!    waited), `fifo` (`Policy::Fifo`) and `fair` (`Policy::Fair`, every task nice 0).
//! 3. **The verdict.** A set is *schedulable* under a policy if no job with its deadline within
//!    the horizon missed it: every such job completed, none after its deadline. The run stops at
//!    the first miss (checked every [`CHECK_EVERY`] of virtual time).
//!
//! The table prints, per utilization, the fraction of schedulable sets for each policy; `--plot`
//! draws the same as an SVG (one line per policy), `--json` writes it. A schedulable verdict
//! covers the horizon only (the hyperperiod of such sets is far longer); for EDF on one worker
//! any set with `U <= 1` is schedulable (Liu & Layland 1973), which the `edf` column shows.
//!
//! # Speed
//!
//! Then `--speed-runs` times per policy (default 5), one 10-task set at `U = 0.9 · m` is
//! simulated for exactly 1 s of virtual time (no early stop), timing the real time from building
//! the simulation to the end of the run, on this one thread after the sweep; the table gives the
//! median and range per policy, with the number of simulator events per simulated second.
//!
//! The sweep runs its sets on `--jobs` threads (default: the CPUs available); each simulation is
//! single-threaded and deterministic, so the results do not depend on `--jobs`.

use crate::error::BenchError;
use crate::json::{self, SummaryFields};
use crate::machine::{self, CpuSample};
use crate::stats::Summary;
use crate::table::{num, Table};
use kairos::sim::{generate, PeriodicTask, SimRng, TaskSetSpec};
use kairos::Policy;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The policies, in column order, with their column names.
pub const POLICIES: [(Policy, &str); 4] = [
    (Policy::Edf, "edf"),
    (Policy::Priority, "priority-rm"),
    (Policy::Fifo, "fifo"),
    (Policy::Fair, "fair"),
];

/// How often (virtual time) a run checks for a miss, to stop early.
pub const CHECK_EVERY: Duration = Duration::from_millis(10);

/// Most draws of one set when UUniFast-Discard rejects sets (a task's share above 1).
pub const MAX_DRAWS: usize = 1000;

/// Tasks of the set the speed measurement simulates (the figure: 1 s of a 10-task set).
pub const SPEED_TASKS: usize = 10;

/// Utilization per worker of the speed measurement's sets.
pub const SPEED_UTILIZATION: f64 = 0.9;

/// Default `--seed`.
pub const DEFAULT_SEED: u64 = 1;

/// Options of `sched-bench schedulability`.
#[derive(Debug, Clone)]
pub struct SchedOpts {
    /// Lowest utilization per worker.
    pub from: f64,
    /// Highest utilization per worker (included).
    pub to: f64,
    /// Step between two points.
    pub step: f64,
    /// Tasks per set.
    pub tasks: usize,
    /// Sets per point.
    pub sets: usize,
    /// Seed of every set's random stream.
    pub seed: u64,
    /// Virtual workers.
    pub workers: usize,
    /// Virtual time each set runs.
    pub horizon: Duration,
    /// Shortest period.
    pub min_period: Duration,
    /// Longest period.
    pub max_period: Duration,
    /// Threads running sets (`None`: the CPUs available).
    pub jobs: Option<usize>,
    /// Runs per policy of the speed measurement (0: none).
    pub speed_runs: usize,
    /// Where to write the SVG plot, if anywhere.
    pub plot: Option<PathBuf>,
    /// Where to write the JSON report, if anywhere.
    pub json: Option<PathBuf>,
}

/// One point of the sweep.
#[derive(Debug, Clone)]
pub struct Point {
    /// Target utilization per worker.
    pub utilization: f64,
    /// Mean over the sets of their real utilization per worker (after rounding down).
    pub mean_utilization: f64,
    /// Sets simulated.
    pub sets: usize,
    /// Schedulable sets per policy, in [`POLICIES`] order.
    pub schedulable: [usize; 4],
}

impl Point {
    /// Fraction of schedulable sets under policy `i` of [`POLICIES`].
    pub fn fraction(&self, i: usize) -> f64 {
        self.schedulable[i] as f64 / self.sets.max(1) as f64
    }
}

/// The speed of the simulator under one policy.
#[derive(Debug, Clone)]
pub struct Speed {
    /// Column name of the policy.
    pub policy: &'static str,
    /// Real ms per simulated second, over the runs.
    pub ms_per_s: Summary,
    /// Simulator events per simulated second (median over the runs).
    pub events_per_s: f64,
    /// Runs.
    pub runs: usize,
}

/// Runs the sweep and the speed measurement, prints the tables, writes the files asked for.
///
/// # Errors
/// Invalid options, a simulation that cannot be built or a task that panicked, a file that cannot
/// be written.
pub fn run(opts: &SchedOpts) -> Result<(Vec<Point>, Vec<Speed>), BenchError> {
    let utilizations = sweep(opts)?;
    let json_out = opts.json.as_deref().map(json::Output::create).transpose()?;
    let plot_out = opts.plot.as_deref().map(json::Output::create).transpose()?;
    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
        .max(1);
    let started = Instant::now();
    let mut points = Vec::with_capacity(utilizations.len());
    for (i, &u) in utilizations.iter().enumerate() {
        eprintln!(
            "schedulability: U = {u:.2} ({}/{}): {} sets x {} policies, {} tasks, {} worker(s), \
             horizon {} ms",
            i + 1,
            utilizations.len(),
            opts.sets,
            POLICIES.len(),
            opts.tasks,
            opts.workers,
            opts.horizon.as_millis()
        );
        points.push(point(opts, u, jobs)?);
    }
    eprintln!(
        "schedulability: sweep took {:.1} s of real time on {jobs} thread(s)",
        started.elapsed().as_secs_f64()
    );
    println!("{}", table(&points));
    for line in notes(opts) {
        println!("{line}");
    }
    println!();
    let speeds = if opts.speed_runs > 0 {
        let before = CpuSample::now();
        let speeds = speed(opts)?;
        println!("{}", speed_table(&speeds));
        println!(
            "note: real time to simulate 1 s of virtual time of a {SPEED_TASKS}-task set at U = \
             {:.2} per worker on {} virtual worker(s) (cost model, trace not kept; building the \
             simulation, spawning and running it), {} set(s) per policy run one after another on \
             one thread: median (min–max); events = the simulator's trace events per simulated \
             second; {} build",
            SPEED_UTILIZATION,
            opts.workers,
            opts.speed_runs,
            if cfg!(debug_assertions) {
                "debug (unoptimised: use --release for figures)"
            } else {
                "release"
            }
        );
        if let Some(note) = machine::busy_note(before) {
            println!("{note}");
        }
        println!();
        speeds
    } else {
        Vec::new()
    };
    if let (Some(out), Some(path)) = (plot_out, &opts.plot) {
        let svg = crate::plot::schedulability_svg(&plot_title(opts), &curves(&points)).map_err(
            |message| BenchError::Io {
                path: path.clone(),
                source: std::io::Error::other(message),
            },
        )?;
        out.write(&svg)?;
    }
    if let Some(out) = json_out {
        out.write_json(
            "schedulability",
            json::to_value(to_json(opts, &points, &speeds)),
        )?;
    }
    Ok((points, speeds))
}

/// The sweep's utilizations, validated.
///
/// # Errors
/// [`BenchError::Usage`] for bounds or periods that make no sweep.
pub fn sweep(opts: &SchedOpts) -> Result<Vec<f64>, BenchError> {
    let bad = |m: String| Err(BenchError::Usage(m));
    if !(opts.from > 0.0 && opts.from.is_finite() && opts.to.is_finite()) {
        return bad(format!("--from must be above 0 (got {})", opts.from));
    }
    if opts.to < opts.from {
        return bad(format!(
            "--to ({}) must be at least --from ({})",
            opts.to, opts.from
        ));
    }
    if !(opts.step > 0.0 && opts.step.is_finite()) {
        return bad(format!("--step must be above 0 (got {})", opts.step));
    }
    if opts.min_period < kairos::WORK_SLICE || opts.min_period > opts.max_period {
        return bad(format!(
            "need 20us <= --min-period <= --max-period (got {:?} and {:?})",
            opts.min_period, opts.max_period
        ));
    }
    // Points from + k·step up to `to`, with a little slack so that 0.5 + 10 × 0.05 counts as 1.0.
    let count = ((opts.to - opts.from) / opts.step + 1e-9).floor() as usize + 1;
    if count > 1000 {
        return bad(format!("{count} points: at most 1000 (raise --step)"));
    }
    Ok((0..count)
        .map(|k| {
            let u = opts.from + k as f64 * opts.step;
            (u * 1e9).round() / 1e9
        })
        .collect())
}

/// One set's real utilization per worker and whether each policy (in [`POLICIES`] order)
/// scheduled it.
type SetResult = Result<(f64, [bool; 4]), BenchError>;

/// One point: every set under every policy, sets spread over `jobs` threads.
fn point(opts: &SchedOpts, u: f64, jobs: usize) -> Result<Point, BenchError> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<SetResult>>> = Mutex::new((0..opts.sets).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(opts.sets) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= opts.sets {
                    return;
                }
                let set = task_set(opts, u, i);
                let real_u = set.iter().map(PeriodicTask::utilization).sum::<f64>();
                let mut ok = [false; 4];
                let outcome = POLICIES
                    .iter()
                    .zip(&mut ok)
                    .try_for_each(|(&(policy, _), ok)| {
                        *ok = simulate(&set, policy, opts, set_seed(opts.seed, u, i), true)?
                            .schedulable;
                        Ok(())
                    })
                    .map(|()| (real_u / opts.workers as f64, ok));
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(outcome);
                }
            });
        }
    });
    let results = results
        .into_inner()
        .map_err(|_| BenchError::Usage("a schedulability thread panicked".to_owned()))?;
    let mut p = Point {
        utilization: u,
        mean_utilization: 0.0,
        sets: opts.sets,
        schedulable: [0; 4],
    };
    for r in results {
        let (real_u, ok) = r.ok_or_else(|| {
            BenchError::Usage("a schedulability thread stopped early".to_owned())
        })??;
        p.mean_utilization += real_u / opts.sets as f64;
        for (n, ok) in p.schedulable.iter_mut().zip(ok) {
            *n += usize::from(ok);
        }
    }
    Ok(p)
}

/// One SplitMix64 step as a mixing function.
fn mix(x: u64) -> u64 {
    SimRng::new(x).next_u64()
}

/// The seed of set `index` at utilization `u`: a function of the three only.
pub fn set_seed(seed: u64, u: f64, index: usize) -> u64 {
    let key = (u * 1e4).round() as u64; // basis points: 0.55 and 0.55000000001 are one point
    mix(mix(mix(seed) ^ key) ^ index as u64)
}

/// Set `index` of the point at utilization `u` (per worker).
pub fn task_set(opts: &SchedOpts, u: f64, index: usize) -> Vec<PeriodicTask> {
    let mut rng = SimRng::new(set_seed(opts.seed, u, index));
    let spec = TaskSetSpec {
        tasks: opts.tasks,
        utilization: u * opts.workers as f64,
        min_period: opts.min_period,
        max_period: opts.max_period,
        granularity: kairos::WORK_SLICE,
    };
    let mut set = generate(&mut rng, &spec);
    if spec.utilization > 1.0 {
        // UUniFast-Discard: a share above 1 comes back clamped to C = T; draw again.
        for _ in 1..MAX_DRAWS {
            if set.iter().all(|t| t.wcet < t.period) {
                break;
            }
            set = generate(&mut rng, &spec);
        }
    }
    set
}

/// Rate-monotonic priorities of `set`: by period rank (ties by index), spread from 255 (shortest
/// period) down to 1.
pub fn rate_monotonic(set: &[PeriodicTask]) -> Vec<u8> {
    let mut order: Vec<usize> = (0..set.len()).collect();
    order.sort_by_key(|&i| (set[i].period, i));
    let mut prio = vec![0u8; set.len()];
    let span = set.len().saturating_sub(1).max(1);
    for (rank, &i) in order.iter().enumerate() {
        prio[i] = u8::try_from(255 - rank * 254 / span).unwrap_or(1);
    }
    prio
}

/// What one simulated set did.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// No job with its deadline within the horizon missed it.
    pub schedulable: bool,
    /// Simulator events processed.
    pub events: u64,
}

/// Runs `set` under `policy` for the horizon (`early`: stop at the first miss).
///
/// # Errors
/// The simulation cannot be built, a task is refused, a job panicked.
pub fn simulate(
    set: &[PeriodicTask],
    policy: Policy,
    opts: &SchedOpts,
    seed: u64,
    early: bool,
) -> Result<Outcome, BenchError> {
    let label = || crate::backend::sim_label(policy);
    let mut sim = kairos::sim::Builder::new()
        .seed(seed)
        .workers(opts.workers)
        .policy(policy)
        .keep_trace(false)
        .build()
        .map_err(|e| BenchError::Build {
            backend: label(),
            message: e.to_string(),
        })?;
    let missed = Arc::new(AtomicU64::new(0));
    let prio = rate_monotonic(set);
    let mut completed = Vec::with_capacity(set.len());
    let mut handles = Vec::with_capacity(set.len());
    for (task, &p) in set.iter().zip(&prio) {
        let done = Arc::new(AtomicU64::new(0));
        completed.push(Arc::clone(&done));
        let missed = Arc::clone(&missed);
        let wcet = task.wcet;
        let params = kairos::Periodic::new(task.period)
            .deadline(task.deadline)
            .priority(p);
        let h = sim
            .spawn_periodic(params, move |job| {
                let (missed, done) = (Arc::clone(&missed), Arc::clone(&done));
                let deadline = job.deadline();
                async move {
                    kairos::work(wcet).await;
                    if kairos::time::Instant::now() > deadline {
                        missed.fetch_add(1, Ordering::Relaxed);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
            .map_err(|e| BenchError::Task {
                backend: label(),
                message: format!("spawn_periodic: {e}"),
            })?;
        handles.push(h);
    }
    // Jobs of `task` whose deadline is at or before `t` (releases at 0, T, 2T, ...).
    let due = |task: &PeriodicTask, t: Duration| -> u64 {
        match t.checked_sub(task.deadline) {
            None => 0,
            Some(after) => (after.as_nanos() / task.period.as_nanos().max(1)) as u64 + 1,
        }
    };
    let miss_by = |t: Duration| {
        missed.load(Ordering::Relaxed) > 0
            || set
                .iter()
                .zip(&completed)
                .any(|(task, done)| done.load(Ordering::Relaxed) < due(task, t))
    };
    let mut t = Duration::ZERO;
    let mut schedulable = true;
    while t < opts.horizon {
        let step = if early {
            CHECK_EVERY.min(opts.horizon - t)
        } else {
            opts.horizon - t
        };
        sim.run_for(step);
        t += step;
        if miss_by(t) {
            schedulable = false;
            if early {
                break;
            }
        }
    }
    let panics = sim.metrics().panics;
    if panics > 0 {
        return Err(BenchError::Task {
            backend: label(),
            message: format!("{panics} task(s) panicked (seed {seed})"),
        });
    }
    Ok(Outcome {
        schedulable,
        events: sim.events(),
    })
}

/// The speed measurement: `speed_runs` 10-task sets per policy, 1 s each, timed.
///
/// # Errors
/// As [`simulate`].
pub fn speed(opts: &SchedOpts) -> Result<Vec<Speed>, BenchError> {
    let o = SchedOpts {
        tasks: SPEED_TASKS,
        horizon: Duration::from_secs(1),
        ..opts.clone()
    };
    POLICIES
        .iter()
        .map(|&(policy, name)| {
            let mut ms = Vec::with_capacity(o.speed_runs);
            let mut events = Vec::with_capacity(o.speed_runs);
            for i in 0..o.speed_runs {
                let set = task_set(&o, SPEED_UTILIZATION, i);
                let seed = set_seed(o.seed, SPEED_UTILIZATION, i);
                let start = Instant::now();
                let out = simulate(&set, policy, &o, seed, false)?;
                ms.push(start.elapsed().as_secs_f64() * 1e3);
                events.push(out.events as f64);
            }
            Ok(Speed {
                policy: name,
                ms_per_s: Summary::of(&ms)
                    .ok_or_else(|| BenchError::Usage("--speed-runs 0".to_owned()))?,
                events_per_s: Summary::of(&events).map_or(0.0, |s| s.median),
                runs: o.speed_runs,
            })
        })
        .collect()
}

/// A fraction with as many decimals as the set count needs.
fn fraction_cell(p: &Point, i: usize) -> String {
    if p.sets <= 100 {
        format!("{:.2}", p.fraction(i))
    } else {
        format!("{:.3}", p.fraction(i))
    }
}

/// The sweep's table: one row per utilization, one column per policy.
pub fn table(points: &[Point]) -> Table {
    let mut header = vec!["U", "mean U", "sets"];
    header.extend(POLICIES.iter().map(|&(_, name)| name));
    let mut t = Table::new(header);
    for p in points {
        let mut cells = vec![
            format!("{:.2}", p.utilization),
            format!("{:.3}", p.mean_utilization),
            p.sets.to_string(),
        ];
        cells.extend((0..POLICIES.len()).map(|i| fraction_cell(p, i)));
        t.row(cells);
    }
    t
}

/// The speed table: one row per policy.
pub fn speed_table(speeds: &[Speed]) -> Table {
    let mut t = Table::new([
        "policy",
        "real ms per simulated s",
        "events per simulated s",
    ]);
    for s in speeds {
        let ms = if s.ms_per_s.min == s.ms_per_s.max {
            num(s.ms_per_s.median)
        } else {
            format!(
                "{} ({}–{})",
                num(s.ms_per_s.median),
                num(s.ms_per_s.min),
                num(s.ms_per_s.max)
            )
        };
        t.row([s.policy.to_owned(), ms, format!("{:.0}", s.events_per_s)]);
    }
    t
}

/// The lines under the sweep's table.
pub fn notes(opts: &SchedOpts) -> Vec<String> {
    let mut notes = vec![format!(
        "note: each policy column = fraction of the {} task sets per row with no deadline miss \
         within {} ms of virtual time (kairos::sim, cost model, {} virtual worker(s), seed {}); \
         sets of {} tasks: UUniFast utilizations summing to U x {} worker(s){}, log-uniform \
         periods in [{} ms, {} ms], C and T in whole 20 µs slices rounded down (mean U = the \
         sets' real utilization per worker), implicit deadlines, all released at 0; each job \
         runs kairos::work(C)",
        opts.sets,
        opts.horizon.as_millis(),
        opts.workers,
        opts.seed,
        opts.tasks,
        opts.workers,
        if opts.workers > 1 {
            " (UUniFast-Discard: sets with a share above 1 are drawn again)"
        } else {
            ""
        },
        opts.min_period.as_secs_f64() * 1e3,
        opts.max_period.as_secs_f64() * 1e3,
    )];
    notes.push(
        "note: edf = Policy::Edf (absolute deadlines); priority-rm = Policy::Priority with \
         rate-monotonic priorities (shorter period higher, 255 down to 1 by rank; kairos' \
         default aging, +1 level per 10 ms waited); fifo = Policy::Fifo; fair = Policy::Fair \
         (all nice 0, default 1 ms slice); preemption is cooperative, at 20 µs slice boundaries \
         of kairos::work; a set misses if a job with its deadline within the horizon completes \
         late or not at all (definitions: docs/sched-bench.md)"
            .to_owned(),
    );
    if opts.workers > 1 {
        notes.push(
            "note: several workers: kairos schedules globally (per-worker queues, stealing, a \
             preemption flag on the least urgent running worker); global EDF is not optimal on \
             several processors (Dhall's effect), so misses near full utilization are expected \
             (docs/sched-bench.md, \"Schedulability\")"
                .to_owned(),
        );
    }
    notes
}

/// The plot's title.
fn plot_title(opts: &SchedOpts) -> String {
    format!(
        "schedulable task sets: {} tasks, {} worker(s), {} sets per point, horizon {} ms, seed {}",
        opts.tasks,
        opts.workers,
        opts.sets,
        opts.horizon.as_millis(),
        opts.seed
    )
}

/// One curve per policy: (utilization, fraction schedulable).
fn curves(points: &[Point]) -> Vec<(&'static str, Vec<(f64, f64)>)> {
    POLICIES
        .iter()
        .enumerate()
        .map(|(i, &(_, name))| {
            (
                name,
                points
                    .iter()
                    .map(|p| (p.utilization, p.fraction(i)))
                    .collect(),
            )
        })
        .collect()
}

/// `schedulability --json`: the configuration, one object per point, the speed per policy.
/// Serialised by derived `Serialize`.
#[derive(Debug, Serialize)]
pub struct SchedJson<'a> {
    /// [`SchedOpts::tasks`].
    pub tasks: usize,
    /// [`SchedOpts::sets`].
    pub sets: usize,
    /// [`SchedOpts::workers`].
    pub workers: usize,
    /// [`SchedOpts::seed`].
    pub seed: u64,
    /// [`SchedOpts::horizon`], seconds.
    pub horizon_s: f64,
    /// [`SchedOpts::min_period`], seconds.
    pub min_period_s: f64,
    /// [`SchedOpts::max_period`], seconds.
    pub max_period_s: f64,
    /// `debug` or `release`: the build that ran (the speed depends on it).
    pub build: &'static str,
    /// One object per utilization.
    pub points: Vec<PointJson<'a>>,
    /// One object per policy of the speed measurement.
    pub speed: Vec<SpeedJson<'a>>,
}

/// A [`Point`] as its JSON report object: plus one field per policy of [`POLICIES`] (its column
/// name) holding [`Point::fraction`].
#[derive(Debug, Serialize)]
pub struct PointJson<'a> {
    /// [`Point::utilization`].
    pub utilization: f64,
    /// [`Point::mean_utilization`].
    pub mean_utilization: f64,
    /// [`Point::sets`].
    pub sets: usize,
    /// The fraction per policy.
    #[serde(flatten)]
    pub fractions: Fractions<'a>,
}

/// The fraction of schedulable sets of a point per policy, serialised as one field per policy
/// named after its column in [`POLICIES`].
#[derive(Clone, Copy, Debug)]
pub struct Fractions<'a>(pub &'a Point);

impl Serialize for Fractions<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(POLICIES.len()))?;
        for (i, &(_, name)) in POLICIES.iter().enumerate() {
            map.serialize_entry(name, &self.0.fraction(i))?;
        }
        map.end()
    }
}

/// A [`Speed`] as its JSON report object.
#[derive(Debug, Serialize)]
pub struct SpeedJson<'a> {
    /// [`Speed::policy`].
    pub policy: &'static str,
    /// [`Speed::runs`].
    pub runs: usize,
    /// [`Speed::ms_per_s`]: `real_ms_per_simulated_s` (median), `_min`, `_max`.
    #[serde(flatten)]
    pub real_ms_per_simulated_s: SummaryFields<'a>,
    /// [`Speed::events_per_s`].
    pub events_per_simulated_s: f64,
}

impl Point {
    /// This point's JSON report object.
    pub fn json(&self) -> PointJson<'_> {
        PointJson {
            utilization: self.utilization,
            mean_utilization: self.mean_utilization,
            sets: self.sets,
            fractions: Fractions(self),
        }
    }
}

impl Speed {
    /// This speed's JSON report object.
    pub fn json(&self) -> SpeedJson<'_> {
        SpeedJson {
            policy: self.policy,
            runs: self.runs,
            real_ms_per_simulated_s: SummaryFields::new("real_ms_per_simulated_s", &self.ms_per_s),
            events_per_simulated_s: self.events_per_s,
        }
    }
}

/// The JSON report ([`SchedJson`]).
pub fn to_json<'a>(opts: &SchedOpts, points: &'a [Point], speeds: &'a [Speed]) -> SchedJson<'a> {
    SchedJson {
        tasks: opts.tasks,
        sets: opts.sets,
        workers: opts.workers,
        seed: opts.seed,
        horizon_s: opts.horizon.as_secs_f64(),
        min_period_s: opts.min_period.as_secs_f64(),
        max_period_s: opts.max_period.as_secs_f64(),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        points: points.iter().map(Point::json).collect(),
        speed: speeds.iter().map(Speed::json).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> SchedOpts {
        SchedOpts {
            from: 0.5,
            to: 1.0,
            step: 0.05,
            tasks: 5,
            sets: 4,
            seed: 1,
            workers: 1,
            horizon: Duration::from_millis(100),
            min_period: Duration::from_millis(1),
            max_period: Duration::from_millis(20),
            jobs: Some(2),
            speed_runs: 0,
            plot: None,
            json: None,
        }
    }

    #[test]
    fn the_default_sweep_has_eleven_points_ending_at_one() {
        let u = sweep(&opts()).unwrap();
        assert_eq!(u.len(), 11);
        assert_eq!((u[0], u[10]), (0.5, 1.0));
        let bad = SchedOpts { to: 0.4, ..opts() };
        assert!(sweep(&bad).is_err());
    }

    #[test]
    fn rate_monotonic_orders_by_period() {
        let t = |ms| PeriodicTask::implicit(kairos::WORK_SLICE, Duration::from_millis(ms));
        assert_eq!(rate_monotonic(&[t(5), t(1), t(3)]), [1, 255, 128]);
        assert_eq!(rate_monotonic(&[t(5)]), [255]);
    }

    #[test]
    fn sets_depend_on_seed_utilization_and_index_only() {
        let o = opts();
        assert_eq!(task_set(&o, 0.7, 3), task_set(&o, 0.7, 3));
        assert_ne!(task_set(&o, 0.7, 3), task_set(&o, 0.7, 4));
        assert_ne!(task_set(&o, 0.7, 3), task_set(&o, 0.75, 3));
        let two = SchedOpts { workers: 2, ..o };
        for i in 0..20 {
            let set = task_set(&two, 0.95, i);
            assert!(set.iter().all(|t| t.wcet < t.period), "{set:?}");
        }
    }

    #[test]
    fn edf_schedules_a_full_set_and_fifo_is_checked_against_the_deadlines() {
        let o = opts();
        // C=2, T=5 and C=4, T=7 (U = 0.97): EDF meets every deadline, rate monotonic misses.
        let set = [
            PeriodicTask::implicit(Duration::from_millis(2), Duration::from_millis(5)),
            PeriodicTask::implicit(Duration::from_millis(4), Duration::from_millis(7)),
        ];
        assert!(
            simulate(&set, Policy::Edf, &o, 1, true)
                .unwrap()
                .schedulable
        );
        assert!(
            !simulate(&set, Policy::Priority, &o, 1, true)
                .unwrap()
                .schedulable
        );
    }

    /// The document has the schema version, the configuration, one field per policy in each
    /// point and the speed's median, min and max as flat fields.
    #[test]
    fn json_report_keeps_its_keys() {
        let points = [Point {
            utilization: 0.5,
            mean_utilization: 0.49,
            sets: 4,
            schedulable: [4, 3, 2, 0],
        }];
        let speeds = [Speed {
            policy: "edf",
            ms_per_s: Summary {
                median: 2.0,
                min: 1.0,
                max: 3.0,
            },
            events_per_s: f64::NAN,
            runs: 3,
        }];
        let v = json::written_and_read("schedulability", to_json(&opts(), &points, &speeds));
        assert_eq!(
            (v["tasks"].as_u64(), v["seed"].as_u64()),
            (Some(5), Some(1))
        );
        assert_eq!(v["horizon_s"], 0.1);
        let p = &v["points"][0];
        assert_eq!((&p["edf"], &p["priority-rm"]), (&1.0.into(), &0.75.into()));
        assert_eq!((&p["fifo"], &p["fair"]), (&0.5.into(), &0.0.into()));
        assert_eq!(p.as_object().unwrap().len(), 7);
        let s = &v["speed"][0];
        assert_eq!(s["real_ms_per_simulated_s"], 2.0);
        assert_eq!(s["real_ms_per_simulated_s_min"], 1.0);
        assert_eq!(s["real_ms_per_simulated_s_max"], 3.0);
        assert!(s["events_per_simulated_s"].is_null());
    }
}
