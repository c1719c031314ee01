//! `sim::Builder` and `Mode`: how a simulation is configured.

use super::Sim;
use super::MAX_VIRTUAL_WORKERS;
use crate::error::BuildError;
use crate::runtime::{Builder as RtBuilder, Policy};
use std::time::Duration;

/// How virtual time advances.
///
/// ```
/// use kairos::sim::{Builder, Mode};
/// let sim = Builder::new().mode(Mode::IdleJump).build().unwrap();
/// assert_eq!(sim.mode(), Mode::IdleJump);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// Polls take no virtual time (`work(d)` included); time jumps to the next timer when every
    /// virtual worker is idle. For testing logic: a `sleep(1h)` finishes at once.
    IdleJump,
    /// As `IdleJump`, and `work(d)` keeps its virtual worker busy for `d` (in
    /// [`WORK_SLICE`](crate::WORK_SLICE) slices, with a cooperative check between slices, as on the
    /// real runtime), plus [`Builder::poll_overhead`] per poll. For scheduling studies.
    #[default]
    CostModel,
}

/// Configures a [`Sim`]. Defaults: seed 0, 1 virtual worker, `Policy::Fifo`, `Mode::CostModel`,
/// no per-poll overhead, the trace kept in memory.
///
/// Everything that decides the schedule is in the builder (or in the scenario): the default
/// worker count does not depend on the machine, unlike `Runtime::builder()`.
///
/// ```
/// use kairos::{sim, Policy};
/// let mut sim = sim::Builder::new().seed(42).workers(4).policy(Policy::Edf).build().unwrap();
/// let v = sim.block_on(async { kairos::spawn(async { 6 * 7 }).await.unwrap() });
/// assert_eq!(v, 42);
/// ```
#[derive(Clone, Debug)]
#[must_use = "a Builder does nothing until build() is called"]
pub struct Builder {
    pub(super) seed: u64,
    pub(super) workers: usize,
    pub(super) mode: Mode,
    pub(super) poll_overhead: Duration,
    pub(super) keep_trace: bool,
    pub(super) max_steps_per_instant: u64,
    /// Policy parameters, validated as the real runtime's.
    pub(super) rt: RtBuilder,
}

