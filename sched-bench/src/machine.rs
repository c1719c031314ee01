//! How busy the machine was with *other* processes while a benchmark ran.
//!
//! A scheduler benchmark on a shared 2-core machine is only as good as the cores it actually
//! got: a concurrent compile takes a core away and every number moves. So each command samples
//! the kernel's CPU accounting before and after its run and reports the share of the machine's
//! CPU time that went to other processes; results taken with a high share should be rerun.
//!
//! Linux only (`/proc/stat` for the whole machine, `/proc/self/stat` for this process, both in
//! clock ticks, usually 10 ms). Elsewhere, or if `/proc` is unreadable, there is no report.

/// CPU time counters at one instant, in clock ticks.
#[derive(Clone, Copy, Debug)]
pub struct CpuSample {
    /// All CPUs, every state.
    total: u64,
    /// All CPUs, idle or waiting for I/O.
    idle: u64,
    /// This process, user + system.
    own: u64,
}

impl CpuSample {
    /// Reads the counters now; `None` where `/proc` is not available.
    pub fn now() -> Option<CpuSample> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
        // user nice system idle iowait irq softirq steal (guest time is already in user).
        let fields: Vec<u64> = cpu
            .split_whitespace()
            .take(8)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        if fields.len() < 5 {
            return None;
        }
        let own_stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may contain spaces, hence the last ')'):
        // state is field 3, utime field 14, stime field 15.
        let rest = &own_stat[own_stat.rfind(')')? + 1..];
        let mut own_fields = rest.split_whitespace().skip(11);
        let utime: u64 = own_fields.next()?.parse().ok()?;
        let stime: u64 = own_fields.next()?.parse().ok()?;
        Some(CpuSample {
            total: fields.iter().sum(),
            idle: fields[3] + fields[4],
            own: utime + stime,
        })
    }

    /// Share (0..=1) of all CPU time between `earlier` and `self` that other processes (and the
    /// kernel on their behalf) used; `None` if too little time passed to tell.
    pub fn others_share_since(&self, earlier: &CpuSample) -> Option<f64> {
        let total = self.total.checked_sub(earlier.total)?;
        if total < 10 {
            return None;
        }
        let busy = total.saturating_sub(self.idle.saturating_sub(earlier.idle));
        let others = busy.saturating_sub(self.own.saturating_sub(earlier.own));
        Some(others as f64 / total as f64)
    }
}

/// Formats the report line for a run that started at `start` (a sample taken then).
pub fn busy_note(start: Option<CpuSample>) -> Option<String> {
    let share = CpuSample::now()?.others_share_since(&start?)?;
    Some(share_note(share))
}

/// The line for a share of `share` (a fraction), with a warning above 10%.
fn share_note(share: f64) -> String {
    let hint = if share > 0.10 {
        "; shared machine, rerun on a quiet one to trust these numbers"
    } else {
        ""
    };
    format!(
        "other processes used {:.0}% of the CPU during this run{hint}",
        share * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::{share_note, CpuSample};

    #[test]
    fn the_note_fits_120_columns_and_warns_above_10_percent() {
        let busy = share_note(1.0);
        assert!(busy.chars().count() <= 120, "{busy}");
        assert!(busy.contains("quiet"), "{busy}");
        assert!(!share_note(0.05).contains("quiet"));
    }

    #[test]
    fn share_is_a_fraction() {
        let a = CpuSample {
            total: 1000,
            idle: 500,
            own: 100,
        };
        let b = CpuSample {
            total: 1200,
            idle: 550,
            own: 200,
        };
        // 200 ticks: 50 idle, 100 ours, 50 others.
        assert_eq!(b.others_share_since(&a), Some(0.25));
        assert_eq!(a.others_share_since(&a), None);
    }

    #[test]
    fn reads_proc_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(CpuSample::now().is_some());
        }
    }
}
