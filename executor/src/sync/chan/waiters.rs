//! `Waiters`: the list of futures waiting on one side of a channel, kept inside the channel's
//! lock.
//!
//! # Protocol
//!
//! A waiting future owns a *key* (`Option<usize>`, `None` until it first waits): the index of its
//! entry in a slab that is reused, so a channel in steady state allocates nothing for waiting.
//! An entry is in one of three states:
//!
//! - `Waiting`: its index is in the FIFO `queue`, with the future's last waker.
//! - `Notified`: [`Waiters::notify_one`] took it off the queue and handed its waker to the caller,
//!   who wakes it *after releasing the channel's lock* (a waker may run arbitrary code).
//! - free: on the free list.
//!
//! A future that completes, or is dropped, calls [`Waiters::remove`]. If its entry was
//! `Notified` the notification was meant for *some* waiter of this side: a dropped future that
//! had been notified passes it on (`notify_one` again), so no wake-up is lost. That is the
//! channels' cancellation safety. A notified future that polls and finds the channel not ready
//! after all (another task took the message or the free slot first) goes back to the end of the
//! queue ([`Waiters::register`]).
//!
//! Wakers are woken in FIFO order of registration: the longest-waiting receiver gets the next
//! message's notification.

use crate::sync::inherit::ReceiverTask;
use std::collections::VecDeque;
use std::task::Waker;

/// How many wakers a [`WakeList`] holds before its owner must release the lock and wake them.
pub(crate) const WAKE_BATCH: usize = 32;

/// State of one slab entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// On the free list.
    Free,
    /// In the queue, waiting for a notification.
    Waiting,
    /// Notified: off the queue, its waker handed out.
    Notified,
}

/// One waiting future's entry.
#[derive(Debug)]
struct Entry {
    /// Woken by the notification; taken when notified.
    waker: Option<Waker>,
    /// The waiting task, kept only where a notifier may raise it (a receiver of a channel that
    /// carries urgency, under an ordered policy: `sync/inherit.rs`); taken when notified.
    task: Option<ReceiverTask>,
    /// Where the entry is in its life.
    state: State,
}

/// The waiters of one side of a channel (see the module docs). Lives inside the channel's lock.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    /// Entries by key; reused through `free`.
    slots: Vec<Entry>,
    /// Keys of free entries.
    free: Vec<usize>,
    /// Keys of `Waiting` entries, oldest first.
    queue: VecDeque<usize>,
}

impl Waiters {
    /// An empty list.
    pub(crate) const fn new() -> Waiters {
        Waiters {
            slots: Vec::new(),
            free: Vec::new(),
            queue: VecDeque::new(),
        }
    }

    /// Futures waiting (notified entries do not count).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Makes the future owning `key` wait with `waker`: a new entry at the end of the queue, the
    /// same entry with its waker refreshed if it is already waiting, or back at the end of the
    /// queue if it had been notified.
    pub(crate) fn register(&mut self, key: &mut Option<usize>, waker: &Waker) {
        self.register_task(key, waker, || None);
    }

