//! The deterministic simulator (`kairos::sim`) end to end, through the public API only: a scenario
//! of more than a thousand tasks (sleeps, channels, spawns from tasks, `work`, deadlines, 4
//! virtual workers under `Edf`) replays to the same digest in another process and under
//! `check_determinism`, and to other digests under other seeds; code written for the real runtime
//! runs unchanged under the simulator; traces, deadlock detection, every policy, and the user
//! random stream.
//!
//! Every scenario checks its own results (each message received once, in order per sender, sums
//! exact, every task run and finished), so a scheduling bug fails the run instead of only changing
//! its digest.

use kairos::sim::{self, Builder, Digest, Event, EventKind, Mode, Sim, Trace, NO_WORKER};
use kairos::time::{sleep, sleep_until, timeout, Elapsed, Instant};
use kairos::{Policy, Runtime, Sched};
use kairos_tests::{catch_panic_message, mailbox, oneshot, MailboxSender, Watchdog};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The shape of a generated scenario: the root spawns `groups` managers, each manager spawns
/// `producers` producers, and each producer spawns `helpers` helpers.
#[derive(Clone, Copy, Debug)]
struct Shape {
    groups: u64,
    producers: u64,
    helpers: u64,
}

impl Shape {
    /// Tasks a run spawns (the root is `Sim::block_on`'s future, not a task).
    const fn tasks(self) -> u64 {
        self.groups * (1 + self.producers * (1 + self.helpers))
    }

    /// Messages the producers send: a hello and a result each.
    const fn messages(self) -> u64 {
        self.groups * self.producers * 2
    }

    /// The sum of every producer's result, computed without running anything.
    fn expected_sum(self) -> u64 {
        (0..self.groups * self.producers)
            .map(|p| producer_result(p, self.helpers))
            .sum()
    }
}

/// The acceptance scenario of issue #6: 8 × (1 + 32 × (1 + 3)) = 1,032 tasks.
const ACCEPTANCE: Shape = Shape {
    groups: 8,
    producers: 32,
    helpers: 3,
};

/// A smaller scenario of the same kind (57 tasks), for the checks that run many configurations.
const SMALL: Shape = Shape {
    groups: 3,
    producers: 6,
    helpers: 2,
};

/// Charged per poll in the acceptance configuration, so that polls, not only `work`, take
/// virtual time.
const POLL_OVERHEAD: Duration = Duration::from_nanos(250);

/// The environment variable that turns [`child_prints_digest`] from a no-op into the child half of
/// [`same_seed_same_digest_in_two_processes`].
const CHILD_SEED_VAR: &str = "KAIROS_SIM_CHILD_SEED";

/// What helper `helper` of producer `producer` replies.
fn helper_value(producer: u64, helper: u64) -> u64 {
    producer * 1_000 + helper * 7 + 1
}

/// What producer `producer` with `helpers` helpers sends as its result.
fn producer_result(producer: u64, helpers: u64) -> u64 {
    (0..helpers).map(|h| helper_value(producer, h)).sum()
}

/// A message from a producer to its manager.
#[derive(Debug)]
enum Msg {
    /// Sent once the producer's first sleep is over.
    Hello(u64),
    /// Sent once every helper replied: the sum of the replies.
    Result { producer: u64, value: u64 },
}

/// What a scenario run observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Outcome {
    /// Sum of every producer's result, as the managers received them.
    sum: u64,
    /// Messages the managers received.
    messages: u64,
    /// Tasks whose body started.
    tasks_run: u64,
    /// Virtual time when the root finished.
    end: Instant,
}

/// The acceptance configuration: 4 virtual workers under `Edf`, cost model, a small per-poll
/// overhead.
fn acceptance(seed: u64) -> Builder {
    Builder::new()
        .seed(seed)
        .workers(4)
        .policy(Policy::Edf)
        .mode(Mode::CostModel)
        .poll_overhead(POLL_OVERHEAD)
}

