//! Synchronisation for tasks: locks that take part in the scheduling policies.
//!
//! - [`Mutex`]: an async mutex whose waiters are granted in urgency order under `Edf` and
//!   `Priority` (arrival order under `Fifo` and `Fair`) and whose holder inherits the urgency of
//!   its most urgent waiter (the earliest deadline, the highest priority), transitively through
//!   chains of locks, until it releases the lock.
//!
//! Every primitive here takes part in the cooperative budget (each completed acquire spends one
//! unit, as awaiting a `JoinHandle` does) and is deterministic under the simulator. The
//! repository's `docs/sync.md` states the rules and their limits.

mod barrier;
pub(crate) mod inherit;
mod mutex;
mod mutex_raw;
mod notify;
mod rwlock;
mod semaphore;

pub use barrier::{Barrier, BarrierWaitResult, Wait as BarrierWait};
pub use mutex::{Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard, MAX_READS};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
