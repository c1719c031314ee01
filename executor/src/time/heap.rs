//! Timer storage: an indexed binary min-heap of deadlines over a slab of entries.
//!
//! Plain single-owner data (the driver puts it behind a lock): no clock reads, no atomics.
//!
//! - Entries live in a slab (`Vec<Slot>` plus a free list), addressed by a [`TimerKey`]: slot
//!   index and generation. A key whose generation no longer matches (the timer fired or was
//!   cancelled, and the slot was reused) is stale and ignored, so a late `cancel` can never
//!   remove somebody else's timer.
//! - The heap holds slot indices ordered by `(deadline, seq)`: earliest deadline first, and among
//!   equal deadlines the one inserted first (`seq` is an insertion counter), so firing order is
//!   deterministic. Each slot records its position in the heap, which makes removal of an
//!   arbitrary entry O(log n) (Cormen et al., *Introduction to Algorithms*, 3rd ed., §6.5, with
//!   the position map of an indexed priority queue, Sedgewick & Wayne, *Algorithms*, §2.4).
//!
//! Costs: insert O(log n), cancel O(log n), earliest O(1), pop of an expired entry O(log n).
//! Memory: one slot (40 bytes) and one heap index (4 bytes) per pending timer. A hierarchical
//! wheel would make insert and cancel O(1), at the price of a tick granularity and cascading;
//! kairos wants nanosecond deadlines without a tick, and at the timer counts a task runtime sees
//! (up to millions) `log2 n` is at most ~20 comparisons.

use std::task::Waker;

/// Identifies a pending timer: its slot and the slot's generation at insertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    slot: u32,
    generation: u32,
}

/// One timer.
struct Slot {
    /// Absolute deadline, nanoseconds on the runtime clock.
    deadline: u64,
    /// Insertion order, breaks deadline ties.
    seq: u64,
    /// Woken when the deadline passes. `None` while the slot is free.
    waker: Option<Waker>,
    /// Position in `heap` while pending; the next free slot while free.
    pos: u32,
    /// Incremented every time the slot is freed.
    generation: u32,
}

/// Pending timers, earliest first.
pub(crate) struct TimerHeap {
    slots: Vec<Slot>,
    /// Slot indices in heap order.
    heap: Vec<u32>,
    /// Head of the free-slot list (`NONE` if empty), linked through `Slot::pos`.
    free: u32,
    /// Next insertion sequence number.
    next_seq: u64,
}

const NONE: u32 = u32::MAX;

impl TimerHeap {
    /// No timers.
    pub(crate) fn new() -> TimerHeap {
        TimerHeap {
            slots: Vec::new(),
            heap: Vec::new(),
            free: NONE,
            next_seq: 0,
        }
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// The earliest deadline, if any timer is pending.
    pub(crate) fn earliest(&self) -> Option<u64> {
        self.heap.first().map(|&s| self.slots[s as usize].deadline)
    }

    /// The second-earliest deadline, if two or more timers are pending: the earlier of the
    /// root's two children. O(1).
    pub(crate) fn second_earliest(&self) -> Option<u64> {
        self.heap
            .get(1..self.heap.len().min(3))
            .and_then(|children| {
                children
                    .iter()
                    .map(|&s| self.slots[s as usize].deadline)
                    .min()
            })
    }

    /// Adds a timer for `deadline` that wakes `waker`.
    pub(crate) fn insert(&mut self, deadline: u64, waker: Waker) -> TimerKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let pos = self.heap.len() as u32;
        let slot = if self.free != NONE {
            let slot = self.free;
            let s = &mut self.slots[slot as usize];
            self.free = s.pos;
            s.deadline = deadline;
            s.seq = seq;
            s.waker = Some(waker);
            s.pos = pos;
            slot
        } else {
            let slot = u32::try_from(self.slots.len()).expect("more than 2^32 timers");
            self.slots.push(Slot {
                deadline,
                seq,
                waker: Some(waker),
                pos,
                generation: 0,
            });
            slot
        };
        self.heap.push(slot);
        self.sift_up(pos as usize);
        TimerKey {
            slot,
            generation: self.slots[slot as usize].generation,
        }
    }

    /// Whether `key` names a pending timer.
    pub(crate) fn contains(&self, key: TimerKey) -> bool {
        self.slots
            .get(key.slot as usize)
            .is_some_and(|s| s.generation == key.generation && s.waker.is_some())
    }

