//! `Exec`: the one interface every benchmark is written against, so the same code runs on kairos
//! and on tokio.
//!
//! A benchmark is a generic `async` function over `E: Exec`: it spawns with [`Exec::spawn`],
//! yields with [`Exec::yield_now`], and awaits [`Exec::Join`] handles. Both calls are static
//! (like `kairos::spawn` / `tokio::spawn`): they use the runtime the calling task runs on. The
//! driver side — building the runtime, entering it, reading its counters, shutting it down —
//! is on the value.
//!
//! Join handles are wrapped only to give both runtimes the same error type; the wrapper is a
//! field-less `map_err` around the runtime's own handle, so it costs nothing per spawn.

use crate::error::{BenchError, TaskFailed};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// How long shutdown may wait for workers still inside a poll. The benchmarks leave no task
/// running, so shutdown normally takes microseconds; reaching this means a stuck task.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// An async runtime the benchmarks can drive.
pub trait Exec: Sized + 'static {
    /// The runtime's join handle, yielding the task's output or why it has none.
    type Join<T: Send + 'static>: Future<Output = Result<T, TaskFailed>> + Send + Unpin + 'static;

    /// Spawns `future` on the runtime the caller runs on (from a task: its worker's queue).
    fn spawn<F>(future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns `future` like [`Exec::spawn`], with scheduling parameters for runtimes that have
    /// them (kairos: [`kairos::spawn_with`]; each policy reads its own parameter). The default
    /// ignores them (tokio has no per-task parameters).
    fn spawn_with<F>(params: SpawnParams, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let _ = params;
        Self::spawn(future)
    }

    /// Yields to the runtime's scheduler once.
    fn yield_now() -> impl Future<Output = ()> + Send;

    /// Asks the runtime whether the running task should yield now, for a task that is about to
    /// yield anyway: on kairos this is [`kairos::task::should_yield`], whose first `true` in a
    /// poll counts as a cooperative preemption in kairos' metrics (so a task that yields after
    /// every slice still shows how often the runtime wanted the worker back). Default: nothing
    /// (tokio has no such request).
    fn note_preemption_check() {}

    /// Runs `future` to completion with this runtime as the context. Benchmarks spawn one root
    /// task from here and measure inside it, so the measured code runs on a worker thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Label for tables and reports, e.g. `kairos-fifo`.
    fn label(&self) -> String;

    /// The runtime's scheduler counters, where it exposes them (kairos does, tokio's stable API
    /// does not).
    fn counters(&self) -> Option<Counters>;

    /// Cooperative preemptions so far of the tasks spawned with this name
    /// ([`SpawnParams::name`]), where the runtime counts them per name (kairos'
    /// `Metrics::by_name`); `None` elsewhere.
    fn preemptions_of(&self, name: &'static str) -> Option<u64> {
        let _ = name;
        None
    }

    /// Stops the workers, waiting at most a bounded time for a stuck one.
    ///
    /// # Errors
    /// [`BenchError::Shutdown`] if a worker was still inside a poll at the timeout.
    fn shutdown(self) -> Result<(), BenchError>;
}

/// Per-task scheduling parameters for [`Exec::spawn_with`]; the defaults are what a plain
/// spawn gets (priority 0, nice 0, no name).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpawnParams {
    /// kairos `Priority`: 0 lowest, 255 highest.
    pub priority: u8,
    /// kairos `Fair`: -20 ..= 19.
    pub nice: i8,
    /// kairos per-name metrics (`Metrics::by_name`).
    pub name: Option<&'static str>,
}

/// The scheduler counters of a kairos runtime (from [`kairos::Metrics`]), cumulative since the
/// runtime started. Subtract two snapshots to get what one run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Task polls.
    pub polls: u64,
    /// Successful steals (each moves a batch of tasks).
    pub steals: u64,
    /// Times a worker parked (went to sleep on its condvar) for lack of work.
    pub parks: u64,
    /// Cooperative preemptions: yields the runtime asked for and a task saw, at most one per
    /// poll (`Metrics::preemptions`).
    pub preemptions: u64,
}

impl Counters {
    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: Counters) -> Counters {
        Counters {
            polls: self.polls.saturating_sub(earlier.polls),
            steals: self.steals.saturating_sub(earlier.steals),
            parks: self.parks.saturating_sub(earlier.parks),
            preemptions: self.preemptions.saturating_sub(earlier.preemptions),
        }
    }
}

/// A kairos runtime with some policy.
#[derive(Debug)]
pub struct Kairos {
    rt: kairos::Runtime,
    policy: kairos::Policy,
    mode: KairosMode,
    /// Whether the workload-file runner runs plain periodic tasks as kairos' own periodic tasks
    /// (`Runtime::spawn_periodic`, the default) rather than its generic job loop
    /// ([`Kairos::task_loops`]).
    native_periodic: bool,
}

