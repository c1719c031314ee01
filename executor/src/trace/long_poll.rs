//! Long-poll detection (`Builder::long_poll`): every poll longer than a threshold is reported
//! to the user's callback with the task's id, name and spawn location, so the blocking call
//! that ruins a latency budget is found while the runtime runs.
//!
//! The threshold sits in the runtime's policy configuration (a plain `u64`, compared with each
//! timed poll's duration on the worker's accounting path); the callback sits here, behind a
//! mutex that is locked only when a poll was long.

use crate::loom::{lock, Mutex};
// std's `Arc`: it holds a `dyn Fn`, which loom's `Arc` cannot; it only shares ownership.
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

/// The user's callback.
pub(crate) type Callback = Arc<dyn Fn(&LongPoll) + Send + Sync>;

/// The callback as the builder holds it (`Debug` for the builder's).
#[derive(Clone)]
pub(crate) struct Hook(pub(crate) Callback);

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<long-poll callback>")
    }
}

/// One poll that took longer than the threshold of [`Builder::long_poll`](crate::Builder::long_poll).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LongPoll {
    /// The task's id number.
    pub task: u64,
    /// Its name (`Sched::name`).
    pub name: Option<&'static str>,
    /// Where it was spawned.
    pub spawned_at: Option<&'static Location<'static>>,
    /// How long the poll took.
    pub duration: Duration,
    /// The worker that ran it.
    pub worker: usize,
}

impl fmt::Display for LongPoll {
    /// `long poll: task 7 "name" spawned at src/main.rs:10:5 ran 51.2 ms on worker 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "long poll: task {}", self.task)?;
        if let Some(name) = self.name {
            write!(f, " {name:?}")?;
        }
        if let Some(at) = self.spawned_at {
            write!(f, " spawned at {at}")?;
        }
        write!(
            f,
            " ran {:.1} ms on worker {}",
            self.duration.as_secs_f64() * 1e3,
            self.worker
        )
    }
}

/// Where the callback is kept.
#[derive(Default)]
pub(crate) struct Reporter {
    /// The callback, if one was configured.
    callback: Mutex<Option<Callback>>,
}

impl Reporter {
    /// Sets the callback (at build, before any worker runs).
    pub(crate) fn set(&self, callback: Callback) {
        *lock(&self.callback) = Some(callback);
    }

    /// Reports `poll` (cold: only long polls come here).
    #[cold]
    pub(crate) fn report(&self, poll: &LongPoll) {
        let callback = lock(&self.callback).clone();
        if let Some(callback) = callback {
            callback(poll);
        }
    }
}
