//! A multi-producer, multi-consumer channel where *every* receiver gets every value (a clone),
//! with a bounded history: a receiver that falls more than `capacity` values behind loses the
//! oldest ones and is told how many ([`RecvError::Lagged`]).
//!
//! # Protocol
//!
//! One mutex (the loom shim's) over a ring of the last `capacity` values, numbered by a
//! sequence counter (`head` is the number of the oldest value kept, `tail` the number the next
//! value gets), the sender and receiver counts and the list of waiting receivers. Each
//! receiver holds the number of the next value it will read. A send never waits: it appends
//! (dropping the oldest value if the ring is full, outside the lock) and wakes every waiting
//! receiver outside the lock, in batches (`sync/chan/waiters.rs`). A receive clones the value
//! under the lock. Values stay in the ring until they are overwritten or the channel is
//! dropped. Close semantics:
//!
//! - A send with no receiver left fails and returns the value ([`SendError`]).
//! - Dropping the last sender wakes every waiting receiver; each receives what is left for it,
//!   then [`RecvError::Closed`].
//! - A receiver made by [`Sender::subscribe`] sees only values sent after it was made.
//!
//! `recv().await` spends one unit of the task's cooperative budget per poll.
//!
//! ```
//! use kairos::sync::broadcast;
//! let rt = kairos::Runtime::builder().workers(2).build().unwrap();
//! rt.block_on(async {
//!     let (tx, mut rx1) = broadcast::channel::<u32>(16);
//!     let mut rx2 = tx.subscribe();
//!     tx.send(10).unwrap();
//!     assert_eq!(rx1.recv().await, Ok(10));
//!     assert_eq!(rx2.recv().await, Ok(10));
//! });
//! ```

use crate::coop;
use crate::loom::{lock, Arc, Mutex};
use crate::sync::chan::blocking::block_on;
pub use crate::sync::chan::error::SendError;
use crate::sync::chan::waiters::{self, Waiters};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// A broadcast receive that got no value.
///
/// ```
/// use kairos::sync::broadcast::{self, RecvError};
/// let (tx, mut rx) = broadcast::channel::<u32>(1);
/// tx.send(1).unwrap();
/// tx.send(2).unwrap();
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// assert_eq!(rt.block_on(rx.recv()), Err(RecvError::Lagged(1)));
/// assert_eq!(rt.block_on(rx.recv()), Ok(2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// Every sender is gone and this receiver has received everything left for it.
    #[error("broadcast channel closed: every sender is gone")]
    Closed,
    /// This receiver fell behind and this many values were overwritten before it read them; the
    /// next receive returns the oldest value still kept. Receive faster or use a larger capacity.
    #[error("broadcast receiver lagged: {0} values were overwritten before it read them")]
    Lagged(u64),
}

/// A broadcast `try_recv` that got no value.
///
/// ```
/// use kairos::sync::broadcast::{self, TryRecvError};
/// let (tx, mut rx) = broadcast::channel::<u32>(4);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TryRecvError {
    /// Nothing new for this receiver now; a sender may still send.
    #[error("broadcast channel empty: await recv() to wait, or retry later")]
    Empty,
    /// Every sender is gone and nothing is left for this receiver.
    #[error("broadcast channel closed: every sender is gone")]
    Closed,
    /// See [`RecvError::Lagged`].
    #[error("broadcast receiver lagged: {0} values were overwritten before it read them")]
    Lagged(u64),
}

/// Creates a broadcast channel keeping the last `capacity` values (0 is taken as 1).
///
/// ```
/// let (tx, mut rx) = kairos::sync::broadcast::channel::<&str>(8);
/// tx.send("hi").unwrap();
/// assert_eq!(rx.try_recv(), Ok("hi"));
/// ```
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let cap = capacity.max(1);
    let shared = Arc::new(Mutex::new(State {
        ring: VecDeque::with_capacity(cap.min(crate::sync::chan::PREALLOC_LIMIT)),
        cap,
        head: 0,
        senders: 1,
        receivers: 1,
        waiters: Waiters::new(),
    }));
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared, next: 0 },
    )
}