/// The acceptance scenario (issue #6): [`ACCEPTANCE`]-shaped, with sleeps (`sleep` and
/// `sleep_until`), a mailbox per group and a oneshot per helper, spawns from tasks, `work`,
/// `yield_now`, `timeout`, and deadlines on a third of the producers and half of the managers.
/// Checks its results and annotates them into the trace.
fn scenario(sim: &mut Sim) -> Outcome {
    let outcome = run_shape(sim, ACCEPTANCE);
    // The run went through every path of the scheduler it is meant to cover.
    let trace = sim.trace();
    for kind in [
        EventKind::Park,
        EventKind::Unpark,
        EventKind::Steal,
        EventKind::TimerFire,
        EventKind::Wake,
    ] {
        assert!(
            trace.events().iter().any(|e| e.kind == kind),
            "seed {}: no {} event",
            sim.seed(),
            kind.name()
        );
    }
    assert!(
        sim.metrics().preemptions > 0,
        "seed {}: no preemption",
        sim.seed()
    );
    outcome
}

/// Runs a `shape`d scenario to completion on `sim` and checks its results.
fn run_shape(sim: &mut Sim, shape: Shape) -> Outcome {
    let ran = Arc::new(AtomicU64::new(0));
    let mut outcome = sim.block_on(root(shape, ran.clone()));
    outcome.tasks_run = ran.load(Ordering::Relaxed);
    check_outcome(sim, shape, &outcome);
    outcome
}

/// `Sim::block_on`'s future: spawns the managers, joins them, totals and annotates.
async fn root(shape: Shape, ran: Arc<AtomicU64>) -> Outcome {
    let managers: Vec<_> = (0..shape.groups)
        .map(|g| {
            let sched = if g.is_multiple_of(2) {
                Sched::default().deadline(Duration::from_millis(2 + g))
            } else {
                Sched::default()
            };
            let sched = sched.priority((g * 50 % 256) as u8).nice(g as i8 % 5);
            kairos::spawn_with(sched, manager(shape, g, ran.clone()))
        })
        .collect();
    let (mut sum, mut messages) = (0, 0);
    for (g, h) in managers.into_iter().enumerate() {
        let (s, m) = h.await.unwrap_or_else(|e| panic!("manager {g}: {e}"));
        sum += s;
        messages += m;
    }
    sim::annotate("sum", sum);
    sim::annotate("messages", messages);
    Outcome {
        sum,
        messages,
        tasks_run: 0,
        end: Instant::now(),
    }
}

/// A group: spawns its producers, receives every message (each producer's hello before its
/// result, each once, each result exact), joins the producers; returns (sum, messages).
async fn manager(shape: Shape, g: u64, ran: Arc<AtomicU64>) -> (u64, u64) {
    ran.fetch_add(1, Ordering::Relaxed);
    let n = shape.producers;
    let first = g * n;
    let (tx, mut rx) = mailbox();
    let producers: Vec<_> = (0..n)
        .map(|i| {
            let id = first + i;
            let sched = if i.is_multiple_of(3) {
                Sched::default().deadline(Duration::from_micros(300 + 17 * i))
            } else {
                Sched::default()
            };
            let sched = sched
                .priority((id * 37 % 256) as u8)
                .nice((id % 40) as i8 - 20);
            kairos::spawn_with(sched, producer(shape, id, tx.clone(), ran.clone()))
        })
        .collect();
    drop(tx);
    let mut hello = vec![false; n as usize];
    let mut done = vec![false; n as usize];
    let mut sum = 0;
    for _ in 0..2 * n {
        // Everything arrives within milliseconds of virtual time; an hour means it never will.
        let msg = timeout(Duration::from_secs(3600), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("group {g}: a message did not arrive within 1 h"));
        match msg {
            Msg::Hello(id) => {
                let i = (id - first) as usize;
                assert!(!hello[i], "group {g}: producer {id} said hello twice");
                hello[i] = true;
            }
            Msg::Result { producer, value } => {
                let i = (producer - first) as usize;
                assert!(
                    hello[i],
                    "group {g}: producer {producer}'s result came before its hello"
                );
                assert!(!done[i], "group {g}: producer {producer} sent two results");
                assert_eq!(value, producer_result(producer, shape.helpers));
                done[i] = true;
                sum += value;
            }
        }
    }
    for (i, h) in producers.into_iter().enumerate() {
        assert_eq!(h.await.expect("producer finished"), first + i as u64);
    }
    kairos::work(Duration::from_micros(40)).await;
    sim::annotate("group_sum", sum);
    (sum, 2 * n)
}

