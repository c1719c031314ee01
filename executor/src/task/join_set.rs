//! `JoinSet`: a set of spawned tasks whose outputs are taken in the order the tasks finish.
//!
//! # Protocol
//!
//! (Spawning into the set, [`JoinSet::spawn`], is in `executor/src/structured_spawn.rs`, the layer that
//! reaches the scheduler; everything else is here.)
//!
//! The set owns a slab of `JoinHandle`s (`entries`, reused through a free list) and shares one
//! small list with its tasks, `Ready`: a queue of the keys of tasks that finished, and the
//! waker of whoever waits in [`JoinSet::join_next`].
//!
//! Each task is spawned wrapped in an `async` block that owns a `Finished` guard with the
//! task's key. The guard is dropped when the wrapped future ends, however it ends: it returned
//! (the guard is a local of the block, dropped as it returns), it panicked (the harness drops
//! the future after catching the panic), or it was cancelled (`abort`, runtime shutdown: the
//! harness drops the future). The guard's drop pushes the key onto `Ready` under its lock and
//! takes the waiter's waker, then wakes it outside the lock. So `Ready` holds keys in
//! completion order, one push per task: `join_next` is O(1) per completion (pop the front,
//! read that entry's handle), never a scan of the set.
//!
//! The guard runs just before the task publishes its output (the harness stores the output
//! after the future is dropped). `join_next` therefore polls the front entry's `JoinHandle`
//! normally: if the output is not published yet, the handle registers the waiter's waker as its
//! join waker and the completion wakes it. The front key stays at the front until its output
//! is read, so outputs come out exactly in the order the futures finished.
//!
//! Keys carry a generation: a slot freed and reused for a new task gets a new generation, and a
//! key whose generation no longer matches (a task of [`JoinSet::detach_all`]) is skipped when it
//! reaches the front.
//!
//! Reading a handle is an operation of the cooperative budget, as awaiting a `JoinHandle` is:
//! `join_next` in a loop over always-finished tasks yields at the budget.
//! [`JoinSet::try_join_next`] cannot yield (it is not awaited), so it reads without being
//! refused (the budget is still spent).
//!
//! `Ready` is a mutex around a `VecDeque` (through the loom shim): one short critical section
//! per completion and per `join_next` that finds the queue empty; no lock-free structure.

use super::{AbortHandle, JoinError, JoinHandle};
use crate::loom::{lock, Arc, Mutex};
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A set of tasks spawned on the current runtime, joined in the order they finish.
///
/// - [`spawn`](Self::spawn) / [`spawn_with`](Self::spawn_with) add a task and return its
///   [`AbortHandle`].
/// - [`join_next`](Self::join_next) waits for the next task to finish and returns its result
///   (`None` once the set is empty); [`try_join_next`](Self::try_join_next) does not wait.
/// - [`abort_all`](Self::abort_all) cancels every task (they stay in the set until joined, with
///   a cancelled [`JoinError`] unless they had finished); [`shutdown`](Self::shutdown) cancels
///   and joins them all; [`detach_all`](Self::detach_all) lets them run on outside the set.
/// - Dropping the set aborts every task still in it.
///
/// ```
/// use kairos::task::JoinSet;
/// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
/// let total = rt.block_on(async {
///     let mut set = JoinSet::new();
///     for i in 1..=10u64 {
///         set.spawn(async move { i * i });
///     }
///     let mut total = 0;
///     while let Some(res) = set.join_next().await {
///         total += res.expect("no task panics");
///     }
///     total
/// });
/// assert_eq!(total, 385);
/// ```
pub struct JoinSet<T> {
    /// The tasks, by slot; a slot's generation changes each time it is freed.
    entries: Vec<Slot<T>>,
    /// Free slots, reused last-freed first.
    free: Vec<u32>,
    /// Tasks in the set (occupied slots).
    len: usize,
    /// Shared with the tasks' `Finished` guards.
    ready: Arc<Ready>,
}

/// One slot of the set.
struct Slot<T> {
    /// Generation of the slot's current (or next) occupant.
    generation: u32,
    /// The task, if the slot is occupied.
    handle: Option<JoinHandle<T>>,
}

/// A task's place in the set: slot and generation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Key {
    /// Index into `entries`.
    slot: u32,
    /// `entries[slot].generation` when the task was added.
    generation: u32,
}

