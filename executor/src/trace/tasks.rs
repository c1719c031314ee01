//! The per-task side table of a runtime built with `Builder::track_tasks(true)`: where each
//! live task was spawned, how often it was polled, for how long, and when it was last polled.
//!
//! It lives beside the tasks rather than in their headers so that a runtime that does not ask
//! for it pays nothing per task (no header bytes, no lock, no clock read). When it is on, a
//! spawn inserts an entry, each poll's end (timed, as for the histograms) updates it, and the
//! task's completion removes it. The table is split into shards by task id, each behind its own
//! mutex, so workers rarely contend; `Handle::dump` reads it shard by shard.

use crate::loom::{lock, Mutex};
use std::collections::HashMap;
use std::panic::Location;

/// What the table knows of one task.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TaskStats {
    /// Where it was spawned.
    pub(crate) spawned_at: &'static Location<'static>,
    /// Its polls.
    pub(crate) polls: PollStats,
}

/// A task's polls: from the table, or from a running trace (`session.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PollStats {
    /// Polls so far.
    pub(crate) polls: u64,
    /// Their total duration (ns).
    pub(crate) poll_ns: u64,
    /// When its last poll ended (ns, runtime clock), 0 if never polled.
    pub(crate) last_poll_end: u64,
}

/// Per-task statistics of live tasks.
pub(crate) struct TaskTable {
    /// `shards.len()` is a power of two; task `id` lives in shard `id & mask`.
    shards: Box<[Mutex<HashMap<u64, TaskStats>>]>,
    /// `shards.len() - 1`.
    mask: u64,
}

impl TaskTable {
    /// A table with at least `min_shards` shards.
    pub(crate) fn new(min_shards: usize) -> TaskTable {
        let n = min_shards.max(1).next_power_of_two();
        TaskTable {
            shards: (0..n).map(|_| Mutex::new(HashMap::new())).collect(),
            mask: n as u64 - 1,
        }
    }

    /// Task `id`'s shard.
    fn shard(&self, id: u64) -> &Mutex<HashMap<u64, TaskStats>> {
        &self.shards[(id & self.mask) as usize]
    }

    /// Task `id` was spawned at `at`.
    pub(crate) fn spawned(&self, id: u64, at: &'static Location<'static>) {
        lock(self.shard(id)).insert(
            id,
            TaskStats {
                spawned_at: at,
                polls: PollStats::default(),
            },
        );
    }

    /// A poll of task `id` that took `ran` ns ended at `end`.
    pub(crate) fn polled(&self, id: u64, ran: u64, end: u64) {
        if let Some(s) = lock(self.shard(id)).get_mut(&id) {
            let s = &mut s.polls;
            s.polls += 1;
            s.poll_ns = s.poll_ns.saturating_add(ran);
            s.last_poll_end = end;
        }
    }

    /// Task `id` completed.
    pub(crate) fn remove(&self, id: u64) {
        lock(self.shard(id)).remove(&id);
    }

    /// What the table knows of task `id`.
    pub(crate) fn get(&self, id: u64) -> Option<TaskStats> {
        lock(self.shard(id)).get(&id).copied()
    }
}