/// A producer: sleeps a random while (from the user stream), says hello, spawns its helpers with
/// a oneshot each, sums their replies and sends the result.
async fn producer(shape: Shape, id: u64, tx: MailboxSender<Msg>, ran: Arc<AtomicU64>) -> u64 {
    ran.fetch_add(1, Ordering::Relaxed);
    let mut rng = sim::rng();
    let start = Instant::now();
    let wake_at = start + Duration::from_micros(rng.below(3_000));
    if id.is_multiple_of(2) {
        sleep_until(wake_at).await;
    } else {
        sleep(wake_at - start).await;
    }
    assert!(Instant::now() >= wake_at, "producer {id} woke early");
    tx.send(Msg::Hello(id));
    let replies: Vec<_> = (0..shape.helpers)
        .map(|h| {
            let (reply, replied) = oneshot();
            // The first helper is long (up to 3 `work` slices, so it can be asked to yield).
            let cost = Duration::from_micros(2 + rng.below(if h == 0 { 60 } else { 10 }));
            let nap = Duration::from_micros(rng.below(200));
            let ran = ran.clone();
            let handle = kairos::spawn(async move {
                ran.fetch_add(1, Ordering::Relaxed);
                match h % 3 {
                    0 => sleep(nap).await,
                    1 => kairos::yield_now().await,
                    _ => {}
                }
                let before = Instant::now();
                kairos::work(cost).await;
                let took = Instant::now() - before;
                assert!(took >= cost, "work({cost:?}) took {took:?} of virtual time");
                reply
                    .send(helper_value(id, h))
                    .expect("the producer waits for every reply");
            });
            (replied, handle)
        })
        .collect();
    let mut value = 0;
    for (replied, handle) in replies {
        value += replied.await.expect("helper replied");
        handle.await.expect("helper finished");
    }
    tx.send(Msg::Result {
        producer: id,
        value,
    });
    id
}

/// The checks every scenario run passes: results exact, every task spawned, run and finished, no
/// task cancelled or panicked, outcome annotations in the trace, and a well-formed trace.
fn check_outcome(sim: &Sim, shape: Shape, outcome: &Outcome) {
    let seed = sim.seed();
    assert_eq!(outcome.sum, shape.expected_sum(), "seed {seed}: sum");
    assert_eq!(outcome.messages, shape.messages(), "seed {seed}: messages");
    assert_eq!(outcome.tasks_run, shape.tasks(), "seed {seed}: tasks run");
    assert!(
        outcome.end > sim::EPOCH,
        "seed {seed}: no virtual time passed"
    );
    let metrics = sim.metrics();
    assert_eq!(metrics.live_tasks, 0, "seed {seed}: tasks left alive");
    assert_eq!(metrics.panics, 0, "seed {seed}: a task panicked");

    let trace = sim.trace();
    check_well_formed(&trace);
    let tasks_with = |kind| -> BTreeSet<u64> {
        trace
            .events()
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.task)
            .collect()
    };
    let spawned = tasks_with(EventKind::Spawn);
    assert_eq!(spawned.len() as u64, shape.tasks(), "seed {seed}: spawns");
    assert_eq!(
        tasks_with(EventKind::PollEnd),
        spawned,
        "seed {seed}: polled"
    );
    assert!(
        tasks_with(EventKind::Cancel).is_empty(),
        "seed {seed}: a task was cancelled"
    );
    let annotated = |label| -> Vec<u64> {
        trace
            .events()
            .iter()
            .filter(|e| e.kind == EventKind::Annotate && trace.label(e.a) == Some(label))
            .map(|e| e.b)
            .collect()
    };
    assert_eq!(annotated("sum"), vec![outcome.sum], "seed {seed}");
    assert_eq!(annotated("messages"), vec![outcome.messages], "seed {seed}");
    assert_eq!(
        annotated("group_sum").len() as u64,
        shape.groups,
        "seed {seed}"
    );
    assert_eq!(annotated("group_sum").iter().sum::<u64>(), outcome.sum);
}

