//! One value, once, from a [`Sender`] to a [`Receiver`] (a future).
//!
//! # Protocol
//!
//! One mutex (the loom shim's) over the value slot, the receiver's waker and two flags (each
//! half gone). `send` stores the value and takes the waker under the lock, then wakes outside
//! it; a receiver's poll takes the value, or sees the sender gone, or stores its waker, under
//! the same lock, so a send racing the receiver's first poll either is seen by that poll or
//! finds its waker. Close semantics:
//!
//! - `send` after the receiver is gone (dropped or [`Receiver::close`]d) returns the value in
//!   [`SendError`].
//! - Dropping the sender without sending wakes the receiver with [`RecvError`].
//! - Dropping the receiver drops a value sent and not received (outside the lock).
//!
//! The receiver spends one unit of the task's cooperative budget per poll, as `JoinHandle`.
//!
//! The value carries its sender's urgency as an `mpsc` message does (`docs/sync.md`,
//! "Inheritance through channels"): a receiver task waiting for it is raised to that urgency
//! before it is woken, and runs at least that urgent until its next receive.
//! [`Sender::set_inheritance`] turns this off.
//!
//! ```
//! use kairos::sync::oneshot;
//! let rt = kairos::Runtime::builder().workers(2).build().unwrap();
//! let answer = rt.block_on(async {
//!     let (tx, rx) = oneshot::channel();
//!     kairos::spawn(async move { tx.send(42u32).unwrap() });
//!     rx.await
//! });
//! assert_eq!(answer, Ok(42));
//! ```

use crate::coop;
use crate::loom::{lock, Arc, Mutex};
use crate::sync::chan::blocking::block_on;
pub use crate::sync::chan::error::{RecvError, SendError, TryRecvError};
use crate::sync::inherit::{self, MessageUrgency, ReceiverTask};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

/// Creates a one-shot channel.
///
/// ```
/// let (tx, mut rx) = kairos::sync::oneshot::channel::<&str>();
/// tx.send("done").unwrap();
/// assert_eq!(rx.try_recv(), Ok("done"));
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Mutex::new(State {
        value: None,
        sender_gone: false,
        receiver_gone: false,
        waker: None,
        urgency: MessageUrgency::NONE,
        task: None,
        inherit: true,
    }));
    (
        Sender {
            inner: Some(Arc::clone(&inner)),
        },
        Receiver { inner },
    )
}

/// What the lock protects.
struct State<T> {
    /// The value, from `send` until received.
    value: Option<T>,
    /// The sender sent or was dropped.
    sender_gone: bool,
    /// The receiver was dropped or closed.
    receiver_gone: bool,
    /// The receiver's last waker, while it waits.
    waker: Option<Waker>,
    /// The urgency the value carries (set by `send`).
    urgency: MessageUrgency,
    /// The waiting receiver's task, under an ordered policy with inheritance on, for `send` to
    /// raise before waking it.
    task: Option<ReceiverTask>,
    /// Whether the value carries its sender's urgency ([`Sender::set_inheritance`]).
    inherit: bool,
}

/// The sending half of a oneshot [`channel`]. Consumed by [`Sender::send`]; dropping it unsent
/// makes the receiver fail with [`RecvError`].
///
/// ```
/// let (tx, rx) = kairos::sync::oneshot::channel::<u32>();
/// drop(tx);
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// assert!(rt.block_on(rx).is_err());
/// ```
pub struct Sender<T> {
    /// The shared state; `None` once sent.
    inner: Option<Arc<Mutex<State<T>>>>,
}

impl<T> Sender<T> {
    /// Sends `value` and wakes the receiver. Never waits (so it takes no cooperative budget);
    /// usable from any thread.
    ///
    /// # Errors
    /// [`SendError`] with the value if the receiver is gone or closed.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::oneshot::channel::<u32>();
    /// drop(rx);
    /// assert_eq!(tx.send(3).unwrap_err().into_inner(), 3);
    /// ```
    pub fn send(mut self, value: T) -> Result<(), SendError<T>> {
        let inner = self
            .inner
            .take()
            .expect("a Sender holds its state until send");
        let mut st = lock(&inner);
        if st.receiver_gone {
            return Err(SendError(value));
        }
        let urgency = MessageUrgency::current_if(st.inherit);
        st.value = Some(value);
        st.urgency = urgency;
        st.sender_gone = true;
        let waker = st.waker.take();
        let task = st.task.take();
        drop(st);
        if let Some(task) = &task {
            task.raise(urgency);
        }
        if let Some(w) = waker {
            crate::loom::reached("oneshot.send_wakes_receiver");
            w.wake();
        }
        Ok(())
    }

