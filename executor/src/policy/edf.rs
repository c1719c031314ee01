//! EDF: runnable tasks by absolute deadline, earliest first.
//!
//! Earliest Deadline First is optimal on one processor for independent preemptible jobs: if any
//! schedule meets every deadline, EDF does (Liu & Layland, "Scheduling Algorithms for
//! Multiprogramming in a Hard-Real-Time Environment", JACM 20(1), 1973, §7; Dertouzos 1974 for
//! arbitrary job sets). Linux's SCHED_DEADLINE orders its run queue the same way
//! (`kernel/sched/deadline.c`, an rbtree keyed by `dl_se->deadline`). kairos preempts only at
//! `.await` points, so the optimality argument holds up to one poll's length of blocking.
//!
//! # Ordering rule
//!
//! The key of an item is its [`EdfKey`]: `At(deadline)` for an absolute deadline in nanoseconds
//! on the runtime clock, `NoDeadline` for a task without one. Items pop in increasing
//! `(EdfKey, enqueue sequence)` order:
//!
//! - the earliest deadline first (a deadline already in the past is simply the earliest);
//! - every item without a deadline after every item with one, and among themselves in FIFO order
//!   (they all have the same key, so the sequence alone orders them);
//! - equal deadlines in FIFO order (enqueue sequence; see [`super::key`]).
//!
//! The structure never reads a clock: deadlines are plain numbers the caller passes in.
//!
//! # Costs
//!
//! A binary min-heap on `(EdfKey, seq)` ([`KeyedHeap`]): push O(log n) (O(1) on average),
//! pop O(log n), [`peek_key`](EdfQueue::peek_key) O(1), [`remove`](EdfQueue::remove) and
//! [`rekey`](EdfQueue::rekey) O(n).
//! Memory: the item, a 16-byte key and an 8-byte sequence per entry, in
//! one `Vec` that grows by doubling. Nothing is allocated per operation beyond that growth.

use super::key::KeyedHeap;

/// How urgent a task is under EDF; smaller is more urgent.
///
/// The derived order compares the variant first (`At` before `NoDeadline`), then the deadline,
/// so `At(u64::MAX)` still precedes `NoDeadline`. That is the point of the enum: mapping "no
/// deadline" to `u64::MAX` would make it tie with a real deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum EdfKey {
    /// Absolute deadline, nanoseconds on the runtime clock.
    At(u64),
    /// No deadline: runs after every task that has one.
    NoDeadline,
}

impl From<Option<u64>> for EdfKey {
    #[inline]
    fn from(deadline: Option<u64>) -> EdfKey {
        deadline.map_or(EdfKey::NoDeadline, EdfKey::At)
    }
}

/// An EDF run queue.
#[derive(Debug)]
pub(crate) struct EdfQueue<T> {
    /// Items keyed by deadline; the heap supplies the enqueue sequence.
    heap: KeyedHeap<EdfKey, T>,
}

impl<T> EdfQueue<T> {
    /// An empty queue.
    pub(crate) fn new() -> EdfQueue<T> {
        EdfQueue {
            heap: KeyedHeap::new(),
        }
    }

    /// Number of queued items.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Queues `item` with an absolute `deadline` in nanoseconds (`None`: no deadline), behind
    /// every queued item with the same key. O(log n).
    #[inline]
    pub(crate) fn push(&mut self, item: T, deadline: Option<u64>) {
        self.heap.push(item, EdfKey::from(deadline));
    }

    /// Queues `item` under an already-built key (a stolen item keeps its key). O(log n).
    #[inline]
    pub(crate) fn push_key(&mut self, item: T, key: EdfKey) {
        self.heap.push(item, key);
    }

    /// Removes the most urgent item: earliest deadline, then earliest enqueued. O(log n).
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(EdfKey, T)> {
        self.heap.pop()
    }

    /// The key of the item [`pop`](Self::pop) would return, for "is anything here more urgent
    /// than X" checks and for merging two queues by key. O(1).
    #[inline]
    pub(crate) fn peek_key(&self) -> Option<EdfKey> {
        self.heap.peek_key()
    }

    /// Removes the queued item `is` matches (the earliest queued if several do) with its key;
    /// `None` if none matches. O(n): see [`KeyedHeap::remove`].
    pub(crate) fn remove(&mut self, is: impl FnMut(&T) -> bool) -> Option<(EdfKey, T)> {
        self.heap.remove(is)
    }

