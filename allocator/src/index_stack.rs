//! An ABA-safe lock-free stack of small integer indices.
//!
//! This is Treiber's stack (R. K. Treiber, "Systems Programming: Coping with Parallelism",
//! IBM RJ 5118, 1986) over indices instead of pointers, with the classic *tagged pointer* fix
//! for ABA (IBM System/370 Principles of Operation, Appendix A, "Free-pool manipulation"; see
//! also M. Michael, "ABA Prevention Using Single-Word Instructions", IBM RC 23089, 2004):
//!
//! ```text
//!  head: AtomicU64 = [ tag: u32 | top index: u32 ]      links: [AtomicU32; n]
//!                                                        links[i] = index below i
//! ```
//!
//! Every successful push or pop adds one to the tag. A pop reads `head = (t, i)`, then
//! `links[i] = j`, then CASes `(t, i) -> (t + 1, j)`. If between the read and the CAS another
//! thread popped `i`, pushed other things, and pushed `i` back (the ABA case, after which `j`
//! may be in someone's hands), the tag moved on and the CAS fails. The tag is 32 bits: the
//! protection fails only if one thread stalls between its read and its CAS for exactly a
//! multiple of 2^32 operations on the same stack. We accept that, like every tagged design.
//!
//! Using indices instead of pointers is what makes one `AtomicU64` enough (no double-width
//! CAS), and it needs no memory reclamation scheme: `links` lives as long as the stack, so a
//! stale `links[i]` read is harmless (its value is discarded when the CAS fails).
//!
//! Both operations are lock-free, not wait-free: a CAS fails only because another thread's
//! succeeded. Under `--cfg kairos_loom_weaken` the tag is not incremented, so the loom ABA model
//! can show that it catches the bug.
//!
//! The stack is used for the global chunk pool (`chunk_pool.rs`) and for free heap slots.

use crate::loom::probe::{self, SlowPath};
use crate::loom::{AtomicU32, AtomicU64, Ordering};

/// The "no index" value: empty stack / end of list.
pub(crate) const NONE: u32 = u32::MAX;

/// How much a successful operation adds to the tag.
#[cfg(not(kairos_loom_weaken))]
const TAG_STEP: u32 = 1;
/// Deliberately broken for the loom ABA model: the tag never changes.
#[cfg(kairos_loom_weaken)]
const TAG_STEP: u32 = 0;

/// Packs a tag and an index into one word.
#[inline]
fn pack(tag: u32, index: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(index)
}

/// The index half of a packed word.
#[inline]
fn index(word: u64) -> u32 {
    word as u32
}

/// The tag half of a packed word.
#[inline]
fn tag(word: u64) -> u32 {
    (word >> 32) as u32
}

/// A Treiber stack of indices into a caller-owned `links` array.
///
/// The stack does not own `links` so that several stacks can share one array (the chunk pool's
/// resident and trimmed stacks do); an index must be on at most one of them at a time.
pub(crate) struct IndexStack {
    /// `[tag | top index]`, see the module docs.
    head: AtomicU64,
}

impl IndexStack {
    /// An empty stack.
    pub(crate) fn new() -> IndexStack {
        IndexStack {
            head: AtomicU64::new(pack(0, NONE)),
        }
    }

    /// Pushes `i`, which the caller owns and which is on no stack sharing `links`.
    ///
    /// The `Release` on the CAS publishes everything the caller wrote to the element (a chunk
    /// header, a heap's state) to whoever pops it.
    pub(crate) fn push(&self, links: &[AtomicU32], i: u32) {
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            links[i as usize].store(index(head), Ordering::Relaxed);
            let new = pack(tag(head).wrapping_add(TAG_STEP), i);
            match self
                .head
                .compare_exchange(head, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => {
                    probe::hit(SlowPath::StackPushRetry);
                    head = actual;
                }
            }
        }
    }

    /// Pops the top index, or `None` when empty. The caller owns the returned index.
    pub(crate) fn pop(&self, links: &[AtomicU32]) -> Option<u32> {
        // Acquire: pairs with the `Release` of the push that put the top there, so both
        // `links[top]` and the element's contents are visible.
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            let top = index(head);
            if top == NONE {
                return None;
            }
            let below = links[top as usize].load(Ordering::Relaxed);
            let new = pack(tag(head).wrapping_add(TAG_STEP), below);
            // AcqRel: Acquire for the element (as above); Release so that a later popper that
            // reads *our* head value still synchronises with the push of `below`.
            match self
                .head
                .compare_exchange(head, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(top),
                Err(actual) => {
                    probe::hit(SlowPath::StackPopRetry);
                    head = actual;
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn lifo_and_empty() {
        let links: Vec<AtomicU32> = (0..4).map(|_| AtomicU32::new(NONE)).collect();
        let stack = IndexStack::new();
        assert_eq!(stack.pop(&links), None);
        for i in [3, 1, 2] {
            stack.push(&links, i);
        }
        assert_eq!(stack.pop(&links), Some(2));
        stack.push(&links, 0);
        assert_eq!(stack.pop(&links), Some(0));
        assert_eq!(stack.pop(&links), Some(1));
        assert_eq!(stack.pop(&links), Some(3));
        assert_eq!(stack.pop(&links), None);
    }

    #[test]
    fn every_operation_moves_the_tag() {
        let links: Vec<AtomicU32> = (0..2).map(|_| AtomicU32::new(NONE)).collect();
        let stack = IndexStack::new();
        stack.push(&links, 0);
        let before = stack.head.load(Ordering::Relaxed);
        let i = stack.pop(&links).unwrap();
        stack.push(&links, i);
        let after = stack.head.load(Ordering::Relaxed);
        assert_eq!(
            index(before),
            index(after),
            "same top index (the ABA shape)"
        );
        assert_ne!(before, after, "but a different word: a stale CAS fails");
    }
}
