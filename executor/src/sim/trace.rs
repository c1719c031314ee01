//! The trace: one fixed-width record per scheduling event of a simulation.
//!
//! Every record has the same seven fields (sequence number, virtual time, worker, kind, task, two
//! arguments whose meaning depends on the kind: see [`EventKind`]). Records are appended by the
//! hooks in the runtime (`hook::record`) and folded into the digest as they are appended, so the
//! digest is available even when the records are not kept (`Builder::keep_trace(false)`).

use super::digest::{Digest, Hasher};
pub use crate::event::EventKind;
use std::collections::HashMap;
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
    /// The kept events of the kinds the digest covers.
    events: Vec<Event>,
    /// The kept events of the later kinds (`EventKind::in_sim_trace`), each with the `seq` of the
    /// digested event it precedes.
    extra: Vec<Event>,
    /// Task names seen at poll starts, by task id (kept events only).
    names: HashMap<u64, &'static str>,
    /// Whether records are kept (the digest always is).
    keep: bool,
    /// Digested events so far.
    seq: u64,
    /// The running digest.
    hasher: Hasher,
    /// Interned annotation labels.
    labels: Vec<&'static str>,
}

impl TraceBuf {
    /// An empty trace; `keep`: whether records are stored (the digest always is).
    pub(crate) fn new(keep: bool) -> TraceBuf {
        TraceBuf {
            events: Vec::new(),
            extra: Vec::new(),
            names: HashMap::new(),
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

    /// Keeps one event of a kind the digest does not cover, between the digested events
    /// recorded before and after it (not counted in `len`).
    pub(crate) fn push_extra(
        &mut self,
        time: u64,
        worker: u32,
        kind: EventKind,
        task: u64,
        a: u64,
        b: u64,
    ) {
        if self.keep {
            self.extra.push(Event {
                seq: self.seq,
                time,
                worker,
                kind,
                task,
                a,
                b,
            });
        }
    }

    /// Task `task` is named `name` (kept for the exports, outside the digest).
    pub(crate) fn name_task(&mut self, task: u64, name: &'static str) {
        if self.keep {
            self.names.entry(task).or_insert(name);
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
            extra: self.extra.clone(),
            names: self.names.clone(),
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
    /// The digested events.
    events: Vec<Event>,
    /// The later kinds, each with the `seq` of the digested event it precedes.
    extra: Vec<Event>,
    /// Task names by id.
    names: HashMap<u64, &'static str>,
    /// Annotation labels by number.
    labels: Vec<&'static str>,
    /// Digested events recorded (kept or not).
    recorded: u64,
    /// Their digest.
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

    /// The kept events of the kinds added for runtime tracing, which the digest and
    /// [`events`](Trace::events) leave out (so that digests and golden traces recorded before
    /// them stay valid): periodic releases and completions, and preemption requests. Each
    /// event's `seq` is that of the digested event it came before (`events().len()` for one after
    /// the last).
    ///
    /// ```
    /// use kairos::{sim, Periodic};
    /// use std::time::Duration;
    /// let mut sim = sim::Builder::new().build().unwrap();
    /// let h = sim
    ///     .spawn_periodic(Periodic::new(Duration::from_millis(1)), |_job| async {})
    ///     .unwrap();
    /// sim.run_for(Duration::from_micros(2_500)); // releases at 0, 1 and 2 ms
    /// h.stop();
    /// let trace = sim.trace();
    /// let extra = trace.extra_events().iter();
    /// assert_eq!(extra.filter(|e| e.kind == sim::EventKind::Release).count(), 3);
    /// ```
    pub fn extra_events(&self) -> &[Event] {
        &self.extra
    }

    /// Every kept event as a [`kairos::trace::Trace`](crate::trace::Trace) of `workers` virtual
    /// workers (pass [`Sim::workers`](super::Sim::workers)), in the simulator's own order: the
    /// digested [`events`](Trace::events) with the [`extra_events`](Trace::extra_events) at the
    /// places they were recorded, for the exports runtime traces have
    /// ([`write_chrome_json`](crate::trace::Trace::write_chrome_json)). Events outside every
    /// worker get `worker: None`; poll starts carry the task's name if it has one, annotations
    /// their label.
    ///
    /// ```
    /// let mut sim = kairos::sim::Builder::new().workers(2).build().unwrap();
    /// sim.block_on(async { kairos::spawn(async {}).await.unwrap() });
    /// let trace = sim.trace().to_trace(sim.workers());
    /// assert_eq!(trace.events().len(), sim.trace().events().len());
    /// assert!(trace.to_chrome_json().contains("\"ph\":\"X\""));
    /// ```
    pub fn to_trace(&self, workers: usize) -> crate::trace::Trace {
        let convert = |e: &Event| crate::trace::TraceEvent {
            time: e.time,
            worker: (e.worker != NO_WORKER).then_some(e.worker),
            kind: e.kind,
            task: e.task,
            a: e.a,
            b: e.b,
            name: match e.kind {
                EventKind::Annotate => self.label(e.a),
                EventKind::PollStart => self.names.get(&e.task).copied(),
                _ => None,
            },
        };
        let mut events = Vec::with_capacity(self.events.len() + self.extra.len());
        let mut extra = self.extra.iter().peekable();
        for e in &self.events {
            while let Some(x) = extra.next_if(|x| x.seq <= e.seq) {
                events.push(convert(x));
            }
            events.push(convert(e));
        }
        events.extend(extra.map(convert));
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