/// Events numbered 0..n in order, virtual time never going back and never before the epoch,
/// and the snapshot consistent with its counters.
fn check_well_formed(trace: &Trace) {
    let events = trace.events();
    assert_eq!(trace.recorded(), events.len() as u64);
    let mut last = sim::EPOCH.as_nanos();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as u64, "event {e}");
        assert!(e.time >= last, "time goes back at event {e}");
        last = e.time;
    }
}

/// The digest of one acceptance run with `seed`, in this process.
fn acceptance_digest(seed: u64) -> Digest {
    let mut sim = acceptance(seed).build().unwrap();
    scenario(&mut sim);
    sim.digest()
}

/// Child half of the two-process check: prints the acceptance digest for `KAIROS_SIM_CHILD_SEED`.
#[test]
fn child_prints_digest() {
    let Some(seed) = std::env::var_os(CHILD_SEED_VAR) else {
        return;
    };
    let seed: u64 = seed
        .to_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            panic!("{CHILD_SEED_VAR}={seed:?} is not a seed");
        });
    // A line of its own: libtest may have written the test's name without a newline.
    println!("\nDIGEST {}", acceptance_digest(seed));
}

/// The acceptance scenario gives the same digest for a seed in a child process as in this one.
#[test]
fn same_seed_same_digest_in_two_processes() {
    let _dog = Watchdog::default_for("same digest in two processes");
    for seed in [1, 0xdead_beef] {
        let out =
            kairos_tests::run_child_test("child_prints_digest", CHILD_SEED_VAR, &seed.to_string());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child with seed {seed} failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let child = stdout
            .lines()
            .find_map(|l| l.strip_prefix("DIGEST "))
            .unwrap_or_else(|| panic!("no DIGEST line from the child:\n{stdout}"))
            .trim()
            .to_owned();
        assert_eq!(child.len(), 32, "a digest is 32 hex digits: {child:?}");
        let here = acceptance_digest(seed).to_string();
        assert_eq!(child, here, "seed {seed}: child and parent digests differ");
    }
}

/// Different seeds give different digests (pairwise, over four seeds).
#[test]
fn different_seeds_give_different_digests() {
    let seeds = [0, 2, 3, 0x1234_5678_9abc];
    let digests: Vec<Digest> = seeds.iter().map(|&s| acceptance_digest(s)).collect();
    for i in 0..seeds.len() {
        for j in i + 1..seeds.len() {
            assert_ne!(
                digests[i], digests[j],
                "seeds {} and {} gave the same digest",
                seeds[i], seeds[j]
            );
        }
    }
}