    /// Gives the queued item `is` matches the deadline key `key` (an inherited, earlier deadline)
    /// and reports whether one matched. The item keeps its enqueue sequence, so among equal
    /// deadlines it keeps its place by arrival. O(n): see [`KeyedHeap::rekey`].
    pub(crate) fn rekey(&mut self, key: EdfKey, is: impl FnMut(&T) -> bool) -> bool {
        self.heap.rekey(key, is)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn drain(q: &mut EdfQueue<u32>) -> Vec<u32> {
        std::iter::from_fn(|| q.pop().map(|(_, item)| item)).collect()
    }

    #[test]
    fn earliest_deadline_first() {
        let mut q = EdfQueue::new();
        q.push(0, Some(30));
        q.push(1, Some(10));
        q.push(2, Some(20));
        q.push(3, Some(0)); // already past: most urgent
        assert_eq!(q.peek_key(), Some(EdfKey::At(0)));
        assert_eq!(drain(&mut q), vec![3, 1, 2, 0]);
    }

    #[test]
    fn no_deadline_runs_after_deadlines_in_fifo_order() {
        let mut q = EdfQueue::new();
        q.push(0, None);
        q.push(1, Some(u64::MAX));
        q.push(2, None);
        q.push(3, Some(5));
        q.push(4, None);
        assert!(EdfKey::At(u64::MAX) < EdfKey::NoDeadline);
        assert_eq!(drain(&mut q), vec![3, 1, 0, 2, 4]);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn equal_deadlines_in_enqueue_order() {
        let mut q = EdfQueue::new();
        for i in 0..6 {
            q.push(i, Some(if i % 2 == 0 { 7 } else { 3 }));
        }
        assert_eq!(drain(&mut q), vec![1, 3, 5, 0, 2, 4]);
    }

    #[test]
    fn stolen_items_keep_their_keys() {
        let mut victim = EdfQueue::new();
        for (i, d) in [Some(50), None, Some(10), Some(40), Some(10)]
            .into_iter()
            .enumerate()
        {
            victim.push(i as u32, d);
        }
        let mut thief = EdfQueue::new();
        for (key, item) in std::iter::from_fn(|| victim.pop()).take(3) {
            thief.push_key(item, key);
        }
        assert_eq!(victim.len(), 2);
        assert_eq!(thief.peek_key(), Some(EdfKey::At(10)));
        assert_eq!(drain(&mut thief), vec![2, 4, 3]);
        assert_eq!(drain(&mut victim), vec![0, 1]);
    }

    #[test]
    fn inherited_deadline_moves_a_queued_item_up() {
        let mut q = EdfQueue::new();
        q.push(0, Some(10));
        q.push(1, None);
        q.push(2, Some(10));
        q.push(3, Some(20));
        // Item 1 inherits deadline 10: after item 0 (queued before it), before item 2.
        assert!(q.rekey(EdfKey::At(10), |&i| i == 1));
        assert_eq!(q.remove(|&i| i == 3), Some((EdfKey::At(20), 3)));
        assert_eq!(q.remove(|&i| i == 3), None);
        assert!(!q.rekey(EdfKey::At(0), |&i| i == 3));
        assert_eq!(drain(&mut q), vec![0, 1, 2]);
    }

    /// Random pushes, pops, removals and re-keys against a linear-scan model: every pop, peek
    /// and length must match.
    #[test]
    fn matches_reference_model() {
        for seed in 0..8u64 {
            let mut rng = Rng::new(seed);
            let mut q = EdfQueue::new();
            // The model: (key, seq, item), minimum found by scanning.
            let mut model: Vec<(EdfKey, u64, u32)> = Vec::new();
            let mut seq = 0u64;
            // Few distinct deadlines, so ties are common.
            let span = 1 + rng.below(64) as u64;
            for op in 0..5_000u32 {
                let deadline = match rng.below(5) {
                    0 => None,
                    _ => Some(rng.next_u64() % span),
                };
                // An item that may or may not be queued.
                let target = rng.below(op + 1);
                match rng.below(12) {
                    0..=4 => {
                        q.push(op, deadline);
                        model.push((EdfKey::from(deadline), seq, op));
                        seq += 1;
                    }
                    5..=9 => {
                        let want = model
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, &(key, seq, _))| (key, seq))
                            .map(|(i, _)| i)
                            .map(|i| model.remove(i))
                            .map(|(key, _, item)| (key, item));
                        assert_eq!(q.pop(), want, "seed {seed} op {op}");
                    }
                    10 => {
                        let found = model.iter_mut().find(|m| m.2 == target);
                        let want = found.is_some();
                        if let Some(m) = found {
                            m.0 = EdfKey::from(deadline);
                        }
                        let got = q.rekey(EdfKey::from(deadline), |&i| i == target);
                        assert_eq!(got, want, "seed {seed} op {op}");
                    }
                    _ => {
                        let i = model.iter().position(|m| m.2 == target);
                        let want = i.map(|i| model.remove(i)).map(|(k, _, item)| (k, item));
                        assert_eq!(q.remove(|&i| i == target), want, "seed {seed} op {op}");
                    }
                }
                assert_eq!(q.len(), model.len());
                let min = model.iter().map(|&(key, seq, _)| (key, seq)).min();
                assert_eq!(q.peek_key(), min.map(|(key, _)| key));
            }
        }
    }
}
