//! The per-worker run queue for the FIFO policy: a bounded, lock-free, single-producer
//! multi-consumer ring buffer.
//!
//! The owning worker pushes and pops at its ends without locks; other workers steal half of it in
//! one batch. The algorithm is the one of Go's runtime (`runqput` / `runqget` / `runqgrab` in
//! `runtime/proc.go`, after the work-stealing scheme of Blumofe and Leiserson, "Scheduling
//! multithreaded computations by work stealing", JACM 1999), with the two-part head of tokio's
//! `runtime/scheduler/multi_thread/queue.rs`, which lets a stealer claim a range and copy it out
//! without blocking the owner.
//!
//! # Indices
//!
//! Indices are `u32` and wrap; a slot is `index & MASK`. `tail` is written only by the owner.
//! `head` packs two indices into one `u64`:
//!
//! - `real`: the next task to pop. Everything in `real..tail` is in the queue.
//! - `steal`: equal to `real` when nobody is stealing. A stealer that claimed `n` tasks moves
//!   `real` forward by `n` and leaves `steal` behind; slots `steal..real` are then being copied out
//!   by that stealer and must not be reused. When the copy is done the stealer sets `steal = real`.
//!
//! The owner may keep popping (moving `real`) during a steal. At most one steal is in progress at
//! a time: a stealer that finds `steal != real` gives up. The owner never overwrites a slot in
//! `steal..real` because it checks free space against `steal`, not `real`.
//!
//! # Overflow
//!
//! When the ring is full, the owner moves half of it plus the new task to the global injector in
//! one batch (one lock), so a burst of spawns does not take the lock per task. If a steal is in
//! progress, the half cannot be claimed; the new task alone goes to the injector.

use crate::loom::atomic::{AtomicU32, AtomicU64, Ordering};
use crate::loom::{Arc, UnsafeCell};
use std::mem::MaybeUninit;

/// Slots in the ring. 256 as in Go and tokio: large enough that a worker rarely overflows, small
/// enough that a steal of half (128 tasks) is a short copy. Under loom, 4, so models reach the
/// overflow path with a handful of operations.
#[cfg(not(loom))]
pub(crate) const CAPACITY: usize = 256;
#[cfg(loom)]
pub(crate) const CAPACITY: usize = 4;

const MASK: usize = CAPACITY - 1;

/// Where a full local queue sends tasks.
pub(crate) trait Overflow<T> {
    /// Takes one task.
    fn push(&self, task: T);
    /// Takes a batch of tasks, in order.
    fn push_batch(&self, tasks: impl Iterator<Item = T>);
}

/// The shared ring.
struct Inner<T> {
    /// `(steal, real)` packed as `steal << 32 | real`; see the module docs.
    head: AtomicU64,
    /// One past the last task. Written only by the owner (with `Release`, publishing the slot).
    tail: AtomicU32,
    /// The slots; `real..tail` are initialised.
    buffer: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

/// The owner's end: push and pop. Not `Clone`: exactly one owner.
pub(crate) struct Local<T> {
    inner: Arc<Inner<T>>,
    /// `real` as the owner last left it: after its last pop (or a pop that found the ring
    /// empty) or overflow. A `real` past it means thieves took tasks since (see `push_back`).
    left_at: u32,
}

/// Another worker's end: steal half.
pub(crate) struct Steal<T>(Arc<Inner<T>>);

// SAFETY: tasks move between threads through the ring, so `T: Send` is required and sufficient;
// all slot accesses are ordered by the head/tail protocol.
unsafe impl<T: Send> Send for Local<T> {}
// SAFETY: as above; `Steal` is shared by all workers, its operations are thread-safe.
unsafe impl<T: Send> Send for Steal<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Steal<T> {}

/// Creates an empty queue: the owner's end and the stealers' end.
pub(crate) fn local<T>() -> (Local<T>, Steal<T>) {
    let buffer = (0..CAPACITY)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect::<Vec<_>>()
        .into_boxed_slice();
    let inner = Arc::new(Inner {
        head: AtomicU64::new(0),
        tail: AtomicU32::new(0),
        buffer,
    });
    (
        Local {
            inner: inner.clone(),
            left_at: 0,
        },
        Steal(inner),
    )
}

#[inline]
fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

#[inline]
fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

impl<T> Inner<T> {
    /// Moves the task out of slot `index`.
    ///
    /// # Safety
    /// The slot is initialised and the caller has claimed it (no one else reads or writes it).
    #[inline]
    unsafe fn take(&self, index: u32) -> T {
        // SAFETY: per the caller's contract.
        self.buffer[index as usize & MASK].with(|slot| unsafe { (*slot).assume_init_read() })
    }