    /// Replaces the waker of a pending timer. Returns `false` if `key` is stale.
    pub(crate) fn set_waker(&mut self, key: TimerKey, waker: &Waker) -> bool {
        if !self.contains(key) {
            return false;
        }
        let slot = &mut self.slots[key.slot as usize];
        if !slot.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            slot.waker = Some(waker.clone());
        }
        true
    }

    /// Removes a pending timer (its waker is dropped). Returns `false` if `key` is stale.
    pub(crate) fn cancel(&mut self, key: TimerKey) -> bool {
        if !self.contains(key) {
            return false;
        }
        let pos = self.slots[key.slot as usize].pos as usize;
        drop(self.remove_at(pos));
        true
    }

    /// Removes and returns the waker of the earliest timer if its deadline is `<= now`.
    pub(crate) fn pop_expired(&mut self, now: u64) -> Option<Waker> {
        match self.earliest() {
            Some(deadline) if deadline <= now => Some(self.remove_at(0)),
            _ => None,
        }
    }

    /// Removes the entry at heap position `pos`, frees its slot, and returns its waker.
    fn remove_at(&mut self, pos: usize) -> Waker {
        let slot = self.heap[pos];
        let last = self.heap.pop().expect("non-empty heap");
        if pos < self.heap.len() {
            // Move the last entry into the hole and restore the heap property in whichever
            // direction it is violated.
            self.heap[pos] = last;
            self.slots[last as usize].pos = pos as u32;
            self.sift_down(pos);
            self.sift_up(pos);
        }
        let s = &mut self.slots[slot as usize];
        s.generation = s.generation.wrapping_add(1);
        s.pos = self.free;
        self.free = slot;
        s.waker.take().expect("pending timer has a waker")
    }

    /// Heap order: `(deadline, seq)`.
    fn less(&self, a: u32, b: u32) -> bool {
        let (a, b) = (&self.slots[a as usize], &self.slots[b as usize]);
        (a.deadline, a.seq) < (b.deadline, b.seq)
    }

    fn swap(&mut self, i: usize, j: usize) {
        self.heap.swap(i, j);
        self.slots[self.heap[i] as usize].pos = i as u32;
        self.slots[self.heap[j] as usize].pos = j as u32;
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if !self.less(self.heap[i], self.heap[parent]) {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut smallest = i;
            if l < self.heap.len() && self.less(self.heap[l], self.heap[smallest]) {
                smallest = l;
            }
            if r < self.heap.len() && self.less(self.heap[r], self.heap[smallest]) {
                smallest = r;
            }
            if smallest == i {
                return;
            }
            self.swap(i, smallest);
            i = smallest;
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::task::Wake;

    /// A distinct waker per call (each is its own `Arc`, told apart by data pointer).
    struct Tag;
    impl Wake for Tag {
        fn wake(self: Arc<Self>) {}
    }
    fn waker(_tag: u64) -> Waker {
        Waker::from(Arc::new(Tag))
    }
    fn tag_of(w: &Waker) -> u64 {
        // Identify wakers by their data pointer: each test waker is a distinct Arc.
        w.data() as usize as u64
    }

    #[test]
    fn fires_in_deadline_then_insertion_order() {
        let mut h = TimerHeap::new();
        let order = [(30, 0), (10, 1), (20, 2), (10, 3), (5, 4)];
        let mut ptrs = Vec::new();
        for (deadline, tag) in order {
            let w = waker(tag);
            ptrs.push((tag_of(&w), tag));
            h.insert(deadline, w);
        }
        assert_eq!(h.earliest(), Some(5));
        assert!(h.pop_expired(4).is_none());
        let mut fired = Vec::new();
        while let Some(w) = h.pop_expired(100) {
            let p = tag_of(&w);
            fired.push(ptrs.iter().find(|(q, _)| *q == p).unwrap().1);
        }
        assert_eq!(fired, vec![4, 1, 3, 2, 0]);
        assert_eq!(h.len(), 0);
    }

    #[test]
    fn second_earliest_follows_inserts_and_removals() {
        let mut h = TimerHeap::new();
        assert_eq!(h.second_earliest(), None);
        h.insert(30, waker(0));
        assert_eq!(h.second_earliest(), None);
        h.insert(10, waker(1));
        assert_eq!(h.second_earliest(), Some(30));
        let k = h.insert(20, waker(2));
        h.insert(40, waker(3));
        assert_eq!((h.earliest(), h.second_earliest()), (Some(10), Some(20)));
        assert!(h.cancel(k));
        assert_eq!(h.second_earliest(), Some(30));
        h.insert(10, waker(4));
        assert_eq!((h.earliest(), h.second_earliest()), (Some(10), Some(10)));
        assert!(h.pop_expired(10).is_some());
        assert_eq!((h.earliest(), h.second_earliest()), (Some(10), Some(30)));
    }

    #[test]
    fn stale_keys_are_ignored() {
        let mut h = TimerHeap::new();
        let k1 = h.insert(10, waker(1));
        assert!(h.cancel(k1));
        assert!(!h.cancel(k1));
        // The slot is reused with a new generation: the old key must not touch it.
        let k2 = h.insert(20, waker(2));
        assert_ne!(k1, k2);
        assert!(!h.cancel(k1));
        assert!(!h.set_waker(k1, &waker(3)));
        assert!(h.contains(k2));
        assert_eq!(h.len(), 1);
    }

    /// Random inserts, cancels and pops against a reference model (a sorted map).
    #[test]
    fn matches_reference_model() {
        let mut rng = Rng::new(1234);
        let mut h = TimerHeap::new();
        let mut model: BTreeMap<(u64, u64), TimerKey> = BTreeMap::new();
        let mut keys: Vec<((u64, u64), TimerKey)> = Vec::new();
        let mut seq = 0u64;
        let mut now = 0u64;
        for _ in 0..20_000 {
            match rng.below(4) {
                0 | 1 => {
                    let deadline = now + u64::from(rng.below(1000));
                    let key = h.insert(deadline, waker(seq));
                    model.insert((deadline, seq), key);
                    keys.push(((deadline, seq), key));
                    seq += 1;
                }
                2 if !keys.is_empty() => {
                    let i = rng.below(keys.len() as u32) as usize;
                    let (id, key) = keys.swap_remove(i);
                    let pending = model.remove(&id).is_some();
                    assert_eq!(h.cancel(key), pending);
                }
                _ => {
                    now += u64::from(rng.below(300));
                    while let Some(w) = h.pop_expired(now) {
                        drop(w);
                        let (&id, &key) = model.iter().next().expect("model has it");
                        assert!(id.0 <= now);
                        model.remove(&id);
                        assert!(!h.contains(key));
                    }
                    assert!(model.keys().next().is_none_or(|&(d, _)| d > now));
                }
            }
            assert_eq!(h.len(), model.len());
            assert_eq!(h.earliest(), model.keys().next().map(|&(d, _)| d));
            assert_eq!(h.second_earliest(), model.keys().nth(1).map(|&(d, _)| d));
        }
    }
}
