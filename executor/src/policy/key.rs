//! The ordering key every ordered policy shares: `(policy key, enqueue sequence)`.
//!
//! The policy key says how urgent an item is (a deadline, a virtual runtime); the enqueue
//! sequence is a counter stamped on each push, unique within one structure. Comparing the pair
//! lexicographically makes the order total: two items never compare equal, so among items with
//! equal policy keys the one pushed first comes out first (FIFO among equals), and the result of
//! every pop is a function of the operations applied alone. Without the sequence a binary heap
//! would break ties by its internal layout, which depends on the history of sifts.
//!
//! [`KeyedHeap`] is the min-heap over that pair that EDF and fair share are built on: std's
//! [`BinaryHeap`] (a max-heap, Williams 1964) over entries whose `Ord` is reversed. Costs: push
//! O(log n) worst case (O(1) on average for random keys), pop O(log n), peek O(1). A sequence is
//! a `u64` bumped once per push; at one push per nanosecond it would take 584 years to wrap, so
//! overflow is treated as impossible (it panics in debug builds).
//!
//! Removing or re-keying a queued item (for urgency that changes while a task waits: priority
//! and deadline inheritance, scheduling class moves) finds it with a predicate over the items,
//! O(n); a re-keyed item keeps its sequence ([`KeyedHeap::rekey`] says why). An O(log n) form
//! would need the caller to store the `(key, seq)` its item was queued under, a record that every
//! steal invalidates (the thief's structure draws a new sequence), and a structure searchable by
//! it (an rbtree, as CFS and SCHED_DEADLINE use, or an indexed heap) instead of std's heap.
//!
//! Sequences are local to one structure. Comparing heads of two structures (a worker's queue and
//! the injector) is meaningful for the policy key only; breaking a cross-structure tie is the
//! caller's (deterministic) choice.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Hands out enqueue sequence numbers: 0, 1, 2, ...
#[derive(Debug, Default)]
pub(crate) struct SeqGen {
    /// The number the next push gets.
    next: u64,
}

impl SeqGen {
    /// Starts at 0.
    pub(crate) fn new() -> SeqGen {
        SeqGen { next: 0 }
    }

    /// Takes the next sequence number.
    #[inline]
    pub(crate) fn next(&mut self) -> u64 {
        let seq = self.next;
        self.next += 1;
        seq
    }
}

/// One queued item with its full key.
#[derive(Debug)]
struct Entry<K, T> {
    /// The policy key: smaller is more urgent.
    key: K,
    /// Enqueue sequence, unique in the heap: breaks key ties FIFO and makes the order total.
    seq: u64,
    /// The payload; takes no part in the order (so `T` needs no bounds).
    item: T,
}

impl<K: Ord, T> Ord for Entry<K, T> {
    /// Reversed `(key, seq)`, so std's max-heap yields the smallest pair first.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        (&other.key, other.seq).cmp(&(&self.key, self.seq))
    }
}

impl<K: Ord, T> PartialOrd for Entry<K, T> {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K: Ord, T> PartialEq for Entry<K, T> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<K: Ord, T> Eq for Entry<K, T> {}

/// Items ordered by `(key, enqueue sequence)`, smallest first.
#[derive(Debug)]
pub(crate) struct KeyedHeap<K, T> {
    /// The entries, in binary-heap order.
    heap: BinaryHeap<Entry<K, T>>,
    /// Source of the tie-breaking sequence numbers.
    seq: SeqGen,
}

impl<K: Ord + Copy, T> KeyedHeap<K, T> {
    /// An empty heap.
    pub(crate) fn new() -> KeyedHeap<K, T> {
        KeyedHeap {
            heap: BinaryHeap::new(),
            seq: SeqGen::new(),
        }
    }

    /// Number of queued items.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Queues `item` under `key`, behind every queued item with the same key. O(log n).
    #[inline]
    pub(crate) fn push(&mut self, item: T, key: K) {
        let seq = self.seq.next();
        self.heap.push(Entry { key, seq, item });
    }

    /// Removes the item with the smallest `(key, seq)`. O(log n).
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(K, T)> {
        self.heap.pop().map(|e| (e.key, e.item))
    }

    /// The key [`pop`](Self::pop) would return next. O(1).
    #[inline]
    pub(crate) fn peek_key(&self) -> Option<K> {
        self.heap.peek().map(|e| e.key)
    }

    /// Removes the queued item `is` matches and returns it with its key; if several match, the
    /// one queued first (smallest sequence), so the choice never depends on the heap's layout.
    /// `None` if none matches.
    ///
    /// O(n): a scan finds the item, then the heap is rebuilt around the hole in O(n) (std's
    /// `BinaryHeap` cannot sift one entry in place; the buffer is reused, nothing is allocated).
    /// A scan that finds nothing leaves the heap untouched. The rebuilt layout differs from the
    /// old one, but pops do not depend on the layout: `(key, seq)` is a total order.
    pub(crate) fn remove(&mut self, is: impl FnMut(&T) -> bool) -> Option<(K, T)> {
        self.take(is).map(|e| (e.key, e.item))
    }

    /// Gives the queued item `is` matches (chosen as by [`remove`](Self::remove)) the key `key`,
    /// keeping its enqueue sequence. Returns whether an item matched. O(n), as `remove`.
    ///
    /// The sequence is kept, not drawn anew, because the item has been runnable since it was
    /// queued: among equal keys it stays behind the items queued before it and ahead of those
    /// queued after it, so a re-key never reorders ties between other items. It also makes a
    /// re-key to the key an item already has change nothing, so repeating one is harmless.
    /// Sequences stay unique (none is drawn or reused), so the order stays total.
    pub(crate) fn rekey(&mut self, key: K, is: impl FnMut(&T) -> bool) -> bool {
        let Some(entry) = self.take(is) else {
            return false;
        };
        self.heap.push(Entry { key, ..entry });
        true
    }

