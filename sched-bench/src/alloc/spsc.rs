//! A tiny bounded single-producer single-consumer ring of non-zero `usize`s (block addresses).
//!
//! Lamport's ring buffer (L. Lamport, "Specifying Concurrent Program Modules", TOPLAS 1983) with
//! the usual refinements: `head` and `tail` are free-running counters on their own cache lines
//! ([`CachePadded`]: 128 bytes on x86-64, where adjacent-line prefetch pairs lines), and each
//! side caches the other's counter and rereads it only when the ring looks full (producer) or
//! empty (consumer), so in a steady stream a push or pop touches a shared line once per lap, not
//! once per item.
//!
//! Slots are `AtomicUsize`, so there is no `unsafe` here: the slot store is published by the
//! Release store of `tail` and read after the Acquire load of it (and symmetrically for `head`).
//! Waiting spins with `spin_loop`, then yields the CPU every [`SPINS_BEFORE_YIELD`] tries, so two
//! threads sharing one core (no pinning) still make progress.

use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Spins between `yield_now` calls while waiting.
pub const SPINS_BEFORE_YIELD: u32 = 1 << 10;

/// The ring. [`Ring::split`] hands out its one producer and one consumer.
#[derive(Debug)]
pub struct Ring {
    /// Items popped so far (written by the consumer).
    head: CachePadded<AtomicUsize>,
    /// Items pushed so far (written by the producer).
    tail: CachePadded<AtomicUsize>,
    /// `capacity` slots; item `i` lives in `slots[i & mask]`.
    slots: Box<[AtomicUsize]>,
    /// `capacity - 1`.
    mask: usize,
}

impl Ring {
    /// A ring with room for `capacity` items, rounded up to a power of two (at least 2).
    pub fn new(capacity: usize) -> Ring {
        let capacity = capacity.max(2).next_power_of_two();
        Ring {
            head: CachePadded::default(),
            tail: CachePadded::default(),
            slots: (0..capacity).map(|_| AtomicUsize::new(0)).collect(),
            mask: capacity - 1,
        }
    }

    /// The producer and the consumer (the `&mut` borrow makes them the only ones).
    pub fn split(&mut self) -> (Producer<'_>, Consumer<'_>) {
        let ring: &Ring = self;
        let start = ring.tail.load(Ordering::Relaxed);
        (
            Producer {
                ring,
                tail: start,
                head_seen: ring.head.load(Ordering::Relaxed),
            },
            Consumer {
                ring,
                head: ring.head.load(Ordering::Relaxed),
                tail_seen: start,
            },
        )
    }
}

/// The sending side.
#[derive(Debug)]
pub struct Producer<'a> {
    ring: &'a Ring,
    /// Our own count of pushed items (the ring's `tail` lags it by nothing: we store it).
    tail: usize,
    /// The consumer's `head` as last read.
    head_seen: usize,
}

impl Producer<'_> {
    /// Pushes `value`, waiting while the ring is full.
    #[inline]
    pub fn push(&mut self, value: usize) {
        let mut spins = 0u32;
        while self.tail - self.head_seen > self.ring.mask {
            self.head_seen = self.ring.head.load(Ordering::Acquire);
            if self.tail - self.head_seen > self.ring.mask {
                wait(&mut spins);
            }
        }
        self.ring.slots[self.tail & self.ring.mask].store(value, Ordering::Relaxed);
        self.tail += 1;
        self.ring.tail.store(self.tail, Ordering::Release);
    }
}

/// The receiving side.
#[derive(Debug)]
pub struct Consumer<'a> {
    ring: &'a Ring,
    /// Our own count of popped items.
    head: usize,
    /// The producer's `tail` as last read.
    tail_seen: usize,
}

impl Consumer<'_> {
    /// Pops the oldest value, waiting while the ring is empty.
    #[inline]
    pub fn pop(&mut self) -> usize {
        let mut spins = 0u32;
        while self.head == self.tail_seen {
            self.tail_seen = self.ring.tail.load(Ordering::Acquire);
            if self.head == self.tail_seen {
                wait(&mut spins);
            }
        }
        let value = self.ring.slots[self.head & self.ring.mask].load(Ordering::Relaxed);
        self.head += 1;
        self.ring.head.store(self.head, Ordering::Release);
        value
    }
}

/// One wait step: spin, and every [`SPINS_BEFORE_YIELD`] steps give the CPU away.
#[inline]
fn wait(spins: &mut u32) {
    *spins += 1;
    if spins.is_multiple_of(SPINS_BEFORE_YIELD) {
        std::thread::yield_now();
    } else {
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;

    #[test]
    fn delivers_everything_in_order_across_threads() {
        let mut ring = Ring::new(3); // rounds to 4: many laps, many full/empty waits
        let (mut tx, mut rx) = ring.split();
        std::thread::scope(|s| {
            s.spawn(move || (1..=10_000).for_each(|v| tx.push(v)));
            for v in 1..=10_000 {
                assert_eq!(rx.pop(), v);
            }
        });
    }

    #[test]
    fn capacity_is_a_power_of_two() {
        assert_eq!(Ring::new(0).slots.len(), 2);
        assert_eq!(Ring::new(1000).slots.len(), 1024);
    }
}