    /// Writes a task into slot `index`.
    ///
    /// # Safety
    /// The slot is free and the caller has exclusive access to it.
    #[inline]
    unsafe fn put(&self, index: u32, task: T) {
        // SAFETY: per the caller's contract.
        self.buffer[index as usize & MASK].with_mut(|slot| unsafe { (*slot).write(task) });
    }

    /// Tasks in the queue (may be stale by the time it returns).
    fn len(&self) -> usize {
        let (_, real) = unpack(self.head.load(Ordering::Acquire));
        let tail = self.tail.load(Ordering::Acquire);
        tail.wrapping_sub(real) as usize
    }
}

impl<T> Local<T> {
    /// Number of tasks in the queue.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    /// Pushes a task at the back; when full, moves half the queue and the task to `overflow`.
    /// Returns whether the task is surplus, worth waking another worker for: other tasks were
    /// queued before it, or thieves took tasks from the ring since the owner last popped. The
    /// second case is an owner whose queue is being shared while it stays inside one poll (Fifo's
    /// patience steals from exactly such an owner, `worker/patience.rs`): a thief that emptied
    /// the ring may have parked, and the task pushed next would otherwise wait for the poll's
    /// end with nobody told. A task pushed onto an empty ring that no thief touched is the
    /// owner's next pick and is not announced.
    #[inline]
    pub(crate) fn push_back(&mut self, mut task: T, overflow: &impl Overflow<T>) -> bool {
        // Only the owner writes `tail`, so this load sees the latest value.
        let tail = self.inner.tail.load(Ordering::Relaxed);
        let real = loop {
            let (steal, real) = unpack(self.inner.head.load(Ordering::Acquire));
            if (tail.wrapping_sub(steal) as usize) < CAPACITY {
                break real;
            }
            if steal != real {
                // A stealer is copying `steal..real`; it will free space soon. Do not wait.
                crate::loom::reached("local.full_during_steal");
                overflow.push(task);
                return true;
            }
            match self.push_overflow(task, real, tail, overflow) {
                Ok(()) => return true,
                // A stealer claimed part of the queue first: there may be room now.
                Err(back) => {
                    crate::loom::reached("local.overflow_lost_to_stealer");
                    task = back
                }
            }
        };
        // SAFETY: `tail - steal < CAPACITY`, so slot `tail` is outside every claimed range and
        // only the owner writes it.
        unsafe { self.inner.put(tail, task) };
        self.inner
            .tail
            .store(tail.wrapping_add(1), Ordering::Release);
        tail != real || real != self.left_at
    }

    /// Slow path of `push_back`: claim the older half of a full queue and move it, then `task`,
    /// to `overflow`.
    #[cold]
    #[inline(never)]
    fn push_overflow(
        &mut self,
        task: T,
        head: u32,
        tail: u32,
        overflow: &impl Overflow<T>,
    ) -> Result<(), T> {
        const HALF: u32 = (CAPACITY / 2) as u32;
        debug_assert_eq!(tail.wrapping_sub(head) as usize, CAPACITY);
        let claimed = pack(head.wrapping_add(HALF), head.wrapping_add(HALF));
        if self
            .inner
            .head
            .compare_exchange(
                pack(head, head),
                claimed,
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return Err(task);
        }
        crate::loom::reached("local.overflow");
        self.left_at = head.wrapping_add(HALF);
        let inner = &self.inner;
        // SAFETY: the CAS claimed `head..head + HALF` for us: stealers now start past it, and we
        // wrote these slots ourselves.
        let batch = (0..HALF).map(|i| unsafe { inner.take(head.wrapping_add(i)) });
        overflow.push_batch(batch.chain(std::iter::once(task)));
        Ok(())
    }

