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
//! - `--cpu-latency-qos`: Linux's CPU latency QoS held at 0 µs (`/dev/cpu_dma_latency`) for the
//!   whole run ([`RtSettings::hold_cpu_latency_qos`]: every row, kernel threads, tokio and Go
//!   included, since the kernel applies it to every CPU), and by every kairos runtime
//!   (`Builder::cpu_latency_qos`, the product's way to ask for it). cyclictest holds that
//!   request by default; without the flag `timer_precision` runs it with `--laptop`, so that
//!   its row and the others run under the same power management.

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
    /// Hold the CPU latency QoS at 0 µs.
    pub cpu_latency_qos: bool,
}

impl RtSettings {
    /// From the command line: `priority` is `--worker-priority`, `rt_priority` `--rt-priority`,
    /// `cpu_latency_qos` `--cpu-latency-qos`.
    pub fn new(
        pin: bool,
        priority: WorkerPriorityArg,
        rt_priority: u8,
        cpu_latency_qos: bool,
    ) -> RtSettings {
        RtSettings {
            pin,
            fifo_priority: (priority == WorkerPriorityArg::Realtime).then_some(rt_priority),
            cpu_latency_qos,
        }
    }

    /// With `--cpu-latency-qos`: asks the kernel to keep every CPU's wake-up from idle at 0 µs
    /// until the returned request is dropped (for the whole run). `Err` says what is missing.
    pub fn hold_cpu_latency_qos(self) -> Result<Option<kairos::CpuLatencyQos>, String> {
        if !self.cpu_latency_qos {
            return Ok(None);
        }
        kairos::CpuLatencyQos::hold(std::time::Duration::ZERO)
            .map(Some)
            .map_err(|e| format!("--cpu-latency-qos: /dev/cpu_dma_latency: {e} (needs root)"))
    }

    /// `builder` with these settings (unchanged for the defaults).
    pub fn apply(self, mut builder: kairos::Builder) -> kairos::Builder {
        if self.pin {
            builder = builder.pin_workers(true);
        }
        if let Some(p) = self.fifo_priority {
            builder = builder.worker_priority(kairos::WorkerPriority::Realtime(p));
        }
        if self.cpu_latency_qos {
            builder = builder.cpu_latency_qos(std::time::Duration::ZERO);
        }
        builder
    }

    /// Whether anything differs from the defaults.
    pub fn is_default(self) -> bool {
        self == RtSettings::default()
    }

    /// For labels and reports: `normal`, `pinned`, `SCHED_FIFO 50`, `pinned, SCHED_FIFO 50`,
    /// each with `, QoS 0` under `--cpu-latency-qos`.
    pub fn describe(self) -> String {
        let base = match (self.pin, self.fifo_priority) {
            (false, None) => "normal".to_owned(),
            (true, None) => "pinned".to_owned(),
            (false, Some(p)) => format!("SCHED_FIFO {p}"),
            (true, Some(p)) => format!("pinned, SCHED_FIFO {p}"),
        };
        if self.cpu_latency_qos {
            format!("{base}, QoS 0")
        } else {
            base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{RtSettings, WorkerPriorityArg};

    #[test]
    fn realtime_takes_the_rt_priority_and_normal_ignores_it() {
        let rt = RtSettings::new(true, WorkerPriorityArg::Realtime, 70, false);
        assert_eq!(rt.fifo_priority, Some(70));
        assert_eq!(rt.describe(), "pinned, SCHED_FIFO 70");
        let normal = RtSettings::new(false, WorkerPriorityArg::Normal, 70, false);
        assert!(normal.is_default());
        assert_eq!(normal.describe(), "normal");
    }

    #[test]
    fn the_cpu_latency_qos_shows_in_the_label() {
        let qos = RtSettings::new(false, WorkerPriorityArg::Realtime, 50, true);
        assert!(!qos.is_default());
        assert_eq!(qos.describe(), "SCHED_FIFO 50, QoS 0");
        assert!(RtSettings::default()
            .hold_cpu_latency_qos()
            .unwrap()
            .is_none());
    }
}