/// What the tasks share with the set.
struct Ready {
    /// The list itself.
    inner: Mutex<ReadyInner>,
}

/// The ready list, under `Ready::inner`'s lock.
struct ReadyInner {
    /// Keys of finished tasks, in the order their futures ended.
    queue: VecDeque<Key>,
    /// Whoever waits in `join_next` for the queue to become non-empty.
    waiter: Option<Waker>,
}

/// Owned by a task's wrapping future: reports the task's end to the set when dropped.
struct Finished {
    /// Where to report.
    ready: Arc<Ready>,
    /// The task's key.
    key: Key,
}

impl Drop for Finished {
    fn drop(&mut self) {
        let waiter = {
            let mut inner = lock(&self.ready.inner);
            inner.queue.push_back(self.key);
            inner.waiter.take()
        };
        if let Some(waiter) = waiter {
            crate::loom::reached("join_set.finished_wakes_waiter");
            waiter.wake();
        }
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    ///
    /// ```
    /// let set = kairos::task::JoinSet::<u32>::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
            ready: Arc::new(Ready {
                inner: Mutex::new(ReadyInner {
                    queue: VecDeque::new(),
                    waiter: None,
                }),
            }),
        }
    }

    /// Tasks in the set: spawned and not yet joined (finished tasks count until joined).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async {
    ///     let mut set = kairos::task::JoinSet::new();
    ///     set.spawn(async {});
    ///     assert_eq!(set.len(), 1);
    ///     set.join_next().await;
    ///     assert_eq!(set.len(), 0);
    /// });
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set has no tasks.
    ///
    /// ```
    /// assert!(kairos::task::JoinSet::<()>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Waits for the next task of the set to finish and returns its result, in the order the
    /// tasks finish; `None` if the set is empty. The task leaves the set. Cancel safe: if the
    /// returned future is dropped before it completes, no result is lost.
    ///
    /// A task that panicked or was aborted gives `Err` (see [`JoinError`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut sim = kairos::sim::Builder::new().build().unwrap();
    /// let order = sim.block_on(async {
    ///     let mut set = kairos::task::JoinSet::new();
    ///     for ms in [30u64, 10, 20] {
    ///         set.spawn(async move {
    ///             kairos::time::sleep(Duration::from_millis(ms)).await;
    ///             ms
    ///         });
    ///     }
    ///     let mut order = Vec::new();
    ///     while let Some(res) = set.join_next().await {
    ///         order.push(res.unwrap());
    ///     }
    ///     order
    /// });
    /// assert_eq!(order, [10, 20, 30]);
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Polls for the next finished task: what [`join_next`](Self::join_next) awaits. Registers
    /// `cx`'s waker when none is ready.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let out = rt.block_on(async {
    ///     let mut set = kairos::task::JoinSet::new();
    ///     set.spawn(async { 3 });
    ///     poll_fn(|cx| set.poll_join_next(cx)).await
    /// });
    /// assert_eq!(out.unwrap().unwrap(), 3);
    /// ```
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        loop {
            let Some(key) = self.front(Some(cx.waker())) else {
                return Poll::Pending;
            };
            let Some(handle) = self.handle_mut(key) else {
                // A detached task's key: skip it.
                self.pop_front();
                continue;
            };
            // Pending: the output is not published yet (the handle registered `cx`'s waker as
            // its join waker) or the budget asked to yield (`cx` was woken). The key stays.
            let out = std::task::ready!(Pin::new(handle).poll(cx));
            self.pop_front();
            self.remove(key);
            return Poll::Ready(Some(out));
        }
    }

    /// The result of a task that has finished, without waiting: `None` if no task of the set
    /// has finished yet (or the set is empty). Not subject to the cooperative budget.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let mut set = rt.block_on(async {
    ///     let mut set = kairos::task::JoinSet::new();
    ///     assert!(set.try_join_next().is_none());
    ///     set.spawn(async { 5 });
    ///     set
    /// });
    /// let out = loop {
    ///     if let Some(res) = set.try_join_next() {
    ///         break res.unwrap();
    ///     }
    ///     std::thread::yield_now();
    /// };
    /// assert_eq!(out, 5);
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        if self.len == 0 {
            return None;
        }
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            let key = self.front(None)?;
            let Some(handle) = self.handle_mut(key) else {
                self.pop_front();
                continue;
            };
            if !handle.is_finished() {
                // The future ended but the output is not published yet.
                return None;
            }
            let out = match super::current::unconstrained(|| Pin::new(handle).poll(&mut cx)) {
                Poll::Ready(out) => out,
                Poll::Pending => return None,
            };
            self.pop_front();
            self.remove(key);
            return Some(out);
        }
    }

    /// Aborts every task and waits until all have finished; the set is then empty. Results are
    /// discarded, panics included.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async {
    ///     let mut set = kairos::task::JoinSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     set.shutdown().await;
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }
}

