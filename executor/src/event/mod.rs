//! The event seam: the one interface through which the runtime reports what happens and reads
//! its clock, so that an observer (the simulator today, runtime tracing later) plugs in without
//! the runtime naming it.
//!
//! # Protocol
//!
//! A [`Sink`] is installed per thread ([`install`]): while the returned [`Installed`] guard
//! lives, the events the runtime reports on that thread go to it, and, if the sink provides the
//! clock (the simulator), the runtime's clock ([`clock`]) asks it for the time. With the sink,
//! the thread stores what it [`Wants`]: one bit per [`EventKind`] it records, and one for the
//! clock and `work` slices. Every event point loads that word (one thread-local load) and tests
//! its kind's bit (one predictable branch); [`emit`] takes its arguments as a closure, so they
//! are computed only for a kind the sink records. On every other thread, and at every other
//! time, the word is 0: no sink, no event, no call.
//!
//! What the runtime reports (see [`EventKind`] for the arguments): spawn, wake, enqueue, poll
//! start (with the task's name: [`poll_start`]) and end, steal, park and unpark, timer fire,
//! preemption request, periodic release, completion and deadline miss, cancel, I/O readiness.
//! What it asks a sink that provides the clock: the time ([`clock::now_ns`]), the calling
//! worker's CPU time ([`clock::thread_cpu_ns`]), and, for `kairos::work`, what a slice of
//! computation costs ([`work_slice`]): on a real thread it is spun, under the simulator it is
//! charged to a virtual worker and the poll continues after it ([`continues`], [`step_busy`]).
//!
//! The modules that report (`task/`, `time/`, `worker/`, `periodic/`, `runtime/`) name only this
//! module; the simulator (`sim/hook.rs`) and runtime tracing (`trace/session.rs`) are the two
//! implementations of [`Sink`].

pub(crate) mod clock;
mod fast_clock;
mod kind;

pub use kind::EventKind;

use std::cell::Cell;
use std::ptr::NonNull;
use std::task::Waker;

/// An observer of one thread's runtime events, and optionally its clock.
///
/// Only [`wants`](Sink::wants) and [`record`](Sink::record) are required; the other methods'
/// defaults are the real runtime's behaviour (OS clocks, `work` slices spun on the CPU).
pub(crate) trait Sink {
    /// What this sink takes (read once, when it is installed).
    fn wants(&self) -> Wants;

    /// One event (see [`EventKind`] for `task`, `a` and `b`), of a kind [`wants`](Sink::wants)
    /// names.
    fn record(&self, kind: EventKind, task: u64, a: u64, b: u64);

    /// A poll of task `task` starts (`continued`: it continues after a charged `work` slice);
    /// `name` is the task's name. Called if the sink records `PollStart`; the default records
    /// it without the name.
    fn poll_start(&self, task: u64, continued: bool, name: Option<&'static str>) {
        let _ = name;
        self.record(EventKind::PollStart, task, u64::from(continued), 0);
    }

    /// The poll of task `task` returned (`a`, `b`: see `PollEnd` in [`EventKind`]). For a sink
    /// that wants [`Wants::WHOLE_POLLS`], `start` is what the poll's start left ([`PollMark`])
    /// and `self_woken` whether the task woke itself during the poll. The default records a
    /// `PollEnd`.
    fn poll_end(&self, task: u64, start: Option<PollMark>, self_woken: bool, a: u64, b: u64) {
        let _ = (start, self_woken);
        self.record(EventKind::PollEnd, task, a, b);
    }

    /// The time in ns since the clock's epoch, if this sink provides the clock (asked only if it
    /// wants [`Wants::CLOCK`]; the same for the methods below).
    fn now(&self) -> Option<u64> {
        None
    }

    /// The CPU time the calling worker has consumed, if this sink provides the clock.
    fn thread_cpu(&self) -> Option<u64> {
        None
    }

    /// What a `work` slice of `ns` does; `waker` is the polling task's.
    fn work_slice(&self, ns: u64, waker: &Waker) -> Slice {
        let _ = (ns, waker);
        Slice::Spin
    }

    /// Whether the schedule of task `task` (its id) right now is the continuation of a charged
    /// `work` slice rather than a new queueing.
    fn continues(&self, task: u64) -> bool {
        let _ = task;
        false
    }

