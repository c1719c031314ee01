//! Runtime tracing and its Chrome Trace Event Format export (`kairos::trace`).
//!
//! - A small simulator run is exported and compared with the committed golden file
//!   `tests/golden/chrome-sim.json` (`KAIROS_BLESS=1` rewrites it), and the export is checked
//!   field by field against the format: every event's phase and required fields, one poll slice
//!   per poll (slices equal the polls counter), both ends of every flow, a track per worker, and
//!   the simulator's own events in its own order.
//! - The real runtime's trace passes the same checks, with slices equal to its polls counter.

use kairos::sim::{self, NO_WORKER};
use kairos::time::sleep;
use kairos::trace::{EventKind, Trace};
use kairos::{Periodic, Policy, Runtime, Sched};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

/// `n` microseconds.
fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// The simulator run of the golden file: 2 workers under `Edf`; three named tasks that wake each
/// other through sleeps, yields and `work`; a periodic task that misses its deadlines.
fn sim_run() -> sim::Sim {
    let mut sim = sim::Builder::new()
        .seed(5)
        .workers(2)
        .policy(Policy::Edf)
        .poll_overhead(Duration::from_nanos(500))
        .build()
        .expect("valid configuration");
    let late = sim
        .spawn_periodic(
            Periodic::new(us(50)).deadline(us(10)).name("control"),
            |_job| async { kairos::work(us(15)).await },
        )
        .expect("admission control is off");
    sim.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..3u64 {
            let sched = Sched::default()
                .deadline(us(100 + i * 20))
                .name("worker-task");
            tasks.push(kairos::spawn_with(sched, async move {
                sleep(us(10 * i + 5)).await;
                kairos::yield_now().await;
                kairos::work(us(12)).await;
                kairos::spawn(async move { i })
                    .await
                    .expect("child finishes")
            }));
        }
        for t in tasks {
            t.await.expect("task finishes");
        }
    });
    late.stop();
    sim.run_for(us(100));
    sim
}

/// The parsed `traceEvents` of an export.
fn parse(json: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(json).expect("the export is JSON");
    assert_eq!(v["displayTimeUnit"], "ns");
    v["traceEvents"]
        .as_array()
        .expect("traceEvents is an array")
        .clone()
}

/// What [`check_format`] counted.
#[derive(Debug, Default)]
struct Counts {
    /// Poll slices (`ph` X, `cat` poll), in file order: (tid, ts, task).
    polls: Vec<(u64, f64, u64)>,
    /// Named tracks: tid → name.
    tracks: BTreeMap<u64, String>,
    /// Flows: id → (starts, finishes).
    flows: BTreeMap<u64, (usize, usize)>,
    /// Instant event names.
    instants: BTreeSet<String>,
}

/// Checks every event against the Trace Event Format, field by field, and counts.
fn check_format(events: &[Value]) -> Counts {
    let mut c = Counts::default();
    for e in events {
        let obj = e.as_object().expect("every event is an object");
        let ph = e["ph"].as_str().expect("ph is a string");
        assert!(e["name"].is_string(), "name: {e}");
        assert_eq!(e["pid"], 1, "pid: {e}");
        let tid = e["tid"].as_u64().expect("tid is an integer");
        if ph == "M" {
            assert!(e["args"].is_object(), "metadata args: {e}");
            if e["name"] == "thread_name" {
                let name = e["args"]["name"].as_str().expect("thread name");
                c.tracks.insert(tid, name.to_owned());
            }
            continue;
        }
        let ts = e["ts"].as_f64().expect("ts is a number");
        assert!(ts >= 0.0, "ts: {e}");
        assert!(e["cat"].is_string(), "cat: {e}");
        match ph {
            "X" => {
                let dur = e["dur"].as_f64().expect("X has dur");
                assert!(dur >= 0.0, "dur: {e}");
                if e["cat"] == "poll" {
                    let task = e["args"]["task"]
                        .as_u64()
                        .expect("poll slice names its task");
                    c.polls.push((tid, ts, task));
                }
            }
            "i" => {
                assert!(
                    matches!(e["s"].as_str(), Some("g" | "p" | "t")),
                    "instant scope: {e}"
                );
                c.instants
                    .insert(e["name"].as_str().unwrap_or_default().to_owned());
            }
            "s" | "f" => {
                let id = e["id"].as_u64().expect("flow id");
                let entry = c.flows.entry(id).or_default();
                if ph == "s" {
                    entry.0 += 1;
                } else {
                    assert_eq!(e["bp"], "e", "flow end binds to the enclosing slice: {e}");
                    entry.1 += 1;
                }
            }
            other => panic!("unexpected phase {other}: {e}"),
        }
        for key in obj.keys() {
            assert!(
                ["name", "cat", "ph", "pid", "tid", "ts", "dur", "args", "s", "id", "bp"]
                    .contains(&key.as_str()),
                "unknown field {key}: {e}"
            );
        }
    }
    for (id, (s, f)) in &c.flows {
        assert_eq!(
            (*s, *f),
            (1, 1),
            "flow {id} needs exactly one start and one end"
        );
    }
    c
}

