//! One value, once, from a [`Sender`] to a [`Receiver`] (a future).
//!
//! # Protocol
//!
//! No lock: one atomic state word and three slots, each slot owned by one side at a time.
//!
//! | bit | set by | means |
//! |---|---|---|
//! | `VALUE` | `send` (compare-and-swap, only while `CLOSED` is clear) | the value and its urgency are in their slots, written before; from now on only the receiver touches the value |
//! | `TX_GONE` | the sender's drop without a send | no value will come |
//! | `CLOSED` | the receiver's `close` or drop | a `send` that has not published fails and keeps its value |
//! | `WAITING` | the receiver's poll, after it wrote its waker and task | the waker and task slots are published: the sender may read them, the receiver may only read them |
//!
//! - `send` writes the value and its urgency into their slots (unpublished, so nobody reads
//!   them), then sets `VALUE` with a compare-and-swap that fails if `CLOSED` appeared, in
//!   which case it takes the value back (still unpublished) and returns it in the error. If
//!   the state it replaced had `WAITING`, it raises the receiver's task and wakes its waker,
//!   reading both slots by shared reference.
//! - A receiver's poll that finds neither `VALUE` nor `TX_GONE` registers: if its waker is
//!   already published and would wake the same task, nothing to do; else it clears `WAITING`
//!   (taking the slots back: if the sender completed meanwhile it may be reading them, so the
//!   receiver leaves them alone and takes the outcome instead), writes waker and task, and sets
//!   `WAITING` again. A completion the sender published before that last step is seen in the
//!   state it returns; one after it finds `WAITING` and wakes. No wake-up is lost.
//! - The receiver's drop sets `CLOSED`; if `VALUE` was already set, the value is its own to
//!   drop. A send either published before (the receiver drops the value) or fails after
//!   (the sender keeps it): never both, never neither.
//! - The slots are freed with the shared state, when both halves are gone (`Arc`): a sender
//!   reading the waker never races its drop.
//!
//! Close semantics:
//!
//! - `send` after the receiver is gone (dropped or [`Receiver::close`]d) returns the value in
//!   [`SendError`].
//! - Dropping the sender without sending wakes the receiver with [`RecvError`]; so does a
//!   send refused because the receiver was closed (a closed receiver that still waits gets
//!   `RecvError` rather than waiting forever).
//! - Dropping the receiver drops a value sent and not received.
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
use crate::loom::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::{Arc, UnsafeCell};
use crate::sync::chan::blocking::block_on;
pub use crate::sync::chan::error::{RecvError, SendError, TryRecvError};
use crate::sync::inherit::{self, MessageUrgency, ReceiverTask};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

/// The value and its urgency are published (see the module docs).
const VALUE: usize = 1;
/// No value will come: the sender was dropped unsent, or its send was refused.
const TX_GONE: usize = 1 << 1;
/// The receiver closed or was dropped.
const CLOSED: usize = 1 << 2;
/// The receiver's waker and task are published.
const WAITING: usize = 1 << 3;

/// Creates a one-shot channel.
///
/// ```
/// let (tx, mut rx) = kairos::sync::oneshot::channel::<&str>();
/// tx.send("done").unwrap();
/// assert_eq!(rx.try_recv(), Ok("done"));
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        urgency: UnsafeCell::new(MessageUrgency::NONE),
        waiter: UnsafeCell::new(Waiter {
            waker: None,
            task: None,
        }),
        inherit: AtomicBool::new(true),
    });
    (
        Sender {
            inner: Some(Arc::clone(&inner)),
        },
        Receiver { inner },
    )
}

/// The state both halves share.
struct Inner<T> {
    /// `VALUE`, `TX_GONE`, `CLOSED`, `WAITING`.
    state: AtomicUsize,
    /// The value: written by the sender before `VALUE`, then the receiver's.
    value: UnsafeCell<Option<T>>,
    /// The urgency the value carries: written by the sender before `VALUE`.
    urgency: UnsafeCell<MessageUrgency>,
    /// The receiver's waker and task: written by the receiver while `WAITING` is clear, read by
    /// either while it is set.
    waiter: UnsafeCell<Waiter>,
    /// Whether the value carries its sender's urgency ([`Sender::set_inheritance`]).
    inherit: AtomicBool,
}

