//! Golden simulator traces: a few small deterministic scenarios, one or more per policy, whose
//! digest and full trace are committed under `tests/golden/` and compared here event by event.
//!
//! They pin the scheduling decisions of the runtime as they were when the files were written,
//! so that a refactoring that is meant to change nothing (moving code between modules, a new
//! event seam) can show that it changed nothing: any difference in any event fails the test with
//! the first differing line and both digests. A change that is meant to change decisions
//! regenerates the files and explains the change in `docs/determinism.md` ("Golden traces").
//!
//! ```text
//! cargo test -p kairos-tests --test golden                   # check
//! KAIROS_BLESS=1 cargo test -p kairos-tests --test golden    # rewrite the files
//! ```
//!
//! File format (text): a few `#` header lines (scenario, configuration, digest, event count), then
//! one line per event: `time worker kind task a b`, with time in virtual nanoseconds since the
//! clock's zero, worker `-` for events outside any virtual worker, and `task`, `a`, `b` as
//! `kairos::sim::EventKind` documents them per kind (annotations add their label).
//!
//! Every scenario also checks its own results (sums, counts), so a scheduling bug that loses a
//! task fails here even after the files were regenerated.

use kairos::sim::{self, Builder, EventKind, Sim, Trace, NO_WORKER};
use kairos::time::sleep;
use kairos::{Periodic, Policy, Sched};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// The environment variable that makes the tests rewrite the golden files instead of comparing.
const BLESS_VAR: &str = "KAIROS_BLESS";

/// The seeds every scenario runs with.
const SEEDS: [u64; 3] = [1, 2, 3];

/// Tasks the root of a scenario spawns (each spawns one child).
const TASKS: u64 = 20;

/// Charged per poll, so that polls (not only `work`) take virtual time.
const POLL_OVERHEAD: Duration = Duration::from_nanos(300);

/// `n` microseconds.
fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// One golden scenario: a policy on a number of virtual workers.
#[derive(Clone, Copy, Debug)]
struct Scenario {
    /// Name in the golden file names.
    name: &'static str,
    /// The policy under test.
    policy: Policy,
    /// Virtual workers.
    workers: usize,
    /// Whether a periodic task runs next to the spawned tasks.
    periodic: bool,
}

/// What a scenario run must produce.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// Sum of the values returned by the root's tasks.
    sum: u64,
    /// Jobs the periodic task completed (0 without one).
    jobs: u64,
}

/// The value task `i` returns: its child's value plus one.
fn task_value(i: u64) -> u64 {
    i * 3 + 1
}

/// Task `i` of the root: sleeps a random time, then three random steps (a `yield_now`, some
/// `work` that may span several slices, or a sleep), then spawns an urgent child that works a
/// little, and returns the child's value plus one.
async fn task(i: u64) -> u64 {
    let mut rng = sim::rng();
    sleep(us(rng.below(200))).await;
    for _ in 0..3 {
        match rng.below(3) {
            0 => kairos::yield_now().await,
            1 => kairos::work(us(5 + rng.below(50))).await,
            _ => sleep(us(1 + rng.below(80))).await,
        }
    }
    let child = kairos::spawn_with(
        Sched::default()
            .deadline(us(40))
            .priority(200)
            .nice(-5)
            .name("child"),
        async move {
            kairos::work(us(8)).await;
            i * 3
        },
    );
    child.await.expect("child finishes") + 1
}

