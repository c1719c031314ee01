//! Concurrent run queues: the policy structures of `policy/`, wrapped for many threads.
//!
//! - [`local`]: each worker's own queue; lock-free for the owner, stealable in batches.
//! - [`inject`]: the global queue for tasks scheduled from outside any worker, and for a local
//!   queue's overflow.
//!
//! Every structure here has a loom model in `loom_tests/`.

pub(crate) mod inject;
pub(crate) mod local;
