//! A bounded multi-producer, multi-consumer channel: many tasks receive from one queue, each
//! message going to exactly one of them (a worker pool, like a buffered channel in Go).
//!
//! The same queue as [`mpsc`](super::mpsc) (protocol in `sync/chan/mod.rs`), with a
//! [`Receiver`] that can be cloned and receives through `&self`. A message wakes one waiting
//! receiver, the one that has waited longest; a receiver future dropped after being woken passes
//! the wake-up on to the next one, so no message is left unclaimed while a receiver waits.
//! Close semantics:
//!
//! - A send after every receiver is gone (or after [`Receiver::close`]) fails and returns the
//!   value in the error.
//! - Dropping the last sender wakes every waiting receiver; they drain the buffer, then get
//!   `None`.
//! - Dropping the last receiver drops the buffered messages and wakes every waiting sender.
//!
//! ```
//! use kairos::sync::mpmc;
//!
//! let rt = kairos::Runtime::builder().workers(2).build().unwrap();
//! let total = rt.block_on(async {
//!     let (tx, rx) = mpmc::channel::<u64>(100);
//!     let workers: Vec<_> = (0..3)
//!         .map(|_| {
//!             let rx = rx.clone();
//!             kairos::spawn(async move {
//!                 let mut sum = 0;
//!                 while let Some(job) = rx.recv().await {
//!                     sum += job;
//!                 }
//!                 sum
//!             })
//!         })
//!         .collect();
//!     drop(rx);
//!     for job in 1..=1000 {
//!         tx.send(job).await.unwrap();
//!     }
//!     drop(tx);
//!     let mut total = 0;
//!     for w in workers {
//!         total += w.await.unwrap();
//!     }
//!     total
//! });
//! assert_eq!(total, 500_500);
//! ```

use crate::loom::Arc;
use crate::sync::chan::blocking::block_on;
use crate::sync::chan::Chan;
use std::fmt;

pub use crate::sync::chan::error::{SendError, TryRecvError, TrySendError};
pub use crate::sync::chan::future::{RecvFuture, SendFuture};

/// Creates a bounded multi-producer, multi-consumer channel holding at most `capacity` messages
/// (0 is taken as 1). A send into a full channel waits for room.
///
/// ```
/// let (tx, rx) = kairos::sync::mpmc::channel::<u32>(2);
/// let rx2 = rx.clone();
/// tx.try_send(1).unwrap();
/// tx.try_send(2).unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// assert_eq!(rx2.try_recv(), Ok(2));
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(capacity));
    (
        Sender {
            chan: Arc::clone(&chan),
        },
        Receiver { chan },
    )
}

