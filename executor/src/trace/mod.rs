//! Runtime tracing: what the workers did, event by event, for Perfetto and chrome://tracing.
//!
//! A trace records the runtime's events (see [`EventKind`]): spawns, polls (with the task's id
//! and name), wakes (and which task woke), steals, parks and unparks, preemption requests, timer
//! fires, periodic releases, completions, deadline misses, cancels and I/O readiness (not
//! queueing: `Enqueue`; a wake's flow to the poll it caused shows it). Start and stop it while the runtime
//! runs ([`Runtime::start_trace`](crate::Runtime::start_trace) /
//! [`stop_trace`](crate::Runtime::stop_trace), the same on [`Handle`](crate::Handle)), or from
//! the start ([`Builder::trace`](crate::Builder::trace)); the simulator's trace converts to the
//! same type ([`sim::Trace::to_trace`](crate::sim::Trace::to_trace)). Export it with
//! [`Trace::write_chrome_json`] (`chrome.rs`; `docs/observability.md` describes the tracks).
//!
//! # Cost
//!
//! Each worker writes 32-byte records (`record.rs`) into its own fixed-capacity buffer
//! (`buffer.rs`): no lock, no allocation, and when it is full events are counted
//! ([`Trace::lost`]) and dropped, never waited for. Time stamps are the CPU's counter, converted
//! to ns when the trace stops (`ticks.rs`). The worker's sink is called only for the kinds it
//! records, once per poll (at its end; the start's stamp and the task's name wait on the thread),
//! and not for a task's wake of itself (a flag of its poll's end): `session.rs`.
//! While no trace runs, no sink is installed and every event point costs one thread-local load
//! and one predictable branch (`event/mod.rs`), plus one relaxed load per scheduling step to
//! notice a start (`session.rs`).
//!
//! Events are recorded on the runtime's worker threads, each into its own buffer; spawns and
//! wakes from other threads (`block_on`'s future, a plain thread) go into one more buffer
//! behind a lock (they are rare), shown on a track of their own (`worker: None`). I/O
//! readiness is recorded where the reactor finds it (`IoReady`, on the worker that polled).

pub(crate) mod buffer;
mod chrome;
mod dump;
pub(crate) mod long_poll;
pub(crate) mod record;
pub(crate) mod session;
pub(crate) mod tasks;
mod ticks;

pub use crate::event::EventKind;
pub(crate) use dump::{task_info, PollSource};
pub use dump::{TaskDump, TaskInfo, TaskState};
pub use long_poll::LongPoll;
pub(crate) use record::Record;

use std::io::{self, Write};

/// A capacity to pass to [`Runtime::start_trace`](crate::Runtime::start_trace) or
/// [`Builder::trace`](crate::Builder::trace) when unsure: 1 Mi events per worker (32 MiB each,
/// allocated and touched by the start), a few seconds of a busy worker.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.start_trace(kairos::trace::DEFAULT_CAPACITY).unwrap();
/// assert!(rt.stop_trace().unwrap().events().len() < kairos::trace::DEFAULT_CAPACITY);
/// ```
pub const DEFAULT_CAPACITY: usize = 1 << 20;

/// Why a trace could not start.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceError {
    /// A trace is already running on this runtime: stop it first (`stop_trace`).
    #[error(
        "a trace is already running on this runtime: call stop_trace() before starting another"
    )]
    AlreadyTracing,
    /// The capacity was 0.
    #[error("a trace needs room for at least one event per worker: pass a capacity above 0")]
    ZeroCapacity,
}

/// One event of a [`Trace`].
///
/// `task`, `a` and `b` mean what [`EventKind`] says per kind, except that in a runtime trace a
/// `Wake`'s `a` is the task that woke it (0: the worker itself, outside any poll).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TraceEvent {
    /// When, in ns on the runtime's clock (virtual under the simulator).
    pub time: u64,
    /// The worker it happened on, `None` outside every worker (a spawn or a wake from a thread
    /// that is not a worker; under the simulator, the test thread).
    pub worker: Option<u32>,
    /// What happened.
    pub kind: EventKind,
    /// The task's id number, or 0.
    pub task: u64,
    /// First argument.
    pub a: u64,
    /// Second argument.
    pub b: u64,
    /// The task's name (`Sched::name`), on poll starts of the runtime's trace.
    pub name: Option<&'static str>,
}

