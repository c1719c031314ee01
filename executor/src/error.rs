//! Errors of building and shutting down a runtime.

use crate::policy::Policy;
use crate::runtime::WorkerPriority;
use std::time::Duration;

/// Why [`Builder::build`](crate::Builder::build) failed.
///
/// ```
/// let err = kairos::Runtime::builder().workers(0).build().unwrap_err();
/// assert!(err.to_string().contains("at least one worker"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// `workers(0)`.
    #[error(
        "a runtime needs at least one worker thread: use Builder::workers(n) with n >= 1, or \
         leave it unset for one worker per available core"
    )]
    NoWorkers,
    /// More workers than the runtime supports.
    #[error("{requested} workers requested, but a runtime supports at most {max}: use fewer")]
    TooManyWorkers {
        /// The number asked for.
        requested: usize,
        /// The limit.
        max: usize,
    },
    /// Admission control was asked for under a policy that has no sound schedulability test.
    #[error(
        "admission control needs a deadline-aware policy, and {policy} has no sound \
         schedulability test: use Policy::Edf, Policy::Priority or Policy::Classes, or turn admission \
         control off"
    )]
    AdmissionUnsupported {
        /// The policy asked for.
        policy: Policy,
    },
    /// `Builder::lock_memory(true)`: the OS refused to lock the process's memory.
    #[error(
        "Builder::lock_memory: mlockall(MCL_CURRENT | MCL_FUTURE) was refused: {reason}; the \
         memory lock limit (RLIMIT_MEMLOCK) is {limit}. Raise it (`ulimit -l unlimited`, \
         `LimitMEMLOCK=infinity` under systemd, `--ulimit memlock=-1` for a container) or give the \
         process CAP_IPC_LOCK, or build without lock_memory"
    )]
    #[non_exhaustive]
    LockMemory {
        /// The OS error, as text (`ENOMEM`, `EPERM`, or "not supported on this platform").
        reason: String,
        /// The soft memory lock limit as text: a byte count, `unlimited`, or `unknown`.
        limit: String,
        /// The OS error number (0 when not supported).
        errno: i32,
    },
    /// `Builder::cpu_latency_qos`: the CPU latency request could not be made.
    #[error(
        "Builder::cpu_latency_qos: cannot request the CPU latency bound through \
         /dev/cpu_dma_latency: {reason}. Writing it needs root (or a udev rule that grants the \
         device to this user); or build without cpu_latency_qos"
    )]
    #[non_exhaustive]
    CpuLatencyQos {
        /// The OS error, as text.
        reason: String,
    },
    /// A scheduling parameter of the builder is out of range.
    #[error("invalid {parameter}: {reason}")]
    InvalidParameter {
        /// Which builder method.
        parameter: &'static str,
        /// What is wrong and what to use instead.
        reason: &'static str,
    },
    /// A worker priority outside its range.
    #[error("invalid worker priority {priority}: {reason}")]
    InvalidPriority {
        /// The priority asked for.
        priority: WorkerPriority,
        /// The valid range.
        reason: &'static str,
    },
    /// The OS did not report which cores the process may use, so workers cannot be pinned.
    #[error(
        "cannot pin workers: the OS did not report the cores this process may run on \
         (sched_getaffinity failed); build without pin_workers / pin_to"
    )]
    CoreListUnavailable,
    /// `pin_to` named a core the process may not run on.
    #[error(
        "cannot pin a worker to core {core}: the process may run on cores {available:?} only \
         (see taskset / cgroup cpusets); pick cores from that list"
    )]
    NoSuchCore {
        /// The core asked for.
        core: usize,
        /// The cores available.
        available: Vec<usize>,
    },
    /// `pin_to` was given an empty core list.
    #[error("pin_to needs at least one core")]
    NoCores,
    /// The OS refused to pin a worker.
    #[error(
        "could not pin worker {worker} to core {core} (sched_setaffinity failed); check that \
         the core is online and allowed for this process"
    )]
    Pin {
        /// Which worker.
        worker: usize,
        /// The core.
        core: usize,
    },
    /// [`Builder::preemptive_classes`](crate::Builder::preemptive_classes) needs `SCHED_FIFO`
    /// threads for the deadline and priority classes, and the OS refused them (a probe thread
    /// asked before any worker started).
    #[error(
        "preemptive_classes needs SCHED_FIFO priority {priority} for the deadline class's \
         threads, and the OS refused it: {source}. This needs CAP_SYS_NICE (or an RLIMIT_RTPRIO \
         of at least {priority}): run as root or grant it (e.g. `setcap cap_sys_nice+ep \
         <binary>`), or call Builder::best_effort_priority(true) to fall back to cooperative \
         classes with a warning"
    )]
    PreemptiveClasses {
        /// The `SCHED_FIFO` priority the deadline class's threads need.
        priority: u8,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The OS refused a worker's scheduling priority.
    #[error(
        "could not set {priority} on worker {worker}: {source}. This needs {missing}: run as \
         root or grant it (e.g. `setcap cap_sys_nice+ep <binary>`), or call \
         Builder::best_effort_priority(true) to run at normal priority with a warning"
    )]
    Priority {
        /// Which worker.
        worker: usize,
        /// The priority asked for.
        priority: WorkerPriority,
        /// What is missing.
        missing: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The OS refused to start a worker thread.
    #[error(
        "could not start worker thread {index}: {source} (check the process thread limit, \
         `ulimit -u`, and free memory)"
    )]
    SpawnWorker {
        /// Which worker.
        index: usize,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// [`Runtime::shutdown_timeout`](crate::Runtime::shutdown_timeout) gave up waiting.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// assert!(rt.shutdown_timeout(std::time::Duration::from_secs(5)).is_ok());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShutdownError {
    /// Some workers were still inside a task's `poll` when the timeout expired. Each finishes
    /// that poll on its detached thread: a poll that returns `Ready` completes the task (its
    /// `JoinHandle` resolves to the output), one that returns `Pending` cancels it.
    #[error(
        "{stuck} worker thread(s) were still polling a task when the {timeout:?} shutdown \
         timeout expired; those threads were detached; each finishes its poll, keeping the \
         output if the poll completes the task and cancelling the task otherwise. A poll that never returns blocks its worker: make long computations \
         yield (kairos::yield_now)"
    )]
    TimedOut {
        /// Workers that had not stopped.
        stuck: usize,
        /// The timeout that expired.
        timeout: Duration,
    },
}
