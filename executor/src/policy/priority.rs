//! Priority: 256 levels (255 highest), FIFO within a level, aging against starvation.
//!
//! # Structure
//!
//! One FIFO (`VecDeque`) per *base* priority level plus a 256-bit bitmap of the non-empty
//! levels, so the highest non-empty level is found with at most four `leading_zeros` on `u64`
//! words. This is the run queue of Linux 2.6's O(1) scheduler (Ingo Molnar, 2002:
//! `struct prio_array`, 140 lists and a bitmap scanned by `sched_find_first_bit`), with 256
//! levels and "higher number wins".
//!
//! # Aging
//!
//! Waiting raises an item's priority. With aging interval `I` (nanoseconds, a constructor
//! parameter), an item of base priority `b` pushed at time `t` has, at time `now`,
//!
//! ```text
//! effective = min(255, b + floor((now - t) / I))
//! ```
//!
//! When it is popped it has run its turn; the caller re-queues it later with its base priority
//! again, so the boost is dropped. This is *aging*, the textbook remedy for starvation under
//! priority scheduling (Silberschatz, Galvin & Gagne, *Operating System Concepts*, "Priority
//! Scheduling"), in its simplest linear form. Times are plain `u64` nanoseconds the caller
//! passes in; the structure never reads a clock. Inside, time never runs backwards: a `now`
//! smaller than one already seen is read as the latest one seen. `I = u64::MAX` turns aging off.
//!
//! **Ordering rule.** Pop takes the item with the highest effective priority; among equal
//! effective priorities, the one with the smaller enqueue sequence (pushed first).
//!
//! **Starvation bound (exact).** An item of base `b` reaches effective priority 255 after
//! waiting exactly `(255 - b) * I` ns (at `(255 - b) * I - 1` it is still at 254 or below). From
//! then on the only items popped before it are items at effective 255 pushed before it, of which
//! there are at most as many as were queued when it was pushed (an item that runs and is
//! re-queued gets a newer sequence). So it is popped after at most `(255 - b) * I` ns plus that
//! many pops: nothing starves.
//!
//! # Removing and re-keying
//!
//! [`remove`](PriorityQueue::remove) takes a queued item out by a predicate over the items;
//! [`rekey`](PriorityQueue::rekey) moves one to another base level (priority inheritance raising
//! a waiting lock holder, a scheduling class move). A re-keyed item keeps its enqueue sequence
//! and enqueue time: it is inserted into its new level at the place its sequence gives it, and
//! its aging counts from when it was first queued. So every level stays in sequence order with
//! non-decreasing enqueue times, which is all the winner scan below relies on, and the
//! starvation bound holds with `b` the lowest base the item had while queued.
//!
//! # Picking the winner
//!
//! Within one base level, items are in sequence order with non-decreasing enqueue times (pushes
//! append; re-keys insert at their sequence's place), so the level's head is both its most aged
//! item and its oldest: the head is the level's best candidate. The winner is the best head. The
//! scan walks the non-empty levels from the top down and stops as soon as no lower level can
//! win: a head at level `l` has effective priority at most `l + A`, where
//! `A = floor((now - t_oldest) / I)` is the age of the oldest queued item (ties need
//! `l + A >= best`, or `> best` when the best is the oldest item itself, which wins every tie).
//! The oldest item is found through `arrivals`, a log of `(seq, level)` in push order, trimmed
//! at the front after each pop and removal.
//!
//! # Costs
//!
//! push: O(1) amortized. remove / rekey: O(n) (a scan of the levels for the item, a removal
//! from the middle of its level's `VecDeque`, and for a re-key a compaction of the arrival log).
//! pop / peek: O(min(L, A + 1)), with `L` the number of non-empty levels (at most 256) and `A`
//! as above, capped at 255. When nothing has waited a full interval (`A = 0`) that is O(1): the
//! head of the highest non-empty level, as in the O(1) scheduler. Under starvation pressure it
//! degrades gracefully to at most 256 head inspections. The arrival log is trimmed lazily
//! (entries of items popped out of push order stay until they reach the front) and compacted
//! when a push makes it longer than `2 * len + 64` entries, so that after every push it is at
//! most that long (pops and removals only shorten it), at O(1) amortized cost. Memory: 8 KiB of
//! empty `VecDeque`s per queue, then per item the item, 16 bytes (sequence, enqueue time) and up
//! to ~2 × 16 bytes of arrival log.

