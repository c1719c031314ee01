//! Multi-producer, single-consumer channels: [`channel`] (bounded, with backpressure) and
//! [`unbounded_channel`].
//!
//! Both are FIFO queues guarded by one mutex, with waiter lists for each side (the protocol is
//! in `sync/chan/mod.rs`). Close semantics:
//!
//! - A send after the receiver is gone (or after [`Receiver::close`]) fails and returns the
//!   value in the error ([`SendError`], [`TrySendError::Closed`]).
//! - Dropping the last sender wakes the receiver; it receives what is buffered, then `None`.
//! - Dropping the receiver drops the buffered messages and wakes every waiting sender.
//!
//! Every `recv().await` and bounded `send().await` spends one unit of the task's cooperative
//! budget, so a receive loop on a channel that is never empty still yields to other tasks.
//! `blocking_send` / `blocking_recv` serve plain threads outside the runtime.
//!
//! ```
//! use kairos::sync::mpsc;
//!
//! let rt = kairos::Runtime::builder().workers(2).build().unwrap();
//! let sum = rt.block_on(async {
//!     let (tx, mut rx) = mpsc::channel::<u64>(16);
//!     for p in 0..4u64 {
//!         let tx = tx.clone();
//!         kairos::spawn(async move {
//!             for i in 0..100 {
//!                 tx.send(p * 100 + i).await.unwrap();
//!             }
//!         });
//!     }
//!     drop(tx); // the loop below ends when the producers are done
//!     let mut sum = 0;
//!     while let Some(v) = rx.recv().await {
//!         sum += v;
//!     }
//!     sum
//! });
//! assert_eq!(sum, (0..400).sum::<u64>());
//! ```

mod bounded;
mod unbounded;

pub use super::chan::error::{SendError, TryRecvError, TrySendError};
pub use super::chan::future::{RecvFuture, SendFuture};
pub use bounded::{channel, Receiver, Sender};
pub use unbounded::{unbounded_channel, UnboundedReceiver, UnboundedSender};