    /// The `work` time charged in the current worker step: (whether a task continues, ns).
    fn step_busy(&self) -> (bool, u64) {
        (false, 0)
    }
}

/// What `kairos::work` does with one slice (see [`Sink::work_slice`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slice {
    /// Spin on the CPU for it (the real runtime).
    Spin,
    /// Nothing: the slice is free (a simulation without a cost model).
    Free,
    /// Charged to the current worker; the task was woken and its poll continues after it.
    Charged,
    /// Not inside a task poll on a worker: the caller waits for it as a sleep.
    Sleep,
}

/// What an installed sink takes: a bit per [`EventKind`] it records (bit `kind as u8`), and
/// [`Wants::CLOCK`] if it provides the clock and decides what `work` slices cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Wants(u32);

impl Wants {
    /// Nothing (the value of a thread without a sink).
    pub(crate) const NONE: Wants = Wants(0);
    /// The sink provides the clock and `work` slices ([`Sink::now`] and the methods after it).
    pub(crate) const CLOCK: Wants = Wants(1 << 31);
    /// The sink takes each poll whole, in one call at its end ([`Sink::poll_end`]): its start
    /// is a raw time stamp (the sink's last [`stamp`] on this thread, or [`clock::ticks`] if
    /// none is remembered) and the task's name, kept on the thread in a
    /// [`PollMark`] (no call), and a wake of the polled task by itself is a flag of that call
    /// (no call either). With `PollStart` not wanted, this is the cheapest way to see polls:
    /// one call per poll (runtime tracing).
    pub(crate) const WHOLE_POLLS: Wants = Wants(1 << 30);

    /// Every event kind.
    pub(crate) const fn all_kinds() -> Wants {
        // Bits 1..=`EventKind::LAST`.
        Wants(((1u32 << (EventKind::LAST as u32 + 1)) - 1) & !1)
    }

    /// `self` without `kind`.
    pub(crate) const fn without(self, kind: EventKind) -> Wants {
        Wants(self.0 & !Wants::bit(kind))
    }

    /// `self` and `other`.
    pub(crate) const fn and(self, other: Wants) -> Wants {
        Wants(self.0 | other.0)
    }

    /// Whether `self` has every bit of `other`.
    #[inline]
    pub(crate) const fn has(self, other: Wants) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `self` records `kind`.
    #[inline]
    pub(crate) const fn records(self, kind: EventKind) -> bool {
        self.0 & Wants::bit(kind) != 0
    }

    /// `kind`'s bit.
    #[inline]
    const fn bit(kind: EventKind) -> u32 {
        1 << (kind as u32)
    }
}

/// What the start of a poll leaves for its end when the sink takes polls whole
/// ([`Wants::WHOLE_POLLS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PollMark {
    /// Raw time stamp of the start ([`clock::ticks`]).
    pub(crate) ticks: u64,
    /// The task's name.
    pub(crate) name: Option<&'static str>,
}

thread_local! {
    /// The sink installed on this thread, or `None`.
    static SINK: Cell<Option<NonNull<dyn Sink>>> = const { Cell::new(None) };
    /// What it takes ([`Wants::NONE`] without a sink): the word every event point tests.
    static WANTS: Cell<Wants> = const { Cell::new(Wants::NONE) };
    /// The polled task woke itself during the current poll ([`Wants::WHOLE_POLLS`]).
    static SELF_WOKEN: Cell<bool> = const { Cell::new(false) };
    /// What the current poll's start left for its end ([`Wants::WHOLE_POLLS`]).
    static POLL_MARK: Cell<Option<PollMark>> = const { Cell::new(None) };
    /// The last raw time stamp the sink took on this thread through [`stamp`] (0: none since
    /// the sink was installed or [`forget_stamp`]): where the next poll starts
    /// ([`Wants::WHOLE_POLLS`]).
    static LAST_STAMP: Cell<u64> = const { Cell::new(0) };
}