use super::key::SeqGen;
use std::collections::VecDeque;

/// Number of priority levels: base and effective priorities are `0..=255`.
pub(crate) const LEVELS: usize = 256;

/// The highest priority.
pub(crate) const TOP: u8 = 255;

/// One queued item.
#[derive(Debug)]
struct Waiting<T> {
    /// Enqueue sequence: breaks ties between levels' heads (FIFO among equals).
    seq: u64,
    /// When it was pushed (the structure's clock at the push): the start of its aging.
    enqueued_at: u64,
    /// The payload.
    item: T,
}

/// One entry of the arrival log.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    /// The pushed item's sequence.
    seq: u64,
    /// The level it was pushed to, to find it again.
    level: u8,
}

/// A priority run queue with aging.
#[derive(Debug)]
pub(crate) struct PriorityQueue<T> {
    /// One FIFO per base priority, indexed by level; oldest at the front.
    levels: Box<[VecDeque<Waiting<T>>]>,
    /// Bit `l % 64` of word `l / 64` is set iff `levels[l]` is non-empty.
    nonempty: [u64; 4],
    /// `(seq, level)` of pushes in sequence order. Invariant: the front, if any, is a queued item
    /// (the oldest one); entries behind it may be stale (popped).
    arrivals: VecDeque<Arrival>,
    /// Source of enqueue sequences.
    seq: SeqGen,
    /// The latest `now` seen; enqueue times are stamped with it, so they never decrease.
    clock: u64,
    /// Waiting this long raises the effective priority by one level (nanoseconds, > 0).
    aging_interval: u64,
    /// Number of queued items (the sum of the level lengths).
    len: usize,
}

impl<T> PriorityQueue<T> {
    /// An empty queue whose items gain one level per `aging_interval` ns of waiting
    /// (`u64::MAX`: no aging).
    ///
    /// # Panics
    ///
    /// If `aging_interval` is 0.
    pub(crate) fn new(aging_interval: u64) -> PriorityQueue<T> {
        assert!(aging_interval > 0, "aging interval must be positive");
        PriorityQueue {
            levels: (0..LEVELS).map(|_| VecDeque::new()).collect(),
            nonempty: [0; 4],
            arrivals: VecDeque::new(),
            seq: SeqGen::new(),
            clock: 0,
            aging_interval,
            len: 0,
        }
    }

    /// Number of queued items.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Queues `item` at base priority `base`, its aging starting at `now`. O(1) amortized.
    pub(crate) fn push(&mut self, item: T, base: u8, now: u64) {
        self.clock = self.clock.max(now);
        let seq = self.seq.next();
        let level = usize::from(base);
        self.levels[level].push_back(Waiting {
            seq,
            enqueued_at: self.clock,
            item,
        });
        self.nonempty[level / 64] |= 1 << (level % 64);
        self.arrivals.push_back(Arrival { seq, level: base });
        self.len += 1;
        if self.arrivals.len() > 2 * self.len + 64 {
            self.compact_arrivals();
        }
    }

    /// The effective priority [`pop`](Self::pop) would return at `now`.
    pub(crate) fn peek_priority(&self, now: u64) -> Option<u8> {
        self.pick(now).map(|(_, effective)| effective)
    }

    /// Removes the item with the highest effective priority at `now` (ties: pushed first) and
    /// returns it with that effective priority.
    ///
    /// For stealing: a thief that re-queues the item with its effective priority as the base
    /// keeps the aging it earned (the starvation bound then still holds across the move); the
    /// task's true base is restored when it runs and is re-queued.
    pub(crate) fn pop(&mut self, now: u64) -> Option<(u8, T)> {
        self.clock = self.clock.max(now);
        let (level, effective) = self.pick(self.clock)?;
        let queue = &mut self.levels[level];
        let waiting = queue.pop_front().expect("picked level is non-empty");
        if queue.is_empty() {
            self.nonempty[level / 64] &= !(1 << (level % 64));
        }
        self.len -= 1;
        self.trim_arrivals();
        Some((effective, waiting.item))
    }

