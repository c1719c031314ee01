//! Export to the Chrome Trace Event Format (the JSON that Perfetto and `chrome://tracing` open;
//! format: "Trace Event Format", Google, the document linked from the Perfetto docs).
//!
//! What is written, in this order, one JSON object a line inside `{"traceEvents":[ ... ]}`:
//!
//! - metadata (`"ph":"M"`): the process name, and per worker track a `thread_name`
//!   (`worker N`, thread id `N + 1`) and `thread_sort_index`; thread id 0 is the track of events
//!   outside every worker, if there are any (spawns and wakes from threads that are not
//!   workers; under the simulator, the test thread's spawns and `block_on`'s future);
//! - per poll a complete slice (`"ph":"X"`, category `poll`) on its worker's track, named by the
//!   task's name or `task N`, from its poll start to its end (under the simulator, the end plus
//!   the `work` time charged in its last step; a poll that continues after a `work` slice is one
//!   slice);
//! - per park an `idle` slice (category `park`) from the park to the next unpark;
//! - instant events (`"ph":"i"`, scope thread) for spawns, steals, timer fires, preemption
//!   requests, periodic releases and completions, deadline misses, cancels and I/O readiness;
//! - per wake that caused a poll, a flow (`"ph":"s"` at the wake, `"ph":"f"`, `"bp":"e"` at the
//!   poll's start, the same `id`): the first wake after a task's previous poll start is the one
//!   that queued it; later wakes before the poll found it queued already.
//!
//! Times are microseconds (`ts`, `dur`) with nanosecond decimals. Events whose end is missing
//! (a poll or park still open when recording stopped) are left out.

use super::{EventKind, Trace, TraceEvent};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{self, Write};

/// The process id every track is under.
const PID: u32 = 1;

/// The thread id of `worker`'s track (0: outside every worker).
fn tid(worker: Option<u32>) -> u64 {
    worker.map_or(0, |w| u64::from(w) + 1)
}

/// Nanoseconds as the format's microseconds.
fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// A poll or park slice being built on one track.
struct Open {
    /// Start, ns.
    start: u64,
    /// The task (polls).
    task: u64,
    /// The slice's name.
    name: String,
}

/// Writes `trace` to `out` (see the module docs).
pub(super) fn write(trace: &Trace, out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"{\"traceEvents\":[\n")?;
    let mut first = true;
    let mut emit = |out: &mut dyn Write, v: Value| -> io::Result<()> {
        if !first {
            out.write_all(b",\n")?;
        }
        first = false;
        serde_json::to_writer(&mut *out, &v)?;
        Ok(())
    };
    for v in metadata(trace) {
        emit(out, v)?;
    }
    // Per track: the open poll and the open park.
    let mut polls: HashMap<u64, Open> = HashMap::new();
    let mut parks: HashMap<u64, u64> = HashMap::new();
    // Per task: the wake that queued it, (flow id, track, time).
    let mut wakes: HashMap<u64, (u64, u64, u64)> = HashMap::new();
    let mut next_flow = 1u64;
    for e in trace.events() {
        let track = tid(e.worker);
        match e.kind {
            EventKind::PollStart => {
                if e.a == 1 && polls.get(&track).is_some_and(|o| o.task == e.task) {
                    continue; // continues after a `work` slice: the same poll
                }
                polls.insert(
                    track,
                    Open {
                        start: e.time,
                        task: e.task,
                        name: task_name(e),
                    },
                );
                if let Some((id, from, at)) = wakes.remove(&e.task) {
                    emit(out, flow("s", id, from, at))?;
                    // A slice starts at its worker's previous stamp (`event::stamp`), which
                    // may precede the wake by the pick's few nanoseconds: the arrow ends inside
                    // the slice, never before its start.
                    let mut end = flow("f", id, track, e.time.max(at));
                    end["bp"] = json!("e");
                    emit(out, end)?;
                }
            }
            EventKind::PollEnd => {
                if e.a == 1 {
                    continue; // charged a `work` slice: the poll continues
                }
                if let Some(open) = polls.remove(&track).filter(|o| o.task == e.task) {
                    let end = e.time.saturating_add(e.b);
                    emit(
                        out,
                        slice(&open.name, "poll", track, open.start, end, open.task),
                    )?;
                }
            }
            EventKind::Wake => {
                wakes.entry(e.task).or_insert_with(|| {
                    let id = next_flow;
                    next_flow += 1;
                    (id, track, e.time)
                });
            }
            EventKind::Park => {
                parks.insert(track, e.time);
            }
            EventKind::Unpark => {
                if let Some(start) = parks.remove(&track) {
                    emit(out, slice("idle", "park", track, start, e.time, 0))?;
                }
            }
            EventKind::Enqueue | EventKind::Annotate => {}
            _ => emit(out, instant(e, track))?,
        }
    }
    out.write_all(b"\n],\"displayTimeUnit\":\"ns\",\"otherData\":")?;
    let other = json!({
        "source": if trace.is_simulated() { "kairos simulator" } else { "kairos runtime" },
        "workers": trace.workers(),
        "lost_events": trace.lost(),
    });
    serde_json::to_writer(&mut *out, &other)?;
    out.write_all(b"}\n")
}