    /// Turns urgency inheritance for this channel's value on (the default) or off: on, the
    /// value carries the sending task's effective deadline and priority (under `Edf`,
    /// `Priority` and `Classes`) to the receiving task, as an `mpsc` message does
    /// (`docs/sync.md`, "Inheritance through channels").
    ///
    /// ```
    /// let (tx, _rx) = kairos::sync::oneshot::channel::<u32>();
    /// assert!(tx.inherits());
    /// tx.set_inheritance(false);
    /// assert!(!tx.inherits());
    /// ```
    pub fn set_inheritance(&self, on: bool) {
        if let Some(inner) = &self.inner {
            lock(inner).inherit = on;
        }
    }

    /// Whether the value will carry the sender's urgency ([`Sender::set_inheritance`]).
    ///
    /// ```
    /// let (tx, _rx) = kairos::sync::oneshot::channel::<u32>();
    /// assert!(tx.inherits());
    /// ```
    pub fn inherits(&self) -> bool {
        self.inner.as_ref().is_some_and(|i| lock(i).inherit)
    }

    /// Whether the receiver is gone or closed: a send would fail.
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::oneshot::channel::<u32>();
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.as_ref().is_none_or(|i| lock(i).receiver_gone)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let (waker, task) = {
            let mut st = lock(&inner);
            st.sender_gone = true;
            (st.waker.take(), st.task.take())
        };
        drop(task);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half of a oneshot [`channel`]: a future of the value, or [`RecvError`] if the
/// sender was dropped without sending. Polling it again after it completed yields
/// `Err(RecvError)`.
///
/// ```
/// let (tx, rx) = kairos::sync::oneshot::channel::<u32>();
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.spawn(async move { tx.send(1).unwrap() });
/// assert_eq!(rt.block_on(rx), Ok(1));
/// ```
pub struct Receiver<T> {
    /// The shared state.
    inner: Arc<Mutex<State<T>>>,
}

impl<T> Receiver<T> {
    /// The value if it was sent.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if the sender may still send, [`TryRecvError::Closed`] if it
    /// never will (dropped, or the value was already received).
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::oneshot::channel::<u32>();
    /// assert_eq!(rx.try_recv(), Err(kairos::sync::TryRecvError::Empty));
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(2));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut st = lock(&self.inner);
        match st.value.take() {
            Some(v) => {
                let urgency = st.urgency;
                drop(st);
                inherit::boost_current_until_next_receive(urgency);
                Ok(v)
            }
            None if st.sender_gone => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Waits for the value on a thread outside the runtime, blocking it. Needs no runtime; do
    /// not call it from a task (it blocks the worker thread).
    ///
    /// # Errors
    /// [`RecvError`] if the sender was dropped without sending.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::oneshot::channel::<u32>();
    /// std::thread::spawn(move || tx.send(6).unwrap());
    /// assert_eq!(rx.blocking_recv(), Ok(6));
    /// ```
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        block_on(|cx| self.poll_now(cx))
    }

    /// Closes the channel: a later `send` fails and returns its value. A value sent before can
    /// still be received.
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::oneshot::channel::<u32>();
    /// rx.close();
    /// assert!(tx.send(1).is_err());
    /// ```
    pub fn close(&mut self) {
        lock(&self.inner).receiver_gone = true;
    }

    /// The poll without the cooperative budget.
    fn poll_now(&self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let mut st = lock(&self.inner);
        if let Some(v) = st.value.take() {
            let (urgency, task) = (st.urgency, st.task.take());
            drop(st);
            drop(task);
            inherit::boost_current_until_next_receive(urgency);
            return Poll::Ready(Ok(v));
        }
        if st.sender_gone {
            return Poll::Ready(Err(RecvError));
        }
        if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            st.waker = Some(cx.waker().clone());
            // The task that waits now (a receiver may move between tasks).
            let task = ReceiverTask::current_if(st.inherit);
            let old = std::mem::replace(&mut st.task, task);
            drop(st);
            drop(old);
        }
        Poll::Pending
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready!(coop::poll_proceed(cx));
        self.poll_now(cx)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (value, task) = {
            let mut st = lock(&self.inner);
            st.receiver_gone = true;
            st.waker = None;
            (st.value.take(), st.task.take())
        };
        // A value sent and never received is dropped here, outside the lock.
        drop(value);
        drop(task);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}
