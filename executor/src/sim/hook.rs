//! The simulator's thread-local state: its implementation of the runtime's event seam
//! (`event/mod.rs`).
//!
//! # Protocol
//!
//! A simulation runs on one thread. While one of its methods runs (`Sim::block_on`,
//! `Sim::run_for`, `Sim::spawn`, ..., and its drop), its [`State`] is installed as that thread's
//! event sink, and [`ACTIVE`] points to it for the simulator's own queries (`sim::rng`,
//! `sim::annotate`, `sim::is_simulated`). Through the seam, the runtime then:
//!
//! - reads the virtual clock: `event::clock::now_ns` returns [`State::now`] (integer ns) and
//!   `event::clock::thread_cpu_ns` the stepping virtual worker's consumed time;
//! - charges `work(d)`: each slice is charged to the stepping virtual worker and the task is
//!   marked *continuing* (its poll resumes after the slice, on the same worker, without a pick);
//! - records the trace: every event becomes one fixed-width record (`trace.rs`) and feeds the
//!   digest.
//!
//! The runtime never names this module. The state is owned by the `Sim` (boxed, so its address
//! is stable) and outlives every window in which it is installed (`Enter` uninstalls it on drop,
//! also when a scenario panics).

use super::trace::{TraceBuf, NO_WORKER};
use crate::event::{self, EventKind, Sink, Slice, Wants};
use crate::rng::Rng;
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
    /// The task (id) that charged a slice in the current step, 0 if none: its next schedule
    /// on this worker is its continuation, not a new queueing (`event::continues`).
    pub(crate) continuing: Cell<u64>,
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

/// Makes `state` the simulation of this thread, and its event sink, until the guard drops.
///
/// # Safety
/// `state` must outlive the guard, which must be dropped on this thread.
pub(crate) unsafe fn enter(state: &State) -> Enter {
    let previous = ACTIVE.with(|a| a.replace(state));
    // SAFETY: the caller keeps `state` alive until the guard (which uninstalls it) drops.
    let sink = unsafe { event::install(state) };
    Enter {
        previous,
        _sink: sink,
    }
}

/// Restores the previous simulation pointer (normally null) and sink on drop.
pub(crate) struct Enter {
    previous: *const State,
    _sink: event::Installed,
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

impl Sink for State {
    /// Every kind, and the clock.
    fn wants(&self) -> Wants {
        Wants::all_kinds().and(Wants::CLOCK)
    }

    /// The kinds the digest covers go into the trace and the digest; those added for runtime
    /// tracing after the golden traces were written (`EventKind::in_sim_trace`) are kept beside
    /// them, in order, outside the digest (`TraceBuf::push_extra`).
    fn record(&self, kind: EventKind, task: u64, a: u64, b: u64) {
        let worker = self.worker.get().map_or(NO_WORKER, |w| w as u32);
        if let Ok(mut trace) = self.trace.try_borrow_mut() {
            if kind.in_sim_trace() {
                trace.push(self.now.get(), worker, kind, task, a, b);
            } else {
                trace.push_extra(self.now.get(), worker, kind, task, a, b);
            }
        }
    }

    /// As [`record`](Sink::record), and the task's name is kept for the exports (outside the
    /// digest).
    fn poll_start(&self, task: u64, continued: bool, name: Option<&'static str>) {
        self.record(EventKind::PollStart, task, u64::from(continued), 0);
        if let (Some(name), Ok(mut trace)) = (name, self.trace.try_borrow_mut()) {
            trace.name_task(task, name);
        }
    }

    fn now(&self) -> Option<u64> {
        Some(self.now.get())
    }

    fn thread_cpu(&self) -> Option<u64> {
        Some(self.cpu_now())
    }

    /// Without the cost model a slice is free; outside a task poll on a virtual worker
    /// (`Sim::block_on`'s own future) it is waited for as a sleep; otherwise it is charged to
    /// the stepping worker, and the task is woken now: its poll returns `Pending`, and the
    /// harness's schedule of it is routed to the worker's resume slot (`continues`).
    fn work_slice(&self, ns: u64, waker: &Waker) -> Slice {
        if !self.cost_model {
            return Slice::Free;
        }
        if self.worker.get().is_none() {
            return Slice::Sleep;
        }
        let Some(task) = crate::context::with_current(|h| h.id.0) else {
            return Slice::Sleep;
        };
        self.busy.set(self.busy.get().saturating_add(ns));
        self.continuing.set(task);
        waker.wake_by_ref();
        Slice::Charged
    }

    /// The mark is cleared by the event loop after each step (a step polls one task, scheduled
    /// at most once).
    fn continues(&self, task: u64) -> bool {
        task != 0 && self.continuing.get() == task
    }

    fn step_busy(&self) -> (bool, u64) {
        (self.continuing.get() != 0, self.busy.get())
    }
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
