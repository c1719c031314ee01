//! The trace: one fixed-width record per scheduling event of a simulation.
//!
//! Every record has the same seven fields (sequence number, virtual time, worker, kind, task, two
//! arguments whose meaning depends on the kind: see [`EventKind`]). Records are appended by the
//! hooks in the runtime (`hook::record`) and folded into the digest as they are appended, so the
//! digest is available even when the records are not kept (`Builder::keep_trace(false)`).

use super::digest::{Digest, Hasher};
pub use crate::event::EventKind;
use std::fmt;
use std::io::{self, Write};

/// `Event::worker` of events that happen outside any virtual worker (spawns from the test
/// thread, `Sim::block_on`'s future).
pub const NO_WORKER: u32 = u32::MAX;

/// One trace record (48 bytes).
///
/// ```
/// let mut sim = kairos::sim::Builder::new().build().unwrap();
/// sim.block_on(async { kairos::spawn(async {}).await.unwrap() });
/// let trace = sim.trace();
/// let first = trace.events()[0];
/// assert_eq!(first.seq, 0);
/// assert_eq!(first.kind, kairos::sim::EventKind::Spawn);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct Event {
    /// Position in the trace, from 0.
    pub seq: u64,
    /// Virtual time, ns since the clock's epoch (`Instant::as_nanos`).
    pub time: u64,
    /// The virtual worker it happened on, or [`NO_WORKER`].
    pub worker: u32,
    /// What happened.
    pub kind: EventKind,
    /// The task (its `TaskId` number), or 0.
    pub task: u64,
    /// First argument (see [`EventKind`]).
    pub a: u64,
    /// Second argument.
    pub b: u64,
}

impl fmt::Display for Event {
    /// One fixed-width line: `seq time worker kind task a b`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let worker = if self.worker == NO_WORKER {
            "-".to_owned()
        } else {
            self.worker.to_string()
        };
        write!(
            f,
            "{:>9} {:>16} {:>3} {:<13} {:>8} {:>20} {:>20}",
            self.seq,
            self.time,
            worker,
            self.kind.name(),
            self.task,
            self.a,
            self.b
        )
    }
}

/// The events being recorded, and the running digest.
pub(crate) struct TraceBuf {
    events: Vec<Event>,
    keep: bool,
    seq: u64,
    hasher: Hasher,
    labels: Vec<&'static str>,
}

impl TraceBuf {
    /// An empty trace; `keep`: whether records are stored (the digest always is).
    pub(crate) fn new(keep: bool) -> TraceBuf {
        TraceBuf {
            events: Vec::new(),
            keep,
            seq: 0,
            hasher: Hasher::new(),
            labels: Vec::new(),
        }
    }

    /// Appends one event.
    pub(crate) fn push(
        &mut self,
        time: u64,
        worker: u32,
        kind: EventKind,
        task: u64,
        a: u64,
        b: u64,
    ) {
        let e = Event {
            seq: self.seq,
            time,
            worker,
            kind,
            task,
            a,
            b,
        };
        self.seq += 1;
        let h = &mut self.hasher;
        h.word(e.seq);
        h.word(e.time);
        h.word((u64::from(e.worker) << 8) | e.kind as u64);
        h.word(e.task);
        h.word(e.a);
        h.word(e.b);
        if self.keep {
            self.events.push(e);
        }
    }

    /// The number of `label`, interning it on first use (numbers follow first use, so they are
    /// deterministic too).
    pub(crate) fn label(&mut self, label: &'static str) -> u64 {
        match self.labels.iter().position(|l| *l == label) {
            Some(i) => i as u64,
            None => {
                self.labels.push(label);
                let i = (self.labels.len() - 1) as u64;
                // The label's text goes into the digest once, at its first use.
                for chunk in label.as_bytes().chunks(8) {
                    let mut w = [0u8; 8];
                    w[..chunk.len()].copy_from_slice(chunk);
                    self.hasher.word(u64::from_le_bytes(w));
                }
                i
            }
        }
    }

    /// The digest so far.
    pub(crate) fn digest(&self) -> Digest {
        self.hasher.finish()
    }

    /// Events recorded so far (counted even when not kept).
    pub(crate) fn len(&self) -> u64 {
        self.seq
    }

    /// A snapshot.
    pub(crate) fn snapshot(&self) -> Trace {
        Trace {
            events: self.events.clone(),
            labels: self.labels.clone(),
            recorded: self.seq,
            digest: self.digest(),
        }
    }
}

/// A snapshot of a simulation's trace ([`Sim::trace`](super::Sim::trace)).
///
/// ```
/// let mut sim = kairos::sim::Builder::new().seed(3).build().unwrap();
/// sim.block_on(async {
///     kairos::sim::annotate("phase", 1);
///     kairos::spawn(async {}).await.unwrap();
/// });
/// let trace = sim.trace();
/// let mut text = Vec::new();
/// trace.write_text(&mut text).unwrap();
/// assert!(String::from_utf8(text).unwrap().contains("annotate"));
/// let mut json = Vec::new();
/// trace.write_json_lines(&mut json).unwrap();
/// assert_eq!(String::from_utf8(json).unwrap().lines().count(), trace.events().len());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    events: Vec<Event>,
    labels: Vec<&'static str>,
    recorded: u64,
    digest: Digest,
}

