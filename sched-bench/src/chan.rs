//! A runtime-agnostic single-slot channel, so that channel benchmarks compare executors and not
//! channel implementations.
//!
//! `tokio::sync::mpsc` would run on kairos too, but on a tokio runtime it also draws on tokio's
//! cooperative budget (forcing a yield every 128 operations) while on kairos it does not: the two
//! runtimes would not do the same work. This channel touches nothing runtime-specific: a
//! `std::sync::Mutex` around one slot and two wakers. Both runtimes pay exactly the same for a
//! send or a receive; what differs is only what the runtime does with the wake.
//!
//! Capacity is one value. `send` waits while the slot is full, `recv` while it is empty. Wakers
//! are called after the lock is released, so the woken task never contends with the waker on it.
//! One sender and one receiver (neither is `Clone`); dropping one side closes the channel.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// The sending half.
#[derive(Debug)]
pub struct Sender<T> {
    shared: Arc<Mutex<State<T>>>,
}

/// The receiving half.
#[derive(Debug)]
pub struct Receiver<T> {
    shared: Arc<Mutex<State<T>>>,
}

#[derive(Debug)]
struct State<T> {
    /// The value in flight, if any.
    slot: Option<T>,
    /// The receiver, waiting for the slot to fill.
    rx_waker: Option<Waker>,
    /// The sender, waiting for the slot to empty.
    tx_waker: Option<Waker>,
    /// One side was dropped.
    closed: bool,
}

/// The channel is closed: the other side was dropped. Gives the unsent value back.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed<T>(pub T);

/// A new channel with room for one value.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(State {
        slot: None,
        rx_waker: None,
        tx_waker: None,
        closed: false,
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// Locks the state; a poisoned lock (a panic while holding it, which the code below cannot
/// cause) is still consistent, so it is used as is.
fn lock<T>(shared: &Mutex<State<T>>) -> MutexGuard<'_, State<T>> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Stores `cx`'s waker in `slot` unless the one there already wakes the same task (the common
/// case in a loop: no clone, no drop).
fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while the slot is full.
    ///
    /// # Errors
    /// [`Closed`] with the value if the receiver is gone.
    pub fn send(&self, value: T) -> Send<'_, T> {
        Send {
            sender: self,
            value: Some(value),
        }
    }

    /// Sends `value` if the slot is empty; gives it back otherwise (full or closed).
    pub fn try_send(&self, value: T) -> Result<(), T> {
        let mut state = lock(&self.shared);
        if state.closed || state.slot.is_some() {
            return Err(value);
        }
        state.slot = Some(value);
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }
}

impl<T> Receiver<T> {
    /// Receives the next value; `None` once the sender is gone and the slot is empty.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { receiver: self }
    }
}

/// Future of [`Sender::send`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Send<'a, T> {
    sender: &'a Sender<T>,
    /// `None` once sent.
    value: Option<T>,
}

// The value is only moved, never pinned.
impl<T> Unpin for Send<'_, T> {}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), Closed<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(value) = this.value.take() else {
            panic!("chan::Send polled after completion");
        };
        let mut state = lock(&this.sender.shared);
        if state.closed {
            return Poll::Ready(Err(Closed(value)));
        }
        if state.slot.is_some() {
            register(&mut state.tx_waker, cx);
            this.value = Some(value);
            return Poll::Pending;
        }
        state.slot = Some(value);
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(w) = waker {
            w.wake();
        }
        Poll::Ready(Ok(()))
    }
}

/// Future of [`Receiver::recv`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = lock(&self.receiver.shared);
        if let Some(value) = state.slot.take() {
            let waker = state.tx_waker.take();
            drop(state);
            if let Some(w) = waker {
                w.wake();
            }
            return Poll::Ready(Some(value));
        }
        if state.closed {
            return Poll::Ready(None);
        }
        register(&mut state.rx_waker, cx);
        Poll::Pending
    }
}

/// Closes the channel and wakes the other side so it sees the close.
fn close<T>(shared: &Mutex<State<T>>) {
    let mut state = lock(shared);
    state.closed = true;
    let wakers = (state.rx_waker.take(), state.tx_waker.take());
    drop(state);
    wakers.0.into_iter().chain(wakers.1).for_each(Waker::wake);
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        close(&self.shared);
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        close(&self.shared);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_pass_in_order_across_threads() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let (tx, mut rx) = channel::<u32>();
        let producer = rt.spawn(async move {
            for i in 0..1000 {
                tx.send(i).await.unwrap();
            }
        });
        let got = rt.block_on(async move {
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
            }
            got
        });
        rt.block_on(producer).unwrap();
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn try_send_fails_when_full_or_closed() {
        let (tx, rx) = channel::<u8>();
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(tx.try_send(2), Err(2));
        drop(rx);
        assert_eq!(tx.try_send(3), Err(3));
    }

    #[test]
    fn send_to_dropped_receiver_returns_value() {
        let rt = kairos::Runtime::builder().workers(1).build().unwrap();
        let (tx, rx) = channel::<u8>();
        drop(rx);
        assert_eq!(rt.block_on(tx.send(9)), Err(Closed(9)));
    }
}
