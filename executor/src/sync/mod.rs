//! Synchronization for tasks: channels, and locks that take part in the scheduling policies.
//!
//! Channels (`docs/sync.md`, "Channels"): [`mpsc`] (bounded and unbounded), [`mpmc`] (a
//! worker pool on one queue), [`oneshot`], [`watch`] and [`broadcast`], with typed errors that
//! give back a value that could not be sent.
//!
//! Locks (`docs/sync.md`, "Locks" and "Inheritance"):
//! - [`Mutex`]: an async mutex whose waiters are granted in urgency order under `Edf` and
//!   `Priority` (arrival order under `Fifo` and `Fair`) and whose holder inherits the urgency of
//!   its most urgent waiter (the earliest deadline, the highest priority), transitively through
//!   chains of locks, until it releases the lock.
//! - [`RwLock`], [`Semaphore`], [`Notify`], [`Barrier`].
//!
//! Every primitive here takes part in the cooperative budget (each completed receive or acquire
//! spends one unit, as awaiting a `JoinHandle` does) and is deterministic under the simulator.
//! The repository's `docs/sync.md` states the rules and their limits.

pub(crate) mod chan;

pub mod broadcast;
pub mod mpmc;
pub mod mpsc;
pub mod oneshot;
pub mod watch;

mod barrier;
pub(crate) mod inherit;
mod mutex;
mod mutex_raw;
mod notify;
mod rwlock;
mod semaphore;

pub use barrier::{Barrier, BarrierWaitResult, Wait as BarrierWait};
pub use chan::error::{RecvError, SendError, TryRecvError, TrySendError};
pub use mutex::{Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard, MAX_READS};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