/// What the lock protects.
struct State<T> {
    /// The last values sent, oldest first; at most `cap`.
    ring: VecDeque<T>,
    /// Most values kept.
    cap: usize,
    /// Sequence number of `ring[0]`.
    head: u64,
    /// Live senders.
    senders: usize,
    /// Live receivers.
    receivers: usize,
    /// Receivers waiting for a value.
    waiters: Waiters,
}

impl<T> State<T> {
    /// The number the next value sent gets.
    fn tail(&self) -> u64 {
        self.head + self.ring.len() as u64
    }
}

/// The sending half of a broadcast [`channel`]; clone it for more producers.
///
/// ```
/// let (tx, mut rx) = kairos::sync::broadcast::channel::<u32>(4);
/// tx.clone().send(1).unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
pub struct Sender<T> {
    /// The shared state.
    shared: Arc<Mutex<State<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value` to every current receiver and returns how many there are. Never waits (so
    /// it takes no cooperative budget): a full ring drops its oldest value, and receivers that
    /// had not read it get [`RecvError::Lagged`].
    ///
    /// # Errors
    /// [`SendError`] with the value if no receiver is left.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::broadcast::channel::<u32>(4);
    /// assert_eq!(tx.send(1).unwrap(), 1);
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().into_inner(), 2);
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let (receivers, dropped) = {
            let mut st = lock(&self.shared);
            if st.receivers == 0 {
                return Err(SendError(value));
            }
            let dropped = if st.ring.len() == st.cap {
                st.head += 1;
                st.ring.pop_front()
            } else {
                None
            };
            st.ring.push_back(value);
            (st.receivers, dropped)
        };
        drop(dropped);
        waiters::wake_all(&*self.shared, |st| &mut st.waiters);
        Ok(receivers)
    }

    /// A new receiver that gets the values sent from now on.
    ///
    /// ```
    /// let (tx, _rx) = kairos::sync::broadcast::channel::<u32>(4);
    /// tx.send(1).unwrap();
    /// let mut late = tx.subscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(late.try_recv(), Ok(2));
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        let mut st = lock(&self.shared);
        st.receivers += 1;
        let next = st.tail();
        drop(st);
        Receiver {
            shared: Arc::clone(&self.shared),
            next,
        }
    }

    /// Live receivers.
    ///
    /// ```
    /// let (tx, _rx) = kairos::sync::broadcast::channel::<u32>(4);
    /// assert_eq!(tx.receiver_count(), 1);
    /// ```
    pub fn receiver_count(&self) -> usize {
        lock(&self.shared).receivers
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        lock(&self.shared).senders += 1;
        Sender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let last = {
            let mut st = lock(&self.shared);
            st.senders -= 1;
            st.senders == 0
        };
        if last {
            waiters::wake_all(&*self.shared, |st| &mut st.waiters);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender").finish_non_exhaustive()
    }
}

/// The receiving half of a broadcast [`channel`]. A clone starts where the original is.
///
/// ```
/// let (tx, mut rx) = kairos::sync::broadcast::channel::<u32>(4);
/// tx.send(1).unwrap();
/// let mut rx2 = rx.clone();
/// assert_eq!(rx.try_recv(), Ok(1));
/// assert_eq!(rx2.try_recv(), Ok(1));
/// ```
pub struct Receiver<T> {
    /// The shared state.
    shared: Arc<Mutex<State<T>>>,
    /// Sequence number of the next value this receiver reads.
    next: u64,
}