impl Trace {
    /// The kept events (empty if the simulation was built with `keep_trace(false)`).
    ///
    /// ```
    /// let sim = kairos::sim::Builder::new().keep_trace(false).build().unwrap();
    /// assert!(sim.trace().events().is_empty());
    /// ```
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// How many events were recorded (kept or not).
    ///
    /// ```
    /// let sim = kairos::sim::Builder::new().build().unwrap();
    /// assert_eq!(sim.trace().recorded(), sim.trace().events().len() as u64);
    /// ```
    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    /// The digest of the whole trace.
    ///
    /// ```
    /// let sim = kairos::sim::Builder::new().build().unwrap();
    /// assert_eq!(sim.trace().digest(), sim.digest());
    /// ```
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The text of annotation label number `n` (an `Annotate` event's `a`).
    ///
    /// ```
    /// let mut sim = kairos::sim::Builder::new().build().unwrap();
    /// sim.block_on(async { kairos::sim::annotate("x", 7) });
    /// let t = sim.trace();
    /// let e = t.events().iter().find(|e| e.kind == kairos::sim::EventKind::Annotate).unwrap();
    /// assert_eq!(t.label(e.a), Some("x"));
    /// ```
    pub fn label(&self, n: u64) -> Option<&'static str> {
        self.labels.get(usize::try_from(n).ok()?).copied()
    }

    /// Writes one fixed-width text line per event (a header line first).
    ///
    /// # Errors
    /// Those of `out`.
    ///
    /// ```
    /// let sim = kairos::sim::Builder::new().build().unwrap();
    /// let mut out = Vec::new();
    /// sim.trace().write_text(&mut out).unwrap();
    /// assert!(String::from_utf8(out).unwrap().starts_with("#"));
    /// ```
    pub fn write_text(&self, mut out: impl Write) -> io::Result<()> {
        writeln!(
            out,
            "# {:>7} {:>16} {:>3} {:<13} {:>8} {:>20} {:>20}   digest {}",
            "seq", "time_ns", "wkr", "kind", "task", "a", "b", self.digest
        )?;
        for e in &self.events {
            write!(out, "{e}")?;
            if e.kind == EventKind::Annotate {
                if let Some(label) = self.label(e.a) {
                    write!(out, "  {label}")?;
                }
            }
            writeln!(out)?;
        }
        Ok(())
    }

    /// Writes one JSON object per line per event: `{"seq":0,"time":..,"worker":0 or null,
    /// "kind":"spawn","task":1,"a":0,"b":0}` (annotations add `"label"`).
    ///
    /// # Errors
    /// Those of `out`.
    ///
    /// ```
    /// let mut sim = kairos::sim::Builder::new().build().unwrap();
    /// sim.block_on(async { kairos::spawn(async {}).await.unwrap() });
    /// let mut out = Vec::new();
    /// sim.trace().write_json_lines(&mut out).unwrap();
    /// let text = String::from_utf8(out).unwrap();
    /// assert!(text.lines().next().unwrap().starts_with("{\"seq\":0,"));
    /// ```
    pub fn write_json_lines(&self, mut out: impl Write) -> io::Result<()> {
        for e in &self.events {
            let worker = if e.worker == NO_WORKER {
                "null".to_owned()
            } else {
                e.worker.to_string()
            };
            write!(
                out,
                "{{\"seq\":{},\"time\":{},\"worker\":{},\"kind\":\"{}\",\"task\":{},\"a\":{},\"b\":{}",
                e.seq,
                e.time,
                worker,
                e.kind.name(),
                e.task,
                e.a,
                e.b
            )?;
            if e.kind == EventKind::Annotate {
                if let Some(label) = self.label(e.a) {
                    write!(out, ",\"label\":\"{}\"", json_escape(label))?;
                }
            }
            writeln!(out, "}}")?;
        }
        Ok(())
    }

    /// The same events as a [`kairos::trace::Trace`](crate::trace::Trace) of `workers` virtual
    /// workers (pass [`Sim::workers`](super::Sim::workers)), in the simulator's own order, for
    /// the exports runtime traces have ([`write_chrome_json`](crate::trace::Trace::write_chrome_json)).
    /// Events outside every worker get `worker: None`; annotations keep their label as `name`.
    ///
    /// ```
    /// let mut sim = kairos::sim::Builder::new().workers(2).build().unwrap();
    /// sim.block_on(async { kairos::spawn(async {}).await.unwrap() });
    /// let trace = sim.trace().to_trace(sim.workers());
    /// assert_eq!(trace.events().len(), sim.trace().events().len());
    /// assert!(trace.to_chrome_json().contains("\"ph\":\"X\""));
    /// ```
    pub fn to_trace(&self, workers: usize) -> crate::trace::Trace {
        let events = self
            .events
            .iter()
            .map(|e| crate::trace::TraceEvent {
                time: e.time,
                worker: (e.worker != NO_WORKER).then_some(e.worker),
                kind: e.kind,
                task: e.task,
                a: e.a,
                b: e.b,
                name: (e.kind == EventKind::Annotate)
                    .then(|| self.label(e.a))
                    .flatten(),
            })
            .collect();
        crate::trace::Trace::from_sim(events, workers)
    }

    /// The first position where `self` and `other` differ, with both events there (`None` for
    /// a trace that ended), or `None` if the kept events are equal.
    pub(crate) fn first_difference(
        &self,
        other: &Trace,
    ) -> Option<(usize, Option<Event>, Option<Event>)> {
        let n = self.events.len().max(other.events.len());
        (0..n).find_map(|i| {
            let (a, b) = (self.events.get(i).copied(), other.events.get(i).copied());
            (a != b).then_some((i, a, b))
        })
    }
}

/// Escapes a string for a JSON string literal.
fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}