/// Who to wake, and to raise before the wake-up.
struct Waiter {
    /// The receiver's last waker.
    waker: Option<Waker>,
    /// The waiting receiver's task, under an ordered policy with inheritance on, for `send` to
    /// raise before waking it.
    task: Option<ReceiverTask>,
}

// SAFETY: the slots are handed between the two halves by the state word's protocol (module
// docs): a slot is written only by the side that owns it at that time, and read by the other only
// after an acquire of the state that published it. `T` crosses threads, so it must be `Send`.
unsafe impl<T: Send> Sync for Inner<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Inner<T> {}

impl<T> Inner<T> {
    /// Wakes the receiver after a completion that found `WAITING` in `prev`.
    fn wake_waiting(&self, prev: usize, urgency: MessageUrgency) {
        if prev & WAITING == 0 {
            return;
        }
        self.waiter.with(|w| {
            // SAFETY: `WAITING` was set when this side published its completion, so the
            // receiver published the slot before and no longer writes it (it sees the
            // completion when it tries to take the slot back); both sides only read it now.
            let w = unsafe { &*w };
            if let Some(task) = &w.task {
                task.raise(urgency);
            }
            if let Some(waker) = &w.waker {
                crate::loom::reached("oneshot.send_wakes_receiver");
                waker.wake_by_ref();
            }
        });
    }

    /// The sender is gone without a value (dropped, or its send failed): sets `TX_GONE`, so that
    /// a closed receiver still waiting gets [`RecvError`] instead of waiting forever.
    fn sender_gone(&self) {
        let prev = self.state.fetch_or(TX_GONE, Ordering::AcqRel);
        self.wake_waiting(prev, MessageUrgency::NONE);
    }

