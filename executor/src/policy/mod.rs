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
//! Implemented: [`fifo`] (arrival order). EDF, priority with aging and fair share come with the
//! policies issue; selecting them today is a `BuildError`.

pub(crate) mod fifo;
