//! Deterministic simulation: the runtime's own workers, policies and task code, stepped on one
//! thread with a virtual clock, reproducible bit for bit from a seed.
//!
//! ```
//! use kairos::{sim, Policy};
//! use std::time::Duration;
//!
//! let digest = |seed| {
//!     let mut sim = sim::Builder::new().seed(seed).workers(4).policy(Policy::Edf).build().unwrap();
//!     sim.block_on(async {
//!         let hs: Vec<_> = (0..100u64)
//!             .map(|i| kairos::spawn(async move {
//!                 kairos::time::sleep(Duration::from_micros(i % 7)).await;
//!                 kairos::work(Duration::from_micros(30)).await;
//!                 i
//!             }))
//!             .collect();
//!         for h in hs { h.await.unwrap(); }
//!     });
//!     sim.digest()
//! };
//! assert_eq!(digest(1), digest(1)); // same seed: same trace
//! assert_ne!(digest(1), digest(2)); // another seed: another interleaving
//! ```
//!
//! # What runs
//!
//! A [`Sim`] builds the same shared state, run queues and workers as a
//! [`Runtime`](crate::Runtime), and calls the same `worker::step` for each virtual worker; only
//! parking differs (a virtual worker's park returns to the event loop: `worker/sim_env.rs`).
//! Policies, stealing, the idle protocol, timers, periodic tasks and metrics are the real code.
//!
//! # Time
//!
//! Virtual time is integer nanoseconds from [`EPOCH`]; `Instant::now`, sleeps, timeouts,
//! intervals, periodic releases and deadlines all read it while the simulation runs (the hooks
//! are in `sim/hook.rs`; the simulator never reads the OS clock). Time advances by events
//! (`sim/driver.rs`): when every virtual worker is parked it jumps to the next timer, and under
//! [`Mode::CostModel`] `kairos::work(d)` keeps its worker busy for `d` (other workers run
//! meanwhile) and each poll may be charged [`Builder::poll_overhead`]. Polls are otherwise
//! instantaneous, and non-preemptive between cooperative checks, as on the real runtime.
//!
//! # Randomness
//!
//! Separate seeded streams, all SplitMix64 implemented in the crate: *scheduling* (which of the
//! workers ready at one instant steps first; which parked worker fires a timer), each worker's
//! *victim* stream (as in the real runtime), *workload* ([`Sim::workload_rng`]) and *user*
//! ([`rng()`]). Drawing from one never shifts another.
//!
//! # Trace
//!
//! Every scheduling event is recorded as a fixed-width [`Event`] (see [`EventKind`] for the
//! kinds and their arguments) and hashed into a 128-bit [`Digest`]. Same seed, configuration,
//! scenario, binary and target: same trace, in any process ([`check_determinism`]).
//! The repository's `docs/determinism.md` states what is and is not modelled.

mod builder;
mod digest;
mod driver;
pub(crate) mod hook;
#[cfg(all(test, not(loom)))]
mod inherit_tests;
mod rng;
mod seeds;
mod simulation;
mod taskset;
#[cfg(all(test, not(loom)))]
mod tests;
mod trace;

pub use builder::{Builder, Mode, DEFAULT_MAX_STEPS_PER_INSTANT};
pub use digest::Digest;
pub use rng::SimRng;
pub use seeds::{check_determinism, for_each_seed, seeds, DeterminismError, Divergence};
pub use simulation::Sim;
pub use taskset::{generate, log_uniform_period, uunifast, PeriodicTask, TaskSetSpec};
pub use trace::{Event, EventKind, Trace, NO_WORKER};

use crate::time::Instant;

/// Most virtual workers a simulation has (the event loop keeps its candidates on the stack).
pub const MAX_VIRTUAL_WORKERS: usize = 256;

/// Where every simulation's virtual clock starts: 1 s after the clock's zero (so that no
/// virtual instant is 0, which the runtime uses for "not stamped").
///
/// ```
/// let sim = kairos::sim::Builder::new().build().unwrap();
/// assert_eq!(sim.now().as_nanos(), 1_000_000_000);
/// ```
pub const EPOCH: Instant = Instant::from_nanos(1_000_000_000);

/// Whether this thread is running a simulation right now (inside `Sim::block_on`, `run_for`,
/// `spawn`, ... or a task they poll).
///
/// ```
/// assert!(!kairos::sim::is_simulated());
/// let mut sim = kairos::sim::Builder::new().build().unwrap();
/// assert!(sim.block_on(async { kairos::sim::is_simulated() }));
/// ```
pub fn is_simulated() -> bool {
    hook::active()
}

/// A fork of the running simulation's *user* random stream: a new [`SimRng`] seeded by the next
/// value of that stream, so every call returns a different, reproducible stream.
///
/// # Panics
/// Outside a simulation (there is no seed to draw from): check [`is_simulated`] first in code
/// that also runs on the real runtime.
///
/// ```
/// let mut sim = kairos::sim::Builder::new().seed(5).build().unwrap();
/// let x = sim.block_on(async { kairos::sim::rng().below(100) });
/// assert!(x < 100);
/// ```
pub fn rng() -> SimRng {
    match hook::user_u64() {
        Some(seed) => SimRng::new(seed),
        None => panic!(
            "kairos::sim::rng() called outside a simulation: call it from a task or future run \
             by a Sim (check kairos::sim::is_simulated() in code shared with the real runtime)"
        ),
    }
}

/// Records a user annotation in the running simulation's trace (an `Annotate` event with the
/// label and `value`), to mark phases or outcomes of a scenario in the trace and the digest.
/// Outside a simulation it does nothing, so instrumented code runs unchanged on the real runtime.
///
/// ```
/// let mut sim = kairos::sim::Builder::new().build().unwrap();
/// sim.block_on(async { kairos::sim::annotate("answer", 42) });
/// let t = sim.trace();
/// let e = t.events().iter().find(|e| e.kind == kairos::sim::EventKind::Annotate).unwrap();
/// assert_eq!((t.label(e.a), e.b), (Some("answer"), 42));
/// kairos::sim::annotate("ignored", 0); // not simulating: no-op
/// ```
pub fn annotate(label: &'static str, value: u64) {
    let task = crate::context::with_current(|h| h.id.0).unwrap_or(0);
    let _ = hook::with_trace(|trace, now, worker| {
        let n = trace.label(label);
        trace.push(now, worker, EventKind::Annotate, task, n, value);
    });
}
