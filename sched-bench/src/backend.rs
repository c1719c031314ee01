//! `Backend`: what runs a workload — a kairos policy, tokio, Linux threads under
//! `SCHED_OTHER`/`FIFO`/`RR`/`DEADLINE` (the kernel backend), and the kairos simulator
//! (`kairos::sim`: the same policies on virtual workers and virtual time).
//!
//! Async runtimes are driven through [`Exec`]; since `Exec` has generic methods it cannot be a
//! trait object, so a backend hands its runtime to an [`ExecVisitor`] (one generic `visit`
//! method) instead of returning it. The kernel backend is not an async runtime (one OS thread
//! per task instance); workload files on every backend go through [`crate::file_compare`]
//! (which calls [`crate::kernel::run`] and builds the async runtimes with timers), the periodic
//! built-ins through [`crate::rt_compare`].

use crate::error::BenchError;
use crate::exec::{kairos_backend_label, Exec, Kairos, KairosMode, Tokio};
use std::fmt;
use std::str::FromStr;

/// A runtime to compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// kairos with a policy, in a mode ([`KairosMode`]: the place a backend that is a policy
    /// plus builder settings, like `kairos-classes-preemptive`, plugs in).
    Kairos(kairos::Policy, KairosMode),
    /// tokio's multi-thread runtime.
    Tokio,
    /// Linux threads under the kernel's own schedulers, one per task instance (see
    /// [`crate::kernel`]); runs workload files and the periodic built-ins (as the rows
    /// `kernel-other`, `kernel-fifo`, `kernel-deadline`, see [`crate::rt_compare::kernel`]), not
    /// through [`Exec`].
    Kernel,
    /// The kairos executor under every policy in [`EXECUTOR_POLICIES`], one row each
    /// (`--backends executor`); [`Backend::expand`] turns it into those `Kairos` backends.
    Executor,
    /// kairos' deterministic simulator (`kairos::sim`, cost model) with a policy: the rows
    /// `sim-fifo`, `sim-edf`, ... Runs the periodic built-ins only (see
    /// [`crate::rt_compare::sim`]), not through [`Exec`].
    Sim(kairos::Policy),
    /// The simulator under every policy in [`EXECUTOR_POLICIES`] (`--backends sim`);
    /// [`Backend::expand`] turns it into those `Sim` backends.
    SimAll,
}

/// The kairos policies `--backends executor` stands for, in row order. A new policy gets its
/// rows in every comparison (built-in workloads, periodic workloads, workload files) by adding
/// one line here. `Policy::Classes` is not here: it runs as its own backend, `kairos-classes`
/// (and `sim-classes`), so the default comparison keeps its rows and its length.
pub const EXECUTOR_POLICIES: &[kairos::Policy] = &[
    kairos::Policy::Fifo,
    kairos::Policy::Edf,
    kairos::Policy::Priority,
    kairos::Policy::Fair,
];

/// Every backend name `--backends` accepts.
pub const NAMES: &[&str] = &[
    "kairos-fifo",
    "kairos-edf",
    "kairos-priority",
    "kairos-fair",
    "kairos-classes",
    "kairos-classes-preemptive",
    "tokio",
    "kernel",
    "executor",
    "sim-fifo",
    "sim-edf",
    "sim-priority",
    "sim-fair",
    "sim-classes",
    "sim",
];

/// Why the simulator has no rows on the batch built-in (`mixed-small`) and on workload files,
/// for the usage error `compare` gives.
pub const SIM_PERIODIC_ONLY: &str = "the sim backend runs the periodic built-in workloads \
     (latency-under-load, mixed-latency, mixed-latency-hogs, non-yielding-hogs); on mixed-small \
     its only result, \
     the batch's run time, would be the simulator's cost model rather than a measurement (polls, \
     queues, steals and wakes cost no virtual time, so a simulated run takes exactly its CPU \
     work divided over the workers, up to load imbalance, and the batch spins on the wall \
     clock, which virtual time does not see); workload files are not simulated (their job \
     loops read the OS clock)";

/// Code that runs against whichever runtime a backend builds.
pub trait ExecVisitor {
    /// What the visit produces.
    type Output;
    /// Runs against `exec`.
    ///
    /// # Errors
    /// Whatever the visit reports; the runtime is shut down either way.
    fn visit<E: Exec>(self, exec: &E) -> Result<Self::Output, BenchError>;
}

