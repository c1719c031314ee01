//! The simulator's thread-local state, and the hooks the runtime calls into it.
//!
//! # Protocol
//!
//! A simulation runs on one thread. While one of its methods runs (`Sim::block_on`,
//! `Sim::run_for`, `Sim::spawn`, ..., and its drop), [`ACTIVE`] points to its [`State`]; at every
//! other time, and on every other thread, it is null. Everything the runtime does differently
//! under simulation hangs off that one thread-local pointer:
//!
//! - the clock: `time::now_ns` returns [`State::now`] (virtual, integer ns) instead of reading the
//!   OS clock; `sys::thread_cpu_ns` returns the stepping virtual worker's consumed time;
//! - `work(d)`: [`busy`] charges each slice to the stepping virtual worker and marks the task as
//!   *continuing* (its poll resumes after the slice, on the same worker, without a pick);
//! - the trace: [`record`] appends one fixed-width event (`trace.rs`) and feeds the digest.
//!
//! On the real runtime each hook costs one thread-local load of a null pointer and a branch:
//! `ACTIVE` is a `const`-initialised `Cell` with no destructor, so the load needs no lazy
//! initialisation check.
//!
//! The state is owned by the `Sim` (boxed, so its address is stable) and outlives every window
//! in which `ACTIVE` points to it (`Enter` restores the previous pointer on drop, also when a
//! scenario panics).

use super::trace::{EventKind, TraceBuf, NO_WORKER};
use crate::rng::Rng;
use crate::task::Header;
use std::cell::{Cell, RefCell};
use std::ptr;
use std::task::Waker;

thread_local! {
    /// The simulation running on this thread, or null.
    static ACTIVE: Cell<*const State> = const { Cell::new(ptr::null()) };
}

/// Per-simulation state reached through [`ACTIVE`].
pub(crate) struct State {
    /// Virtual time, ns since the clock's epoch. Written only by the event loop.
    pub(crate) now: Cell<u64>,
    /// Whether `work(d)` costs virtual time (`Mode::CostModel`).
    pub(crate) cost_model: bool,
    /// Per virtual worker: busy time consumed before the current step (the worker's CPU clock).
    pub(crate) cpu: Box<[Cell<u64>]>,
    /// The virtual worker being stepped, if any.
    pub(crate) worker: Cell<Option<usize>>,
    /// Busy time `work` slices charged during the current step.
    pub(crate) busy: Cell<u64>,
    /// The task that charged a slice in the current step: its next schedule on this worker is
    /// its continuation, not a new queueing (see `context::schedule`). Compared, never read.
    pub(crate) continuing: Cell<*const Header>,
    /// The user's random stream (`sim::rng()`).
    pub(crate) user_rng: RefCell<Rng>,
    /// Events and digest.
    pub(crate) trace: RefCell<TraceBuf>,
}

impl State {
    /// The virtual CPU clock of the stepping worker (what `thread_cpu_ns` returns there).
    fn cpu_now(&self) -> u64 {
        match self.worker.get() {
            Some(w) => self.cpu[w].get() + self.busy.get(),
            None => self.now.get(),
        }
    }
}

/// Makes `state` the simulation of this thread until the guard drops.
pub(crate) fn enter(state: &State) -> Enter {
    let previous = ACTIVE.with(|a| a.replace(state));
    Enter { previous }
}

/// Restores the previous simulation pointer (normally null) on drop.
pub(crate) struct Enter {
    previous: *const State,
}

impl Drop for Enter {
    fn drop(&mut self) {
        let previous = self.previous;
        ACTIVE.with(|a| a.set(previous));
    }
}

/// Runs `f` on the active simulation's state, if one runs on this thread.
#[inline]
fn with<R>(f: impl FnOnce(&State) -> R) -> Option<R> {
    let p = ACTIVE.with(|a| a.get());
    if p.is_null() {
        return None;
    }
    // SAFETY: a non-null `ACTIVE` was set by `enter` from a live `&State`, and the `Enter` guard
    // that resets it is dropped before that borrow ends (`Sim` holds both), so the state is
    // alive. Only shared references are made; mutation goes through `Cell` / `RefCell`.
    Some(f(unsafe { &*p }))
}