/// The root: spawns [`TASKS`] tasks with varied deadlines, priorities and nice values (each
/// policy reads the parameter it orders by), yields once halfway, awaits them all, aborts a
/// sleeping task and annotates the sum.
async fn root() -> u64 {
    let mut handles = Vec::new();
    for i in 0..TASKS {
        let sched = Sched::default()
            .deadline(us(100 + (i % 7) * 60))
            .priority((i * 37 % 200) as u8)
            .nice((i % 9) as i8 - 4);
        handles.push(kairos::spawn_with(sched, task(i)));
        if i == TASKS / 2 {
            kairos::yield_now().await;
        }
    }
    // A task that would sleep for a second, aborted once the others are done: a cancellation.
    let sleeper = kairos::spawn(sleep(Duration::from_secs(1)));
    let mut sum = 0;
    for h in handles {
        sum += h.await.expect("task finishes");
    }
    sleeper.abort();
    assert!(sleeper.await.is_err(), "the sleeper was aborted");
    sim::annotate("sum", sum);
    sum
}

/// Runs `scenario` with `seed`: the root, and with it (if the scenario says so) two periodic
/// tasks that are stopped once the root is done: one that can meet its deadlines (period 80 µs,
/// deadline 40 µs, 25 µs of work per job) and one that cannot (period 120 µs, deadline 20 µs,
/// 25 µs of work), so that the trace has deadline misses.
fn run(scenario: Scenario, seed: u64) -> (Sim, Outcome) {
    let mut sim = Builder::new()
        .seed(seed)
        .workers(scenario.workers)
        .policy(scenario.policy)
        .poll_overhead(POLL_OVERHEAD)
        .build()
        .expect("valid configuration");
    let periodic = scenario.periodic.then(|| {
        let spawn = |period, deadline| {
            sim.spawn_periodic(
                Periodic::new(us(period)).deadline(us(deadline)),
                |_job| async { kairos::work(us(25)).await },
            )
            .expect("admission control is off")
        };
        (spawn(80, 40), spawn(120, 20))
    });
    let sum = sim.block_on(root());
    let jobs = match periodic {
        Some((feasible, late)) => {
            feasible.stop();
            late.stop();
            sim.run_for(us(300));
            let (feasible, late) = (feasible.stats(), late.stats());
            assert!(
                feasible.completed > 0,
                "seed {seed}: no periodic job completed"
            );
            assert!(
                late.missed > 0,
                "seed {seed}: a 25 us job met a 20 us deadline"
            );
            feasible.completed + late.completed
        }
        None => 0,
    };
    (sim, Outcome { sum, jobs })
}

/// The golden file text of a run: header (scenario, digest, event count) and one line per event.
fn render(scenario: Scenario, seed: u64, sim: &Sim, outcome: &Outcome) -> String {
    let trace: Trace = sim.trace();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# kairos golden trace: scenario {} (policy {:?}, {} workers, periodic {}, poll overhead \
         {} ns), seed {seed}",
        scenario.name,
        scenario.policy,
        scenario.workers,
        scenario.periodic,
        POLL_OVERHEAD.as_nanos()
    );
    let _ = writeln!(out, "# digest {}", trace.digest());
    let _ = writeln!(
        out,
        "# events {}, sum {}, periodic jobs {}",
        trace.recorded(),
        outcome.sum,
        outcome.jobs
    );
    let _ = writeln!(out, "# time worker kind task a b");
    for e in trace.events() {
        let worker = if e.worker == NO_WORKER {
            "-".to_owned()
        } else {
            e.worker.to_string()
        };
        let _ = write!(
            out,
            "{} {} {} {} {} {}",
            e.time,
            worker,
            e.kind.name(),
            e.task,
            e.a,
            e.b
        );
        if e.kind == EventKind::Annotate {
            if let Some(label) = trace.label(e.a) {
                let _ = write!(out, " {label}");
            }
        }
        out.push('\n');
    }
    out
}

/// Where the golden file of `scenario` under `seed` lives.
fn golden_path(scenario: Scenario, seed: u64) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(format!("{}-seed{seed}.txt", scenario.name))
}

/// The digest recorded in a golden file's header, if any.
fn header_digest(text: &str) -> &str {
    text.lines()
        .find_map(|l| l.strip_prefix("# digest "))
        .unwrap_or("(none)")
}