/// The golden file's path.
fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden/chrome-sim.json")
}

#[test]
fn simulator_export_matches_golden_and_the_format() {
    let sim = sim_run();
    let sim_trace = sim.trace();
    let trace: Trace = sim_trace.to_trace(sim.workers());
    let json = trace.to_chrome_json();

    // Byte for byte against the committed file.
    let path = golden_path();
    if std::env::var_os("KAIROS_BLESS").is_some() {
        std::fs::write(&path, &json).expect("write golden file");
    } else {
        let golden = std::fs::read_to_string(&path).expect(
            "tests/golden/chrome-sim.json exists (KAIROS_BLESS=1 cargo test -p kairos-tests \
             --test trace writes it)",
        );
        if golden != json {
            let line = golden
                .lines()
                .zip(json.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(golden.lines().count().min(json.lines().count()));
            panic!(
                "the export differs from {} at line {}:\n golden: {:?}\n now:    {:?}",
                path.display(),
                line + 1,
                golden.lines().nth(line),
                json.lines().nth(line)
            );
        }
    }

    let events = parse(&json);
    let c = check_format(&events);
    // One slice per poll.
    assert_eq!(c.polls.len() as u64, sim.metrics().polls);
    // A track per worker, and the outside track for the test thread's events.
    for w in 0..sim.workers() as u64 {
        assert_eq!(
            c.tracks.get(&(w + 1)).map(String::as_str),
            Some(&*format!("worker {w}"))
        );
    }
    assert_eq!(
        c.tracks.get(&0).map(String::as_str),
        Some("outside workers")
    );
    // Flows, releases, completions, misses and preemption requests are there.
    assert!(!c.flows.is_empty(), "wakes caused polls");
    for name in [
        "deadline_miss",
        "spawn",
        "release",
        "complete",
        "preempt_request",
    ] {
        assert!(c.instants.contains(name), "no {name} instant");
    }
    // Poll slices carry the tasks' names.
    assert!(events
        .iter()
        .any(|e| e["cat"] == "poll" && e["name"] == "worker-task"));

    // The simulator's own events, in its own order: the digested ones with the later kinds
    // (releases, completions, preemption requests) where they were recorded.
    let mut extra = sim_trace.extra_events().iter().peekable();
    let mut expected = Vec::new();
    for e in sim_trace.events() {
        while let Some(x) = extra.next_if(|x| x.seq <= e.seq) {
            expected.push(*x);
        }
        expected.push(*e);
    }
    expected.extend(extra);
    assert!(sim_trace
        .extra_events()
        .iter()
        .all(|e| !sim_trace.events().iter().any(|d| d.kind == e.kind)));
    assert_eq!(trace.events().len(), expected.len());
    for (t, s) in trace.events().iter().zip(&expected) {
        let worker = (s.worker != NO_WORKER).then_some(s.worker);
        assert_eq!(
            (t.time, t.worker, t.kind, t.task, t.a, t.b),
            (s.time, worker, s.kind, s.task, s.a, s.b)
        );
    }
    // The simulator's clock never goes back along its order.
    assert!(trace.events().windows(2).all(|w| w[0].time <= w[1].time));
    // Each release of the periodic task comes before its job's completion.
    let periodic: Vec<_> = trace
        .events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Release | EventKind::Complete))
        .map(|e| (e.kind, e.a))
        .collect();
    assert!(!periodic.is_empty());
    for pair in periodic.chunks(2) {
        assert_eq!(pair[0].0, EventKind::Release, "{periodic:?}");
        if let Some(done) = pair.get(1) {
            assert_eq!((done.0, done.1), (EventKind::Complete, pair[0].1));
        }
    }
    // The poll slices follow the simulator's poll starts (not continuations), in order.
    let starts: Vec<(u64, f64, u64)> = sim_trace
        .events()
        .iter()
        .filter(|e| e.kind == EventKind::PollStart && e.a == 0)
        .map(|e| {
            let tid = if e.worker == NO_WORKER {
                0
            } else {
                u64::from(e.worker) + 1
            };
            (tid, e.time as f64 / 1000.0, e.task)
        })
        .collect();
    let mut slices = c.polls.clone();
    // Slices are written when they end; order them by start as the simulator did.
    let order = |v: &(u64, f64, u64)| starts.iter().position(|s| s == v);
    slices.sort_by_key(order);
    assert_eq!(slices, starts);
}