/// A raw time stamp ([`clock::ticks`]) for a record of this thread's sink, remembered as the
/// start of the next poll on this thread ([`poll_start`] with [`Wants::WHOLE_POLLS`]).
///
/// Why: a worker that goes from one poll to the next (the hot path of a busy worker) does only
/// its pick in between, tens of nanoseconds; one stamp at the boundary serves as the end of
/// one poll and the start of the next, where a stamp of its own would cost a counter read per
/// poll (`docs/benchmarks.md`, "Session 13: one stamp per poll boundary"). A slice therefore
/// includes the pick before it. Whatever may take longer between two polls either records an
/// event (a park records `Park` and `Unpark`, a steal `Steal`), whose stamp is the new start,
/// or calls [`forget_stamp`] (a search).
#[inline]
pub(crate) fn stamp() -> u64 {
    let t = clock::ticks();
    let _ = LAST_STAMP.try_with(|s| s.set(t));
    t
}

/// The worker starts something of unbounded length that records no event (a search): the next
/// poll takes a stamp of its own ([`stamp`]).
#[inline]
pub(crate) fn forget_stamp() {
    if wants().has(Wants::WHOLE_POLLS) {
        let _ = LAST_STAMP.try_with(|s| s.set(0));
    }
}

/// Installs `sink` on this thread until the guard drops (the previous sink, normally none, is
/// restored then, also when the thread unwinds).
///
/// # Safety
/// `sink` must outlive the returned guard, and the guard must be dropped on this thread.
pub(crate) unsafe fn install(sink: &dyn Sink) -> Installed {
    let ptr = NonNull::from(sink);
    // SAFETY: only the lifetime is erased; the caller keeps `sink` alive until the guard, which
    // removes the pointer, is dropped.
    let ptr: NonNull<dyn Sink> = unsafe { std::mem::transmute(ptr) };
    let previous = SINK.with(|s| s.replace(Some(ptr)));
    let previous_wants = WANTS.with(|w| w.replace(sink.wants()));
    // A poll's state is per sink: none carries over from the previous one.
    POLL_MARK.with(|m| m.set(None));
    SELF_WOKEN.with(|s| s.set(false));
    LAST_STAMP.with(|s| s.set(0));
    Installed {
        previous,
        previous_wants,
    }
}

/// Restores the previous sink on drop.
pub(crate) struct Installed {
    /// The sink installed before.
    previous: Option<NonNull<dyn Sink>>,
    /// What it took.
    previous_wants: Wants,
}

impl Drop for Installed {
    fn drop(&mut self) {
        let previous = self.previous;
        let _ = SINK.try_with(|s| s.set(previous));
        let _ = WANTS.try_with(|w| w.set(self.previous_wants));
    }
}

/// Calls `f` with this thread's sink, if one is installed.
#[inline]
fn with<R>(f: impl FnOnce(&dyn Sink) -> R) -> Option<R> {
    let sink = SINK.try_with(Cell::get).ok().flatten()?;
    // SAFETY: a pointer in `SINK` was put there by `install`, whose caller keeps the sink alive
    // until the guard removes it; only shared references are made.
    Some(f(unsafe { sink.as_ref() }))
}

/// What this thread's sink takes ([`Wants::NONE`] without one).
#[inline]
fn wants() -> Wants {
    WANTS.try_with(Cell::get).unwrap_or(Wants::NONE)
}

/// Whether a sink is installed on this thread.
#[inline]
pub(crate) fn active() -> bool {
    wants() != Wants::NONE
}

/// Whether this thread's sink records events of `kind`.
#[inline]
pub(crate) fn records(kind: EventKind) -> bool {
    wants().records(kind)
}

/// Whether this thread's sink provides the clock and `work` slices (the simulator).
#[inline]
pub(crate) fn virtual_clock() -> bool {
    wants().has(Wants::CLOCK)
}

/// Reports an event of `kind`; `args` computes `(task, a, b)` only if the sink records `kind`.
#[inline]
pub(crate) fn emit(kind: EventKind, args: impl FnOnce() -> (u64, u64, u64)) {
    if records(kind) {
        emit_slow(kind, args());
    }
}

#[cold]
#[inline(never)]
fn emit_slow(kind: EventKind, (task, a, b): (u64, u64, u64)) {
    let _ = with(|s| s.record(kind, task, a, b));
}