impl<T: Clone> Receiver<T> {
    /// The next value for this receiver, waiting while there is none.
    ///
    /// # Errors
    /// [`RecvError::Lagged`] if values were overwritten before this receiver read them (the
    /// next call returns the oldest value kept); [`RecvError::Closed`] once every sender is gone
    /// and nothing is left for it.
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::broadcast::channel::<u32>(4);
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.spawn(async move { tx.send(3).unwrap() });
    /// assert_eq!(rt.block_on(rx.recv()), Ok(3));
    /// ```
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            receiver: self,
            key: None,
        }
    }

    /// The next value for this receiver if there is one now.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`], [`TryRecvError::Lagged`] or [`TryRecvError::Closed`].
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::broadcast::channel::<u32>(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(kairos::sync::broadcast::TryRecvError::Empty));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut key = None;
        let st = lock(&self.shared);
        match Self::take(&mut self.next, st, &mut key, None) {
            Poll::Ready(Ok(v)) => Ok(v),
            Poll::Ready(Err(RecvError::Lagged(n))) => Err(TryRecvError::Lagged(n)),
            Poll::Ready(Err(RecvError::Closed)) => Err(TryRecvError::Closed),
            Poll::Pending => Err(TryRecvError::Empty),
        }
    }

    /// Receives on a thread outside the runtime, blocking it while there is nothing new. Needs
    /// no runtime; do not call it from a task (it blocks the worker thread).
    ///
    /// # Errors
    /// As [`Receiver::recv`].
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::broadcast::channel::<u32>(4);
    /// std::thread::spawn(move || tx.send(5).unwrap());
    /// assert_eq!(rx.blocking_recv(), Ok(5));
    /// assert_eq!(rx.blocking_recv(), Err(kairos::sync::broadcast::RecvError::Closed));
    /// ```
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        let mut key = None;
        let shared = Arc::clone(&self.shared);
        block_on(|cx| Self::take(&mut self.next, lock(&shared), &mut key, Some(cx)))
    }

    /// The receive itself, under the lock `st`: a value (cloned), a lag, the end, or (with a
    /// context) registers `key` to wait.
    fn take(
        next: &mut u64,
        mut st: crate::loom::MutexGuard<'_, State<T>>,
        key: &mut Option<usize>,
        cx: Option<&mut Context<'_>>,
    ) -> Poll<Result<T, RecvError>> {
        if *next < st.head {
            let lag = st.head - *next;
            *next = st.head;
            st.waiters.remove(key);
            return Poll::Ready(Err(RecvError::Lagged(lag)));
        }
        if *next < st.tail() {
            let value = st.ring[(*next - st.head) as usize].clone();
            *next += 1;
            st.waiters.remove(key);
            return Poll::Ready(Ok(value));
        }
        if st.senders == 0 {
            st.waiters.remove(key);
            return Poll::Ready(Err(RecvError::Closed));
        }
        if let Some(cx) = cx {
            st.waiters.register(key, cx.waker());
        }
        Poll::Pending
    }
}

impl<T> Receiver<T> {
    /// A new receiver that gets the values sent from now on (not those this one has yet to
    /// read).
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::broadcast::channel::<u32>(4);
    /// tx.send(1).unwrap();
    /// let mut fresh = rx.resubscribe();
    /// assert!(fresh.try_recv().is_err());
    /// ```
    pub fn resubscribe(&self) -> Receiver<T> {
        let mut st = lock(&self.shared);
        st.receivers += 1;
        let next = st.tail();
        drop(st);
        Receiver {
            shared: Arc::clone(&self.shared),
            next,
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        lock(&self.shared).receivers += 1;
        Receiver {
            shared: Arc::clone(&self.shared),
            next: self.next,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        lock(&self.shared).receivers -= 1;
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish()
    }
}

/// Future of [`Receiver::recv`]. Cancellation safe: dropping it reads nothing and leaves no
/// waiter behind.
///
/// ```
/// let (_tx, mut rx) = kairos::sync::broadcast::channel::<u32>(4);
/// let fut: kairos::sync::broadcast::Recv<'_, u32> = rx.recv();
/// drop(fut);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    /// The receiver.
    receiver: &'a mut Receiver<T>,
    /// Waiter entry while waiting.
    key: Option<usize>,
}

impl<T> Unpin for Recv<'_, T> {}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready!(coop::poll_proceed(cx));
        let this = self.get_mut();
        let st = lock(&this.receiver.shared);
        Receiver::take(&mut this.receiver.next, st, &mut this.key, Some(cx))
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if self.key.is_some() {
            // Every send wakes every waiter: a notification needs no passing on.
            lock(&self.receiver.shared).waiters.remove(&mut self.key);
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Recv")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}
