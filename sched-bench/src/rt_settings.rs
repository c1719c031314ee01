//! `micro --pin` and `--worker-priority realtime`: the real-time settings of the kairos runtimes
//! `micro` builds (the throughput rows, `worker_pool`, `periodic`, the kairos rows of
//! `timer_precision`). tokio and the Go peer are never pinned or raised: they have no such
//! setting of their own, which is part of what the comparison shows.
//!
//! - `--pin`: `Builder::pin_workers(true)`, worker `i` on the `i`-th allowed core.
//! - `--worker-priority realtime`: `Builder::worker_priority(WorkerPriority::Realtime(p))`,
//!   `SCHED_FIFO` at `--rt-priority p` (default [`DEFAULT_RT_PRIORITY`]). Without
//!   `CAP_SYS_NICE` (or an `RLIMIT_RTPRIO` of at least `p`) building the runtime fails with
//!   kairos' `BuildError::Priority`, which names what is missing: a benchmark that silently ran at
//!   normal priority would report figures for a setting it did not have.

/// `--rt-priority` default: the middle of SCHED_FIFO's 1..=99, as cyclictest examples use.
pub const DEFAULT_RT_PRIORITY: u8 = 50;

/// `--worker-priority`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum WorkerPriorityArg {
    /// Inherit this process's scheduling class (normally SCHED_OTHER).
    #[default]
    Normal,
    /// SCHED_FIFO at --rt-priority.
    Realtime,
}

/// The real-time settings of the kairos runtimes of one `micro` run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtSettings {
    /// Pin worker `i` to the `i`-th allowed core.
    pub pin: bool,
    /// `Some(p)`: SCHED_FIFO at priority `p`; `None`: normal priority.
    pub fifo_priority: Option<u8>,
}

impl RtSettings {
    /// From the command line: `priority` is `--worker-priority`, `rt_priority` `--rt-priority`.
    pub fn new(pin: bool, priority: WorkerPriorityArg, rt_priority: u8) -> RtSettings {
        RtSettings {
            pin,
            fifo_priority: (priority == WorkerPriorityArg::Realtime).then_some(rt_priority),
        }
    }

    /// `builder` with these settings (unchanged for the defaults).
    pub fn apply(self, mut builder: kairos::Builder) -> kairos::Builder {
        if self.pin {
            builder = builder.pin_workers(true);
        }
        if let Some(p) = self.fifo_priority {
            builder = builder.worker_priority(kairos::WorkerPriority::Realtime(p));
        }
        builder
    }

    /// Whether anything differs from the defaults.
    pub fn is_default(self) -> bool {
        self == RtSettings::default()
    }

    /// For labels and reports: `normal`, `pinned`, `SCHED_FIFO 50`, `pinned, SCHED_FIFO 50`.
    pub fn describe(self) -> String {
        match (self.pin, self.fifo_priority) {
            (false, None) => "normal".to_owned(),
            (true, None) => "pinned".to_owned(),
            (false, Some(p)) => format!("SCHED_FIFO {p}"),
            (true, Some(p)) => format!("pinned, SCHED_FIFO {p}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{RtSettings, WorkerPriorityArg};

    #[test]
    fn realtime_takes_the_rt_priority_and_normal_ignores_it() {
        let rt = RtSettings::new(true, WorkerPriorityArg::Realtime, 70);
        assert_eq!(rt.fifo_priority, Some(70));
        assert_eq!(rt.describe(), "pinned, SCHED_FIFO 70");
        let normal = RtSettings::new(false, WorkerPriorityArg::Normal, 70);
        assert!(normal.is_default());
        assert_eq!(normal.describe(), "normal");
    }
}
