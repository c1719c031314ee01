//! Spawning: a task's id, its block, its registration, and its first schedule.
//!
//! `kairos::spawn`, `Handle::spawn` and `Runtime::spawn` come to [`Handle::spawn`];
//! the `spawn_with` variants, with the user's [`Sched`] parameters, to [`Handle::spawn_with`].
//! Both end in one place, `spawn_task`: allocate the block (header and future together, from the
//! task pool), bind it in the registry of live tasks (refused after shutdown: the task is then
//! cancelled before it ever runs), and schedule it (`schedule.rs`).

use super::{Handle, Shared};
use crate::event::{self, EventKind};
use crate::loom::atomic::{AtomicU64, Ordering};
use crate::sched::Sched;
use crate::task::{self, JoinHandle, PolicyState, Registry, TaskAllocator, TaskId};
use crate::time::instant::Instant;
use crossbeam_utils::CachePadded;
use std::future::Future;
use std::panic::Location;

/// The spawning part of [`Shared`].
pub(super) struct Spawner {
    /// Every live task, for shutdown.
    registry: Registry,
    /// Next task id (ids start at 1). On its own cache line: a worker that spawns in a loop
    /// writes it on every spawn, and it must not drag along a line the other workers read on
    /// every step (`docs/benchmarks.md`, "Core restructure").
    next_task_id: CachePadded<AtomicU64>,
    /// Where task blocks come from.
    task_allocator: TaskAllocator,
}

impl Spawner {
    /// A spawner for `workers` workers (the registry gets 4 shards per worker, so that
    /// completions on different workers rarely share a lock).
    pub(super) fn new(workers: usize, task_allocator: TaskAllocator) -> Spawner {
        Spawner {
            registry: Registry::new(4 * workers),
            next_task_id: CachePadded::new(AtomicU64::new(1)),
            task_allocator,
        }
    }

    /// Closes the registry and cancels every live task, dropping each future exactly once.
    pub(super) fn cancel_all(&self) {
        self.registry.close();
        while let Some(task) = self.registry.pop() {
            task.shutdown();
        }
    }
}

impl Shared {
    /// Live tasks (spawned, not yet complete).
    pub(crate) fn live_tasks(&self) -> usize {
        self.spawner.registry.len()
    }

    /// Task `header` completed: unlink it from the registry (see `Schedule::release`).
    #[inline]
    pub(super) fn release(&self, header: &task::Header) -> bool {
        if let Some(table) = self.task_table() {
            table.remove(header.id.0);
        }
        self.spawner.registry.remove(header)
    }

    /// Calls `f` with every live task's header (each registry shard locked in turn).
    pub(crate) fn for_each_task(&self, f: impl FnMut(&task::Header)) {
        self.spawner.registry.for_each(f);
    }
}

impl Handle {
    /// Spawns `future` with default parameters onto this runtime.
    #[track_caller]
    pub(crate) fn spawn_task<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_task_at(future, Location::caller())
    }

    /// [`spawn_task`](Self::spawn_task), spawned from `at`.
    pub(crate) fn spawn_task_at<F>(
        &self,
        future: F,
        at: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_state(PolicyState::default(), future, at)
    }

    /// Spawns `future` with the user's parameters `sched`: a relative deadline is anchored now,
    /// and a name gets its histograms registered on every worker first (one short lock per
    /// worker per named spawn, so that no worker allocates them on its hot path later).
    #[track_caller]
    pub(crate) fn spawn_task_with<F>(&self, sched: Sched, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_task_with_at(sched, future, Location::caller())
    }

    /// [`spawn_task_with`](Self::spawn_task_with), spawned from `at`.
    pub(crate) fn spawn_task_with_at<F>(
        &self,
        sched: Sched,
        future: F,
        at: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let now = if sched.needs_clock() {
            Instant::now()
        } else {
            Instant::from_nanos(0)
        };
        let deadline = sched.absolute_deadline(now);
        let shared = self.shared();
        if let (Some(name), true) = (sched.get_name(), shared.config().record_latency) {
            for m in shared.all_worker_metrics() {
                m.register(name);
            }
        }
        let mut state = PolicyState::new(
            deadline,
            sched.get_priority(),
            sched.get_nice(),
            sched.get_name(),
        );
        if let Some((runtime, period)) = sched.budget_ns() {
            state = state.with_budget(runtime, period);
        }
        self.spawn_state(state, future, at)
    }

    /// The next task id of this runtime: for its own tasks, and for the local tasks of a
    /// `LocalSet` driven inside it, so ids stay unique among everything the runtime runs.
    #[inline]
    pub(crate) fn next_task_id(&self) -> TaskId {
        TaskId(
            self.shared()
                .spawner
                .next_task_id
                .fetch_add(1, Ordering::Relaxed),
        )
    }

    /// Allocates, registers and schedules the task.
    fn spawn_state<F>(
        &self,
        sched: PolicyState,
        future: F,
        at: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let spawner = &self.shared().spawner;
        let id = self.next_task_id();
        event::emit(EventKind::Spawn, || {
            (
                id.0,
                sched.deadline().unwrap_or(0),
                u64::from(sched.priority()),
            )
        });
        if let Some(table) = self.shared().task_table() {
            table.spawned(id.0, at);
        }
        let (registered, notified, join) =
            task::new_task(future, self.clone(), id, spawner.task_allocator, sched);
        match spawner.registry.bind(registered) {
            Ok(()) => super::schedule::schedule(self, notified),
            Err(registered) => {
                // Shut down: the task never runs, its JoinHandle reports it cancelled.
                drop(notified);
                registered.shutdown();
            }
        }
        join
    }
}