    /// The receiver takes the value and its urgency, once `VALUE` was seen with acquire
    /// ordering. `None` if it was taken before.
    fn take_value(&self) -> Option<(T, MessageUrgency)> {
        // SAFETY: after `VALUE` the value slot is only touched by the receiver, which calls this
        // from `&mut` methods or its drop (never twice at once).
        let value = self.value.with_mut(|v| unsafe { (*v).take() })?;
        // SAFETY: written by the sender before `VALUE`, never again.
        let urgency = self.urgency.with(|u| unsafe { *u });
        Some((value, urgency))
    }
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
    inner: Option<Arc<Inner<T>>>,
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
        let mut state = inner.state.load(Ordering::Acquire);
        if state & CLOSED != 0 {
            inner.sender_gone();
            return Err(SendError(value));
        }
        let urgency = MessageUrgency::current_if(inner.inherit.load(Ordering::Relaxed));
        // SAFETY: before `VALUE` the value and urgency slots are the sender's alone.
        inner.value.with_mut(|v| unsafe { *v = Some(value) });
        // SAFETY: as above.
        inner.urgency.with_mut(|u| unsafe { *u = urgency });
        loop {
            if state & CLOSED != 0 {
                crate::loom::reached("oneshot.send_finds_closed");
                // SAFETY: never published, so still the sender's.
                let value = inner.value.with_mut(|v| unsafe { (*v).take() });
                inner.sender_gone();
                return Err(SendError(value.expect("the value written above")));
            }
            match inner.state.compare_exchange_weak(
                state,
                state | VALUE,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(prev) => {
                    inner.wake_waiting(prev, urgency);
                    return Ok(());
                }
                Err(now) => state = now,
            }
        }
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
            inner.inherit.store(on, Ordering::Relaxed);
        }
    }

    /// Whether the value will carry the sender's urgency ([`Sender::set_inheritance`]).
    ///
    /// ```
    /// let (tx, _rx) = kairos::sync::oneshot::channel::<u32>();
    /// assert!(tx.inherits());
    /// ```
    pub fn inherits(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|i| i.inherit.load(Ordering::Relaxed))
    }

    /// Whether the receiver is gone or closed: a send would fail.
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::oneshot::channel::<u32>();
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|i| i.state.load(Ordering::Acquire) & CLOSED != 0)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.sender_gone();
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
    inner: Arc<Inner<T>>,
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
        let state = self.inner.state.load(Ordering::Acquire);
        match self.outcome(state) {
            Some(Ok(value)) => Ok(value),
            Some(Err(RecvError)) => Err(TryRecvError::Closed),
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
    pub fn blocking_recv(mut self) -> Result<T, RecvError> {
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
        self.inner.state.fetch_or(CLOSED, Ordering::AcqRel);
    }

    /// What `state` (loaded or returned with acquire ordering) says the receive gives: the
    /// value (received now, which raises the calling task to its urgency), `RecvError` (the
    /// sender is gone, or the value was received before), or `None` (not yet).
    fn outcome(&mut self, state: usize) -> Option<Result<T, RecvError>> {
        if state & VALUE != 0 {
            return Some(match self.inner.take_value() {
                Some((value, urgency)) => {
                    inherit::boost_current_until_next_receive(urgency);
                    Ok(value)
                }
                None => Err(RecvError),
            });
        }
        (state & TX_GONE != 0).then_some(Err(RecvError))
    }

    /// The poll without the cooperative budget (the registration protocol of the module docs).
    fn poll_now(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let mut state = self.inner.state.load(Ordering::Acquire);
        if let Some(done) = self.outcome(state) {
            return Poll::Ready(done);
        }
        if state & WAITING != 0 {
            // SAFETY: published: both sides only read it.
            let same = self
                .inner
                .waiter
                .with(|w| unsafe { (*w).waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) });
            if same {
                return Poll::Pending;
            }
            state = self.inner.state.fetch_and(!WAITING, Ordering::AcqRel);
            if let Some(done) = self.outcome(state) {
                crate::loom::reached("oneshot.reregister_finds_value");
                // The sender may be reading the slot: leave it.
                return Poll::Ready(done);
            }
        }
        let task = ReceiverTask::current_if(self.inner.inherit.load(Ordering::Relaxed));
        // SAFETY: `WAITING` is clear and no completion was published, so the sender does not
        // read the slot (it reads it only after finding `WAITING` with its completion).
        let old = self.inner.waiter.with_mut(|w| unsafe {
            let w = &mut *w;
            (
                w.waker.replace(cx.waker().clone()),
                std::mem::replace(&mut w.task, task),
            )
        });
        // Dropped outside the slot's access (a task reference may be the last).
        drop(old);
        state = self.inner.state.fetch_or(WAITING, Ordering::AcqRel);
        match self.outcome(state) {
            Some(done) => Poll::Ready(done),
            None => Poll::Pending,
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready!(coop::poll_proceed(cx));
        self.poll_now(cx)
    }
}

impl<T> Drop for Receiver<T> {
    /// Closes, and takes the waker and task back while the sender has not completed (so a
    /// long-lived sender does not keep the receiving task's memory); drops a value sent and
    /// not received.
    fn drop(&mut self) {
        let mut state = self.inner.state.load(Ordering::Acquire);
        loop {
            let next = (state | CLOSED) & !WAITING;
            match self.inner.state.compare_exchange_weak(
                state,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => state = now,
            }
        }
        if state & (VALUE | TX_GONE) == 0 {
            // SAFETY: `WAITING` is clear (cleared by us, or never set) and no completion was
            // published: the slot is the receiver's.
            let old = self.inner.waiter.with_mut(|w| unsafe {
                let w = &mut *w;
                (w.waker.take(), w.task.take())
            });
            drop(old);
        }
        if state & VALUE != 0 {
            // A value sent and never received is dropped here.
            drop(self.inner.take_value());
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}