    /// Whether an item `is` matches is queued. O(n).
    pub(crate) fn contains(&self, mut is: impl FnMut(&T) -> bool) -> bool {
        self.heap.iter().any(|e| is(&e.item))
    }

    /// Takes the entry of the earliest-queued item `is` matches out of the heap.
    fn take(&mut self, mut is: impl FnMut(&T) -> bool) -> Option<Entry<K, T>> {
        let seq = self
            .heap
            .iter()
            .filter(|e| is(&e.item))
            .map(|e| e.seq)
            .min()?;
        let mut entries = std::mem::take(&mut self.heap).into_vec();
        let at = entries
            .iter()
            .position(|e| e.seq == seq)
            .expect("the entry found by the scan");
        let entry = entries.swap_remove(at);
        self.heap = BinaryHeap::from(entries);
        Some(entry)
    }

    /// Pops up to `n` items, most urgent first, lazily: see [`PopBatch`].
    pub(crate) fn pop_batch(&mut self, n: usize) -> PopBatch<'_, K, T> {
        PopBatch {
            heap: self,
            left: n,
        }
    }
}

/// Iterator of [`KeyedHeap::pop_batch`]: each `next` is one `pop` (O(log n)), so taking `k`
/// items costs O(k log n) and allocates nothing. Items not yet taken when the iterator is
/// dropped stay queued.
#[derive(Debug)]
pub(crate) struct PopBatch<'a, K, T> {
    /// The heap being drained.
    heap: &'a mut KeyedHeap<K, T>,
    /// How many more items may be popped.
    left: usize,
}

impl<K: Ord + Copy, T> Iterator for PopBatch<'_, K, T> {
    type Item = (K, T);

    #[inline]
    fn next(&mut self) -> Option<(K, T)> {
        if self.left == 0 {
            return None;
        }
        let popped = self.heap.pop()?;
        self.left -= 1;
        Some(popped)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.left.min(self.heap.len());
        (n, Some(n))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_pop_in_push_order() {
        let mut h = KeyedHeap::new();
        for (i, key) in [3u64, 1, 3, 1, 2, 3].into_iter().enumerate() {
            h.push(i, key);
        }
        let order: Vec<(u64, usize)> = std::iter::from_fn(|| h.pop()).collect();
        assert_eq!(order, vec![(1, 1), (1, 3), (2, 4), (3, 0), (3, 2), (3, 5)]);
    }

    #[test]
    fn remove_takes_head_middle_or_last_and_reports_not_found() {
        let build = || {
            let mut h = KeyedHeap::new();
            for (i, key) in [5u64, 1, 3, 1, 9].into_iter().enumerate() {
                h.push(i, key);
            }
            h
        };
        let all = [(1, 1), (1, 3), (3, 2), (5, 0), (9, 4)];
        // The head, one in the middle, the last.
        for (key, item) in [(1, 1), (3, 2), (9, 4)] {
            let mut h = build();
            assert_eq!(h.remove(|&i| i == item), Some((key, item)));
            let rest: Vec<_> = std::iter::from_fn(|| h.pop()).collect();
            let want: Vec<_> = all.into_iter().filter(|&(_, i)| i != item).collect();
            assert_eq!(rest, want, "removed {item}");
        }
        let mut h = build();
        assert_eq!(h.remove(|&i| i == 7), None);
        assert_eq!(h.len(), 5);
        // Several match: the one queued first, not the most urgent.
        assert_eq!(h.remove(|&i| i <= 1), Some((5, 0)));
        while h.pop().is_some() {}
        assert_eq!(h.remove(|_| true), None);
    }

    #[test]
    fn rekeyed_item_keeps_its_sequence() {
        let mut h = KeyedHeap::new();
        for (i, key) in [4u64, 2, 4, 2].into_iter().enumerate() {
            h.push(i, key);
        }
        // Item 2 (queued third) joins key 2: behind item 1, queued before it, and ahead of
        // item 3, queued after it (a fresh sequence would put it behind item 3).
        assert!(h.rekey(2, |&i| i == 2));
        assert_eq!(h.peek_key(), Some(2));
        // The head moves back.
        assert!(h.rekey(3, |&i| i == 1));
        // The key it already has: nothing changes.
        assert!(h.rekey(4, |&i| i == 0));
        assert!(!h.rekey(0, |&i| i == 9), "not found");
        let order: Vec<_> = std::iter::from_fn(|| h.pop()).collect();
        assert_eq!(order, vec![(2, 2), (2, 3), (3, 1), (4, 0)]);
    }

    #[test]
    fn pop_batch_takes_at_most_n_and_leaves_the_rest() {
        let mut h = KeyedHeap::new();
        for i in 0..5u64 {
            h.push(i, 10 - i);
        }
        {
            let mut batch = h.pop_batch(3);
            assert_eq!(batch.size_hint(), (3, Some(3)));
            assert_eq!(batch.next(), Some((6, 4)));
        } // dropped after one item
        assert_eq!(h.len(), 4);
        let rest: Vec<_> = h.pop_batch(10).collect();
        assert_eq!(rest, vec![(7, 3), (8, 2), (9, 1), (10, 0)]);
        assert_eq!(h.len(), 0);
    }
}