/// `check_determinism` passes on the acceptance scenario and returns a plain run's digest.
#[test]
fn check_determinism_holds_for_the_acceptance_scenario() {
    for seed in [4, 5, 6] {
        let digest = acceptance(seed)
            .check_determinism(|sim| {
                scenario(sim);
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(digest, acceptance_digest(seed), "seed {seed}");
    }
}

/// The acceptance scenario's invariants hold for every seed (`KAIROS_SEEDS`, `KAIROS_SEED`).
#[test]
fn seed_sweep() {
    sim::for_each_seed(0x6b61_6972_6f73, |seed| {
        let mut sim = acceptance(seed).build().unwrap();
        scenario(&mut sim);
    });
}

/// Written against the public API only (spawn, sleep, timeout, join), with no simulator-specific
/// code: checks its own results and returns the time it observed passing.
async fn api_contract() -> Duration {
    let start = Instant::now();
    // Fan out: tasks that sleep, spawn a child each, and are joined.
    let handles: Vec<_> = (0..16u64)
        .map(|i| {
            kairos::spawn(async move {
                sleep(Duration::from_millis(i % 4)).await;
                let child = kairos::spawn(async move { i * i });
                child.await.expect("child") + 1
            })
        })
        .collect();
    let mut total = 0;
    for h in handles {
        total += h.await.expect("task");
    }
    assert_eq!(total, (0..16u64).map(|i| i * i + 1).sum::<u64>());
    assert!(start.elapsed() >= Duration::from_millis(3));

    // A timeout around a task that finishes in time passes its output through.
    let quick = kairos::spawn(async {
        sleep(Duration::from_millis(1)).await;
        7
    });
    let r = timeout(Duration::from_secs(3600), quick).await;
    assert_eq!(r.map(|joined| joined.expect("task")), Ok(7));

    // A timeout around a future that cannot finish first expires, no earlier than asked.
    let t0 = Instant::now();
    let slow = timeout(Duration::from_millis(5), sleep(Duration::from_secs(3600))).await;
    assert_eq!(slow, Err(Elapsed(())));
    assert!(t0.elapsed() >= Duration::from_millis(5));

    // A task whose JoinHandle timed out is not cancelled: it finishes once released, and its
    // handle still joins it.
    let (release, released) = oneshot::<u64>();
    let mut waiter = kairos::spawn(async move { released.await.expect("released") * 2 });
    assert!(timeout(Duration::from_millis(2), &mut waiter)
        .await
        .is_err());
    release.send(21).expect("the task waits");
    assert_eq!(waiter.await.expect("task"), 42);
    start.elapsed()
}

/// The virtual time `api_contract` takes exactly: 3 ms of sleeps, 1 ms, a 5 ms and a 2 ms
/// timeout (every poll is instant without `poll_overhead`).
const API_CONTRACT_TIME: Duration = Duration::from_millis(3 + 1 + 5 + 2);

/// The same public-API code passes on the real runtime and under sim; a 1 h sleep is 1 h virtual.
#[test]
fn public_api_code_runs_unchanged_on_the_real_runtime_and_under_sim() {
    let _dog = Watchdog::default_for("public api on both runtimes");
    let rt = Runtime::builder().workers(2).build().unwrap();
    assert!(rt.block_on(api_contract()) >= API_CONTRACT_TIME);
    assert!(rt.block_on(rt.spawn(api_contract())).unwrap() >= API_CONTRACT_TIME);
    drop(rt);

    for mode in [Mode::CostModel, Mode::IdleJump] {
        let mut sim = Builder::new()
            .seed(9)
            .workers(2)
            .mode(mode)
            .build()
            .unwrap();
        assert_eq!(sim.block_on(api_contract()), API_CONTRACT_TIME, "{mode:?}");
        let h = sim.spawn(api_contract());
        assert_eq!(sim.block_on(h).unwrap(), API_CONTRACT_TIME, "{mode:?}");
        assert_eq!(sim.elapsed(), API_CONTRACT_TIME * 2, "{mode:?}");
        assert_eq!(sim.metrics().live_tasks, 0);
    }

    let wall = std::time::Instant::now();
    let hour = Duration::from_secs(3600);
    let mut sim = Builder::new().seed(10).workers(4).build().unwrap();
    let slept = sim.block_on(async move {
        let start = Instant::now();
        let sleepers: Vec<_> = (0..8)
            .map(|_| kairos::spawn(sleep_until(start + hour)))
            .collect();
        sleep(hour).await;
        for s in sleepers {
            s.await.expect("sleeper");
        }
        start.elapsed()
    });
    assert_eq!(slept, hour);
    assert_eq!(sim.elapsed(), hour);
    eprintln!(
        "a 1-hour sleep under sim took {:?} of wall-clock time",
        wall.elapsed()
    );
}

/// A small scenario with annotations, run for its trace.
fn small_trace(seed: u64, keep: bool) -> (Trace, Digest) {
    let mut sim = acceptance(seed).keep_trace(keep).build().unwrap();
    let outcome = sim.block_on(root(SMALL, Arc::new(AtomicU64::new(0))));
    assert_eq!(outcome.sum, SMALL.expected_sum());
    assert_eq!(sim.events(), sim.trace().recorded());
    (sim.trace(), sim.digest())
}

/// Traces are well formed and written as a header plus one text line, or one JSON line, per event.
#[test]
fn trace_writes_one_line_per_event_as_text_and_json() {
    let (trace, digest) = small_trace(11, true);
    let events = trace.events();
    assert!(!events.is_empty());
    assert_eq!(trace.digest(), digest);
    check_well_formed(&trace);
    let kinds: BTreeSet<&str> = events.iter().map(|e| e.kind.name()).collect();
    for kind in ["spawn", "wake", "enqueue", "poll_start", "poll_end", "park"] {
        assert!(kinds.contains(kind), "no {kind} event in {kinds:?}");
    }
    assert!(kinds.contains("annotate") && kinds.contains("timer_fire"));

    let mut text = Vec::new();
    trace.write_text(&mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        events.len() + 1,
        "a header and one line per event"
    );
    assert!(lines[0].starts_with('#'), "header: {}", lines[0]);
    assert!(
        lines[0].contains(&digest.to_string()),
        "header names the digest"
    );
    for (line, e) in lines[1..].iter().zip(events) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[0], e.seq.to_string(), "{line}");
        assert_eq!(fields[1], e.time.to_string(), "{line}");
        assert_eq!(fields[3], e.kind.name(), "{line}");
        if e.kind == EventKind::Annotate {
            assert_eq!(fields.last().copied(), trace.label(e.a), "{line}");
        }
    }

    let mut json = Vec::new();
    trace.write_json_lines(&mut json).unwrap();
    let json = String::from_utf8(json).unwrap();
    let lines: Vec<&str> = json.lines().collect();
    assert_eq!(lines.len(), events.len(), "one JSON object per event");
    for (line, e) in lines.iter().zip(events) {
        check_json_line(line, e, &trace);
    }

    // Not keeping the events changes nothing in the digest.
    let (untraced, untraced_digest) = small_trace(11, false);
    assert!(untraced.events().is_empty());
    assert_eq!(untraced.recorded(), trace.recorded());
    assert_eq!(untraced_digest, digest);
}

