//! Synchronization for tasks.
//!
//! Channels (`docs/sync.md`, "Channels"): [`mpsc`] (bounded and unbounded), [`mpmc`] (a
//! worker pool on one queue), [`oneshot`], [`watch`] and [`broadcast`]. Every one takes part in
//! the cooperative budget, runs deterministically under the simulator, and has typed errors
//! that give back a value that could not be sent.

pub(crate) mod chan;

pub mod broadcast;
pub mod mpmc;
pub mod mpsc;
pub mod oneshot;
pub mod watch;

pub use chan::error::{RecvError, SendError, TryRecvError, TrySendError};
