//! Local tasks: futures that are not `Send` (they hold an `Rc`, a `RefCell`, a `!Send` handle of
//! some library), run on the one thread that drives their [`LocalSet`].
//!
//! A `LocalSet` is a queue of such tasks plus the future that runs them: [`LocalSet::run_until`]
//! wraps a future (which itself need not be `Send`) and, on every poll, polls it and then the
//! local tasks that are ready, in the order they were woken. Drive it with
//! [`Runtime::block_on`](crate::Runtime::block_on) (the future of `block_on` need not be `Send`)
//! or from inside any task polled on one thread. Inside `run_until`, [`spawn_local`] adds a task
//! to the set being driven; [`LocalSet::spawn_local`] adds one from anywhere on the thread.
//!
//! # Scheduling
//! Local tasks are not the runtime's tasks: the runtime schedules the future that drives the set
//! (under its policy, with its deadline or priority), and the set runs its tasks in wake order
//! inside that future's polls, at most [`LOCAL_BUDGET`] task polls per poll of `run_until`
//! before it yields, so a set with always-ready tasks cannot hold a worker. Local tasks take
//! their ids from the runtime that drives the set (unique among all its tasks), or from the set's
//! own counter when spawned outside any runtime.
//!
//! # Panics and cancellation
//! A local task that panics resolves its [`LocalJoinHandle`] to a panic [`JoinError`] and the
//! set goes on. Dropping the set drops every unfinished task's future exactly once, on the
//! dropping thread, and their handles resolve to cancelled.

mod join;
pub(crate) mod wake;

pub use join::LocalJoinHandle;

use crate::context;
use crate::task::{JoinError, TaskId};
use join::{Fail, Slot};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use wake::{Remote, TaskWaker};

/// Local-task polls per poll of [`LocalSet::run_until`] before it yields to its own scheduler.
/// The same order as the cooperative budget of a worker task (`coop.rs`), for the same reason:
/// large enough that yielding costs little, small enough that a ready set cannot monopolise a
/// worker.
pub const LOCAL_BUDGET: usize = 128;

thread_local! {
    /// The set whose `run_until` is being polled on this thread, for `spawn_local`.
    static CURRENT: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
}

/// A set of `!Send` tasks run on the thread that drives it: [`run_until`](Self::run_until) polls
/// the wrapped future, then the ready tasks in wake order, at most [`LOCAL_BUDGET`] per poll.
/// Dropping the set cancels its unfinished tasks, each future dropped once.
///
/// ```
/// use std::rc::Rc;
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let local = kairos::LocalSet::new();
/// let total = rt.block_on(local.run_until(async {
///     let data = Rc::new(vec![1, 2, 3]);
///     let handles: Vec<_> = (0..3)
///         .map(|i| {
///             let data = Rc::clone(&data);
///             kairos::spawn_local(async move { data[i] * 10 })
///         })
///         .collect();
///     let mut total = 0;
///     for h in handles {
///         total += h.await.unwrap();
///     }
///     total
/// }));
/// assert_eq!(total, 60);
/// ```
pub struct LocalSet {
    inner: Rc<Inner>,
}

/// The owner-thread part of a set.
struct Inner {
    /// The tasks, by slab index.
    tasks: RefCell<Slab>,
    /// The part wakers reach.
    remote: Arc<Remote>,
    /// Next id for tasks spawned outside any runtime.
    own_ids: Cell<u64>,
}

/// Tasks by index, with a free list of finished slots.
#[derive(Default)]
struct Slab {
    entries: Vec<Option<Entry>>,
    free: Vec<usize>,
}

/// One unfinished local task.
struct Entry {
    /// The task's future, wrapped to store its output in the slot.
    future: Pin<Box<dyn Future<Output = ()>>>,
    /// Its waker.
    waker: Arc<TaskWaker>,
    /// Its slot, to fail it on panic, abort or drop.
    slot: Rc<dyn Fail>,
    /// Its id, for the errors.
    id: TaskId,
}