/// Reports the start of a poll of task `task` named `name` (`continued`: after a charged `work`
/// slice; [`Sink::poll_start`]); for a sink that takes polls whole, keeps the start's stamp and
/// the name on this thread for [`poll_end`] instead (no call).
#[inline]
pub(crate) fn poll_start(task: u64, continued: bool, name: impl FnOnce() -> Option<&'static str>) {
    let wants = wants();
    if wants.0 & (Wants::bit(EventKind::PollStart) | Wants::WHOLE_POLLS.0) != 0 {
        if wants.has(Wants::WHOLE_POLLS) {
            let last = LAST_STAMP.try_with(Cell::get).unwrap_or(0);
            let mark = PollMark {
                ticks: if last != 0 { last } else { clock::ticks() },
                name: name(),
            };
            let _ = POLL_MARK.try_with(|m| m.set(Some(mark)));
        } else {
            poll_start_slow(task, continued, name());
        }
    }
}

/// Reports the end of the poll of task `task`; `args` computes `PollEnd`'s arguments.
#[inline]
pub(crate) fn poll_end(task: u64, args: impl FnOnce() -> (u64, u64)) {
    if records(EventKind::PollEnd) {
        poll_end_slow(task, args());
    }
}

#[cold]
#[inline(never)]
fn poll_end_slow(task: u64, (a, b): (u64, u64)) {
    let start = POLL_MARK.try_with(Cell::take).ok().flatten();
    let self_woken = SELF_WOKEN.try_with(|s| s.replace(false)).unwrap_or(false);
    let _ = with(|s| s.poll_end(task, start, self_woken, a, b));
}

/// Reports a wake of the task `task` computes the id of; `is_polled` tells whether it is the
/// task being polled on this thread (asked only if the sink takes polls whole: then a task's
/// wake of itself is a flag of its poll's end, not a record).
#[inline]
pub(crate) fn wake(task: impl FnOnce() -> u64, is_polled: impl FnOnce() -> bool) {
    if records(EventKind::Wake) {
        wake_slow(task, is_polled);
    }
}

/// [`wake`] while a sink records wakes. Out of line: deciding inline whether the wake folds
/// into the poll's end kept the sink's word in a register across the waker, two more
/// instructions per wake on the untraced path (`docs/benchmarks.md`).
#[cold]
#[inline(never)]
fn wake_slow(task: impl FnOnce() -> u64, is_polled: impl FnOnce() -> bool) {
    if wants().has(Wants::WHOLE_POLLS) && is_polled() {
        let _ = SELF_WOKEN.try_with(|s| s.set(true));
    } else {
        let task = task();
        let _ = with(|s| s.record(EventKind::Wake, task, 0, 0));
    }
}

#[cold]
#[inline(never)]
fn poll_start_slow(task: u64, continued: bool, name: Option<&'static str>) {
    let _ = with(|s| s.poll_start(task, continued, name));
}

/// What a `work` slice of `ns` does on this thread ([`Sink::work_slice`]; `Spin` unless the sink
/// provides the clock).
pub(crate) fn work_slice(ns: u64, waker: &Waker) -> Slice {
    if !virtual_clock() {
        return Slice::Spin;
    }
    with(|s| s.work_slice(ns, waker)).unwrap_or(Slice::Spin)
}

/// Whether task `task`'s schedule right now continues a charged `work` slice
/// ([`Sink::continues`]).
#[inline]
pub(crate) fn continues(task: u64) -> bool {
    virtual_clock() && with(|s| s.continues(task)).unwrap_or(false)
}

/// The `work` time charged in the current worker step ([`Sink::step_busy`]).
#[inline]
pub(crate) fn step_busy() -> (bool, u64) {
    if !virtual_clock() {
        return (false, 0);
    }
    with(|s| s.step_busy()).unwrap_or((false, 0))
}

/// The sink's clock, if it provides one.
#[inline]
fn sink_now() -> Option<u64> {
    if !virtual_clock() {
        return None;
    }
    with(|s| s.now()).flatten()
}

/// The sink's CPU clock of the calling worker, if it provides one.
#[inline]
fn sink_thread_cpu() -> Option<u64> {
    if !virtual_clock() {
        return None;
    }
    with(|s| s.thread_cpu()).flatten()
}
