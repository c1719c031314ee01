//! The task dump: every live task of a runtime, its state and its scheduling parameters
//! (`Handle::dump`), as a goroutine dump shows a Go program's goroutines.
//!
//! The dump walks the runtime's registry of live tasks (`task/registry.rs`) shard by shard, each
//! under its lock, so it can be taken from any thread while the runtime runs; each task's state
//! is one load of its state word, so a task may change state right after it was read.
//!
//! The fields that need a clock read per poll (polls, their total time, time since the last
//! one) are filled only while something records poll times, so that a runtime that records
//! none reads no extra clock per poll: from the side table (`tasks.rs`) of a runtime built with
//! `Builder::track_tasks(true)` (or `long_poll`), which also holds spawn locations; else, while a
//! trace runs, from the trace's buffers (the polls since the trace started, the poll start and
//! end stamps it records anyway); else they are `None`. The latency histograms
//! (`Builder::record_latency`) time polls too, but per task name, not per task: filling a
//! per-task record from them would add a lock per poll to every `Edf`, `Priority` and `Fair`
//! runtime (where they are on by default), so they do not fill these fields.

use super::tasks::{PollStats, TaskTable};
use crate::task::policy_state::UNPLACED;
use crate::task::Header;
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::time::Duration;

/// What a task is doing, as far as the scheduler knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting to be woken (its future returned `Pending`, nobody woke it since).
    Idle,
    /// Runnable: queued, waiting for a worker.
    Scheduled,
    /// Being polled by a worker right now.
    Running,
    /// Finished (completed, panicked or cancelled), not yet removed from the registry.
    Complete,
}

impl TaskState {
    /// The state's name as the dump writes it.
    ///
    /// ```
    /// assert_eq!(kairos::trace::TaskState::Scheduled.name(), "scheduled");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Idle => "idle",
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
            TaskState::Complete => "complete",
        }
    }
}

/// One live task of a [`TaskDump`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskInfo {
    /// The task's id number (spawn order within its runtime).
    pub id: u64,
    /// Its name (`Sched::name`).
    pub name: Option<&'static str>,
    /// What it is doing.
    pub state: TaskState,
    /// Its absolute deadline (ns on the runtime clock, `kairos::time::Instant::as_nanos`).
    pub deadline: Option<u64>,
    /// Its priority (0 lowest).
    pub priority: u8,
    /// Its nice value.
    pub nice: i8,
    /// Its virtual runtime under `Fair`, once placed on a queue.
    pub vruntime: Option<u64>,
    /// Polls so far (with `Builder::track_tasks`), or since the running trace started (without
    /// it, while a trace runs); `None` while nothing records poll times.
    pub polls: Option<u64>,
    /// Their total duration (as `polls`).
    pub poll_time: Option<Duration>,
    /// Time since its last poll ended, if it was polled (as `polls`).
    pub since_last_poll: Option<Duration>,
    /// Where it was spawned (`Builder::track_tasks`).
    pub spawned_at: Option<&'static Location<'static>>,
}

/// Every live task of a runtime at one moment ([`Handle::dump`](crate::Handle::dump)).
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).track_tasks(true).build().unwrap();
/// let pending = rt.spawn_with(kairos::Sched::default().name("waiter"), std::future::pending::<()>());
/// let dump = rt.dump();
/// let task = dump.tasks().iter().find(|t| t.name == Some("waiter")).unwrap();
/// assert!(task.spawned_at.unwrap().file().ends_with(".rs"));
/// println!("{dump}");
/// # drop(pending);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskDump {
    /// Sorted by id.
    tasks: Vec<TaskInfo>,
}

impl TaskDump {
    /// A dump of `tasks` (any order).
    pub(crate) fn new(mut tasks: Vec<TaskInfo>) -> TaskDump {
        tasks.sort_by_key(|t| t.id);
        TaskDump { tasks }
    }

    /// The live tasks, by id.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// assert!(rt.dump().tasks().is_empty());
    /// ```
    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }
}

/// Where a dump's poll statistics come from (see the module docs).
pub(crate) enum PollSource<'a> {
    /// The runtime's task table (`Builder::track_tasks`).
    Table(&'a TaskTable),
    /// The running trace's buffers, by task id.
    Trace(HashMap<u64, PollStats>),
    /// Nothing records poll times.
    None,
}

/// The dump entry of the live task `header` at time `now` (ns).
pub(crate) fn task_info(header: &Header, source: &PollSource<'_>, now: u64) -> TaskInfo {
    let s = header.state.load();
    let state = if s.is_complete() {
        TaskState::Complete
    } else if s.is_running() {
        TaskState::Running
    } else if s.is_notified() {
        TaskState::Scheduled
    } else {
        TaskState::Idle
    };
    let p = &header.policy;
    let id = header.id.0;
    let (stats, spawned_at) = match source {
        PollSource::Table(table) => match table.get(id) {
            Some(s) => (Some(s.polls), Some(s.spawned_at)),
            None => (None, None),
        },
        // A task the trace saw no poll of was not polled since it started.
        PollSource::Trace(polls) => (Some(polls.get(&id).copied().unwrap_or_default()), None),
        PollSource::None => (None, None),
    };
    let vruntime = p.vruntime();
    TaskInfo {
        id: header.id.0,
        name: p.name(),
        state,
        deadline: p.deadline(),
        priority: p.priority(),
        nice: p.nice(),
        vruntime: (vruntime != UNPLACED).then_some(vruntime),
        polls: stats.map(|s| s.polls),
        poll_time: stats.map(|s| Duration::from_nanos(s.poll_ns)),
        since_last_poll: stats
            .filter(|s| s.last_poll_end != 0)
            .map(|s| Duration::from_nanos(now.saturating_sub(s.last_poll_end))),
        spawned_at,
    }
}

/// `d` in a short human unit.
fn short(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{:.1}us", ns as f64 / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.1}ms", ns as f64 / 1e6)
    } else {
        format!("{:.2}s", ns as f64 / 1e9)
    }
}

impl fmt::Display for TaskDump {
    /// A table, one task a line: id, state, name, deadline, priority, nice, vruntime, polls,
    /// poll time, time since the last poll, spawn location (`-`: unknown or none).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} live task(s)", self.tasks.len())?;
        writeln!(
            f,
            "{:>6}  {:<9}  {:<16}  {:>14}  {:>4}  {:>4}  {:>10}  {:>7}  {:>9}  {:>9}  spawned at",
            "id",
            "state",
            "name",
            "deadline_ns",
            "prio",
            "nice",
            "vruntime",
            "polls",
            "poll time",
            "idle for"
        )?;
        let dash = || "-".to_owned();
        for t in &self.tasks {
            writeln!(
                f,
                "{:>6}  {:<9}  {:<16}  {:>14}  {:>4}  {:>4}  {:>10}  {:>7}  {:>9}  {:>9}  {}",
                t.id,
                t.state.name(),
                t.name.unwrap_or("-"),
                t.deadline.map_or_else(dash, |d| d.to_string()),
                t.priority,
                t.nice,
                t.vruntime.map_or_else(dash, |v| v.to_string()),
                t.polls.map_or_else(dash, |p| p.to_string()),
                t.poll_time.map_or_else(dash, short),
                t.since_last_poll.map_or_else(dash, short),
                t.spawned_at.map_or_else(dash, |l| l.to_string()),
            )?;
        }
        Ok(())
    }
}