impl LocalSet {
    /// An empty set.
    ///
    /// ```
    /// let local = kairos::LocalSet::new();
    /// assert_eq!(local.len(), 0);
    /// ```
    pub fn new() -> LocalSet {
        LocalSet {
            inner: Rc::new(Inner {
                tasks: RefCell::new(Slab::default()),
                remote: Arc::new(Remote::default()),
                own_ids: Cell::new(1),
            }),
        }
    }

    /// Unfinished tasks in the set.
    ///
    /// ```
    /// let local = kairos::LocalSet::new();
    /// let _h = local.spawn_local(async {});
    /// assert_eq!(local.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        let tasks = self.inner.tasks.borrow();
        tasks.entries.len() - tasks.free.len()
    }

    /// Whether the set has no unfinished task.
    ///
    /// ```
    /// assert!(kairos::LocalSet::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a task to the set; it runs when the set is driven ([`run_until`](Self::run_until)).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let local = kairos::LocalSet::new();
    /// let cell = std::rc::Rc::new(std::cell::Cell::new(0));
    /// let c = cell.clone();
    /// let h = local.spawn_local(async move { c.set(7) });
    /// rt.block_on(local.run_until(h)).unwrap();
    /// assert_eq!(cell.get(), 7);
    /// ```
    pub fn spawn_local<F>(&self, future: F) -> LocalJoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.inner.spawn(future)
    }

    /// Runs `future` to completion, running the set's tasks while it waits. Tasks still
    /// unfinished when `future` completes stay in the set (they run the next time it is driven,
    /// or are cancelled when it is dropped).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let local = kairos::LocalSet::new();
    /// let v = rt.block_on(local.run_until(async {
    ///     kairos::spawn_local(async { 41 }).await.unwrap() + 1
    /// }));
    /// assert_eq!(v, 42);
    /// ```
    pub fn run_until<F: Future>(&self, future: F) -> RunUntil<'_, F> {
        RunUntil {
            set: self,
            future: Box::pin(future),
        }
    }
}

impl Default for LocalSet {
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet")
            .field("tasks", &self.len())
            .finish()
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        // Take every entry out first: a destructor may spawn into or wake the set.
        loop {
            let entries: Vec<Entry> = {
                let mut tasks = self.inner.tasks.borrow_mut();
                let taken: Vec<Entry> = tasks.entries.iter_mut().filter_map(Option::take).collect();
                tasks.free.clear();
                tasks.entries.clear();
                taken
            };
            if entries.is_empty() {
                break;
            }
            for entry in entries {
                entry.waker.retire();
                let Entry {
                    future, slot, id, ..
                } = entry;
                drop(future);
                slot.fail(JoinError::cancelled(id));
            }
        }
    }
}

impl Inner {
    /// The id of a new local task.
    fn next_id(&self) -> TaskId {
        context::with_handle(|handle| match handle {
            Some(handle) => handle.next_task_id(),
            None => {
                let id = self.own_ids.get();
                self.own_ids.set(id + 1);
                TaskId(id)
            }
        })
    }

