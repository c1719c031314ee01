//! What a worker thread does to itself before it runs tasks: pin to a core, set its OS
//! scheduling priority.
//!
//! Each worker applies its own setup (affinity and priority are per-thread attributes, set by
//! the thread itself) and reports the outcome to `Builder::build`, which waits for every report,
//! so a failure is a `BuildError` from `build()`, not a silent degradation. With
//! `best_effort_priority(true)`, a priority that cannot be applied is reported as a warning on
//! stderr and the worker runs at normal priority.
//!
//! # Real-time priority and starvation
//!
//! A `SCHED_FIFO` thread runs until it blocks or yields; nothing of lower priority, including
//! the rest of the machine, runs on its core meanwhile. kairos workers block when idle: after
//! `spin_rounds` search rounds they park in the kernel. A task that computes without awaiting
//! keeps its worker, and so the core, busy. Linux's real-time throttling
//! (`/proc/sys/kernel/sched_rt_runtime_us`, by default 950000 of every 1000000 µs) still leaves
//! 5% of each second to other threads, which keeps a runaway machine reachable.

use std::fmt;
use std::io;

/// OS scheduling priority of the worker threads.
///
/// ```
/// use kairos::WorkerPriority;
/// let rt = kairos::Runtime::builder()
///     .worker_priority(WorkerPriority::Realtime(50))
///     .best_effort_priority(true) // without CAP_SYS_NICE: warn and run at normal priority
///     .build()
///     .unwrap();
/// # drop(rt);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WorkerPriority {
    /// Inherit the creating thread's policy and nice value.
    #[default]
    Normal,
    /// `SCHED_OTHER` with this nice value (-20 highest .. 19 lowest). Negative values need
    /// `CAP_SYS_NICE` (or `RLIMIT_NICE`).
    Nice(i8),
    /// `SCHED_FIFO` at this priority (1 lowest .. 99 highest). Needs `CAP_SYS_NICE` (or a
    /// sufficient `RLIMIT_RTPRIO`).
    Realtime(u8),
}

impl fmt::Display for WorkerPriority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerPriority::Normal => f.write_str("normal priority"),
            WorkerPriority::Nice(n) => write!(f, "nice {n}"),
            WorkerPriority::Realtime(p) => write!(f, "SCHED_FIFO priority {p}"),
        }
    }
}

impl WorkerPriority {
    /// Range check, done in `build()` before any thread starts.
    pub(crate) fn validate(self) -> Result<(), &'static str> {
        match self {
            WorkerPriority::Normal => Ok(()),
            WorkerPriority::Nice(n) if (-20..=19).contains(&n) => Ok(()),
            WorkerPriority::Nice(_) => Err("nice values range from -20 to 19"),
            WorkerPriority::Realtime(p) if (1..=99).contains(&p) => Ok(()),
            WorkerPriority::Realtime(_) => Err("SCHED_FIFO priorities range from 1 to 99"),
        }
    }
}

/// What one worker applies to itself.
#[derive(Clone, Debug)]
pub(crate) struct ThreadSetup {
    /// Core to pin to (an id from the OS core list), if pinning.
    pub(crate) core: Option<usize>,
    /// OS priority.
    pub(crate) priority: WorkerPriority,
    /// Downgrade a priority failure to a warning.
    pub(crate) best_effort: bool,
}

/// Why a worker's setup failed.
#[derive(Debug)]
pub(crate) enum SetupError {
    /// `sched_setaffinity` refused the core.
    Pin { core: usize },
    /// The priority could not be set.
    Priority {
        priority: WorkerPriority,
        source: io::Error,
    },
}

/// The core ids the OS lets this process run on.
pub(crate) fn available_cores() -> Option<Vec<usize>> {
    core_affinity::get_core_ids().map(|ids| ids.into_iter().map(|c| c.id).collect())
}

/// Applies `setup` to the calling thread.
pub(crate) fn apply(setup: &ThreadSetup) -> Result<(), SetupError> {
    if let Some(core) = setup.core {
        if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
            return Err(SetupError::Pin { core });
        }
    }
    match set_priority(setup.priority) {
        Ok(()) => Ok(()),
        Err(source) if setup.best_effort => {
            eprintln!(
                "kairos: warning: could not set {} on worker thread {:?} ({source}); running at \
                 normal priority (best_effort_priority is on)",
                setup.priority,
                std::thread::current().name().unwrap_or("?"),
            );
            Ok(())
        }
        Err(source) => Err(SetupError::Priority {
            priority: setup.priority,
            source,
        }),
    }
}

#[cfg(target_os = "linux")]
fn set_priority(priority: WorkerPriority) -> io::Result<()> {
    use thread_priority::unix::{
        set_thread_priority_and_policy, thread_native_id, RealtimeThreadSchedulePolicy,
        ThreadSchedulePolicy,
    };
    use thread_priority::{ThreadPriority, ThreadPriorityValue};
    match priority {
        WorkerPriority::Normal => Ok(()),
        WorkerPriority::Nice(nice) => {
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            // Per-thread on Linux: PRIO_PROCESS with a thread id sets that thread's nice value.
            // SAFETY: plain syscall on our own thread id.
            let rc =
                unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice.into()) };
            if rc == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        }
        WorkerPriority::Realtime(prio) => {
            let value = ThreadPriorityValue::try_from(prio)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            set_thread_priority_and_policy(
                thread_native_id(),
                ThreadPriority::Crossplatform(value),
                ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
            )
            .map_err(|e| match e {
                thread_priority::Error::OS(code) => io::Error::from_raw_os_error(code),
                other => io::Error::other(other.to_string()),
            })
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn set_priority(priority: WorkerPriority) -> io::Result<()> {
    match priority {
        WorkerPriority::Normal => Ok(()),
        _ => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "worker priorities are implemented for Linux only",
        )),
    }
}

/// Whether the OS lets this process's threads run at `priority`: a short-lived thread sets it
/// on itself and exits (the calling thread keeps its own). `Builder::preemptive_classes` asks
/// before it starts any worker.
pub(crate) fn probe(priority: WorkerPriority) -> io::Result<()> {
    std::thread::Builder::new()
        .name("kairos-probe".into())
        .spawn(move || set_priority(priority))?
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the priority probe thread panicked")))
}

/// What a failed priority change needs, for the error message.
pub(crate) fn missing_privilege(priority: WorkerPriority) -> &'static str {
    match priority {
        WorkerPriority::Realtime(_) => "CAP_SYS_NICE (or an RLIMIT_RTPRIO at least this priority)",
        WorkerPriority::Nice(_) => "CAP_SYS_NICE (or an RLIMIT_NICE allowing this nice value)",
        WorkerPriority::Normal => "nothing",
    }
}
