//! Scheduling policies as pure ordering logic.
//!
//! A policy decides which runnable task runs next. Here it is plain single-owner data: no
//! atomics, no locks, no clock reads, no randomness, so every decision is a deterministic function
//! of the operations applied, and each policy is unit-testable on its own. Keys are
//! `(policy key, enqueue sequence)`, so ties always break the same way.
//!
//! Concurrency (per-worker queues, the injector, stealing) is `queue/`'s job, which wraps these
//! structures. The same structures serve the threaded runtime and the simulator.
//!
//! - [`fifo`]: arrival order. O(1).
//! - [`edf`]: absolute deadline, earliest first; tasks without a deadline last, FIFO. Binary
//!   heap, O(log n). Liu & Layland 1973.
//! - [`priority`]: levels 0..=255, highest first, FIFO within a level, one level of aging per
//!   interval waited. Bitmap of levels (Linux 2.6's O(1) scheduler): O(1) while nothing has
//!   aged, else O(levels within reach of the oldest item's aging).
//! - [`classes`]: the three above in one queue, deadline class over priority class over fair
//!   class (Linux's `dl > rt > fair`); the class is a function of the task's parameters.
//! - [`fair`]: weighted virtual runtime, smallest first, CFS's weights, charging and placement
//!   (`kernel/sched/fair.c`). Binary heap, O(log n).
//!
//! [`key`] holds what the ordered ones share: the enqueue sequence and the `(key, seq)` min-heap.
//! Ties on the policy key always go to the item pushed first. [`runqueue`] puts EDF, priority
//! and fair share behind one type, which `queue/ordered.rs` wraps for the workers' ordered
//! core.
//!
//! [`Policy`], the user's choice among them, is defined here too: plain data that every layer
//! above reads.

pub(crate) mod admission;
pub(crate) mod cbs;
pub(crate) mod classes;
pub(crate) mod edf;
pub(crate) mod fair;
pub(crate) mod fifo;
pub(crate) mod key;
pub(crate) mod priority;
pub(crate) mod runqueue;

use std::fmt;

/// The scheduling policy: how a worker picks the next runnable task.
///
/// | policy | orders runnable tasks by | task parameter ([`Sched`](crate::Sched)) | run queue |
/// |---|---|---|---|
/// | `Fifo` | arrival (work-stealing, like tokio and Go) | none | lock-free ring per worker |
/// | `Edf` | absolute deadline, earliest first; no deadline last | `deadline` | binary heap per worker, O(log n) |
/// | `Priority` | priority 0..=255, highest first, with aging | `priority` | 256 FIFO levels + bitmap, O(1) |
/// | `Fair` | weighted virtual runtime, smallest first (CFS-like) | `nice` | binary heap per worker, O(log n) |
/// | `Classes` | class first (deadline > priority > fair), then the class's own order | `deadline`, else `priority` 1..=255, else `nice` | the three structures per worker |
///
/// Under the ordered policies (`Edf`, `Priority`, `Fair`, `Classes`) every pick takes the most urgent task
/// visible in any queue, and a newly runnable task that beats the least urgent running one asks
/// that worker to yield; `docs/policies.md` states the exact guarantees.
///
/// ```
/// use kairos::{Policy, Runtime};
/// for policy in [Policy::Fifo, Policy::Edf, Policy::Priority, Policy::Fair, Policy::Classes] {
///     let rt = Runtime::builder().workers(1).policy(policy).build().unwrap();
///     assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Policy {
    /// First in, first out, with work stealing.
    #[default]
    Fifo,
    /// Earliest deadline first.
    Edf,
    /// Highest priority first, with aging.
    Priority,
    /// Smallest weighted virtual runtime first.
    Fair,
    /// Scheduling classes in one runtime: tasks with a deadline (EDF) before tasks with a
    /// priority of 1 or more (fixed priorities with aging) before the rest (fair share).
    Classes,
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::Fifo => "Fifo",
            Policy::Edf => "Edf",
            Policy::Priority => "Priority",
            Policy::Fair => "Fair",
            Policy::Classes => "Classes",
        })
    }
}
