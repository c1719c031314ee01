//! A single-value channel that keeps only the latest value: a sender publishes, receivers see
//! the newest value and wait for the next change (configuration, a state shared by a control
//! loop).
//!
//! # Protocol
//!
//! One mutex (the loom shim's) over the value, a version counter, the receiver count, a
//! "sender gone" flag and the list of receivers waiting in [`Receiver::changed`]. A send
//! replaces the value and bumps the version under the lock, then wakes every waiting receiver
//! outside it (in batches: `sync/chan/waiters.rs`). A receiver remembers the version it last
//! saw; `changed` completes when the version differs. Close semantics:
//!
//! - [`Sender::send`] with no receiver left fails and returns the value ([`SendError`]);
//!   [`Sender::send_replace`] stores it anyway.
//! - Dropping the sender wakes every waiting receiver: `changed` then fails with
//!   [`RecvError`] (the last value can still be borrowed).
//!
//! `changed().await` spends one unit of the task's cooperative budget per poll.
//!
//! [`Ref`] holds the channel's lock: keep it short, and never across an `.await`.
//!
//! ```
//! use kairos::sync::watch;
//! let rt = kairos::Runtime::builder().workers(2).build().unwrap();
//! rt.block_on(async {
//!     let (tx, mut rx) = watch::channel("idle");
//!     let seen = kairos::spawn(async move {
//!         rx.changed().await.unwrap();
//!         *rx.borrow_and_update()
//!     });
//!     tx.send("running").unwrap();
//!     assert_eq!(seen.await.unwrap(), "running");
//! });
//! ```

use crate::coop;
use crate::loom::{lock, Arc, Mutex, MutexGuard};
pub use crate::sync::chan::error::{RecvError, SendError};
use crate::sync::chan::waiters::{self, Waiters};
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Creates a watch channel holding `init` (which receivers count as already seen).
///
/// ```
/// let (tx, rx) = kairos::sync::watch::channel(1u32);
/// assert_eq!(*rx.borrow(), 1);
/// tx.send(2).unwrap();
/// assert_eq!(*rx.borrow(), 2);
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(State {
        value: init,
        version: 0,
        receivers: 1,
        sender_gone: false,
        waiters: Waiters::new(),
    }));
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared, seen: 0 },
    )
}

/// What the lock protects.
struct State<T> {
    /// The latest value.
    value: T,
    /// Bumped by every send.
    version: u64,
    /// Live receivers.
    receivers: usize,
    /// The sender was dropped.
    sender_gone: bool,
    /// Receivers waiting in `changed`.
    waiters: Waiters,
}

/// A borrow of the current value; holds the channel's lock while it lives (keep it short, never
/// across an `.await`).
///
/// ```
/// let (_tx, rx) = kairos::sync::watch::channel(vec![1, 2]);
/// let r: kairos::sync::watch::Ref<'_, Vec<i32>> = rx.borrow();
/// assert_eq!(r.len(), 2);
/// ```
pub struct Ref<'a, T> {
    /// The locked state.
    guard: MutexGuard<'a, State<T>>,
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The sending half of a watch [`channel`] (one per channel).
///
/// ```
/// let (tx, rx) = kairos::sync::watch::channel(0u8);
/// assert_eq!(tx.receiver_count(), 1);
/// drop(rx);
/// assert!(tx.is_closed());
/// ```
pub struct Sender<T> {
    /// The shared state.
    shared: Arc<Mutex<State<T>>>,
}

impl<T> Sender<T> {
    /// Publishes `value` and wakes every receiver waiting in `changed`. Never waits.
    ///
    /// # Errors
    /// [`SendError`] with the value if no receiver is left (use [`Sender::send_replace`] to
    /// store it anyway).
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::watch::channel(0u8);
    /// tx.send(1).unwrap();
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().into_inner(), 2);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        {
            let mut st = lock(&self.shared);
            if st.receivers == 0 {
                return Err(SendError(value));
            }
            let old = std::mem::replace(&mut st.value, value);
            st.version += 1;
            drop(st);
            drop(old);
        }
        waiters::wake_all(&*self.shared, |st| &mut st.waiters);
        Ok(())
    }

    /// Publishes `value` whether or not a receiver is left, and returns the previous value.
    ///
    /// ```
    /// let (tx, _rx) = kairos::sync::watch::channel(1u8);
    /// assert_eq!(tx.send_replace(2), 1);
    /// ```
    pub fn send_replace(&self, value: T) -> T {
        let old = {
            let mut st = lock(&self.shared);
            st.version += 1;
            std::mem::replace(&mut st.value, value)
        };
        waiters::wake_all(&*self.shared, |st| &mut st.waiters);
        old
    }

    /// Borrows the current value (holds the lock: keep it short).
    ///
    /// ```
    /// let (tx, _rx) = kairos::sync::watch::channel(5u8);
    /// assert_eq!(*tx.borrow(), 5);
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: lock(&self.shared),
        }
    }

    /// A new receiver that has seen the current value.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::watch::channel(0u8);
    /// drop(rx);
    /// let rx = tx.subscribe();
    /// assert!(tx.send(1).is_ok());
    /// assert!(rx.has_changed().unwrap());
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        let mut st = lock(&self.shared);
        st.receivers += 1;
        let seen = st.version;
        drop(st);
        Receiver {
            shared: Arc::clone(&self.shared),
            seen,
        }
    }

    /// Live receivers.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::watch::channel(0u8);
    /// let _rx2 = rx.clone();
    /// assert_eq!(tx.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        lock(&self.shared).receivers
    }

    /// Whether every receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::watch::channel(0u8);
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        lock(&self.shared).sender_gone = true;
        waiters::wake_all(&*self.shared, |st| &mut st.waiters);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender").finish_non_exhaustive()
    }
}