/// What a kairos backend sets on its runtime besides the policy: the one place a backend that
/// is a policy plus builder settings plugs in. Every kairos runtime of `compare` (batch rows,
/// periodic built-ins, workload files) is built through [`KairosMode::tune`] and labelled
/// through [`kairos_backend_label`].
///
/// A new mode is a variant here: its label suffix in [`KairosMode::suffix`], its builder call in
/// [`KairosMode::tune`], its name in `crate::backend::NAMES` and `Backend::from_str`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KairosMode {
    /// Cooperative: a task gives its worker back only at its own yield points.
    #[default]
    Cooperative,
    /// Preemptive classes (`Builder::preemptive_classes`, `Policy::Classes` only): one group of
    /// worker threads per class at OS priorities, so the kernel preempts a fair task's poll for
    /// a deadline or priority task. Needs CAP_SYS_NICE; without it the runtime is not built and
    /// the backend's rows report the build error.
    Preemptive,
}

impl KairosMode {
    /// What the mode adds to the backend label (`kairos-<policy><suffix>`).
    pub fn suffix(self) -> &'static str {
        match self {
            KairosMode::Cooperative => "",
            KairosMode::Preemptive => "-preemptive",
        }
    }

    /// The builder settings of the mode, applied after workers, policy and thread name.
    pub fn tune(self, builder: kairos::Builder) -> kairos::Builder {
        match self {
            KairosMode::Cooperative => builder,
            KairosMode::Preemptive => builder.preemptive_classes(true),
        }
    }
}

/// `kairos-fifo`, `kairos-classes`, ...: the label of the kairos backend `policy` + `mode`.
pub fn kairos_backend_label(policy: kairos::Policy, mode: KairosMode) -> String {
    format!("{}{}", kairos_label(policy), mode.suffix())
}

impl Kairos {
    /// Builds a kairos runtime with `workers` workers under `policy`, with `tune` applied to the
    /// builder last (any other setting, e.g. `spin_rounds`).
    ///
    /// # Errors
    /// [`BenchError::Build`] with kairos' message.
    pub fn tuned(
        workers: usize,
        policy: kairos::Policy,
        tune: impl FnOnce(kairos::Builder) -> kairos::Builder,
    ) -> Result<Kairos, BenchError> {
        let builder = tune(
            kairos::Runtime::builder()
                .workers(workers)
                .policy(policy)
                .thread_name("kairos-bench"),
        );
        let rt = builder.build().map_err(|e| BenchError::Build {
            backend: kairos_label(policy),
            message: e.to_string(),
        })?;
        Ok(Kairos {
            rt,
            policy,
            mode: KairosMode::Cooperative,
            native_periodic: true,
        })
    }

    /// The runtime of the kairos backend `policy` + `mode` with `workers` workers.
    ///
    /// # Errors
    /// [`BenchError::Build`] with kairos' message.
    pub fn backend(
        workers: usize,
        policy: kairos::Policy,
        mode: KairosMode,
    ) -> Result<Kairos, BenchError> {
        Kairos::backend_rt(
            workers,
            policy,
            mode,
            crate::rt_settings::RtSettings::default(),
        )
    }

    /// As [`Kairos::backend`], with the workers pinned and at the OS priority `rt` says
    /// (`--pin`, `--worker-priority`).
    ///
    /// # Errors
    /// [`BenchError::Build`] with kairos' message, labelled with the backend.
    pub fn backend_rt(
        workers: usize,
        policy: kairos::Policy,
        mode: KairosMode,
        rt: crate::rt_settings::RtSettings,
    ) -> Result<Kairos, BenchError> {
        let mut k =
            Kairos::tuned(workers, policy, |b| mode.tune(rt.apply(b))).map_err(|e| match e {
                BenchError::Build { message, .. } => BenchError::Build {
                    backend: kairos_backend_label(policy, mode),
                    message,
                },
                e => e,
            })?;
        k.mode = mode;
        Ok(k)
    }

    /// This runtime with the workload-file runner's generic job loop for every task, plain
    /// periodic ones included, instead of kairos' own periodic tasks (`--kairos-periodic
    /// task-loop`; see [`crate::async_backend`]).
    pub fn task_loops(mut self) -> Kairos {
        self.native_periodic = false;
        self
    }

    /// Whether plain periodic tasks run as kairos' own periodic tasks (not after
    /// [`Kairos::task_loops`]).
    pub fn native_periodic(&self) -> bool {
        self.native_periodic
    }

    /// The runtime (trace, metrics).
    pub fn runtime(&self) -> &kairos::Runtime {
        &self.rt
    }
}

/// `kairos-fifo`, `kairos-edf`, ...
pub fn kairos_label(policy: kairos::Policy) -> String {
    format!("kairos-{}", policy.to_string().to_lowercase())
}

/// [`kairos::JoinHandle`] with the error as a [`TaskFailed`].
#[derive(Debug)]
pub struct KairosJoin<T>(kairos::JoinHandle<T>);