    fn spawn<F>(&self, future: F) -> LocalJoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let id = self.next_id();
        let slot = Slot::new(id);
        let task_slot = Rc::clone(&slot);
        let wrapped = async move {
            let output = future.await;
            task_slot.finish(Ok(output));
        };
        let mut tasks = self.tasks.borrow_mut();
        let index = match tasks.free.pop() {
            Some(index) => index,
            None => {
                tasks.entries.push(None);
                tasks.entries.len() - 1
            }
        };
        let waker = TaskWaker::new_listed(index, Arc::clone(&self.remote));
        let handle = LocalJoinHandle::new(slot.clone(), Waker::from(Arc::clone(&waker)));
        tasks.entries[index] = Some(Entry {
            future: Box::pin(wrapped),
            waker,
            slot,
            id,
        });
        handle
    }

    /// Polls ready tasks until none is listed or `LOCAL_BUDGET` polls ran. Returns whether
    /// listed tasks remain.
    fn run_ready(&self) -> bool {
        for _ in 0..LOCAL_BUDGET {
            let Some(index) = self.remote.pop() else {
                return false;
            };
            // Take the entry out while it runs: the task may spawn into the set.
            let Some(mut entry) = self
                .tasks
                .borrow_mut()
                .entries
                .get_mut(index)
                .and_then(Option::take)
            else {
                continue;
            };
            entry.waker.unlist();
            if entry.slot.aborted() {
                self.finish(index, entry, |id| Some(JoinError::cancelled(id)));
                continue;
            }
            let waker = Waker::from(Arc::clone(&entry.waker));
            let mut cx = Context::from_waker(&waker);
            match catch_unwind(AssertUnwindSafe(|| entry.future.as_mut().poll(&mut cx))) {
                Ok(Poll::Pending) => {
                    self.tasks.borrow_mut().entries[index] = Some(entry);
                }
                Ok(Poll::Ready(())) => self.finish(index, entry, |_| None),
                Err(payload) => {
                    let mut payload = Some(payload);
                    self.finish(index, entry, |id| {
                        payload.take().map(|p| JoinError::panic(id, p))
                    })
                }
            }
        }
        self.remote.has_ready()
    }

    /// Frees the slot of a finished task; drops its future, then stores `error` if any.
    fn finish(&self, index: usize, entry: Entry, error: impl FnOnce(TaskId) -> Option<JoinError>) {
        entry.waker.retire();
        let Entry {
            future, slot, id, ..
        } = entry;
        // A destructor that panics is reported like a panic of the task.
        let dropped = catch_unwind(AssertUnwindSafe(move || drop(future)));
        match (error(id), dropped) {
            (Some(e), _) => slot.fail(e),
            (None, Err(p)) => slot.fail(JoinError::panic(id, p)),
            (None, Ok(())) => {}
        }
        self.tasks.borrow_mut().free.push(index);
    }
}

/// The future of [`LocalSet::run_until`]: polls the wrapped future, then the ready local tasks.
pub struct RunUntil<'a, F> {
    set: &'a LocalSet,
    future: Pin<Box<F>>,
}

impl<F> fmt::Debug for RunUntil<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntil").field("set", self.set).finish()
    }
}

/// Makes `set` the current set of this thread while alive; restores the previous one on drop
/// (sets may be nested).
struct Enter(Option<Rc<Inner>>);

impl Enter {
    fn new(set: &Rc<Inner>) -> Enter {
        Enter(CURRENT.with(|c| c.replace(Some(Rc::clone(set)))))
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        let previous = self.0.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

impl<F: Future> Future for RunUntil<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let inner = Rc::clone(&self.set.inner);
        inner.remote.register_driver(cx.waker());
        let _enter = Enter::new(&inner);
        if let Poll::Ready(out) = self.future.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        if inner.run_ready() {
            // Budget spent with tasks still ready: come back after others had a turn.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

/// Spawns a `!Send` task onto the [`LocalSet`] whose [`run_until`](LocalSet::run_until) is
/// running on this thread.
///
/// # Panics
/// Outside `LocalSet::run_until`; use [`LocalSet::spawn_local`] to add tasks before driving a
/// set.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let local = kairos::LocalSet::new();
/// let v = rt.block_on(local.run_until(async {
///     let counter = std::rc::Rc::new(std::cell::RefCell::new(0));
///     let c = counter.clone();
///     kairos::spawn_local(async move { *c.borrow_mut() += 5 }).await.unwrap();
///     let v = *counter.borrow();
///     v
/// }));
/// assert_eq!(v, 5);
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> LocalJoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let current = CURRENT.with(|c| c.borrow().clone());
    match current {
        Some(inner) => inner.spawn(future),
        None => panic!(
            "kairos::spawn_local called outside LocalSet::run_until: drive the code with \
             `kairos::LocalSet::new().run_until(...)`, or add the task with LocalSet::spawn_local"
        ),
    }
}