    /// [`Waiters::register`], keeping `task()` (called when the entry starts waiting) for the
    /// notifier to raise ([`Waiters::notify_one_task`]).
    pub(crate) fn register_task(
        &mut self,
        key: &mut Option<usize>,
        waker: &Waker,
        task: impl FnOnce() -> Option<ReceiverTask>,
    ) {
        match *key {
            Some(k) => {
                let entry = &mut self.slots[k];
                match entry.state {
                    State::Waiting => {
                        if !entry.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                            entry.waker = Some(waker.clone());
                        }
                    }
                    State::Notified => {
                        crate::loom::reached("chan.waiter_requeued");
                        entry.state = State::Waiting;
                        entry.waker = Some(waker.clone());
                        entry.task = task();
                        self.queue.push_back(k);
                    }
                    State::Free => unreachable!("a key always names a live entry"),
                }
            }
            None => {
                let entry = Entry {
                    waker: Some(waker.clone()),
                    task: task(),
                    state: State::Waiting,
                };
                let k = match self.free.pop() {
                    Some(k) => {
                        self.slots[k] = entry;
                        k
                    }
                    None => {
                        self.slots.push(entry);
                        self.slots.len() - 1
                    }
                };
                self.queue.push_back(k);
                *key = Some(k);
            }
        }
    }

    /// Notifies the oldest waiting future: marks it notified and returns its waker, to be woken
    /// by the caller once the lock is released. `None` if nobody waits.
    #[inline]
    pub(crate) fn notify_one(&mut self) -> Option<Waker> {
        self.notify_one_task().map(|(waker, _)| waker)
    }

    /// [`Waiters::notify_one`], also handing out the waiting task if its entry kept one
    /// ([`Waiters::register_task`]), to be raised before it is woken. Both are dropped by the
    /// caller after the lock is released.
    #[inline]
    pub(crate) fn notify_one_task(&mut self) -> Option<(Waker, Option<ReceiverTask>)> {
        let k = self.queue.pop_front()?;
        let entry = &mut self.slots[k];
        entry.state = State::Notified;
        let waker = entry.waker.take()?;
        Some((waker, entry.task.take()))
    }

    /// Notifies up to `*left` of the oldest waiting futures, as many as fit in `out`, and counts
    /// them off `*left`. Used to wake every waiter in batches without holding the lock while
    /// waking: the caller sets `*left` to [`Waiters::len`] once, so waiters that register again
    /// between batches are not notified twice.
    pub(crate) fn notify_into(&mut self, out: &mut WakeList, left: &mut usize) {
        while *left > 0 && !out.is_full() {
            match self.notify_one() {
                Some(waker) => out.push(waker),
                None if self.queue.is_empty() => {
                    *left = 0;
                    return;
                }
                None => {}
            }
            *left -= 1;
        }
    }

    /// The future owning `key` is done waiting (it completed, or it is being dropped): frees its
    /// entry and clears `key`. Returns `true` if the entry had been notified and not yet
    /// re-registered: a dropped future must then pass the notification on (see the module docs).
    #[inline]
    pub(crate) fn remove(&mut self, key: &mut Option<usize>) -> bool {
        match key.take() {
            None => false,
            Some(k) => self.remove_entry(k),
        }
    }

    /// [`Waiters::remove`] of entry `k`.
    #[inline(never)]
    fn remove_entry(&mut self, k: usize) -> bool {
        let entry = &mut self.slots[k];
        let state = entry.state;
        entry.state = State::Free;
        entry.waker = None;
        // The reference it holds is never the task's last: the task is polling (a completed
        // receive) or its future is being dropped by the task itself.
        entry.task = None;
        self.free.push(k);
        match state {
            State::Waiting => {
                // Still queued (a poll that found the channel ready without a notification, or a
                // future dropped while waiting). Rare, and the queue is as long as the waiters.
                if let Some(pos) = self.queue.iter().position(|&q| q == k) {
                    self.queue.remove(pos);
                }
                false
            }
            State::Notified => true,
            State::Free => unreachable!("a key always names a live entry"),
        }
    }
}

/// Wakers taken under a lock, to be woken after it is released; holds up to [`WAKE_BATCH`]
/// without allocating.
#[derive(Debug, Default)]
pub(crate) struct WakeList {
    /// The wakers.
    wakers: heapless::Vec<Waker, WAKE_BATCH>,
}

impl WakeList {
    /// An empty list.
    pub(crate) fn new() -> WakeList {
        WakeList::default()
    }

    /// Whether no more wakers fit.
    fn is_full(&self) -> bool {
        self.wakers.is_full()
    }

    /// Adds a waker; the list must not be full.
    fn push(&mut self, waker: Waker) {
        let pushed = self.wakers.push(waker);
        debug_assert!(pushed.is_ok(), "WakeList::push on a full list");
    }

