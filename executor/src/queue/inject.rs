//! The global injector: tasks scheduled from outside the workers, and local-queue overflow.
//!
//! A mutex around the policy's queue (FIFO: [`FifoQueue`]), plus an atomic length so workers can
//! check for work without taking the lock: the worker loop looks at the injector on every
//! scheduling tick that finds its local queue empty, and every `GLOBAL_QUEUE_INTERVAL` ticks
//! regardless (`worker/`), so the common "nothing there" answer must be cheap.
//!
//! `len` is updated under the lock; a reader that sees 0 may miss a push that is in flight, which
//! the idle protocol covers: the pusher notifies a worker after its push (`worker/idle.rs`).
//!
//! Once closed (runtime shutdown), pushes drop their tasks instead of queueing them: the task was
//! already cancelled by the registry drain, and dropping the `Notified` releases its reference.

use super::local::Overflow;
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{lock, Mutex};
use crate::policy::fifo::FifoQueue;

/// The global run queue.
pub(crate) struct Inject<T> {
    /// Queued tasks, mirrored from `synced` for lock-free emptiness checks.
    len: AtomicUsize,
    /// The queue itself.
    synced: Mutex<Synced<T>>,
}

struct Synced<T> {
    /// Tasks in policy order.
    queue: FifoQueue<T>,
    /// Set at shutdown: no more tasks are accepted.
    closed: bool,
}

impl<T> Inject<T> {
    /// An empty, open injector.
    pub(crate) fn new() -> Inject<T> {
        Inject {
            len: AtomicUsize::new(0),
            synced: Mutex::new(Synced {
                queue: FifoQueue::new(),
                closed: false,
            }),
        }
    }

    /// Whether there is nothing to take (may be stale).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of queued tasks (may be stale).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Queues one task; returns it back if the injector is closed.
    pub(crate) fn try_push(&self, task: T) -> Result<(), T> {
        let mut synced = lock(&self.synced);
        if synced.closed {
            return Err(task);
        }
        synced.queue.push(task);
        self.len.store(synced.queue.len(), Ordering::Release);
        Ok(())
    }

    /// Takes the oldest task.
    pub(crate) fn pop(&self) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        let mut synced = lock(&self.synced);
        let task = synced.queue.pop();
        self.len.store(synced.queue.len(), Ordering::Release);
        task
    }

    /// Takes up to `max` of the oldest tasks, in order, handing each to `sink`, under one lock.
    pub(crate) fn pop_batch(&self, max: usize, mut sink: impl FnMut(T)) -> usize {
        if self.is_empty() {
            return 0;
        }
        let mut synced = lock(&self.synced);
        let mut n = 0;
        while n < max {
            let Some(task) = synced.queue.pop() else {
                break;
            };
            sink(task);
            n += 1;
        }
        self.len.store(synced.queue.len(), Ordering::Release);
        n
    }

    /// Closes the injector; later pushes are refused. Returns `false` if it was already closed.
    pub(crate) fn close(&self) -> bool {
        let mut synced = lock(&self.synced);
        !std::mem::replace(&mut synced.closed, true)
    }
}

impl<T> Overflow<T> for Inject<T> {
    fn push(&self, task: T) {
        // Closed only after every worker stopped, and only workers overflow: cannot fail in
        // practice; if it does, dropping the task is the closed injector's contract.
        let _ = self.try_push(task);
    }

    fn push_batch(&self, tasks: impl Iterator<Item = T>) {
        let mut synced = lock(&self.synced);
        if synced.closed {
            drop(synced);
            tasks.for_each(drop);
            return;
        }
        for task in tasks {
            synced.queue.push(task);
        }
        self.len.store(synced.queue.len(), Ordering::Release);
    }
}
