//! FIFO: runnable tasks in arrival order.
//!
//! The FIFO policy's per-worker queue is the lock-free ring in `queue/local.rs`, which is FIFO by
//! construction; this structure is the policy's ordering for everything behind a lock (the global
//! injector) and the reference model the ring is tested against. The enqueue sequence is the
//! key, so "arrival order" is exactly "increasing sequence".

use std::collections::VecDeque;

/// Tasks in arrival order.
#[derive(Debug)]
pub(crate) struct FifoQueue<T> {
    /// Oldest at the front.
    items: VecDeque<T>,
}

impl<T> FifoQueue<T> {
    /// An empty queue.
    pub(crate) fn new() -> FifoQueue<T> {
        FifoQueue {
            items: VecDeque::new(),
        }
    }

    /// Enqueues `item` as the newest.
    pub(crate) fn push(&mut self, item: T) {
        self.items.push_back(item);
    }

    /// Dequeues the oldest item.
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    /// Number of queued items.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn pops_in_arrival_order() {
        let mut q = FifoQueue::new();
        for i in 0..5 {
            q.push(i);
        }
        q.pop();
        q.push(5);
        let order: Vec<i32> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![1, 2, 3, 4, 5]);
        assert_eq!(q.len(), 0);
    }
}