    /// Pops the oldest task.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        let mut head = self.inner.head.load(Ordering::Acquire);
        let index = loop {
            let (steal, real) = unpack(head);
            // Only the owner writes `tail`.
            if real == self.inner.tail.load(Ordering::Relaxed) {
                self.left_at = real;
                return None;
            }
            let next_real = real.wrapping_add(1);
            // With no steal in progress both halves move together; during one, only `real`.
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                crate::loom::reached("local.pop_during_steal");
                debug_assert_ne!(steal, next_real);
                pack(steal, next_real)
            };
            match self.inner.head.compare_exchange_weak(
                head,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break real,
                Err(actual) => head = actual,
            }
        };
        self.left_at = index.wrapping_add(1);
        // SAFETY: the CAS moved `real` past `index`, so no stealer can claim it; it was written
        // by us.
        Some(unsafe { self.inner.take(index) })
    }
}

impl<T> Drop for Local<T> {
    fn drop(&mut self) {
        // Release whatever is left (shutdown drains explicitly; this covers unwinding).
        while self.pop().is_some() {}
    }
}

impl<T> Steal<T> {
    /// Whether the victim looks empty (a hint for victim selection).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// The ring's head index (advanced by every pop of the owner and every steal) and the
    /// number of tasks queued, both as they were at some moment during the call. An index that
    /// stays put while tasks are queued means an owner inside one poll (`worker/patience.rs`).
    pub(crate) fn progress(&self) -> (u32, usize) {
        let (_, real) = unpack(self.0.head.load(Ordering::Acquire));
        let tail = self.0.tail.load(Ordering::Acquire);
        (real, tail.wrapping_sub(real) as usize)
    }

    /// Steals half of this queue into `dst` (which must be the caller's own queue) and returns
    /// one of the stolen tasks to run now. `None` if there was nothing to steal, another steal is
    /// in progress on this queue, or `dst` is more than half full.
    pub(crate) fn steal_into(&self, dst: &mut Local<T>) -> Option<T> {
        let dst_tail = dst.inner.tail.load(Ordering::Relaxed);
        let (dst_steal, _) = unpack(dst.inner.head.load(Ordering::Acquire));
        if dst_tail.wrapping_sub(dst_steal) as usize > CAPACITY / 2 {
            // No room for half of a full queue: we have enough work anyway.
            return None;
        }
        let n = self.steal_into2(dst, dst_tail);
        if n == 0 {
            return None;
        }
        // Run the last stolen task now; publish the others.
        let last = dst_tail.wrapping_add(n - 1);
        // SAFETY: slot `last` of our own queue was just written by `steal_into2` and is not
        // published (tail not moved), so nobody else can see it.
        let task = unsafe { dst.inner.take(last) };
        if n > 1 {
            dst.inner.tail.store(last, Ordering::Release);
        }
        Some(task)
    }

