//! The bounded `mpsc` channel.

use crate::loom::Arc;
use crate::sync::chan::blocking::block_on;
use crate::sync::chan::error::{SendError, TryRecvError, TrySendError};
use crate::sync::chan::future::{RecvFuture, SendFuture};
use crate::sync::chan::Chan;
use std::fmt;

/// Creates a bounded multi-producer, single-consumer channel holding at most `capacity`
/// messages (a capacity of 0 is taken as 1). A send into a full channel waits for room:
/// backpressure.
///
/// Up to 4096 messages of buffer are reserved at once (beyond that the buffer grows on demand
/// up to `capacity`); after that, sending and receiving allocate nothing.
///
/// ```
/// let (tx, mut rx) = kairos::sync::mpsc::channel::<&str>(8);
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(async move {
///     tx.send("hello").await.unwrap();
///     assert_eq!(rx.recv().await, Some("hello"));
/// });
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

/// The sending half of a bounded [`channel`]. Clone it for more producers; the channel
/// disconnects when the last clone is dropped.
///
/// ```
/// let (tx, rx) = kairos::sync::mpsc::channel::<u8>(4);
/// let tx2 = tx.clone();
/// tx.try_send(1).unwrap();
/// tx2.try_send(2).unwrap();
/// assert_eq!(rx.len(), 2);
/// ```
pub struct Sender<T> {
    /// The channel.
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for room while the channel is full.
    ///
    /// # Errors
    /// [`SendError`] with the value if the channel is closed (the receiver is gone or closed it).
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::mpsc::channel::<u32>(1);
    /// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
    /// rt.block_on(async move {
    ///     let producer = kairos::spawn(async move {
    ///         for i in 0..3 {
    ///             tx.send(i).await.unwrap(); // waits while the one slot is taken
    ///         }
    ///     });
    ///     for i in 0..3 {
    ///         assert_eq!(rx.recv().await, Some(i));
    ///     }
    ///     producer.await.unwrap();
    /// });
    /// ```
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture::new(&self.chan, value)
    }

    /// Sends `value` if there is room now.
    ///
    /// # Errors
    /// [`TrySendError::Full`] if the channel is full, [`TrySendError::Closed`] if it is closed;
    /// both hold the value.
    ///
    /// ```
    /// use kairos::sync::{mpsc, TrySendError};
    /// let (tx, _rx) = mpsc::channel::<u32>(1);
    /// assert!(tx.try_send(1).is_ok());
    /// assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value)
    }

    /// Sends `value` from a thread outside the runtime, blocking it while the channel is full.
    /// Needs no runtime. Do not call it from a task: it blocks the worker thread, and the
    /// receiver may need that worker to make room.
    ///
    /// # Errors
    /// [`SendError`] with the value if the channel is closed.
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::mpsc::channel::<u32>(1);
    /// let t = std::thread::spawn(move || {
    ///     for i in 0..10 {
    ///         tx.blocking_send(i).unwrap();
    ///     }
    /// });
    /// for i in 0..10 {
    ///     assert_eq!(rx.blocking_recv(), Some(i));
    /// }
    /// t.join().unwrap();
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
    /// let (tx, _rx) = kairos::sync::mpsc::channel::<u32>(1);
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
    /// let (tx, _rx) = kairos::sync::mpsc::channel::<u32>(1);
    /// assert!(tx.inherits());
    /// ```
    pub fn inherits(&self) -> bool {
        self.chan.inherits()
    }

    /// Whether the channel is closed: sends fail from now on.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::mpsc::channel::<u32>(1);
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// The channel's capacity.
    ///
    /// ```
    /// let (tx, _rx) = kairos::sync::mpsc::channel::<u32>(10);
    /// assert_eq!(tx.capacity(), 10);
    /// ```
    pub fn capacity(&self) -> usize {
        self.chan.capacity()
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
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half of a bounded [`channel`]. Dropping it closes the channel: buffered
/// messages are dropped and waiting senders get their values back in errors.
///
/// ```
/// let (tx, mut rx) = kairos::sync::mpsc::channel::<u32>(2);
/// tx.try_send(1).unwrap();
/// drop(tx);
/// assert_eq!(rx.try_recv(), Ok(1));
/// assert_eq!(rx.try_recv(), Err(kairos::sync::TryRecvError::Closed));
/// ```
pub struct Receiver<T> {
    /// The channel.
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Receives the next message, waiting while the channel is empty. `None` once every sender
    /// is gone (or the channel was closed) and the buffer is drained.
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::mpsc::channel::<u32>(4);
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async move {
    ///     kairos::spawn(async move { tx.send(9).await.unwrap() });
    ///     assert_eq!(rx.recv().await, Some(9));
    ///     assert_eq!(rx.recv().await, None); // the sender task finished
    /// });
    /// ```
    pub fn recv(&mut self) -> RecvFuture<'_, T> {
        RecvFuture::new(&self.chan)
    }

    /// Receives a message if one is buffered now.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if nothing is buffered but a sender remains,
    /// [`TryRecvError::Closed`] if nothing ever will be.
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::mpsc::channel::<u32>(4);
    /// assert_eq!(rx.try_recv(), Err(kairos::sync::TryRecvError::Empty));
    /// tx.try_send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Receives from a thread outside the runtime, blocking it while the channel is empty.
    /// Needs no runtime; do not call it from a task (it blocks the worker thread).
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::mpsc::channel::<u32>(1);
    /// std::thread::spawn(move || tx.blocking_send(4).unwrap());
    /// assert_eq!(rx.blocking_recv(), Some(4));
    /// assert_eq!(rx.blocking_recv(), None);
    /// ```
    pub fn blocking_recv(&mut self) -> Option<T> {
        let mut key = None;
        block_on(|cx| self.chan.poll_recv_now(cx, &mut key))
    }

    /// Closes the channel for senders without dropping the receiver: sends fail from now on,
    /// and what is buffered can still be received (then `None`).
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::mpsc::channel::<u32>(4);
    /// tx.try_send(1).unwrap();
    /// rx.close();
    /// assert!(tx.try_send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(kairos::sync::TryRecvError::Closed));
    /// ```
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// Messages buffered now.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::mpsc::channel::<u32>(4);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether nothing is buffered now.
    ///
    /// ```
    /// let (_tx, rx) = kairos::sync::mpsc::channel::<u32>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone (what is buffered can still be received).
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::mpsc::channel::<u32>(4);
    /// drop(tx);
    /// assert!(rx.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        self.chan.is_disconnected()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.drop_receiver();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .finish()
    }
}
