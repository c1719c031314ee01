//! Concurrent run queues: the policy structures of `policy/`, wrapped for many threads.
//!
//! - [`local`]: each worker's own queue; lock-free for the owner, stealable in batches.
//! - [`inject`]: the global queue for tasks scheduled from outside any worker, and for a local
//!   queue's overflow.
//! - [`ordered`]: the per-worker queues and the injector of the ordered policies (`Edf`,
//!   `Priority`, `Fair`): a policy structure behind a lock, stolen from with `try_lock`.
//! - [`throttled`]: tasks parked until a release time (throttled bandwidth servers under
//!   `Classes`), with a one-load hint for the pick.
//!
//! Every structure here has a loom model in `loom_tests/`.

pub(crate) mod inject;
pub(crate) mod local;
pub(crate) mod ordered;
pub(crate) mod throttled;
