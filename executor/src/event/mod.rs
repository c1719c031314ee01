//! The event seam: the one interface through which the runtime reports what happens and reads
//! its clock, so that an observer (the simulator today, runtime tracing later) plugs in without
//! the runtime naming it.
//!
//! # Protocol
//!
//! A [`Sink`] is installed per thread ([`install`]): while the returned [`Installed`] guard
//! lives, every event the runtime reports on that thread goes to it, and the runtime's clock
//! ([`clock`]) asks it for the time first. On every other thread, and at every other time, no
//! sink is installed and each report costs one thread-local load and one predictable branch:
//! [`emit`] takes its arguments as a closure, so not even they are computed.
//!
//! What the runtime reports (see [`EventKind`] for the arguments): spawn, wake, enqueue, poll
//! start and end, steal, park and unpark, timer fire, deadline miss and cancel. What it asks:
//! the time ([`clock::now_ns`]), the calling worker's CPU time ([`clock::thread_cpu_ns`]), and,
//! for `kairos::work`, what a slice of computation costs ([`work_slice`]): on a real thread it
//! is spun, under the simulator it is charged to a virtual worker and the poll continues after
//! it ([`continues`], [`step_busy`]).
//!
//! The modules that report (`task/`, `time/`, `worker/`, `periodic/`, `runtime/`) name only this
//! module; the simulator (`sim/hook.rs`) is one implementation of [`Sink`].

pub(crate) mod clock;
mod kind;

pub use kind::EventKind;

use std::cell::Cell;
use std::ptr::NonNull;
use std::task::Waker;

/// An observer of one thread's runtime events, and optionally its clock.
///
/// Only [`record`](Sink::record) is required; the other methods' defaults are the real
/// runtime's behaviour (OS clocks, `work` slices spun on the CPU).
pub(crate) trait Sink {
    /// One event (see [`EventKind`] for `task`, `a` and `b`).
    fn record(&self, kind: EventKind, task: u64, a: u64, b: u64);

    /// The time in ns since the clock's epoch, if this sink provides the clock.
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

thread_local! {
    /// The sink installed on this thread, or `None`.
    static SINK: Cell<Option<NonNull<dyn Sink>>> = const { Cell::new(None) };
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
    Installed { previous }
}

/// Restores the previous sink on drop.
pub(crate) struct Installed {
    previous: Option<NonNull<dyn Sink>>,
}

impl Drop for Installed {
    fn drop(&mut self) {
        let previous = self.previous;
        let _ = SINK.try_with(|s| s.set(previous));
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

/// Whether a sink is installed on this thread.
#[inline]
pub(crate) fn active() -> bool {
    SINK.try_with(|s| s.get().is_some()).unwrap_or(false)
}

/// Reports an event of `kind`; `args` computes `(task, a, b)` only when a sink listens.
#[inline]
pub(crate) fn emit(kind: EventKind, args: impl FnOnce() -> (u64, u64, u64)) {
    if active() {
        emit_slow(kind, args());
    }
}

#[cold]
#[inline(never)]
fn emit_slow(kind: EventKind, (task, a, b): (u64, u64, u64)) {
    let _ = with(|s| s.record(kind, task, a, b));
}

/// What a `work` slice of `ns` does on this thread ([`Sink::work_slice`]; `Spin` without a sink).
pub(crate) fn work_slice(ns: u64, waker: &Waker) -> Slice {
    with(|s| s.work_slice(ns, waker)).unwrap_or(Slice::Spin)
}

/// Whether task `task`'s schedule right now continues a charged `work` slice
/// ([`Sink::continues`]).
#[inline]
pub(crate) fn continues(task: u64) -> bool {
    active() && with(|s| s.continues(task)).unwrap_or(false)
}

/// The `work` time charged in the current worker step ([`Sink::step_busy`]).
pub(crate) fn step_busy() -> (bool, u64) {
    with(|s| s.step_busy()).unwrap_or((false, 0))
}

/// The sink's clock, if it provides one.
#[inline]
fn sink_now() -> Option<u64> {
    if !active() {
        return None;
    }
    with(|s| s.now()).flatten()
}

/// The sink's CPU clock of the calling worker, if it provides one.
#[inline]
fn sink_thread_cpu() -> Option<u64> {
    if !active() {
        return None;
    }
    with(|s| s.thread_cpu()).flatten()
}
