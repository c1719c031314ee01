//! The unbounded `mpsc` channel.

use crate::loom::Arc;
use crate::sync::chan::blocking::block_on;
use crate::sync::chan::error::{SendError, TryRecvError};
use crate::sync::chan::future::RecvFuture;
use crate::sync::chan::Chan;
use std::fmt;

/// Creates an unbounded multi-producer, single-consumer channel: sending never waits (the buffer
/// grows as needed, so a producer faster than its consumer grows memory without limit; prefer
/// [`channel`](super::channel) when that can happen).
///
/// ```
/// let (tx, mut rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
/// for i in 0..1000 {
///     tx.send(i).unwrap();
/// }
/// assert_eq!(rx.try_recv(), Ok(0));
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Arc::new(Chan::new(usize::MAX));
    (
        UnboundedSender {
            chan: Arc::clone(&chan),
        },
        UnboundedReceiver { chan },
    )
}

/// The sending half of an [`unbounded_channel`]. Clone it for more producers.
///
/// ```
/// let (tx, mut rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
/// let tx2 = tx.clone();
/// std::thread::spawn(move || tx2.send(1).unwrap()).join().unwrap();
/// assert_eq!(rx.blocking_recv(), Some(1));
/// ```
pub struct UnboundedSender<T> {
    /// The channel.
    chan: Arc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    /// Sends `value` now (never waits, so it takes no part in the cooperative budget; usable
    /// from any thread).
    ///
    /// # Errors
    /// [`SendError`] with the value if the channel is closed (the receiver is gone or closed it).
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
    /// tx.send(1).unwrap();
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().into_inner(), 2);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan
            .try_send(value)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Turns urgency inheritance through this channel on (the default) or off, for every
    /// sender and receiver of it. On: each message carries its sender's effective deadline and
    /// priority (under `Edf`, `Priority` and `Classes`), a receiver task waiting for it is
    /// raised to that urgency before it is woken, and the task that takes it runs at least that
    /// urgent until its next receive (`docs/sync.md`, "Inheritance through channels"). Off:
    /// messages carry nothing, e.g. to measure what inheritance buys.
    ///
    /// ```
    /// let (tx, _rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
    /// assert!(tx.inherits());
    /// tx.set_inheritance(false);
    /// assert!(!tx.clone().inherits());
    /// ```
    pub fn set_inheritance(&self, on: bool) {
        self.chan.set_inheritance(on);
    }

    /// Whether messages sent on this channel carry their sender's urgency
    /// ([`UnboundedSender::set_inheritance`]).
    ///
    /// ```
    /// let (tx, _rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
    /// assert!(tx.inherits());
    /// ```
    pub fn inherits(&self) -> bool {
        self.chan.inherits()
    }

    /// Whether the channel is closed: sends fail from now on.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> UnboundedSender<T> {
        self.chan.add_sender();
        UnboundedSender {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half of an [`unbounded_channel`]. Dropping it closes the channel and drops
/// what is buffered.
///
/// ```
/// let (tx, mut rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
/// drop(tx);
/// assert_eq!(rx.blocking_recv(), None);
/// ```
pub struct UnboundedReceiver<T> {
    /// The channel.
    chan: Arc<Chan<T>>,
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next message, waiting while the channel is empty; `None` once every sender
    /// is gone (or the channel was closed) and the buffer is drained.
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async move {
    ///     kairos::spawn(async move { tx.send(2).unwrap() });
    ///     assert_eq!(rx.recv().await, Some(2));
    ///     assert_eq!(rx.recv().await, None);
    /// });
    /// ```
    pub fn recv(&mut self) -> RecvFuture<'_, T> {
        RecvFuture::new(&self.chan)
    }

    /// Receives a message if one is buffered now.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] or [`TryRecvError::Closed`].
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Receives from a thread outside the runtime, blocking it while the channel is empty.
    /// Needs no runtime; do not call it from a task (it blocks the worker thread).
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
    /// std::thread::spawn(move || tx.send(8).unwrap());
    /// assert_eq!(rx.blocking_recv(), Some(8));
    /// ```
    pub fn blocking_recv(&mut self) -> Option<T> {
        let mut key = None;
        block_on(|cx| self.chan.poll_recv_now(cx, &mut key))
    }

    /// Closes the channel for senders; what is buffered can still be received.
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
    /// rx.close();
    /// assert!(tx.send(1).is_err());
    /// ```
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// Messages buffered now.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether nothing is buffered now.
    ///
    /// ```
    /// let (_tx, rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        self.chan.drop_receiver();
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver")
            .field("len", &self.len())
            .finish()
    }
}
