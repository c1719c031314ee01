//! `Backend`: what runs a workload — a kairos policy, tokio, Linux threads under
//! `SCHED_OTHER`/`FIFO`/`RR`/`DEADLINE` (the kernel backend), and later the kairos simulator.
//!
//! Async runtimes are driven through [`Exec`]; since `Exec` has generic methods it cannot be a
//! trait object, so a backend hands its runtime to an [`ExecVisitor`] (one generic `visit`
//! method) instead of returning it. The kernel backend is not an async runtime (one OS thread
//! per task instance); `compare::run` sends it to [`crate::kernel::compare`] instead of
//! [`Backend::run`]. Workload files on the async runtimes go through
//! [`crate::file_compare`], which builds their runtimes with timers.

use crate::error::BenchError;
use crate::exec::{kairos_label, Exec, Kairos, Tokio};
use std::fmt;
use std::str::FromStr;

/// A runtime to compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// kairos with a policy.
    Kairos(kairos::Policy),
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
}

/// The kairos policies `--backends executor` stands for, in row order. A new policy gets its
/// rows in every comparison (built-in workloads, periodic workloads, workload files) by adding
/// one line here.
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
    "tokio",
    "kernel",
    "executor",
];

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
    /// [`Backend::Kairos`] per entry of [`EXECUTOR_POLICIES`], every other backend itself.
    pub fn expand(self) -> Vec<Backend> {
        match self {
            Backend::Executor => EXECUTOR_POLICIES
                .iter()
                .map(|&p| Backend::Kairos(p))
                .collect(),
            b => vec![b],
        }
    }

    /// Builds this backend's runtime with `workers` workers, runs `visitor` on it, and shuts the
    /// runtime down.
    ///
    /// # Errors
    /// The runtime cannot be built, the visit fails, or shutdown times out.
    pub fn run<V: ExecVisitor>(self, workers: usize, visitor: V) -> Result<V::Output, BenchError> {
        match self {
            Backend::Kairos(policy) => with(Kairos::new(workers, policy, None)?, visitor),
            Backend::Tokio => with(Tokio::new(workers)?, visitor),
            Backend::Kernel => Err(BenchError::Usage(
                "the kernel backend is not an async runtime; `compare` runs it through \
                 kernel::compare"
                    .to_owned(),
            )),
            Backend::Executor => Err(BenchError::Usage(
                "`executor` stands for several kairos backends; expand it first".to_owned(),
            )),
        }
    }
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
            Backend::Kairos(policy) => f.write_str(&kairos_label(*policy)),
            Backend::Tokio => f.write_str("tokio"),
            Backend::Kernel => f.write_str("kernel"),
            Backend::Executor => f.write_str("executor"),
        }
    }
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Backend, String> {
        use kairos::Policy;
        Ok(match s {
            "kairos-fifo" => Backend::Kairos(Policy::Fifo),
            "kairos-edf" => Backend::Kairos(Policy::Edf),
            "kairos-priority" => Backend::Kairos(Policy::Priority),
            "kairos-fair" => Backend::Kairos(Policy::Fair),
            "tokio" => Backend::Tokio,
            "kernel" => Backend::Kernel,
            "executor" => Backend::Executor,
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
}