impl Backend {
    /// The concrete backends this one stands for: [`Backend::Executor`] gives one
    /// [`Backend::Kairos`] per entry of [`EXECUTOR_POLICIES`], [`Backend::SimAll`] one
    /// [`Backend::Sim`] per entry, every other backend itself.
    pub fn expand(self) -> Vec<Backend> {
        match self {
            Backend::Executor => EXECUTOR_POLICIES
                .iter()
                .map(|&p| Backend::Kairos(p, KairosMode::Cooperative))
                .collect(),
            Backend::SimAll => EXECUTOR_POLICIES.iter().map(|&p| Backend::Sim(p)).collect(),
            b => vec![b],
        }
    }

    /// Whether this is a simulator backend (`sim`, `sim-<policy>`).
    pub fn is_sim(self) -> bool {
        matches!(self, Backend::Sim(_) | Backend::SimAll)
    }

    /// Builds this backend's runtime with `workers` workers, runs `visitor` on it, and shuts the
    /// runtime down.
    ///
    /// # Errors
    /// The runtime cannot be built, the visit fails, or shutdown times out.
    pub fn run<V: ExecVisitor>(self, workers: usize, visitor: V) -> Result<V::Output, BenchError> {
        match self {
            Backend::Kairos(policy, mode) => with(Kairos::backend(workers, policy, mode)?, visitor),
            Backend::Tokio => with(Tokio::new(workers)?, visitor),
            Backend::Kernel => Err(BenchError::Usage(
                "the kernel backend is not an async runtime; `compare` runs it through \
                 file_compare (workload files) or rt_compare (periodic built-ins)"
                    .to_owned(),
            )),
            Backend::Executor => Err(BenchError::Usage(
                "`executor` stands for several kairos backends; expand it first".to_owned(),
            )),
            Backend::Sim(_) | Backend::SimAll => {
                Err(BenchError::Usage(SIM_PERIODIC_ONLY.to_owned()))
            }
        }
    }
}

/// `sim-fifo`, `sim-edf`, ...: the row label of the simulator under `policy`.
pub fn sim_label(policy: kairos::Policy) -> String {
    format!("sim-{}", policy.to_string().to_lowercase())
}

fn with<E: Exec, V: ExecVisitor>(exec: E, visitor: V) -> Result<V::Output, BenchError> {
    let out = visitor.visit(&exec);
    let down = exec.shutdown();
    let out = out?;
    down?;
    Ok(out)
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Kairos(policy, mode) => f.write_str(&kairos_backend_label(*policy, *mode)),
            Backend::Tokio => f.write_str("tokio"),
            Backend::Kernel => f.write_str("kernel"),
            Backend::Executor => f.write_str("executor"),
            Backend::Sim(policy) => f.write_str(&sim_label(*policy)),
            Backend::SimAll => f.write_str("sim"),
        }
    }
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Backend, String> {
        use kairos::Policy;
        Ok(match s {
            "kairos-fifo" => Backend::Kairos(Policy::Fifo, KairosMode::Cooperative),
            "kairos-edf" => Backend::Kairos(Policy::Edf, KairosMode::Cooperative),
            "kairos-priority" => Backend::Kairos(Policy::Priority, KairosMode::Cooperative),
            "kairos-fair" => Backend::Kairos(Policy::Fair, KairosMode::Cooperative),
            "kairos-classes" => Backend::Kairos(Policy::Classes, KairosMode::Cooperative),
            "kairos-classes-preemptive" => Backend::Kairos(Policy::Classes, KairosMode::Preemptive),
            "tokio" => Backend::Tokio,
            "kernel" => Backend::Kernel,
            "executor" => Backend::Executor,
            "sim-fifo" => Backend::Sim(Policy::Fifo),
            "sim-edf" => Backend::Sim(Policy::Edf),
            "sim-priority" => Backend::Sim(Policy::Priority),
            "sim-fair" => Backend::Sim(Policy::Fair),
            "sim-classes" => Backend::Sim(Policy::Classes),
            "sim" => Backend::SimAll,
            _ => {
                return Err(format!(
                    "unknown backend '{s}'; valid backends: {}",
                    NAMES.join(", ")
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for name in NAMES {
            assert_eq!(name.parse::<Backend>().unwrap().to_string(), *name);
        }
        assert!("kairos"
            .parse::<Backend>()
            .unwrap_err()
            .contains("kairos-fifo"));
    }

    #[test]
    fn sim_expands_to_one_row_per_policy() {
        let rows: Vec<String> = Backend::SimAll
            .expand()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(rows, ["sim-fifo", "sim-edf", "sim-priority", "sim-fair"]);
        assert!(rows.iter().all(|r| r.parse::<Backend>().unwrap().is_sim()));
    }
}