impl<T> JoinSet<T> {
    /// Cancels every task of the set (see [`JoinHandle::abort`]). The tasks stay in the set: each
    /// is joined as usual, with a cancelled [`JoinError`] unless it had already finished.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async {
    ///     let mut set = kairos::task::JoinSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     set.abort_all();
    ///     assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort_all(&mut self) {
        for slot in &self.entries {
            if let Some(handle) = &slot.handle {
                handle.abort();
            }
        }
    }

    /// Removes every task from the set without cancelling it: the tasks run on, and their
    /// outputs are dropped when they finish.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async {
    ///     let mut set = kairos::task::JoinSet::new();
    ///     set.spawn(async {});
    ///     set.detach_all();
    ///     assert!(set.join_next().await.is_none());
    /// });
    /// ```
    pub fn detach_all(&mut self) {
        for (i, slot) in self.entries.iter_mut().enumerate() {
            if slot.handle.take().is_some() {
                slot.generation = slot.generation.wrapping_add(1);
                self.free.push(i as u32);
            }
        }
        self.len = 0;
        lock(&self.ready.inner).queue.clear();
    }

    /// First half of a spawn into the set (`structured_spawn.rs` does the spawning, which this layer
    /// cannot): reserves a slot and wraps `future` with the guard that reports its end.
    pub(crate) fn prepare<F>(
        &mut self,
        future: F,
    ) -> (Key, impl Future<Output = T> + Send + 'static)
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let key = self.vacant_key();
        let finished = Finished {
            ready: self.ready.clone(),
            key,
        };
        let wrapped = async move {
            // Dropped when the block returns, or with the block if it never does.
            let _finished = finished;
            future.await
        };
        (key, wrapped)
    }

    /// Second half: the wrapped future was spawned as `handle`; it joins the set in the slot
    /// `key` that [`prepare`](Self::prepare) reserved.
    pub(crate) fn insert(&mut self, key: Key, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        self.entries[key.slot as usize].handle = Some(handle);
        self.len += 1;
        abort
    }

    /// A free slot's key (growing the slab if none is free). The slot stays vacant until the
    /// caller fills it.
    fn vacant_key(&mut self) -> Key {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.entries.push(Slot {
                    generation: 0,
                    handle: None,
                });
                u32::try_from(self.entries.len() - 1).expect("more than 2^32 tasks in a JoinSet")
            }
        };
        Key {
            slot,
            generation: self.entries[slot as usize].generation,
        }
    }

    /// The handle of `key`'s task, if it is still in the set.
    fn handle_mut(&mut self, key: Key) -> Option<&mut JoinHandle<T>> {
        let slot = &mut self.entries[key.slot as usize];
        if slot.generation != key.generation {
            return None;
        }
        slot.handle.as_mut()
    }

    /// Frees `key`'s slot (its task was joined).
    fn remove(&mut self, key: Key) {
        let slot = &mut self.entries[key.slot as usize];
        slot.handle = None;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(key.slot);
        self.len -= 1;
    }

    /// The key at the front of the ready queue; if there is none and `waiter` is given, it is
    /// registered, under the same lock, to be woken by the next finishing task.
    pub(crate) fn front(&self, waiter: Option<&Waker>) -> Option<Key> {
        let mut inner = lock(&self.ready.inner);
        if let Some(key) = inner.queue.front() {
            return Some(*key);
        }
        if let Some(waker) = waiter {
            match &mut inner.waiter {
                Some(current) if current.will_wake(waker) => {}
                slot => *slot = Some(waker.clone()),
            }
        }
        None
    }

    /// Removes the front key (only the set pops; tasks only push at the back).
    fn pop_front(&self) {
        lock(&self.ready.inner).queue.pop_front();
    }
}

impl<T> Drop for JoinSet<T> {
    /// Aborts every task still in the set.
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}