/// A short description of how `actual` differs from `expected`, or `None` if they are equal.
fn difference(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let (exp, act): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let n = exp.len().max(act.len());
    let first = (0..n).find(|&i| exp.get(i) != act.get(i)).unwrap_or(n);
    let differing = (0..n).filter(|&i| exp.get(i) != act.get(i)).count();
    Some(format!(
        "  digest: golden {}, now {}\n  lines: golden {}, now {} ({differing} differ)\n  first \
         difference at line {}:\n    golden: {}\n    now:    {}",
        header_digest(expected),
        header_digest(actual),
        exp.len(),
        act.len(),
        first + 1,
        exp.get(first).copied().unwrap_or("(end of file)"),
        act.get(first).copied().unwrap_or("(end of file)"),
    ))
}

/// Runs `scenario` under every seed of [`SEEDS`], checks each outcome, and compares each trace
/// with its golden file (or rewrites the file under `KAIROS_BLESS=1`). Fails with one summary
/// per differing seed.
fn check(scenario: Scenario) {
    let bless = std::env::var_os(BLESS_VAR).is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for seed in SEEDS {
        let (sim, outcome) = run(scenario, seed);
        let expected_sum: u64 = (0..TASKS).map(task_value).sum();
        assert_eq!(
            outcome.sum, expected_sum,
            "{} seed {seed}: wrong sum",
            scenario.name
        );
        let text = render(scenario, seed, &sim, &outcome);
        let path = golden_path(scenario, seed);
        if bless {
            std::fs::create_dir_all(path.parent().expect("golden dir")).expect("create golden dir");
            std::fs::write(&path, &text)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            eprintln!(
                "blessed {} ({} events)",
                path.display(),
                sim.trace().recorded()
            );
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(golden) => {
                if let Some(diff) = difference(&golden, &text) {
                    failures.push(format!("{} differs:\n{diff}", path.display()));
                }
            }
            Err(e) => failures.push(format!(
                "{}: cannot read ({e}); digest now {}",
                path.display(),
                sim.digest()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "golden traces of scenario {} changed:\n{}\n\nIf the change is intended, regenerate with \
         `{BLESS_VAR}=1 cargo test -p kairos-tests --test golden` and explain it in \
         docs/determinism.md (\"Golden traces\").",
        scenario.name,
        failures.join("\n")
    );
}

#[test]
fn golden_fifo() {
    check(Scenario {
        name: "fifo-w2",
        policy: Policy::Fifo,
        workers: 2,
        periodic: false,
    });
}

#[test]
fn golden_edf_with_periodic() {
    check(Scenario {
        name: "edf-w4-periodic",
        policy: Policy::Edf,
        workers: 4,
        periodic: true,
    });
}

#[test]
fn golden_priority() {
    check(Scenario {
        name: "priority-w3",
        policy: Policy::Priority,
        workers: 3,
        periodic: false,
    });
}

#[test]
fn golden_fair() {
    check(Scenario {
        name: "fair-w2",
        policy: Policy::Fair,
        workers: 2,
        periodic: false,
    });
}

#[test]
fn difference_names_the_first_differing_line_and_both_digests() {
    let golden = "# digest aaa\nx 1\ny 2\nz 3\n";
    let now = "# digest bbb\nx 1\ny 9\nz 3\n";
    let diff = difference(golden, now).expect("texts differ");
    assert!(diff.contains("golden aaa, now bbb"), "{diff}");
    assert!(diff.contains("line 1:"), "{diff}");
    let body_only = difference("# digest a\nx 1\ny 2\n", "# digest a\nx 1\ny 9\nw\n").unwrap();
    assert!(body_only.contains("line 3:"), "{body_only}");
    assert!(body_only.contains("golden: y 2"), "{body_only}");
    assert!(body_only.contains("now:    y 9"), "{body_only}");
    assert!(body_only.contains("golden 3, now 4"), "{body_only}");
    assert_eq!(difference(golden, golden), None);
}
