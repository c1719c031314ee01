//! One value, once, from a [`Sender`] to a [`Receiver`] (a future).
//!
//! # Protocol
//!
//! No lock: one atomic state word over one shared block, and three slots in it, each slot owned
//! by one side at a time.
//!
//! | bit | set by | means |
//! |---|---|---|
//! | `VALUE` | `send` (compare-and-swap, only while `CLOSED` is clear) | the value and its urgency are in their slots, written before; from now on only the receiver touches the value |
//! | `TX_GONE` | the sender's drop without a send | no value will come |
//! | `CLOSED` | the receiver's `close` or drop | a `send` that has not published fails and keeps its value |
//! | `WAITING` | the receiver's poll, after it wrote its waker and task | the waker and task slot is published: the receiver no longer touches it; a completion that finds the bit set takes the slot over |
//! | `TX_HELD`, `RX_HELD` | cleared by each half when it is done with the block | the side that clears the last one frees the block |
//!
//! - `send` writes the value and its urgency into their slots (unpublished, so nobody reads
//!   them), then sets `VALUE` with a compare-and-swap that fails if `CLOSED` appeared, in
//!   which case it takes the value back (still unpublished) and returns it in the error. If
//!   the state it replaced had `WAITING`, the waker and task slot is now the sender's: it takes
//!   both out, raises the receiver's task and wakes the waker (by value), then clears `TX_HELD`.
//!   Otherwise the same compare-and-swap clears `TX_HELD`: one read-modify-write for the send.
//! - A receiver's poll that finds neither `VALUE` nor `TX_GONE` registers: if its published
//!   waker would wake the same task (the receiver remembers the waker's identity, its data and
//!   vtable pointers, in its own memory: it never reads a published slot), nothing to do; else
//!   it clears `WAITING` (taking the slot back: if a completion came meanwhile, the completing
//!   side owns the slot, so the receiver leaves it and takes the outcome instead), writes
//!   waker and task, and sets `WAITING` again. A completion published before that last step is
//!   seen in the state it returns; one after it finds `WAITING` and wakes. No wake-up is lost.
//! - The receiver's drop after a completion takes a value it never received out of its slot,
//!   then clears `RX_HELD`. Without a completion it sets `CLOSED` and clears `WAITING` in one
//!   compare-and-swap; if no completion raced it, the slot is its own again and it drops the
//!   waker and task (so a long-lived sender does not keep the receiving task's memory) before
//!   it clears `RX_HELD`. A send either published before (the receiver drops the value) or
//!   fails after (the sender keeps it): never both, never neither.
//! - The block is freed by the half that clears the last of `TX_HELD` and `RX_HELD` (both
//!   clears are acquire-release, so the freeing side sees every write of the other); what the
//!   slots still hold (a waker a completion did not take, a value nobody received) is dropped
//!   with it. A side never touches the block after its clear.
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
use crate::loom::UnsafeCell;
use crate::sync::chan::blocking::block_on;
pub use crate::sync::chan::error::{RecvError, SendError, TryRecvError};
use crate::sync::inherit::{self, MessageUrgency, ReceiverTask};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{ready, Context, Poll, Waker};

/// The value and its urgency are published (see the module docs).
const VALUE: usize = 1;
/// No value will come: the sender was dropped unsent, or its send was refused.
const TX_GONE: usize = 1 << 1;
/// The receiver closed or was dropped.
const CLOSED: usize = 1 << 2;
/// The receiver's waker and task are published.
const WAITING: usize = 1 << 3;
/// The sender still uses the shared block.
const TX_HELD: usize = 1 << 4;
/// The receiver still uses the shared block.
const RX_HELD: usize = 1 << 5;

/// The state bits under which a send keeps `TX_HELD` past its publication: `WAITING`, because
/// it still takes the waker out of the block and wakes it. `--cfg kairos_loom_weaken` empties
/// it on purpose: the sender then lets go of the block while it wakes, and
/// `loom_tests::oneshot::send_to_waiting_receiver_vs_its_drop` must catch the receiver freeing
/// it meanwhile (`scripts/loom-mutation.sh`).
#[cfg(not(kairos_loom_weaken))]
const HELD_TO_WAKE: usize = WAITING;
#[cfg(kairos_loom_weaken)]
const HELD_TO_WAKE: usize = 0;

/// Creates a one-shot channel.
///
/// ```
/// let (tx, mut rx) = kairos::sync::oneshot::channel::<&str>();
/// tx.send("done").unwrap();
/// assert_eq!(rx.try_recv(), Ok("done"));
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Box::new(Inner {
        state: AtomicUsize::new(TX_HELD | RX_HELD),
        value: UnsafeCell::new(None),
        urgency: UnsafeCell::new(MessageUrgency::NONE),
        waiter: UnsafeCell::new(Waiter::default()),
        inherit: AtomicBool::new(true),
    });
    let inner = NonNull::from(Box::leak(inner));
    (
        Sender { inner: Some(inner) },
        Receiver {
            inner,
            registered: None,
        },
    )
}