/// Minimal parse of one JSON line: `{"seq":N,...}` with N the event's seq, and each field of the
/// event present with its value.
fn check_json_line(line: &str, e: &Event, trace: &Trace) {
    let body = line
        .strip_prefix("{\"seq\":")
        .and_then(|l| l.strip_suffix('}'))
        .unwrap_or_else(|| panic!("not a {{\"seq\":..}} object: {line}"));
    let seq: u64 = body
        .split(',')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("seq is not a number: {line}"));
    assert_eq!(seq, e.seq, "{line}");
    let worker = if e.worker == NO_WORKER {
        "null".to_owned()
    } else {
        e.worker.to_string()
    };
    for field in [
        format!("\"time\":{},", e.time),
        format!("\"worker\":{worker},"),
        format!("\"kind\":\"{}\",", e.kind.name()),
        format!("\"task\":{},", e.task),
        format!("\"a\":{},", e.a),
        format!("\"b\":{}", e.b),
    ] {
        assert!(body.contains(&field), "{field} missing in {line}");
    }
    if e.kind == EventKind::Annotate {
        let label = trace.label(e.a).expect("annotations have a label");
        assert!(
            line.ends_with(&format!(",\"label\":\"{label}\"}}")),
            "{line}"
        );
    }
    assert_eq!(line.matches('{').count(), 1, "one flat object: {line}");
}

