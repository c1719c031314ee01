//! Scheduling policies as pure ordering logic.
//!
//! A policy decides which runnable task runs next. Here it is plain single-owner data: no
//! atomics, no locks, no clock reads, no randomness, so every decision is a deterministic function
//! of the operations applied, and each policy is unit-testable on its own. Keys are
//! `(policy key, enqueue sequence)`, so ties always break the same way.
//!
//! Concurrency (per-worker queues, the injector, stealing) is `queue/`'s job, which wraps these
//! structures. The same structures serve the threaded runtime and, later, the simulator.
//!
//! - [`fifo`]: arrival order. O(1).
//! - [`edf`]: absolute deadline, earliest first; tasks without a deadline last, FIFO. Binary
//!   heap, O(log n). Liu & Layland 1973.
//! - [`priority`]: levels 0..=255, highest first, FIFO within a level, one level of aging per
//!   interval waited. Bitmap of levels (Linux 2.6's O(1) scheduler): O(1) while nothing has
//!   aged, else O(levels within reach of the oldest item's aging).
//! - [`fair`]: weighted virtual runtime, smallest first, CFS's weights, charging and placement
//!   (`kernel/sched/fair.c`). Binary heap, O(log n).
//!
//! [`key`] holds what the ordered ones share: the enqueue sequence and the `(key, seq)` min-heap.
//! Ties on the policy key always go to the item pushed first. [`runqueue`] puts EDF, priority
//! and fair share behind one type, which `queue/ordered.rs` wraps for the workers' ordered
//! core.

pub(crate) mod admission;
pub(crate) mod edf;
pub(crate) mod fair;
pub(crate) mod fifo;
pub(crate) mod key;
pub(crate) mod priority;
pub(crate) mod runqueue;