    /// Removes the queued item `is` matches (the earliest queued if several do) and returns it
    /// with its effective priority at `now`; `None` if none matches. O(n).
    pub(crate) fn remove(&mut self, now: u64, is: impl FnMut(&T) -> bool) -> Option<(u8, T)> {
        self.clock = self.clock.max(now);
        let (level, index) = self.find(is)?;
        let waiting = self.take_at(level, index);
        self.len -= 1;
        let at = self.arrival_of(waiting.seq);
        self.arrivals.remove(at);
        self.trim_arrivals();
        let effective = self.effective(level, waiting.enqueued_at, self.clock);
        Some((effective as u8, waiting.item))
    }

    /// Gives the queued item `is` matches (chosen as by [`remove`](Self::remove)) the base
    /// priority `base`, and reports whether one matched. O(n).
    ///
    /// The item keeps its enqueue sequence and its enqueue time: it moves to level `base` at
    /// the place its sequence gives it, and its aging still counts from when it was queued
    /// (effective priority `min(255, base + floor((now - queued) / I))`). So a re-keyed item
    /// neither loses the aging it earned nor passes items of its new level queued before it,
    /// and the starvation bound of the module docs holds with `b` its lowest base while queued.
    pub(crate) fn rekey(&mut self, base: u8, is: impl FnMut(&T) -> bool) -> bool {
        let Some((level, index)) = self.find(is) else {
            return false;
        };
        // Inserting at an old sequence would make `is_queued` take stale entries of the new
        // level for queued ones, and compactions could no longer drop them (the front is judged
        // right regardless: it is the smallest sequence in the log). Drop them while it is exact.
        self.compact_arrivals();
        let waiting = self.take_at(level, index);
        let at = self.arrival_of(waiting.seq);
        self.arrivals[at].level = base;
        let level = usize::from(base);
        let queue = &mut self.levels[level];
        let place = queue.partition_point(|w| w.seq < waiting.seq);
        queue.insert(place, waiting);
        self.nonempty[level / 64] |= 1 << (level % 64);
        true
    }

    /// Effective priority at `now` of an item pushed at `enqueued_at` with base `base`.
    #[inline]
    fn effective(&self, base: usize, enqueued_at: u64, now: u64) -> u64 {
        let aged = (now - enqueued_at) / self.aging_interval;
        (base as u64 + aged.min(u64::from(TOP))).min(u64::from(TOP))
    }

    /// The level whose head pops next at `now`, and that head's effective priority.
    fn pick(&self, now: u64) -> Option<(usize, u8)> {
        let now = now.max(self.clock);
        let top = self.highest_at_or_below(LEVELS - 1)?;
        let oldest = *self
            .arrivals
            .front()
            .expect("arrival log covers every queued item");
        let oldest_at = self.levels[usize::from(oldest.level)][0].enqueued_at;
        // No head can have aged more than the oldest item.
        let max_age = ((now - oldest_at) / self.aging_interval).min(u64::from(TOP));

        let head = &self.levels[top][0];
        let (mut best_level, mut best_eff, mut best_seq) =
            (top, self.effective(top, head.enqueued_at, now), head.seq);
        let mut level = top;
        while let Some(next) = level
            .checked_sub(1)
            .and_then(|l| self.highest_at_or_below(l))
        {
            level = next;
            // The oldest item wins every tie, so only a strictly higher priority beats it.
            let needed = best_eff + u64::from(best_seq == oldest.seq);
            if level as u64 + max_age < needed {
                break; // neither this level nor any below can win
            }
            let head = &self.levels[level][0];
            let eff = self.effective(level, head.enqueued_at, now);
            if eff > best_eff || (eff == best_eff && head.seq < best_seq) {
                (best_level, best_eff, best_seq) = (level, eff, head.seq);
            }
        }
        Some((best_level, best_eff as u8))
    }