/// Default for [`Builder::max_steps_per_instant`].
pub const DEFAULT_MAX_STEPS_PER_INSTANT: u64 = 10_000_000;

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// The defaults (see [`Builder`]).
    ///
    /// ```
    /// let sim = kairos::sim::Builder::new().build().unwrap();
    /// assert_eq!(sim.seed(), 0);
    /// ```
    pub fn new() -> Builder {
        Builder {
            seed: 0,
            workers: 1,
            mode: Mode::CostModel,
            poll_overhead: Duration::ZERO,
            keep_trace: true,
            max_steps_per_instant: DEFAULT_MAX_STEPS_PER_INSTANT,
            rt: RtBuilder::new(),
        }
    }

    /// The seed of every random stream of the run (which worker steps next among those ready at
    /// the same instant, steal victims, `sim::rng()`, `Sim::workload_rng()`).
    ///
    /// ```
    /// assert_eq!(kairos::sim::Builder::new().seed(9).build().unwrap().seed(), 9);
    /// ```
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = seed;
        self
    }

    /// Number of virtual workers (1 to [`MAX_VIRTUAL_WORKERS`]; validated by `build`).
    ///
    /// ```
    /// assert!(kairos::sim::Builder::new().workers(0).build().is_err());
    /// assert!(kairos::sim::Builder::new().workers(4).build().is_ok());
    /// ```
    pub fn workers(mut self, workers: usize) -> Builder {
        self.workers = workers;
        self
    }

    /// The scheduling policy, as `Runtime::builder().policy(..)`.
    ///
    /// ```
    /// use kairos::{sim, Policy};
    /// assert_eq!(sim::Builder::new().policy(Policy::Fair).build().unwrap().policy(), Policy::Fair);
    /// ```
    pub fn policy(mut self, policy: Policy) -> Builder {
        self.rt = self.rt.policy(policy);
        self
    }

    /// How virtual time advances (default [`Mode::CostModel`]).
    ///
    /// ```
    /// let b = kairos::sim::Builder::new().mode(kairos::sim::Mode::IdleJump);
    /// assert!(b.build().is_ok());
    /// ```
    pub fn mode(mut self, mode: Mode) -> Builder {
        self.mode = mode;
        self
    }

    /// Virtual time charged to the worker for each poll (not for the continuation of a poll
    /// after a `work` slice), under [`Mode::CostModel`]. Default zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = kairos::sim::Builder::new().poll_overhead(Duration::from_nanos(500));
    /// assert!(b.build().is_ok());
    /// ```
    pub fn poll_overhead(mut self, overhead: Duration) -> Builder {
        self.poll_overhead = overhead;
        self
    }

    /// Whether the trace's events are kept in memory (default `true`; 48 bytes per event).
    /// The digest is computed either way.
    ///
    /// ```
    /// let sim = kairos::sim::Builder::new().keep_trace(false).build().unwrap();
    /// assert!(sim.trace().events().is_empty());
    /// ```
    pub fn keep_trace(mut self, keep: bool) -> Builder {
        self.keep_trace = keep;
        self
    }

    /// Steps at one virtual instant after which the run is declared stuck (a task that yields in
    /// a loop without `work`, a sleep or any cost never lets time advance). Default
    /// [`DEFAULT_MAX_STEPS_PER_INSTANT`].
    ///
    /// ```
    /// let b = kairos::sim::Builder::new().max_steps_per_instant(1_000);
    /// assert!(b.build().is_ok());
    /// ```
    pub fn max_steps_per_instant(mut self, steps: u64) -> Builder {
        self.max_steps_per_instant = steps;
        self
    }

    /// `Priority`'s aging interval, as [`crate::Builder::aging_interval`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = kairos::sim::Builder::new().aging_interval(Duration::ZERO);
    /// assert!(b.build().is_err());
    /// ```
    pub fn aging_interval(mut self, interval: Duration) -> Builder {
        self.rt = self.rt.aging_interval(interval);
        self
    }

    /// `Fair`'s slice, as [`crate::Builder::fair_slice`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = kairos::sim::Builder::new().fair_slice(Duration::from_micros(500));
    /// assert!(b.build().is_ok());
    /// ```
    pub fn fair_slice(mut self, slice: Duration) -> Builder {
        self.rt = self.rt.fair_slice(slice);
        self
    }

    /// The deadline class's share under `Classes`, as [`crate::Builder::deadline_share`].
    ///
    /// ```
    /// let b = kairos::sim::Builder::new().policy(kairos::Policy::Classes).deadline_share(50);
    /// assert!(b.build().is_ok());
    /// ```
    pub fn deadline_share(mut self, percent: u8) -> Builder {
        self.rt = self.rt.deadline_share(percent);
        self
    }

    /// The fair class's reserve under `Classes`, as [`crate::Builder::fair_reserve`].
    ///
    /// ```
    /// let b = kairos::sim::Builder::new().deadline_share(80).fair_reserve(20);
    /// assert!(b.build().is_ok());
    /// ```
    pub fn fair_reserve(mut self, percent: u8) -> Builder {
        self.rt = self.rt.fair_reserve(percent);
        self
    }

    /// Admission control for `spawn_periodic`, as [`crate::Builder::admission_control`].
    ///
    /// ```
    /// let b = kairos::sim::Builder::new().admission_control(true);
    /// assert!(b.build().is_err(), "Fifo has no admission test");
    /// ```
    pub fn admission_control(mut self, on: bool) -> Builder {
        self.rt = self.rt.admission_control(on);
        self
    }

    /// Latency histograms, as [`crate::Builder::record_latency`] (same defaults).
    ///
    /// ```
    /// let b = kairos::sim::Builder::new().record_latency(true);
    /// assert!(b.build().is_ok());
    /// ```
    pub fn record_latency(mut self, on: bool) -> Builder {
        self.rt = self.rt.record_latency(on);
        self
    }

    /// Builds the simulation (nothing runs until `block_on` or `run_for`).
    ///
    /// # Errors
    /// [`BuildError`] for no workers, more than [`MAX_VIRTUAL_WORKERS`], or invalid policy
    /// parameters, as `Runtime::builder().build()`.
    ///
    /// ```
    /// use kairos::sim::{Builder, MAX_VIRTUAL_WORKERS};
    /// assert!(Builder::new().workers(MAX_VIRTUAL_WORKERS + 1).build().is_err());
    /// ```
    pub fn build(&self) -> Result<Sim, BuildError> {
        if self.workers == 0 {
            return Err(BuildError::NoWorkers);
        }
        if self.workers > MAX_VIRTUAL_WORKERS {
            return Err(BuildError::TooManyWorkers {
                requested: self.workers,
                max: MAX_VIRTUAL_WORKERS,
            });
        }
        if self.max_steps_per_instant == 0 {
            return Err(BuildError::InvalidParameter {
                parameter: "max_steps_per_instant",
                reason: "must be positive",
            });
        }
        let sched = self.rt.policy_config()?;
        Ok(Sim::new(self, sched))
    }
}