/// The process name and one named, ordered track per worker (and the outside track).
fn metadata(trace: &Trace) -> Vec<Value> {
    let name = if trace.is_simulated() {
        "kairos simulator"
    } else {
        "kairos runtime"
    };
    let mut v = vec![
        json!({"name": "process_name", "ph": "M", "pid": PID, "tid": 0,
        "args": {"name": name}}),
    ];
    let outside = trace.events().iter().any(|e| e.worker.is_none());
    let tracks = outside
        .then_some(None)
        .into_iter()
        .chain((0..trace.workers() as u32).map(Some));
    for worker in tracks {
        let label = match worker {
            Some(w) => format!("worker {w}"),
            None => "outside workers".to_owned(),
        };
        let t = tid(worker);
        v.push(
            json!({"name": "thread_name", "ph": "M", "pid": PID, "tid": t,
            "args": {"name": label}}),
        );
        v.push(
            json!({"name": "thread_sort_index", "ph": "M", "pid": PID, "tid": t,
            "args": {"sort_index": t}}),
        );
    }
    v
}

/// A poll's slice name: the task's name, or `task N`.
fn task_name(e: &TraceEvent) -> String {
    match e.name {
        Some(name) => name.to_owned(),
        None => format!("task {}", e.task),
    }
}

/// A complete slice.
fn slice(name: &str, cat: &str, track: u64, start: u64, end: u64, task: u64) -> Value {
    let mut v = json!({"name": name, "cat": cat, "ph": "X", "pid": PID, "tid": track,
        "ts": us(start), "dur": us(end.saturating_sub(start))});
    if task != 0 {
        v["args"] = json!({"task": task});
    }
    v
}

/// One end of a wake → poll flow.
fn flow(ph: &str, id: u64, track: u64, at: u64) -> Value {
    json!({"name": "wake", "cat": "wake", "ph": ph, "id": id, "pid": PID, "tid": track,
        "ts": us(at)})
}

/// An instant event of `e`'s kind, with its arguments.
fn instant(e: &TraceEvent, track: u64) -> Value {
    let args = match e.kind {
        EventKind::Spawn => json!({"task": e.task, "deadline_ns": e.a, "priority": e.b}),
        EventKind::Steal => json!({"task": e.task, "victim": e.a}),
        EventKind::TimerFire => json!({"timers": e.a}),
        EventKind::PreemptRequest => {
            if e.a == u64::MAX {
                json!({"worker": "self"})
            } else {
                json!({"worker": e.a})
            }
        }
        EventKind::Release => json!({"task": e.task, "job": e.a, "release_ns": e.b}),
        EventKind::Complete => json!({"task": e.task, "job": e.a, "lateness_ns": e.b}),
        EventKind::DeadlineMiss => json!({"task": e.task, "lateness_ns": e.a, "job": e.b}),
        EventKind::IoReady => {
            json!({"source": e.a, "readable": e.b & 1 != 0, "writable": e.b & 2 != 0})
        }
        _ => json!({"task": e.task, "a": e.a, "b": e.b}),
    };
    json!({"name": e.kind.name(), "cat": e.kind.name(), "ph": "i", "s": "t", "pid": PID,
        "tid": track, "ts": us(e.time), "args": args})
}