    /// The highest non-empty level `<= level`: a masked `leading_zeros` per bitmap word,
    /// at most four words (`sched_find_first_bit` in the O(1) scheduler).
    #[inline]
    fn highest_at_or_below(&self, level: usize) -> Option<usize> {
        let mut word = level / 64;
        let mut mask = u64::MAX >> (63 - level % 64);
        loop {
            let bits = self.nonempty[word] & mask;
            if bits != 0 {
                return Some(word * 64 + 63 - bits.leading_zeros() as usize);
            }
            word = word.checked_sub(1)?;
            mask = u64::MAX;
        }
    }

    /// `(level, index)` of the earliest-queued item `is` matches. O(n).
    fn find(&self, mut is: impl FnMut(&T) -> bool) -> Option<(usize, usize)> {
        let mut found: Option<(u64, usize, usize)> = None;
        let mut next = self.highest_at_or_below(LEVELS - 1);
        while let Some(level) = next {
            for (index, w) in self.levels[level].iter().enumerate() {
                if found.is_none_or(|(seq, ..)| w.seq < seq) && is(&w.item) {
                    found = Some((w.seq, level, index));
                }
            }
            next = level
                .checked_sub(1)
                .and_then(|l| self.highest_at_or_below(l));
        }
        found.map(|(_, level, index)| (level, index))
    }

    /// Takes the item at `index` of `level` out of its level (not out of `len` or the log).
    fn take_at(&mut self, level: usize, index: usize) -> Waiting<T> {
        let queue = &mut self.levels[level];
        let waiting = queue.remove(index).expect("index found by `find`");
        if queue.is_empty() {
            self.nonempty[level / 64] &= !(1 << (level % 64));
        }
        waiting
    }

    /// Index in the arrival log of the queued item with sequence `seq` (the log is in sequence
    /// order and holds an entry for every queued item). O(log n).
    fn arrival_of(&self, seq: u64) -> usize {
        self.arrivals
            .binary_search_by_key(&seq, |a| a.seq)
            .expect("arrival log covers every queued item")
    }

    /// Restores the invariant that the log's front is a queued item.
    #[inline]
    fn trim_arrivals(&mut self) {
        while let Some(&front) = self.arrivals.front() {
            if is_queued(&self.levels, front) {
                break;
            }
            self.arrivals.pop_front();
        }
    }

    /// Drops every stale entry from the arrival log (leaving exactly one per queued item).
    #[cold]
    fn compact_arrivals(&mut self) {
        let levels = &self.levels;
        self.arrivals.retain(|&a| is_queued(levels, a));
    }
}