/// Whether a simulation runs on this thread.
#[inline]
pub(crate) fn active() -> bool {
    ACTIVE.with(|a| !a.get().is_null())
}

/// Virtual now, under simulation.
#[inline]
pub(crate) fn virtual_now() -> Option<u64> {
    with(|s| s.now.get())
}

/// The stepping virtual worker's CPU clock, under simulation.
#[inline]
pub(crate) fn virtual_cpu() -> Option<u64> {
    with(State::cpu_now)
}

/// What `work(d)` does with a slice of `ns` on this thread.
pub(crate) enum Slice {
    /// Real runtime: spin for it.
    Spin,
    /// Simulation without the cost model: free.
    Free,
    /// Charged to the stepping virtual worker; the task was woken and continues after it.
    Charged,
    /// Simulation, but not inside a task poll on a virtual worker (`Sim::block_on`'s future):
    /// the caller waits for it as a sleep.
    Sleep,
}

/// `work`'s slice of `ns` under simulation (see [`Slice`]). `waker` is the polling task's.
pub(crate) fn busy(ns: u64, waker: &Waker) -> Slice {
    with(|s| {
        if !s.cost_model {
            return Slice::Free;
        }
        if s.worker.get().is_none() {
            return Slice::Sleep;
        }
        let Some(header) = crate::runtime::context::with_current(|h| h as *const Header) else {
            return Slice::Sleep;
        };
        s.busy.set(s.busy.get().saturating_add(ns));
        s.continuing.set(header);
        // The task is woken now; its poll returns `Pending`, and the harness schedules it:
        // `is_continuation` routes that schedule to the worker's resume slot.
        waker.wake_by_ref();
        Slice::Charged
    })
    .unwrap_or(Slice::Spin)
}

/// Whether `header`'s schedule right now is the continuation of a charged slice. The mark is
/// cleared by the event loop after each step (a step polls one task, scheduled at most once).
#[inline]
pub(crate) fn is_continuation(header: &Header) -> bool {
    let p = ACTIVE.with(|a| a.get());
    !p.is_null() && is_continuing(header)
}

/// The current step's charged `work` time: (whether a task continues, ns charged).
pub(crate) fn step_busy() -> (bool, u64) {
    with(|s| (!s.continuing.get().is_null(), s.busy.get())).unwrap_or((false, 0))
}

/// Whether `header`'s poll that just returned charged a slice and will continue (its poll is not
/// over for accounting: no latency, duration or `Fair` charge is recorded yet).
#[inline]
pub(crate) fn is_continuing(header: &Header) -> bool {
    with(|s| ptr::eq(s.continuing.get(), header)).unwrap_or(false)
}

/// Appends an event to the active simulation's trace (no-op on the real runtime).
#[inline]
pub(crate) fn record(kind: EventKind, task: u64, a: u64, b: u64) {
    let p = ACTIVE.with(|a| a.get());
    if !p.is_null() {
        record_slow(kind, task, a, b);
    }
}

#[cold]
#[inline(never)]
fn record_slow(kind: EventKind, task: u64, a: u64, b: u64) {
    let _ = with(|s| {
        let worker = s.worker.get().map_or(NO_WORKER, |w| w as u32);
        if let Ok(mut trace) = s.trace.try_borrow_mut() {
            trace.push(s.now.get(), worker, kind, task, a, b);
        }
    });
}

/// Interns `label` in the active simulation's trace (for `sim::annotate`).
pub(crate) fn with_trace<R>(f: impl FnOnce(&mut TraceBuf, u64, u32) -> R) -> Option<R> {
    with(|s| {
        let worker = s.worker.get().map_or(NO_WORKER, |w| w as u32);
        let now = s.now.get();
        s.trace
            .try_borrow_mut()
            .ok()
            .map(|mut t| f(&mut t, now, worker))
    })
    .flatten()
}

/// Draws from the active simulation's user stream.
pub(crate) fn user_u64() -> Option<u64> {
    with(|s| s.user_rng.borrow_mut().next_u64())
}