/// A workload on the real runtime whose tasks wake each other: a ping-pong over `kairos` tasks
/// and named spawns.
async fn ping_pong(rounds: u32) {
    let (to_b, mut from_a) = channel();
    let (to_a, mut from_b) = channel();
    let b = kairos::spawn_with(Sched::default().name("pong"), async move {
        for _ in 0..rounds {
            from_a.recv().await;
            to_a.send();
        }
    });
    let a = kairos::spawn_with(Sched::default().name("ping"), async move {
        for _ in 0..rounds {
            to_b.send();
            from_b.recv().await;
        }
    });
    a.await.expect("ping finishes");
    b.await.expect("pong finishes");
}

/// A one-slot signal between two tasks, from std only.
fn channel() -> (Tx, Rx) {
    let inner = std::sync::Arc::new(std::sync::Mutex::new((0u32, None::<std::task::Waker>)));
    (Tx(inner.clone()), Rx(inner))
}
/// Sending end.
struct Tx(std::sync::Arc<std::sync::Mutex<(u32, Option<std::task::Waker>)>>);
/// Receiving end.
struct Rx(std::sync::Arc<std::sync::Mutex<(u32, Option<std::task::Waker>)>>);
impl Tx {
    fn send(&self) {
        let waker = {
            let mut g = self.0.lock().unwrap();
            g.0 += 1;
            g.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}
impl Rx {
    async fn recv(&mut self) {
        std::future::poll_fn(|cx| {
            let mut g = self.0.lock().unwrap();
            if g.0 > 0 {
                g.0 -= 1;
                std::task::Poll::Ready(())
            } else {
                g.1 = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
        .await;
    }
}

/// A `Fifo` runtime of `workers` workers tracing from the start into buffers of `capacity`
/// events, and a handle that outlives it (to stop the trace after the runtime is dropped).
fn traced_runtime(workers: usize, capacity: usize) -> (Runtime, kairos::Handle) {
    let rt = Runtime::builder()
        .workers(workers)
        .trace(capacity)
        .build()
        .expect("runtime");
    let handle = rt.handle();
    (rt, handle)
}

#[test]
fn runtime_trace_has_one_slice_per_poll_and_every_track() {
    for policy in [Policy::Fifo, Policy::Edf] {
        let rt = Runtime::builder()
            .workers(2)
            .policy(policy)
            .trace(1 << 16)
            .build()
            .expect("runtime");
        let handle = rt.handle();
        rt.block_on(rt.spawn(ping_pong(200)))
            .expect("workload finishes");
        // Shut down first, so every worker has finished its last poll and left its sink.
        drop(rt);
        let polls = handle.metrics().polls;
        let trace = handle.stop_trace().expect("a trace was running");
        assert_eq!(trace.lost(), 0);
        assert_eq!(trace.workers(), 2);
        let json = trace.to_chrome_json();
        let c = check_format(&parse(&json));
        assert_eq!(
            c.polls.len() as u64,
            polls,
            "{policy:?}: one slice per poll"
        );
        for w in 0..2u64 {
            assert_eq!(
                c.tracks.get(&(w + 1)).map(String::as_str),
                Some(&*format!("worker {w}")),
                "{policy:?}: a track per worker"
            );
        }
        // And one for the spawn from this thread (`block_on`'s `rt.spawn`).
        assert_eq!(
            c.tracks.get(&0).map(String::as_str),
            Some("outside workers")
        );
        assert!(
            !c.flows.is_empty(),
            "{policy:?}: the ping-pong's wakes caused polls"
        );
        let names: BTreeSet<&str> = trace.events().iter().filter_map(|e| e.name).collect();
        assert!(
            names.contains("ping") && names.contains("pong"),
            "{names:?}"
        );
        // Wakes name the waking task: ping wakes pong and back.
        assert!(trace
            .events()
            .iter()
            .any(|e| e.kind == EventKind::Wake && e.a != 0));
    }
}

#[test]
fn start_and_stop_while_running() {
    let rt = Runtime::builder().workers(2).build().expect("runtime");
    assert!(rt.stop_trace().is_none());
    rt.block_on(rt.spawn(ping_pong(10))).expect("untraced run");
    rt.start_trace(1 << 14).expect("starts");
    assert_eq!(
        rt.start_trace(8),
        Err(kairos::trace::TraceError::AlreadyTracing)
    );
    rt.block_on(rt.spawn(ping_pong(50))).expect("traced run");
    let trace = rt.stop_trace().expect("was running");
    assert!(trace
        .events()
        .iter()
        .any(|e| e.kind == EventKind::PollStart && e.name == Some("ping")));
    // Stopped: the next run records nothing anywhere, and a new trace can start.
    rt.block_on(rt.spawn(ping_pong(10))).expect("untraced run");
    rt.start_trace(16).expect("starts again");
    assert!(rt.stop_trace().is_some());
    assert_eq!(
        rt.start_trace(0),
        Err(kairos::trace::TraceError::ZeroCapacity)
    );
}

#[test]
fn a_task_that_wakes_itself_shows_a_wake_before_its_poll_ends() {
    let (rt, handle) = traced_runtime(1, 1 << 12);
    rt.block_on(rt.spawn_with(Sched::default().name("yielder"), async {
        for _ in 0..3 {
            kairos::yield_now().await;
        }
    }))
    .expect("finishes");
    drop(rt);
    let trace = handle.stop_trace().expect("a trace was running");
    let task = trace
        .events()
        .iter()
        .find(|e| e.name == Some("yielder"))
        .expect("polled")
        .task;
    let own: Vec<(EventKind, u64)> = trace
        .events()
        .iter()
        .filter(|e| e.task == task && e.kind != EventKind::Spawn)
        .map(|e| (e.kind, e.a))
        .collect();
    // Three polls that yield (each woke its own task: the waker is the task itself, stamped at
    // the poll's end), then the last one.
    let yielding = [
        (EventKind::PollStart, 0),
        (EventKind::Wake, task),
        (EventKind::PollEnd, 0),
    ];
    let last = [(EventKind::PollStart, 0), (EventKind::PollEnd, 0)];
    let expected: Vec<_> = yielding.repeat(3).into_iter().chain(last).collect();
    assert_eq!(own, expected);
    // Each self-wake is stamped at its poll's end.
    for w in trace.events().windows(2) {
        if w[0].kind == EventKind::Wake && w[0].a == task {
            assert_eq!((w[1].kind, w[1].time), (EventKind::PollEnd, w[0].time));
        }
    }
}

#[test]
fn spawns_and_wakes_from_other_threads_are_on_the_outside_track() {
    let rt = Runtime::builder().workers(1).build().expect("runtime");
    rt.start_trace(1 << 12).expect("starts");
    // Spawned from this thread (not a worker), then woken from a plain thread.
    let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
    let woken = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = woken.clone();
    let task = rt.spawn_with(
        Sched::default().name("woken-from-outside"),
        std::future::poll_fn(move |cx| {
            if flag.load(std::sync::atomic::Ordering::Acquire) {
                return std::task::Poll::Ready(());
            }
            tx.send(cx.waker().clone()).unwrap();
            std::task::Poll::Pending
        }),
    );
    let waker = rx.recv().unwrap();
    // Wake it once its first poll has returned, so that the wake queues it (a wake of a task
    // still being polled only marks it, and the worker queues it: no outside event).
    while rt
        .dump()
        .tasks()
        .iter()
        .any(|t| t.state != kairos::trace::TaskState::Idle)
    {
        std::thread::yield_now();
    }
    woken.store(true, std::sync::atomic::Ordering::Release);
    std::thread::spawn(move || waker.wake()).join().unwrap();
    rt.block_on(task).expect("finishes");
    // Shut down first: the task's last poll has ended (its join may resolve before).
    let handle = rt.handle();
    drop(rt);
    let trace = handle.stop_trace().expect("was running");
    let id = trace
        .events()
        .iter()
        .find(|e| e.name == Some("woken-from-outside"))
        .expect("polled")
        .task;
    let outside: Vec<EventKind> = trace
        .events()
        .iter()
        .filter(|e| e.worker.is_none() && e.task == id)
        .map(|e| e.kind)
        .collect();
    assert_eq!(outside, [EventKind::Spawn, EventKind::Wake]);
    let c = check_format(&parse(&trace.to_chrome_json()));
    assert_eq!(
        c.tracks.get(&0).map(String::as_str),
        Some("outside workers")
    );
    // The outside wake caused the second poll: a flow starts on the outside track.
    assert!(!c.flows.is_empty());
}

#[test]
fn io_readiness_is_recorded_where_the_reactor_finds_it() {
    let (rt, handle) = traced_runtime(1, 1 << 12);
    rt.block_on(rt.spawn(async {
        let (a, b) = kairos::net::UnixStream::pair().expect("pair");
        let reader = kairos::spawn(async move {
            let mut buf = [0u8; 4];
            b.read(&mut buf).await.expect("read")
        });
        kairos::yield_now().await;
        a.write_all(b"ping").await.expect("write");
        assert_eq!(reader.await.expect("reader finishes"), 4);
    }))
    .expect("finishes");
    drop(rt);
    let trace = handle.stop_trace().expect("was running");
    let ready: Vec<_> = trace
        .events()
        .iter()
        .filter(|e| e.kind == EventKind::IoReady)
        .collect();
    assert!(!ready.is_empty(), "no io_ready event");
    assert!(ready.iter().all(|e| e.worker == Some(0) && e.b & 3 != 0));
    let c = check_format(&parse(&trace.to_chrome_json()));
    assert!(c.instants.contains("io_ready"));
}

/// A poll's slice starts at its worker's previous time stamp when the worker went straight
/// from one poll to the next (`event::stamp`), never before the worker's last wake-up: no
/// park of a worker falls inside one of its poll slices. Workers here park between polls all
/// the time (tasks sleep), and run polls back to back too (a ping-pong).
#[test]
fn a_poll_slice_never_spans_its_workers_park() {
    let (rt, handle) = traced_runtime(2, 1 << 16);
    rt.block_on(async {
        let sleepers: Vec<_> = (0..4u64)
            .map(|i| {
                kairos::spawn(async move {
                    for _ in 0..20 {
                        kairos::time::sleep(us(100 + 50 * i)).await;
                        kairos::yield_now().await;
                    }
                })
            })
            .collect();
        ping_pong(200).await;
        for s in sleepers {
            s.await.expect("sleeper finishes");
        }
    });
    drop(rt);
    let trace = handle.stop_trace().expect("a trace was running");
    assert_eq!(trace.lost(), 0);
    let mut parks = 0;
    for w in 0..2u32 {
        let events: Vec<_> = trace
            .events()
            .iter()
            .filter(|e| e.worker == Some(w))
            .collect();
        let mut open: Option<(u64, u64)> = None;
        let mut idle: Vec<u64> = Vec::new();
        let mut slices: Vec<(u64, u64)> = Vec::new();
        for e in &events {
            match e.kind {
                EventKind::PollStart => open = Some((e.task, e.time)),
                EventKind::PollEnd => {
                    if let Some((task, start)) = open.take() {
                        assert_eq!(task, e.task, "worker {w}: a poll ends as it started");
                        slices.push((start, e.time));
                    }
                }
                EventKind::Park | EventKind::Unpark => idle.push(e.time),
                _ => {}
            }
        }
        parks += idle.len();
        for &(start, end) in &slices {
            assert!(start <= end, "worker {w}: slice {start}..{end}");
            assert!(
                !idle.iter().any(|&t| start < t && t < end),
                "worker {w}: the slice {start}..{end} spans a park or wake-up"
            );
        }
    }
    assert!(parks > 0, "the workers parked between the sleeps");
}
