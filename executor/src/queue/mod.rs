//! Concurrent run queues: the policy structures of `policy/`, wrapped for many threads.
//!
//! - [`local`]: each worker's own queue; lock-free for the owner, stealable in batches.
//! - [`inject`]: the global queue for tasks scheduled from outside any worker, and for a local
//!   queue's overflow.
//! - [`ordered`]: the per-worker queues and the injector of the ordered policies (`Edf`,
//!   `Priority`, `Fair`): a policy structure behind a lock, stolen from with `try_lock`.
//!
//! Every structure here has a loom model in `loom_tests/`.

pub(crate) mod inject;
pub(crate) mod local;
pub(crate) mod ordered;