/// The sending half of an mpmc [`channel`]. Clone it for more producers.
///
/// ```
/// let (tx, rx) = kairos::sync::mpmc::channel::<u32>(1);
/// tx.clone().try_send(5).unwrap();
/// assert_eq!(rx.try_recv(), Ok(5));
/// ```
pub struct Sender<T> {
    /// The channel.
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for room while the channel is full.
    ///
    /// # Errors
    /// [`SendError`] with the value if the channel is closed (every receiver is gone, or one
    /// closed it).
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::mpmc::channel::<u32>(1);
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async { tx.send(1).await.unwrap() });
    /// drop(rx);
    /// assert_eq!(rt.block_on(tx.send(2)).unwrap_err().into_inner(), 2);
    /// ```
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture::new(&self.chan, value)
    }

    /// Sends `value` if there is room now.
    ///
    /// # Errors
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the value.
    ///
    /// ```
    /// let (tx, _rx) = kairos::sync::mpmc::channel::<u32>(1);
    /// tx.try_send(1).unwrap();
    /// assert!(tx.try_send(2).unwrap_err().is_full());
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value)
    }

    /// Sends from a thread outside the runtime, blocking it while the channel is full. Needs no
    /// runtime; do not call it from a task (it blocks the worker thread).
    ///
    /// # Errors
    /// [`SendError`] with the value if the channel is closed.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::mpmc::channel::<u32>(1);
    /// let t = std::thread::spawn(move || (0..5).for_each(|i| tx.blocking_send(i).unwrap()));
    /// let got: Vec<u32> = std::iter::from_fn(|| rx.blocking_recv()).collect();
    /// t.join().unwrap();
    /// assert_eq!(got, vec![0, 1, 2, 3, 4]);
    /// ```
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        let mut value = Some(value);
        let mut key = None;
        block_on(|cx| self.chan.poll_send_now(cx, &mut value, &mut key))
    }

    /// Turns urgency inheritance through this channel on (the default) or off, for every
    /// sender and receiver of it. On: each message carries its sender's effective deadline and
    /// priority (under `Edf`, `Priority` and `Classes`), a receiver task waiting for it is
    /// raised to that urgency before it is woken, and the task that takes it runs at least that
    /// urgent until its next receive (`docs/sync.md`, "Inheritance through channels"). Off:
    /// messages carry nothing, e.g. to measure what inheritance buys.
    ///
    /// ```
    /// let (tx, _rx) = kairos::sync::mpmc::channel::<u32>(1);
    /// assert!(tx.inherits());
    /// tx.set_inheritance(false);
    /// assert!(!tx.clone().inherits());
    /// ```
    pub fn set_inheritance(&self, on: bool) {
        self.chan.set_inheritance(on);
    }

    /// Whether messages sent on this channel carry their sender's urgency
    /// ([`Sender::set_inheritance`]).
    ///
    /// ```
    /// let (tx, _rx) = kairos::sync::mpmc::channel::<u32>(1);
    /// assert!(tx.inherits());
    /// ```
    pub fn inherits(&self) -> bool {
        self.chan.inherits()
    }

    /// Whether the channel is closed: sends fail from now on.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::mpmc::channel::<u32>(1);
    /// let rx2 = rx.clone();
    /// drop(rx);
    /// assert!(!tx.is_closed(), "one receiver is left");
    /// drop(rx2);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.chan.add_sender();
        Sender {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpmc::Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half of an mpmc [`channel`]: clone it for more consumers; each message goes to
/// one of them.
///
/// ```
/// let (tx, rx) = kairos::sync::mpmc::channel::<u32>(4);
/// let rx2 = rx.clone();
/// drop(tx);
/// assert_eq!(rx2.try_recv(), Err(kairos::sync::TryRecvError::Closed));
/// ```
pub struct Receiver<T> {
    /// The channel.
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Receives the next message, waiting while the channel is empty; `None` once every sender
    /// is gone (or the channel was closed) and the buffer is drained.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::mpmc::channel::<u32>(4);
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// tx.try_send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rt.block_on(rx.recv()), Some(1));
    /// assert_eq!(rt.block_on(rx.recv()), None);
    /// ```
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture::new(&self.chan)
    }

    /// Receives a message if one is buffered now.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] or [`TryRecvError::Closed`].
    ///
    /// ```
    /// let (_tx, rx) = kairos::sync::mpmc::channel::<u32>(4);
    /// assert_eq!(rx.try_recv(), Err(kairos::sync::TryRecvError::Empty));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Receives on a thread outside the runtime, blocking it while the channel is empty. Needs
    /// no runtime; do not call it from a task (it blocks the worker thread).
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::mpmc::channel::<u32>(4);
    /// std::thread::spawn(move || tx.blocking_send(3).unwrap());
    /// assert_eq!(rx.blocking_recv(), Some(3));
    /// ```
    pub fn blocking_recv(&self) -> Option<T> {
        let mut key = None;
        block_on(|cx| self.chan.poll_recv_now(cx, &mut key))
    }

    /// Closes the channel for senders (for every receiver); buffered messages can still be
    /// received.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::mpmc::channel::<u32>(4);
    /// rx.close();
    /// assert!(tx.try_send(1).is_err());
    /// ```
    pub fn close(&self) {
        self.chan.close();
    }

    /// Messages buffered now.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::mpmc::channel::<u32>(4);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether nothing is buffered now.
    ///
    /// ```
    /// let (_tx, rx) = kairos::sync::mpmc::channel::<u32>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        self.chan.add_receiver();
        Receiver {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.drop_receiver();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpmc::Receiver")
            .field("len", &self.len())
            .finish()
    }
}