/// The state both halves share, in one block freed by the last of them (module docs).
struct Inner<T> {
    /// `VALUE`, `TX_GONE`, `CLOSED`, `WAITING`, `TX_HELD`, `RX_HELD`.
    state: AtomicUsize,
    /// The value: written by the sender before `VALUE`, then the receiver's.
    value: UnsafeCell<Option<T>>,
    /// The urgency the value carries: written by the sender before `VALUE`.
    urgency: UnsafeCell<MessageUrgency>,
    /// The receiver's waker and task: the receiver's while `WAITING` is clear and no completion
    /// was published; the completing side's if it found `WAITING` set.
    waiter: UnsafeCell<Waiter>,
    /// Whether the value carries its sender's urgency ([`Sender::set_inheritance`]).
    inherit: AtomicBool,
}

/// Who to wake, and to raise before the wake-up.
#[derive(Default)]
struct Waiter {
    /// The receiver's last waker.
    waker: Option<Waker>,
    /// The waiting receiver's task, under an ordered policy with inheritance on, for `send` to
    /// raise before waking it.
    task: Option<ReceiverTask>,
}

impl<T> Inner<T> {
    /// Wakes the receiver after a completion that found `WAITING` in `prev`, taking its waker
    /// and task out of the slot.
    fn wake_waiting(&self, prev: usize, urgency: MessageUrgency) {
        if prev & WAITING == 0 {
            return;
        }
        // SAFETY: `WAITING` was set when this side published its completion, so the receiver
        // had published the slot and no longer touches it (it sees the completion when it tries
        // to take the slot back, and then leaves it): the slot is this side's now.
        let Waiter { waker, task } = self.waiter.with_mut(|w| unsafe { std::mem::take(&mut *w) });
        if let Some(task) = &task {
            task.raise(urgency);
        }
        if let Some(waker) = waker {
            crate::loom::reached("oneshot.send_wakes_receiver");
            waker.wake();
        }
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

/// Clears `held` (`TX_HELD` or `RX_HELD`) in `inner`'s state and frees the block if the other
/// half had cleared its bit already.
///
/// # Safety
/// The caller holds `held` (it was set, and only the caller clears it) and does not touch the
/// block afterwards.
unsafe fn release<T>(inner: NonNull<Inner<T>>, held: usize) {
    // SAFETY: the caller holds `held`, so the block is alive. A subtraction clears the bit (it
    // is set, and only the caller clears it) in one `lock xadd`, where a `fetch_and` that
    // returns the old value is a compare-and-swap loop.
    let prev = unsafe { inner.as_ref() }
        .state
        .fetch_sub(held, Ordering::AcqRel);
    if prev & (TX_HELD | RX_HELD) == held {
        crate::loom::reached("oneshot.free");
        #[cfg(loom)]
        {
            // The free writes the whole block: as writes of every slot, loom reports a side
            // that still uses one without having ordered that use before this point.
            // SAFETY: not freed yet.
            let block = unsafe { inner.as_ref() };
            block.waiter.with_mut(|_| ());
            block.value.with_mut(|_| ());
            block.urgency.with_mut(|_| ());
        }
        // SAFETY: both bits are clear now: nobody else uses the block, and the acquire of the
        // read-modify-write above ordered the other half's last accesses before this.
        drop(unsafe { Box::from_raw(inner.as_ptr()) });
    }
}

/// The sender is gone without a value (dropped, or its send failed): sets `TX_GONE`, so that
/// a closed receiver still waiting gets [`RecvError`] instead of waiting forever, and lets go
/// of the block.
fn sender_gone<T>(inner: NonNull<Inner<T>>) {
    // SAFETY: the sender holds `TX_HELD` until the release below. `TX_GONE` is clear (only
    // the sender sets it, once): an addition sets it.
    let prev = unsafe { inner.as_ref() }
        .state
        .fetch_add(TX_GONE, Ordering::AcqRel);
    // SAFETY: as above.
    unsafe { inner.as_ref() }.wake_waiting(prev, MessageUrgency::NONE);
    // SAFETY: the sender held `TX_HELD` and does not touch the block again.
    unsafe { release(inner, TX_HELD) };
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
    /// The shared block (this half holds `TX_HELD` while it is `Some`); `None` once sent.
    inner: Option<NonNull<Inner<T>>>,
}

// SAFETY: the block is shared by the state word's protocol (module docs); the value crosses
// threads, so `T: Send` is required and sufficient. `&Sender` only reads atomics.
unsafe impl<T: Send> Send for Sender<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Sender<T> {}

impl<T> Sender<T> {
    /// The shared block, while this half holds it.
    fn inner(&self) -> Option<&Inner<T>> {
        // SAFETY: `TX_HELD` is held while `inner` is `Some`: the block is alive.
        self.inner.map(|p| unsafe { &*p.as_ptr() })
    }
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
        let ptr = self
            .inner
            .take()
            .expect("a Sender holds its state until send");
        // SAFETY: this half holds `TX_HELD` until it clears it below.
        let inner = unsafe { ptr.as_ref() };
        let mut state = inner.state.load(Ordering::Acquire);
        if state & CLOSED != 0 {
            sender_gone(ptr);
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
                sender_gone(ptr);
                return Err(SendError(value.expect("the value written above")));
            }
            // Without a waiter to wake, the sender is done with the block at the publication.
            let next = if state & HELD_TO_WAKE == 0 {
                (state | VALUE) & !TX_HELD
            } else {
                state | VALUE
            };
            match inner.state.compare_exchange_weak(
                state,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(prev) if prev & HELD_TO_WAKE != 0 => {
                    inner.wake_waiting(prev, urgency);
                    // SAFETY: this half still held `TX_HELD` and is done with the block.
                    unsafe { release(ptr, TX_HELD) };
                    return Ok(());
                }
                // `TX_HELD` cleared by the exchange, with `RX_HELD` still set (`CLOSED` was
                // clear): the receiver frees the block. No waiter, so nothing to wake (but for
                // the weakened rule above).
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
        if let Some(inner) = self.inner() {
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
        self.inner()
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
        self.inner()
            .is_none_or(|i| i.state.load(Ordering::Acquire) & CLOSED != 0)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            sender_gone(inner);
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
    /// The shared block (this half holds `RX_HELD` until its drop).
    inner: NonNull<Inner<T>>,
    /// The identity (data and vtable pointers) of the waker last published, so that a poll can
    /// tell whether it is still the right one without reading the published slot.
    registered: Option<(usize, usize)>,
}

// SAFETY: as for `Sender`: the block is shared by the state word's protocol, the value crosses
// threads. `&Receiver` has no methods that touch the block.
unsafe impl<T: Send> Send for Receiver<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Receiver<T> {}

/// A waker's identity: what `Waker::will_wake` compares.
fn identity(waker: &Waker) -> (usize, usize) {
    (waker.data() as usize, waker.vtable() as *const _ as usize)
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
        let state = self.inner().state.load(Ordering::Acquire);
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
        self.inner().state.fetch_or(CLOSED, Ordering::AcqRel);
    }

    /// The shared block.
    fn inner(&self) -> &Inner<T> {
        // SAFETY: this half holds `RX_HELD` until its drop: the block is alive.
        unsafe { self.inner.as_ref() }
    }

    /// What `state` (loaded or returned with acquire ordering) says the receive gives: the
    /// value (received now, which raises the calling task to its urgency), `RecvError` (the
    /// sender is gone, or the value was received before), or `None` (not yet).
    fn outcome(&mut self, state: usize) -> Option<Result<T, RecvError>> {
        if state & VALUE != 0 {
            return Some(match self.inner().take_value() {
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
        let mut state = self.inner().state.load(Ordering::Acquire);
        if let Some(done) = self.outcome(state) {
            return Poll::Ready(done);
        }
        let me = identity(cx.waker());
        if state & WAITING != 0 {
            if self.registered == Some(me) {
                return Poll::Pending;
            }
            // `WAITING` is set and only the receiver changes it: a subtraction clears it.
            state = self.inner().state.fetch_sub(WAITING, Ordering::AcqRel);
            if let Some(done) = self.outcome(state) {
                crate::loom::reached("oneshot.reregister_finds_value");
                // The completing side owns the slot: leave it.
                return Poll::Ready(done);
            }
        }
        let task = ReceiverTask::current_if(self.inner().inherit.load(Ordering::Relaxed));
        // SAFETY: `WAITING` is clear and no completion was published, so the slot is the
        // receiver's (a completion takes it over only if it finds `WAITING`).
        let old = self.inner().waiter.with_mut(|w| unsafe {
            let w = &mut *w;
            (
                w.waker.replace(cx.waker().clone()),
                std::mem::replace(&mut w.task, task),
            )
        });
        // Dropped outside the slot's access (a task reference may be the last).
        drop(old);
        self.registered = Some(me);
        // `WAITING` is clear and only the receiver changes it: an addition sets it.
        state = self.inner().state.fetch_add(WAITING, Ordering::AcqRel);
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
    /// not received; lets go of the block (module docs).
    fn drop(&mut self) {
        let inner = self.inner();
        let mut state = inner.state.load(Ordering::Acquire);
        while state & (VALUE | TX_GONE) == 0 {
            let next = (state | CLOSED) & !WAITING;
            match inner.state.compare_exchange_weak(
                state,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // SAFETY: `WAITING` is clear (cleared by us, or never set) and no
                    // completion was published: the slot is the receiver's.
                    drop(
                        inner
                            .waiter
                            .with_mut(|w| unsafe { std::mem::take(&mut *w) }),
                    );
                    // SAFETY: this half holds `RX_HELD` and does not touch the block again.
                    unsafe { release(self.inner, RX_HELD) };
                    return;
                }
                Err(now) => state = now,
            }
        }
        if state & VALUE != 0 {
            // A value sent and never received is dropped here.
            drop(inner.take_value());
        }
        // SAFETY: as above.
        unsafe { release(self.inner, RX_HELD) };
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}
