//! Built-in workloads for `sched-bench compare`: what the tasks do, independent of the runtime.
//!
//! A [`Workload`] is a name, a one-line summary and a [`Shape`]: the parameters of a family of
//! task sets. Each shape has one generic runner written against [`Exec`], so every backend runs
//! the identical task set. New families (periodic tasks with deadlines for EDF, prioritised or
//! weighted task mixes) are new `Shape` variants; new instances of a family are new entries in
//! [`BUILTIN`].
//!
//! CPU work is simulated with [`work`] (a busy loop on the clock), so a task's
//! cost does not depend on the machine's speed, only on its time.

use crate::error::{BenchError, TaskFailed};
use crate::exec::Exec;
use crate::work::work;
use std::time::{Duration, Instant};

/// A named task set.
#[derive(Debug)]
pub struct Workload {
    /// Name on the command line.
    pub name: &'static str,
    /// One line for `sched-bench workloads`.
    pub summary: &'static str,
    /// What the tasks do.
    pub shape: Shape,
}

/// Families of task sets.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// CPU-bound tasks cut into slices with a yield between slices, each spawning children.
    Sliced(Sliced),
}

/// `tasks` parent tasks, spawned at once from a root task. Each parent runs `slices` slices of
/// `slice` busy time with a yield after every slice; after its first slice it spawns `children`
/// children (each `child_slices` slices of the same length, yielding likewise) and, after its
/// last slice, awaits them. The root awaits every parent.
#[derive(Clone, Copy, Debug)]
pub struct Sliced {
    /// Parent tasks.
    pub tasks: usize,
    /// Slices per parent.
    pub slices: u32,
    /// Busy time of one slice.
    pub slice: Duration,
    /// Children spawned by each parent.
    pub children: usize,
    /// Slices per child.
    pub child_slices: u32,
}

/// The built-in workloads.
pub static BUILTIN: &[Workload] = &[Workload {
    name: "mixed-small",
    summary: "1,000 tasks x 4 slices of 20 us CPU with yields between slices, each spawning \
              one 1-slice child (2,000 tasks, 100 ms CPU in all)",
    shape: Shape::Sliced(Sliced {
        tasks: 1_000,
        slices: 4,
        slice: Duration::from_micros(20),
        children: 1,
        child_slices: 1,
    }),
}];

/// Looks a workload up by name.
///
/// # Errors
/// [`BenchError::Usage`] listing the valid names.
pub fn find(name: &str) -> Result<&'static Workload, BenchError> {
    BUILTIN.iter().find(|w| w.name == name).ok_or_else(|| {
        let names: Vec<&str> = BUILTIN.iter().map(|w| w.name).collect();
        BenchError::Usage(format!(
            "unknown workload '{name}'; built-in workloads: {} (see `sched-bench workloads`)",
            names.join(", ")
        ))
    })
}

/// What one run of a workload observed.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// From the first spawn to the last completion, measured inside the root task.
    pub elapsed: Duration,
    /// Tasks that ran to completion (parents and children).
    pub tasks_completed: u64,
}

impl Workload {
    /// Tasks one run spawns.
    pub fn tasks(&self) -> u64 {
        match self.shape {
            Shape::Sliced(s) => (s.tasks + s.tasks * s.children) as u64,
        }
    }

    /// Total busy time of one run: the lower bound of its duration on one worker.
    pub fn cpu_work(&self) -> Duration {
        match self.shape {
            Shape::Sliced(s) => {
                let slices = s.tasks as u64
                    * (u64::from(s.slices) + s.children as u64 * u64::from(s.child_slices));
                s.slice * u32::try_from(slices).unwrap_or(u32::MAX)
            }
        }
    }

    /// One run, as the body of a root task on `E`.
    pub async fn run<E: Exec>(&'static self) -> Result<Outcome, TaskFailed> {
        match self.shape {
            Shape::Sliced(s) => run_sliced::<E>(s).await,
        }
    }
}

async fn run_sliced<E: Exec>(p: Sliced) -> Result<Outcome, TaskFailed> {
    let start = Instant::now();
    let parents: Vec<_> = (0..p.tasks).map(|_| E::spawn(parent::<E>(p))).collect();
    let mut tasks_completed = 0;
    for h in parents {
        tasks_completed += h.await??;
    }
    Ok(Outcome {
        elapsed: start.elapsed(),
        tasks_completed,
    })
}

/// A parent of [`Sliced`]; returns the number of tasks it accounts for (itself + children).
async fn parent<E: Exec>(p: Sliced) -> Result<u64, TaskFailed> {
    let mut children = Vec::with_capacity(p.children);
    for s in 0..p.slices {
        work(p.slice);
        if s == 0 {
            for _ in 0..p.children {
                children.push(E::spawn(sliced_job::<E>(p.child_slices, p.slice)));
            }
        }
        E::yield_now().await;
    }
    let mut done = 1;
    for c in children {
        c.await?;
        done += 1;
    }
    Ok(done)
}

async fn sliced_job<E: Exec>(slices: u32, slice: Duration) {
    for _ in 0..slices {
        work(slice);
        E::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_findable() {
        for w in BUILTIN {
            assert!(std::ptr::eq(find(w.name).unwrap(), w));
        }
        let err = find("nope").unwrap_err().to_string();
        assert!(err.contains("mixed-small"), "{err}");
    }

    #[test]
    fn mixed_small_accounting() {
        let w = find("mixed-small").unwrap();
        assert_eq!(w.tasks(), 2_000);
        assert_eq!(w.cpu_work(), Duration::from_millis(100));
    }
}