impl<T> Future for KairosJoin<T> {
    type Output = Result<T, TaskFailed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.map_err(|e| TaskFailed(e.to_string())))
    }
}

impl Exec for Kairos {
    type Join<T: Send + 'static> = KairosJoin<T>;

    #[inline]
    fn spawn<F>(future: F) -> KairosJoin<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        KairosJoin(kairos::spawn(future))
    }

    fn spawn_with<F>(params: SpawnParams, future: F) -> KairosJoin<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let mut sched = kairos::Sched::default()
            .priority(params.priority)
            .nice(params.nice);
        if let Some(name) = params.name {
            sched = sched.name(name);
        }
        KairosJoin(kairos::spawn_with(sched, future))
    }

    #[inline]
    fn yield_now() -> impl Future<Output = ()> + Send {
        kairos::yield_now()
    }

    #[inline]
    fn note_preemption_check() {
        let _ = kairos::task::should_yield();
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    fn label(&self) -> String {
        kairos_backend_label(self.policy, self.mode)
    }

    fn counters(&self) -> Option<Counters> {
        let m = self.rt.metrics();
        Some(Counters {
            polls: m.polls,
            steals: m.steals,
            parks: m.parks,
            preemptions: m.preemptions,
        })
    }

    fn preemptions_of(&self, name: &'static str) -> Option<u64> {
        Some(
            self.rt
                .metrics()
                .by_name
                .get(name)
                .map_or(0, |s| s.preemptions),
        )
    }

    fn shutdown(self) -> Result<(), BenchError> {
        let backend = self.label();
        self.rt
            .shutdown_timeout(SHUTDOWN_TIMEOUT)
            .map_err(|e| BenchError::Shutdown {
                backend,
                message: e.to_string(),
            })
    }
}

/// A tokio multi-thread runtime.
#[derive(Debug)]
pub struct Tokio {
    rt: tokio::runtime::Runtime,
}

impl Tokio {
    /// Builds a tokio multi-thread runtime with `workers` worker threads (tokio's defaults
    /// otherwise: LIFO slot on, global queue interval 31, event interval 61).
    ///
    /// # Errors
    /// [`BenchError::Build`] if tokio cannot start its threads.
    pub fn new(workers: usize) -> Result<Tokio, BenchError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("tokio-bench")
            .build()
            .map_err(|e| BenchError::Build {
                backend: "tokio".to_owned(),
                message: e.to_string(),
            })?;
        Ok(Tokio { rt })
    }

    /// As [`Tokio::new`], with tokio's timer driver enabled (`enable_time`: 1 ms timer wheel),
    /// for workloads that sleep. Kept apart from [`Tokio::new`] so the micro-benchmarks run
    /// without a time driver, as before.
    ///
    /// # Errors
    /// [`BenchError::Build`] if tokio cannot start its threads.
    pub fn with_timers(workers: usize) -> Result<Tokio, BenchError> {
        Ok(Tokio {
            rt: tokio_with_timers(workers)?,
        })
    }
}

/// A tokio multi-thread runtime with `workers` workers and its timer driver (`enable_time`: 1 ms
/// timer wheel), threads named `tokio-bench`.
///
/// # Errors
/// [`BenchError::Build`] if tokio cannot start its threads.
pub fn tokio_with_timers(workers: usize) -> Result<tokio::runtime::Runtime, BenchError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("tokio-bench")
        .enable_time()
        .build()
        .map_err(|e| BenchError::Build {
            backend: "tokio".to_owned(),
            message: e.to_string(),
        })
}

/// [`tokio::task::JoinHandle`] with the error as a [`TaskFailed`].
#[derive(Debug)]
pub struct TokioJoin<T>(tokio::task::JoinHandle<T>);

impl<T> Future for TokioJoin<T> {
    type Output = Result<T, TaskFailed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.map_err(|e| TaskFailed(e.to_string())))
    }
}

impl Exec for Tokio {
    type Join<T: Send + 'static> = TokioJoin<T>;

    #[inline]
    fn spawn<F>(future: F) -> TokioJoin<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        TokioJoin(tokio::spawn(future))
    }

    #[inline]
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    fn label(&self) -> String {
        "tokio".to_owned()
    }

    fn counters(&self) -> Option<Counters> {
        None
    }

    fn shutdown(self) -> Result<(), BenchError> {
        // tokio reports no error: a worker still busy at the timeout is leaked silently.
        self.rt.shutdown_timeout(SHUTDOWN_TIMEOUT);
        Ok(())
    }
}

/// Runs `body` as a root task on a worker of `exec` (not on the `block_on` thread) and returns
/// its output, or [`BenchError::Task`] if it panicked.
pub fn run_root<E, F>(exec: &E, body: F) -> Result<F::Output, BenchError>
where
    E: Exec,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    exec.block_on(async { E::spawn(body).await })
        .map_err(|e| BenchError::Task {
            backend: exec.label(),
            message: e.0,
        })
}