/// A recorded trace: events of every worker in one order.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
/// rt.start_trace(4096).unwrap();
/// rt.block_on(rt.spawn(async { kairos::spawn(async {}).await.unwrap() })).unwrap();
/// let trace = rt.stop_trace().unwrap();
/// assert!(trace.events().iter().any(|e| e.kind == kairos::trace::EventKind::PollStart));
/// let mut json = Vec::new();
/// trace.write_chrome_json(&mut json).unwrap();
/// assert!(json.starts_with(b"{\"traceEvents\":["));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Every event in order (by time; in the simulator's own order for a simulator trace).
    events: Vec<TraceEvent>,
    /// Number of workers (tracks).
    workers: usize,
    /// Per worker: events dropped because its buffer was full.
    lost: Vec<u64>,
    /// Events of threads that are not workers dropped because their buffer was full.
    outside_lost: u64,
    /// When recording started and stopped (ns), if known.
    span: Option<(u64, u64)>,
    /// Recorded by the simulator.
    simulated: bool,
}

impl Trace {
    /// A runtime trace: `(worker, record)` (`None`: outside every worker), in time order.
    pub(crate) fn from_runtime(
        events: Vec<(Option<u32>, Record)>,
        lost: Vec<u64>,
        outside_lost: u64,
        started: u64,
        stopped: u64,
    ) -> Trace {
        let mut out = Vec::with_capacity(events.len());
        for (worker, r) in events {
            let (a, b) = r.args();
            let event = TraceEvent {
                time: r.time,
                worker,
                kind: r.kind(),
                task: r.task(),
                a,
                b,
                name: r.name(),
            };
            if r.self_woken() {
                // The task woke itself during this poll (`record.rs`).
                out.push(TraceEvent {
                    kind: EventKind::Wake,
                    a: event.task,
                    b: 0,
                    ..event
                });
            }
            out.push(event);
        }
        Trace {
            workers: lost.len(),
            events: out,
            lost,
            outside_lost,
            span: Some((started, stopped)),
            simulated: false,
        }
    }

    /// A simulator trace of `workers` virtual workers (its events in its own order).
    pub(crate) fn from_sim(events: Vec<TraceEvent>, workers: usize) -> Trace {
        Trace {
            events,
            workers,
            lost: vec![0; workers],
            outside_lost: 0,
            span: None,
            simulated: true,
        }
    }

    /// Every recorded event, in order.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).trace(1024).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// let trace = rt.stop_trace().unwrap();
    /// assert!(trace.events().windows(2).all(|w| w[0].time <= w[1].time));
    /// ```
    pub fn events(&self) -> &[TraceEvent] {
        &self.events
    }

    /// Number of workers (one track each).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(3).trace(16).build().unwrap();
    /// assert_eq!(rt.stop_trace().unwrap().workers(), 3);
    /// ```
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Events dropped because a buffer was full, summed over the workers' buffers and the one of
    /// the other threads.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).trace(1).build().unwrap();
    /// rt.block_on(async {
    ///     for _ in 0..10 {
    ///         kairos::spawn(async {}).await.unwrap();
    ///     }
    /// });
    /// let trace = rt.stop_trace().unwrap();
    /// // One event at most in each buffer: the worker's, and the one of `block_on`'s spawns.
    /// assert!(trace.events().len() <= 2);
    /// assert!(trace.lost() > 0);
    /// ```
    pub fn lost(&self) -> u64 {
        self.lost.iter().sum::<u64>() + self.outside_lost
    }

    /// Whether the simulator recorded it.
    ///
    /// ```
    /// let sim = kairos::sim::Builder::new().build().unwrap();
    /// assert!(sim.trace().to_trace(1).is_simulated());
    /// ```
    pub fn is_simulated(&self) -> bool {
        self.simulated
    }

    /// Writes the trace in the Chrome Trace Event Format (JSON), which Perfetto
    /// (<https://ui.perfetto.dev>) and `chrome://tracing` open: one track per worker, a slice per
    /// poll named by the task, instant events for releases, misses and the rest, and a flow arrow
    /// from each wake to the poll it caused (`docs/observability.md`).
    ///
    /// # Errors
    /// Those of `out`.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).trace(1024).build().unwrap();
    /// let handle = rt.handle();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// // Shut down first: every poll has ended (the join above may resolve before its poll
    /// // returns), so the trace holds each poll whole.
    /// drop(rt);
    /// let mut out = Vec::new();
    /// handle.stop_trace().unwrap().write_chrome_json(&mut out).unwrap();
    /// assert!(String::from_utf8(out).unwrap().contains("\"ph\":\"X\""));
    /// ```
    pub fn write_chrome_json(&self, out: &mut impl Write) -> io::Result<()> {
        chrome::write(self, out)
    }

    /// [`write_chrome_json`](Self::write_chrome_json) into a string.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).trace(16).build().unwrap();
    /// let json = rt.stop_trace().unwrap().to_chrome_json();
    /// assert!(json.contains("thread_name"));
    /// ```
    pub fn to_chrome_json(&self) -> String {
        let mut out = Vec::new();
        // Writing to a Vec cannot fail, and the writer emits UTF-8 only.
        let _ = self.write_chrome_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