/// A `block_on` future nothing can wake panics with "deadlock" and the seed instead of hanging.
#[test]
fn block_on_reports_a_deadlock_with_its_seed() {
    let _dog = Watchdog::default_for("deadlock detection");
    let mut sim = Builder::new().seed(4242).workers(2).build().unwrap();
    let (_tx, rx) = oneshot::<u32>();
    let msg = catch_panic_message(std::panic::AssertUnwindSafe(|| sim.block_on(rx)));
    assert!(msg.contains("deadlock"), "{msg}");
    assert!(msg.contains("seed 4242"), "{msg}");

    // The same through a task: the task waits forever, so does its JoinHandle.
    let (_tx, rx) = oneshot::<u32>();
    let stuck = sim.spawn(rx);
    let msg = catch_panic_message(std::panic::AssertUnwindSafe(|| sim.block_on(stuck)));
    assert!(
        msg.contains("deadlock") && msg.contains("seed 4242"),
        "{msg}"
    );

    // With a timer pending it is not a deadlock: the timeout fires on virtual time. It is made
    // inside the async block: `timeout` takes its deadline when called, and on this thread
    // outside `block_on` that would be the OS clock, not the virtual one.
    let (_tx, rx) = oneshot::<u32>();
    let before = sim.elapsed();
    let r = sim.block_on(async { timeout(Duration::from_secs(5), rx).await });
    assert!(r.is_err());
    assert_eq!(sim.elapsed() - before, Duration::from_secs(5));
}

/// `check_determinism` holds, and results are exact, for every policy on 2 to 4 virtual workers.
#[test]
fn determinism_holds_for_every_policy() {
    for policy in [
        Policy::Fifo,
        Policy::Priority,
        Policy::Fair,
        Policy::Edf,
        Policy::Classes,
    ] {
        for workers in 2..=4 {
            let b = Builder::new()
                .seed(12 + workers as u64)
                .workers(workers)
                .policy(policy)
                .poll_overhead(POLL_OVERHEAD);
            if let Err(e) = b.check_determinism(|sim| {
                run_shape(sim, SMALL);
            }) {
                panic!("{policy}, {workers} workers: {e}");
            }
        }
    }
}

/// 32 tasks each draw from a fork of `sim::rng()`, with `draw` on; returns the draws in task
/// order and the run's digest.
fn user_draws(seed: u64, draw: bool) -> (Vec<(u64, u64)>, Digest) {
    let mut sim = Builder::new().seed(seed).workers(3).build().unwrap();
    let draws = sim.block_on(async move {
        let handles: Vec<_> = (0..32u64)
            .map(|i| {
                kairos::spawn(async move {
                    sleep(Duration::from_micros(i % 5)).await;
                    kairos::work(Duration::from_micros(1 + i % 3)).await;
                    if !draw {
                        return (0, 0);
                    }
                    let mut r = sim::rng();
                    (r.next_u64(), r.below(1_000))
                })
            })
            .collect();
        let mut draws = Vec::new();
        for h in handles {
            draws.push(h.await.expect("task"));
        }
        draws
    });
    (draws, sim.digest())
}

/// `sim::rng()` in tasks is reproducible per seed, differs across seeds, and moves no decision.
#[test]
fn user_rng_is_reproducible_per_seed() {
    let (a, digest_a) = user_draws(20, true);
    let (again, digest_again) = user_draws(20, true);
    assert_eq!(a, again);
    assert_eq!(digest_a, digest_again);
    let (b, _) = user_draws(21, true);
    assert_ne!(a, b);
    let distinct: BTreeSet<u64> = a.iter().map(|&(x, _)| x).collect();
    assert_eq!(distinct.len(), a.len(), "every call forks a new stream");
    assert!(a.iter().all(|&(_, below)| below < 1_000));

    let (_, digest_without) = user_draws(20, false);
    assert_eq!(
        digest_without, digest_a,
        "the user stream moved the schedule"
    );

    let msg = catch_panic_message(sim::rng);
    assert!(msg.contains("outside a simulation"), "{msg}");
}