/// The receiving half of a watch [`channel`]; clone it for more receivers (a clone has seen
/// what the original has seen).
///
/// ```
/// let (tx, rx) = kairos::sync::watch::channel(0u8);
/// let rx2 = rx.clone();
/// tx.send(1).unwrap();
/// assert!(rx2.has_changed().unwrap());
/// ```
pub struct Receiver<T> {
    /// The shared state.
    shared: Arc<Mutex<State<T>>>,
    /// The version this receiver last saw.
    seen: u64,
}

impl<T> Receiver<T> {
    /// Borrows the current value without marking it seen (holds the lock: keep it short).
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::watch::channel(1u8);
    /// tx.send(2).unwrap();
    /// assert_eq!(*rx.borrow(), 2);
    /// assert!(rx.has_changed().unwrap(), "borrow does not mark it seen");
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: lock(&self.shared),
        }
    }

    /// Borrows the current value and marks it seen.
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::watch::channel(1u8);
    /// tx.send(2).unwrap();
    /// assert_eq!(*rx.borrow_and_update(), 2);
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = lock(&self.shared);
        self.seen = guard.version;
        Ref { guard }
    }

    /// Whether a value this receiver has not seen was sent.
    ///
    /// # Errors
    /// [`RecvError`] if the sender is gone (nothing will change any more).
    ///
    /// ```
    /// let (tx, rx) = kairos::sync::watch::channel(0u8);
    /// assert!(!rx.has_changed().unwrap());
    /// drop(tx);
    /// assert!(rx.has_changed().is_err());
    /// ```
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let st = lock(&self.shared);
        if st.sender_gone {
            return Err(RecvError);
        }
        Ok(st.version != self.seen)
    }

    /// Waits until a value this receiver has not seen is sent, and marks it seen. Completes at
    /// once if one already was.
    ///
    /// # Errors
    /// [`RecvError`] once the sender is gone and every value was seen.
    ///
    /// ```
    /// let (tx, mut rx) = kairos::sync::watch::channel(0u8);
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// tx.send(1).unwrap();
    /// rt.block_on(async {
    ///     rx.changed().await.unwrap();
    ///     assert_eq!(*rx.borrow(), 1);
    ///     drop(tx);
    ///     assert!(rx.changed().await.is_err());
    /// });
    /// ```
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed {
            receiver: self,
            key: None,
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        lock(&self.shared).receivers += 1;
        Receiver {
            shared: Arc::clone(&self.shared),
            seen: self.seen,
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
        f.debug_struct("watch::Receiver")
            .field("seen", &self.seen)
            .finish()
    }
}

/// Future of [`Receiver::changed`]. Cancellation safe: dropping it marks nothing seen and
/// leaves no waiter behind.
///
/// ```
/// let (_tx, mut rx) = kairos::sync::watch::channel(0u8);
/// let fut: kairos::sync::watch::Changed<'_, u8> = rx.changed();
/// drop(fut);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Changed<'a, T> {
    /// The receiver.
    receiver: &'a mut Receiver<T>,
    /// Waiter entry while waiting.
    key: Option<usize>,
}

impl<T> Unpin for Changed<'_, T> {}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready!(coop::poll_proceed(cx));
        let this = self.get_mut();
        let mut st = lock(&this.receiver.shared);
        if st.version != this.receiver.seen {
            this.receiver.seen = st.version;
            st.waiters.remove(&mut this.key);
            return Poll::Ready(Ok(()));
        }
        if st.sender_gone {
            st.waiters.remove(&mut this.key);
            return Poll::Ready(Err(RecvError));
        }
        crate::loom::reached("watch.changed_waits");
        st.waiters.register(&mut this.key, cx.waker());
        Poll::Pending
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        if self.key.is_some() {
            // Every send wakes every waiter: a notification needs no passing on.
            lock(&self.receiver.shared).waiters.remove(&mut self.key);
        }
    }
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Changed")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}