/// Whether the item `arrival` records is still queued, given that its entry is in the log.
///
/// A level keeps its items in sequence order, and an entry goes stale only when its item is
/// popped from the front of its level (a removal deletes its entry, a re-key moves it) after the
/// last re-key (which compacts the log before inserting at an old sequence). So a stale entry's
/// sequence is below that of every item still in its level, and a live one's is at least its
/// level's head's.
#[inline]
fn is_queued<T>(levels: &[VecDeque<Waiting<T>>], arrival: Arrival) -> bool {
    levels[usize::from(arrival.level)]
        .front()
        .is_some_and(|head| head.seq <= arrival.seq)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::rng::Rng;

    const I: u64 = 10;

    fn drain(q: &mut PriorityQueue<u32>, now: u64) -> Vec<u32> {
        std::iter::from_fn(|| q.pop(now).map(|(_, item)| item)).collect()
    }

    #[test]
    fn highest_priority_first_fifo_within_a_level() {
        let mut q = PriorityQueue::new(u64::MAX);
        for (i, base) in [5u8, 200, 0, 200, 255, 5, 64, 63].into_iter().enumerate() {
            q.push(i as u32, base, 0);
        }
        assert_eq!(q.peek_priority(0), Some(255));
        assert_eq!(drain(&mut q, 1_000_000), vec![4, 1, 3, 6, 7, 0, 5, 2]);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn starved_item_reaches_the_top_after_exactly_the_bound() {
        for base in [0u8, 1, 100, 254] {
            let bound = (255 - u64::from(base)) * I;
            let mut q = PriorityQueue::new(I);
            q.push(u32::MAX, base, 0);
            // Every tick a fresh top-priority competitor arrives; the starved item loses to it
            // until its own effective priority reaches 255, then wins on sequence.
            let mut now = 0;
            loop {
                q.push(0, TOP, now);
                let (eff, item) = q.pop(now).unwrap();
                if item == u32::MAX {
                    assert_eq!((now, eff), (bound, TOP), "base {base}");
                    break;
                }
                assert!(now < bound, "base {base}: not picked at {now}");
                assert_eq!(q.peek_priority(now), Some(base + ((now / I) as u8)));
                now += 1;
            }
        }
    }

    #[test]
    fn aging_ties_go_to_the_earlier_push() {
        let mut q = PriorityQueue::new(I);
        q.push(0, 3, 0); // reaches 5 at 2 * I
        q.push(1, 5, 2 * I - 1);
        assert_eq!(q.peek_priority(2 * I - 1), Some(5));
        assert_eq!(q.pop(2 * I - 1), Some((5, 1)));
        q.push(1, 5, 2 * I);
        assert_eq!(q.pop(2 * I), Some((5, 0)), "tie at 5: earlier push wins");
        assert_eq!(q.pop(2 * I), Some((5, 1)));
    }

    #[test]
    fn time_never_runs_backwards() {
        let mut q = PriorityQueue::new(I);
        q.push(0, 0, 100);
        q.push(1, 1, 5); // stamped 100, not 5
        assert_eq!(q.pop(0), Some((1, 1)));
        assert_eq!(q.pop(0), Some((0, 0)));
    }

    #[test]
    fn stolen_items_keep_their_aging() {
        let mut victim = PriorityQueue::new(I);
        victim.push(0, 10, 0);
        victim.push(1, 20, 0);
        let mut thief = PriorityQueue::new(I);
        let now = 5 * I;
        let stolen: Vec<_> = std::iter::from_fn(|| victim.pop(now)).collect();
        assert_eq!(stolen, vec![(25, 1), (15, 0)]);
        for (eff, item) in stolen {
            thief.push(item, eff, now);
        }
        assert_eq!(thief.pop(now + I), Some((26, 1)));
    }

    #[test]
    fn rekey_keeps_aging_and_sequence_and_remove_takes_any_item() {
        let mut q = PriorityQueue::new(I);
        q.push(0, 10, 0);
        q.push(1, 20, 0);
        q.push(2, 10, I);
        q.push(3, 20, I);
        // Item 2 inherits 20. At 3I: item 1 has aged 3 levels (23), items 2 and 3 two (22).
        assert!(q.rekey(20, |&i| i == 2));
        assert_eq!(q.peek_priority(3 * I), Some(23));
        assert_eq!(q.pop(3 * I), Some((23, 1)));
        // Item 2 kept its sequence: ahead of item 3, queued after it.
        assert_eq!(q.pop(3 * I), Some((22, 2)));
        assert_eq!(q.remove(3 * I, |&i| i == 3), Some((22, 3)));
        assert_eq!(q.remove(3 * I, |&i| i == 3), None);
        assert!(!q.rekey(0, |&i| i == 3));
        // A lowered base keeps the aging earned since the push at 0.
        assert!(q.rekey(0, |&i| i == 0));
        assert_eq!(q.pop(5 * I), Some((5, 0)));
        assert!(q.len() == 0 && q.arrivals.is_empty());
    }

    #[test]
    fn remove_head_middle_and_last_keeps_the_oldest_tracked() {
        for target in 0..3u32 {
            let mut q = PriorityQueue::new(I);
            q.push(9, 0, 0); // the oldest item, on another level
            for i in 0..3u32 {
                q.push(i, 7, I);
            }
            assert_eq!(q.remove(I, |&i| i == target), Some((7, target)));
            assert_eq!(q.arrivals.len(), 3);
            let rest: Vec<_> = (0..3).filter(|&i| i != target).collect();
            assert_eq!(q.pop(2 * I), Some((8, rest[0])));
            // Both reach the top; the tie goes to the oldest item, found through the log.
            assert_eq!(q.pop(300 * I), Some((TOP, 9)));
            assert_eq!(q.pop(300 * I), Some((TOP, rest[1])));
            assert!(q.len() == 0 && q.arrivals.is_empty());
        }
    }

    #[test]
    fn arrival_log_stays_bounded() {
        let mut q = PriorityQueue::new(u64::MAX);
        q.push(0, 0, 0); // a low item that stays queued pins the log's front
        for i in 1..10_000 {
            q.push(i, 9, 0);
            assert_eq!(q.pop(0), Some((9, i)));
            assert!(q.arrivals.len() <= 2 * q.len() + 66);
        }
        assert_eq!(q.pop(0), Some((0, 0)));
        assert!(q.arrivals.is_empty());
    }

    /// Random pushes, pops, removals and re-keys with advancing (sometimes stale) time against a
    /// linear-scan model.
    #[test]
    fn matches_reference_model() {
        for seed in 0..12u64 {
            let mut rng = Rng::new(seed);
            let interval = [1, 7, 1_000, u64::MAX][seed as usize % 4];
            let mut q = PriorityQueue::new(interval);
            // The model: (base, enqueued_at, seq, item); the winner found by scanning.
            let mut model: Vec<(u8, u64, u64, u32)> = Vec::new();
            let (mut seq, mut clock, mut now) = (0u64, 0u64, 0u64);
            let few_levels = seed % 2 == 0;
            let eff = |base: u8, at: u64, now: u64| -> u8 {
                (u64::from(base) + ((now - at) / interval).min(255)).min(255) as u8
            };
            for op in 0..6_000u32 {
                match rng.below(8) {
                    0 => now += rng.next_u64() % 300_000, // a long stall: many items cap at 255
                    1 => now = now.saturating_sub(rng.next_u64() % 50), // a stale `now`
                    _ => now += rng.next_u64() % 20,
                }
                let c = now.max(clock);
                let base = if few_levels {
                    [0u8, 3, 100, 254, 255][rng.below(5) as usize]
                } else {
                    rng.next_u64() as u8
                };
                // An item that may or may not be queued.
                let target = rng.below(op + 1);
                let action = rng.below(10);
                if action < 5 {
                    q.push(op, base, now);
                    clock = c;
                    model.push((base, clock, seq, op));
                    seq += 1;
                } else if action == 8 {
                    let found = model.iter_mut().find(|m| m.3 == target);
                    let want = found.is_some();
                    if let Some(m) = found {
                        m.0 = base;
                    }
                    assert_eq!(q.rekey(base, |&i| i == target), want, "seed {seed} op {op}");
                    if want {
                        assert_eq!(q.arrivals.len(), q.len(), "a re-key compacts the log");
                    }
                } else if action == 9 {
                    let want = model.iter().position(|m| m.3 == target).map(|i| {
                        let (base, at, _, item) = model.remove(i);
                        (eff(base, at, c), item)
                    });
                    assert_eq!(q.remove(now, |&i| i == target), want, "seed {seed} op {op}");
                    clock = c;
                } else {
                    let want = (0..model.len())
                        .max_by_key(|&i| {
                            let (base, at, seq, _) = model[i];
                            (eff(base, at, c), std::cmp::Reverse(seq))
                        })
                        .map(|i| {
                            let (base, at, _, item) = model.remove(i);
                            (eff(base, at, c), item)
                        });
                    assert_eq!(q.peek_priority(now), want.map(|(e, _)| e), "seed {seed}");
                    assert_eq!(q.pop(now), want, "seed {seed} op {op}");
                    clock = c;
                }
                assert_eq!(q.len(), model.len());
            }
        }
    }
}