    /// Wakes every waker in the list.
    pub(crate) fn wake_all(self) {
        for waker in self.wakers {
            waker.wake();
        }
    }
}

/// A lock around a state that holds waiter lists: the channels' spin lock, the mutex of
/// `watch` and `broadcast`.
pub(crate) trait Locked<S> {
    /// Runs `section` with the state, the lock held.
    fn locked<R>(&self, section: impl FnOnce(&mut S) -> R) -> R;
}

impl<S> Locked<S> for crate::loom::Mutex<S> {
    fn locked<R>(&self, section: impl FnOnce(&mut S) -> R) -> R {
        section(&mut crate::loom::lock(self))
    }
}

impl<S> Locked<S> for crate::spin_lock::SpinLock<S> {
    fn locked<R>(&self, section: impl FnOnce(&mut S) -> R) -> R {
        self.with(section)
    }
}

/// Wakes every future waiting in the list `select` picks from a state behind `lock`, in
/// batches of [`WAKE_BATCH`], never holding the lock while waking. Waiters that register after
/// the call began are not woken by it.
pub(crate) fn wake_all<S>(lock: &impl Locked<S>, mut select: impl FnMut(&mut S) -> &mut Waiters) {
    let mut left = None;
    loop {
        let mut batch = WakeList::new();
        let done = lock.locked(|state| {
            let waiters = select(state);
            let left = left.get_or_insert(waiters.len());
            if *left == 0 {
                return true;
            }
            waiters.notify_into(&mut batch, left);
            false
        });
        if done {
            return;
        }
        batch.wake_all();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn fifo_notify_and_pass_on() {
        let mut w = Waiters::new();
        let (ca, a) = counter();
        let (cb, b) = counter();
        let (mut ka, mut kb) = (None, None);
        w.register(&mut ka, &a);
        w.register(&mut kb, &b);
        w.notify_one().unwrap().wake();
        assert_eq!(ca.0.load(Ordering::SeqCst), 1);
        assert_eq!(cb.0.load(Ordering::SeqCst), 0);
        // `a` is dropped after being notified: it must pass the notification on.
        assert!(w.remove(&mut ka));
        w.notify_one().unwrap().wake();
        assert_eq!(cb.0.load(Ordering::SeqCst), 1);
        assert!(!w.remove(&mut ka), "a cleared key removes nothing");
        assert!(w.remove(&mut kb));
        assert_eq!(w.len(), 0);
        assert!(w.notify_one().is_none());
    }

    #[test]
    fn removing_a_waiting_entry_takes_it_off_the_queue_and_reuses_it() {
        let mut w = Waiters::new();
        let (_c, a) = counter();
        let (mut k1, mut k2) = (None, None);
        w.register(&mut k1, &a);
        w.register(&mut k2, &a);
        assert!(!w.remove(&mut k1));
        assert_eq!(w.len(), 1);
        let mut k3 = None;
        w.register(&mut k3, &a);
        assert_eq!(k3, Some(0), "the freed entry is reused");
        assert_eq!(w.slots.len(), 2);
    }

    #[test]
    fn notify_into_stops_at_the_count_taken_at_the_start() {
        let mut w = Waiters::new();
        let (c, a) = counter();
        let mut keys: Vec<Option<usize>> = vec![None; 40];
        for k in &mut keys {
            w.register(k, &a);
        }
        let mut left = w.len();
        let mut batch = WakeList::new();
        w.notify_into(&mut batch, &mut left);
        assert_eq!(left, 40 - WAKE_BATCH);
        batch.wake_all();
        // The first one re-registers: the rest of the round must not reach it again.
        w.register(&mut keys[0], &a);
        let mut batch = WakeList::new();
        w.notify_into(&mut batch, &mut left);
        assert_eq!(left, 0);
        batch.wake_all();
        assert_eq!(c.0.load(Ordering::SeqCst), 40);
        assert_eq!(w.len(), 1);
    }
}
