//! `spawn_many`: kairos task allocation, `TaskAllocator::Pool` against `TaskAllocator::System`.
//!
//! The same benchmark as `sched-bench micro`'s `spawn_many` (a root task on a worker spawns
//! [`SPAWN_MANY`] no-op tasks, then awaits every handle; clock read inside the root task), run on
//! two kairos runtimes of [`WORKERS`] workers that differ only in
//! [`Builder::task_allocator`](kairos::Builder::task_allocator): task blocks from the
//! process-wide kairos-alloc pool, or from `Box` (the global allocator, glibc here). Both
//! runtimes live through all rounds; rounds alternate between them, the order flipped every
//! round. Half of the frees are remote in practice: the idle worker steals tasks, runs them and
//! drops their last reference on its own thread.
//!
//! Each run also checks where the blocks came from: `kairos::task_memory().system_allocs` must
//! not move during a `Pool` run (otherwise the pool fell back to `Box` and the row would not
//! measure the pool), and must grow by one per task during a `System` run.

use crate::error::BenchError;
use crate::watchdog::Watchdog;
use kairos::{Runtime, TaskAllocator};
use std::time::{Duration, Instant};

/// Tasks spawned by one run.
pub const SPAWN_MANY: usize = 100_000;
/// Worker threads of each runtime.
pub const WORKERS: usize = 2;
/// A run taking longer than this is a hang.
const HANG_LIMIT: Duration = Duration::from_secs(60);

/// The name of a task allocator in tables.
pub fn name(allocator: TaskAllocator) -> &'static str {
    match allocator {
        TaskAllocator::System => "System (Box)",
        _ => "Pool",
    }
}

/// A kairos runtime with one task allocator.
#[derive(Debug)]
pub struct SpawnRuntime {
    rt: Runtime,
    allocator: TaskAllocator,
}

impl SpawnRuntime {
    /// Builds the runtime.
    ///
    /// # Errors
    /// [`BenchError::Build`] with kairos' message.
    pub fn new(allocator: TaskAllocator) -> Result<SpawnRuntime, BenchError> {
        let rt = Runtime::builder()
            .workers(WORKERS)
            .thread_name("kairos-alloc-bench")
            .task_allocator(allocator)
            .build()
            .map_err(|e| BenchError::Build {
                backend: format!("kairos ({})", name(allocator)),
                message: e.to_string(),
            })?;
        Ok(SpawnRuntime { rt, allocator })
    }

    fn label(&self) -> String {
        format!("kairos task allocator {}", name(self.allocator))
    }

    /// One run: ns per spawn (spawn + run + await + free, divided by the tasks).
    ///
    /// # Errors
    /// A task failed, or the blocks did not come from where the allocator says.
    pub fn measure(&self) -> Result<f64, BenchError> {
        let _watchdog = Watchdog::arm(format!("spawn_many on {}", self.label()), HANG_LIMIT);
        let boxed_before = kairos::task_memory().system_allocs;
        let root = self.rt.spawn(async {
            let mut handles = Vec::with_capacity(SPAWN_MANY);
            let start = Instant::now();
            for _ in 0..SPAWN_MANY {
                handles.push(kairos::spawn(async {}));
            }
            for h in handles {
                h.await.map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(start.elapsed())
        });
        let failed = |message: String| BenchError::Task {
            backend: self.label(),
            message,
        };
        let elapsed = self
            .rt
            .block_on(root)
            .map_err(|e| failed(e.to_string()))?
            .map_err(failed)?;
        let boxed = kairos::task_memory()
            .system_allocs
            .saturating_sub(boxed_before);
        let expected = match self.allocator {
            TaskAllocator::System => boxed >= SPAWN_MANY as u64,
            _ => boxed == 0,
        };
        if !expected {
            return Err(failed(format!(
                "{boxed} of {SPAWN_MANY} task blocks came from Box; the row would not measure \
                 the {} allocator",
                name(self.allocator)
            )));
        }
        Ok(elapsed.as_nanos() as f64 / SPAWN_MANY as f64)
    }

    /// Stops the workers.
    ///
    /// # Errors
    /// [`BenchError::Shutdown`] if a worker is stuck.
    pub fn shutdown(self) -> Result<(), BenchError> {
        let backend = self.label();
        self.rt
            .shutdown_timeout(Duration::from_secs(10))
            .map_err(|e| BenchError::Shutdown {
                backend,
                message: e.to_string(),
            })
    }
}