    /// Claims half of the queue, copies it into `dst` from `dst_tail` on, and releases the claim.
    /// Returns how many tasks were copied.
    fn steal_into2(&self, dst: &mut Local<T>, dst_tail: u32) -> u32 {
        let mut prev = self.0.head.load(Ordering::Acquire);
        let (first, n) = loop {
            let (steal, real) = unpack(prev);
            if steal != real {
                // Another stealer is copying out of this queue.
                crate::loom::reached("local.steal_contended");
                return 0;
            }
            // `Acquire` pairs with the owner's `Release` store of `tail`: the slots are written.
            let tail = self.0.tail.load(Ordering::Acquire);
            let available = tail.wrapping_sub(real);
            let n = available - available / 2;
            if n == 0 {
                return 0;
            }
            // Claim `real..real + n`: move `real`, leave `steal` as the marker of our copy.
            let next = pack(steal, real.wrapping_add(n));
            match self
                .0
                .head
                .compare_exchange(prev, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break (real, n),
                Err(actual) => prev = actual,
            }
        };
        debug_assert!(n as usize <= CAPACITY / 2);
        for i in 0..n {
            // SAFETY: `first..first + n` is claimed by us (the owner neither pops nor overwrites
            // it while `steal` is behind), and those slots are initialised. The destination slots
            // are beyond our own tail, free (checked by the caller), and ours alone.
            unsafe {
                let task = self.0.take(first.wrapping_add(i));
                dst.inner.put(dst_tail.wrapping_add(i), task);
            }
        }
        // Release the claim: `steal = real`. The owner may have popped meanwhile (moving `real`),
        // so retry with the current value.
        let mut prev = pack(first, first.wrapping_add(n));
        loop {
            let (_, real) = unpack(prev);
            match self.0.head.compare_exchange(
                prev,
                pack(real, real),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return n,
                Err(actual) => {
                    crate::loom::reached("local.steal_release_retry");
                    let (steal, real) = unpack(actual);
                    debug_assert_ne!(steal, real, "our steal claim disappeared");
                    prev = actual;
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[derive(Default)]
    struct Sink(RefCell<Vec<u32>>);
    impl Overflow<u32> for Sink {
        fn push(&self, task: u32) {
            self.0.borrow_mut().push(task);
        }
        fn push_batch(&self, tasks: impl Iterator<Item = u32>) {
            self.0.borrow_mut().extend(tasks);
        }
    }

    #[test]
    fn fifo_order() {
        let (mut local, _steal) = local::<u32>();
        let sink = Sink::default();
        // The first push finds the queue empty, the later ones find tasks ahead of them.
        assert!(!local.push_back(0, &sink));
        for i in 1..10 {
            assert!(local.push_back(i, &sink));
        }
        let popped: Vec<u32> = std::iter::from_fn(|| local.pop()).collect();
        assert_eq!(popped, (0..10).collect::<Vec<_>>());
        assert!(sink.0.borrow().is_empty());
    }

    #[test]
    fn a_push_after_thieves_emptied_the_ring_is_surplus() {
        let (mut owner, steal) = local::<u32>();
        let (mut thief, _) = local::<u32>();
        let sink = Sink::default();
        assert_eq!(owner.pop(), None);
        assert!(!owner.push_back(0, &sink), "the owner's next pick");
        assert_eq!(steal.steal_into(&mut thief), Some(0));
        // Empty again, but a thief took from it since the owner last looked: announce.
        assert!(owner.push_back(1, &sink));
        assert_eq!(steal.steal_into(&mut thief), Some(1));
        assert!(owner.push_back(2, &sink));
        // The owner pops: back to its own pace, a push onto the empty ring is its next pick.
        assert_eq!(owner.pop(), Some(2));
        assert!(!owner.push_back(3, &sink));
    }

    #[test]
    fn overflow_moves_oldest_half_and_new_task() {
        let (mut local, _steal) = local::<u32>();
        let sink = Sink::default();
        for i in 0..=CAPACITY as u32 {
            local.push_back(i, &sink);
        }
        let half = CAPACITY as u32 / 2;
        let mut expected: Vec<u32> = (0..half).collect();
        expected.push(CAPACITY as u32);
        assert_eq!(*sink.0.borrow(), expected);
        assert_eq!(local.len(), CAPACITY / 2);
        assert_eq!(local.pop(), Some(half));
    }

    #[test]
    fn steal_takes_half_and_keeps_order() {
        let (mut victim, steal) = local::<u32>();
        let (mut thief, _) = local::<u32>();
        let sink = Sink::default();
        for i in 0..7 {
            victim.push_back(i, &sink);
        }
        // ceil(7 / 2) = 4 stolen: 0, 1, 2 queued at the thief, 3 returned to run.
        assert_eq!(steal.steal_into(&mut thief), Some(3));
        assert_eq!(thief.len(), 3);
        let stolen: Vec<u32> = std::iter::from_fn(|| thief.pop()).collect();
        assert_eq!(stolen, vec![0, 1, 2]);
        let rest: Vec<u32> = std::iter::from_fn(|| victim.pop()).collect();
        assert_eq!(rest, vec![4, 5, 6]);
    }

    #[test]
    fn indices_wrap_around() {
        let (mut owner, steal) = local::<u32>();
        let (mut thief, _) = local::<u32>();
        let sink = Sink::default();
        let mut next = 0u32;
        let mut seen = 0u64;
        // Far more operations than u32 slots in the ring, with steals interleaved.
        for round in 0..2_000u32 {
            for _ in 0..(round % 7) + 1 {
                owner.push_back(next, &sink);
                next += 1;
            }
            if round % 3 == 0 {
                if steal.steal_into(&mut thief).is_some() {
                    seen += 1;
                }
                while thief.pop().is_some() {
                    seen += 1;
                }
            }
            while owner.pop().is_some() {
                seen += 1;
            }
        }
        assert_eq!(seen + sink.0.borrow().len() as u64, u64::from(next));
    }
}
