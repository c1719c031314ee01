//! # kairos
//!
//! A deterministic, real-time task runtime: M futures run on N worker threads under a scheduling
//! policy you pick ([`Policy`]): `Fifo` (work-stealing, arrival order, as tokio and Go), `Edf`
//! (earliest deadline first), `Priority` (256 levels with aging) or `Fair` (weighted virtual
//! runtime, CFS-like). Tasks carry their parameters ([`Sched`], [`spawn_with`]); periodic
//! real-time tasks run on an absolute release grid ([`Runtime::spawn_periodic`]); latency is
//! recorded in HdrHistograms ([`Metrics`]). The repository's `docs/policies.md` states each
//! policy's guarantees.
//!
//! ```
//! use kairos::Runtime;
//!
//! let rt = Runtime::builder().workers(2).build().expect("runtime");
//! let total = rt.block_on(async {
//!     // Spawn from inside the runtime: the task goes to this worker's local queue.
//!     let handles: Vec<_> = (1..=100u64).map(|i| kairos::spawn(async move { i })).collect();
//!     let mut total = 0;
//!     for h in handles {
//!         total += h.await.expect("task panicked");
//!     }
//!     total
//! });
//! assert_eq!(total, 5050);
//! ```
//!
//! ## What happens to a task
//!
//! See `docs/architecture.md` in the repository for the modules and the data flow of one task:
//! spawn → one heap block (header, future, output) → run queue → poll on a worker (panics caught)
//! → `Pending` (woken later, back to a queue) or `Ready` (output to the [`JoinHandle`]) → freed
//! when the last reference goes.
//!
//! ## Preemption
//!
//! Scheduling is cooperative: a task runs until its `poll` returns. The runtime asks a task to
//! yield (a more urgent task is waiting, its `Fair` slice is used, its budget is spent) through
//! [`task::should_yield`], which kairos' own futures and [`work()`] check; a task that computes
//! for a long time without awaiting should check it too and call [`yield_now()`].
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

mod blocking;
mod context;
mod coop;
mod error;
mod event;
pub mod fs;
mod local;
mod loom;
mod macros;
mod metrics;
pub mod net;
mod periodic;
mod policy;
mod queue;
mod rng;
mod runtime;
mod sched;
pub mod sim;
mod spawn_into;
mod spin_lock;
pub mod stats;
pub mod sync;
mod sys;
pub mod task;
pub mod time;
pub mod trace;
mod work;
mod worker;
mod yield_now;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, feature = "tracing", not(loom)))]
mod tracing_tests;

/// The README's usage example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

pub use blocking::spawn_blocking;
pub use error::{BuildError, ShutdownError};
/// Runs `async fn main` on a kairos runtime: `#[kairos::main(workers = 2, policy = Edf)]`.
///
/// The arguments, all optional: `workers = N` (default: one per core), `policy = Fifo | Edf |
/// Priority | Fair` (default `Fifo`), `seed = N`, `flavor = "current_thread"` (no worker thread:
/// the calling thread runs every task, [`Builder::current_thread`]), and `crate = "path"` if
/// `kairos` is reachable under another name. The function becomes a plain `fn` that builds the runtime and blocks on
/// the body; its return type (for example `Result<(), E>` with `?` inside) is kept.
///
/// ```
/// #[kairos::main(workers = 2, policy = Edf)]
/// async fn main() {
///     let v = kairos::spawn(async { 40 + 2 }).await.unwrap();
///     assert_eq!(v, 42);
/// }
/// ```
pub use kairos_macros::main;
/// Runs an `async fn` test on its own kairos runtime: `#[kairos::test(policy = Priority)]`.
///
/// Takes the same arguments as [`main`](macro@main); the worker count defaults to 1, so a test
/// runs its tasks on one worker in a reproducible order unless it asks for more.
///
/// ```
/// #[kairos::test(workers = 2)]
/// async fn adds() {
///     assert_eq!(kairos::spawn(async { 1 + 1 }).await.unwrap(), 2);
/// }
/// # fn main() {}
/// ```
pub use kairos_macros::test;
pub use local::{spawn_local, LocalJoinHandle, LocalSet, RunUntil, LOCAL_BUDGET};
pub use metrics::Metrics;
pub use periodic::{Job, Join as PeriodicJoin, Overrun, Periodic, PeriodicHandle, PeriodicStats};
pub use policy::admission::AdmissionError;
pub use runtime::{
    Builder, Handle, Policy, Runtime, WorkerPriority, DEADLINE_CLASS_FIFO_PRIORITY,
    DEFAULT_AGING_INTERVAL, DEFAULT_DEADLINE_SHARE, DEFAULT_FAIR_RESERVE, DEFAULT_FAIR_SLICE,
    PREEMPTIVE_CLASSES_TIMER_SPIN,
};
pub use sched::Sched;
pub use sys::CpuLatencyQos;
pub use task::{
    configure_task_pool, task_memory, JoinError, JoinHandle, TaskAllocator, TaskId, TaskMemory,
    TaskPoolError, TASK_POOL_CAPACITY,
};
pub use work::{work, WORK_SLICE};
pub use yield_now::{yield_now, YieldNow};

/// Support for the expansions of kairos' macros; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::macros::select_start;
}

use std::future::Future;

/// Spawns a task with scheduling parameters onto the current runtime (see [`Sched`]).
///
/// # Panics
/// Outside a kairos runtime, as [`spawn`].
///
/// ```
/// use kairos::{Policy, Runtime, Sched};
/// let rt = Runtime::builder().workers(1).policy(Policy::Priority).build().unwrap();
/// let v = rt.block_on(async {
///     kairos::spawn_with(Sched::default().priority(10).name("job"), async { 5 }).await
/// });
/// assert_eq!(v.unwrap(), 5);
/// ```
#[track_caller]
pub fn spawn_with<F>(sched: Sched, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let at = std::panic::Location::caller();
    context::with_handle(|handle| match handle {
        Some(handle) => handle.spawn_task_with_at(sched, future, at),
        None => panic!(
            "kairos::spawn_with called outside a kairos runtime: call it from a task or inside \
             Runtime::block_on, or use Runtime::spawn_with / Handle::spawn_with"
        ),
    })
}

/// Spawns a task onto the current runtime.
///
/// On a worker thread the task goes to that worker's local queue; inside
/// [`Runtime::block_on`] it goes to the runtime's global queue.
///
/// # Panics
/// Outside a kairos runtime: use [`Runtime::spawn`] or [`Handle::spawn`] there.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let out = rt.block_on(async {
///     let inner = kairos::spawn(async { kairos::spawn(async { 7 }) });
///     inner.await.unwrap().await.unwrap()
/// });
/// assert_eq!(out, 7);
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let at = std::panic::Location::caller();
    context::with_handle(|handle| match handle {
        Some(handle) => handle.spawn_task_at(future, at),
        None => panic!(
            "kairos::spawn called outside a kairos runtime: call it from a task or inside \
             Runtime::block_on, or use Runtime::spawn / Handle::spawn"
        ),
    })
}
