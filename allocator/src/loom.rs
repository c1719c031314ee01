//! The one place the allocator's sync primitives come from.
//!
//! Every atomic and `UnsafeCell` that takes part in a synchronisation protocol is imported from
//! here. Under `--cfg loom` they are loom's model-checked versions, otherwise `core`'s, so the
//! code loom explores is the code that ships.
//!
//! Two deliberate exceptions, both re-exported here so the choice is visible in one place:
//!
//! * [`stat`] atomics are always `core`'s. They hold statistics only (block and chunk counters,
//!   the "heap is owned" flag); no decision of the allocator reads them, so they are not part of
//!   any protocol. Keeping them out of loom keeps the models' state space small.
//! * Block memory (the intrusive free-list links written into freed blocks) and the bytes of the
//!   region are raw memory that loom cannot see. Their publication is ordered by the atomics
//!   loom does see (the remote list CAS / swap, the chunk pool CAS).
//!
//! [`UnsafeCell`] follows loom's closure API (`with` / `with_mut`) in both builds, because loom
//! tracks every access to a cell's contents through those closures and reports unordered access
//! from two threads as a data race.
//!
//! [`probe`] counts how often a slow path was taken. Under loom the models read the counters to
//! prove that at least one explored execution reached the path (a CAS retry, an adoption);
//! outside loom it compiles to nothing.

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{
    fence, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};

/// Statistics-only atomics: always `core`'s, never loom's (see the module docs).
pub(crate) mod stat {
    pub(crate) use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
}

/// `core::cell::UnsafeCell` with loom's closure-based access API.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// Wraps `data`.
    #[inline]
    pub(crate) const fn new(data: T) -> UnsafeCell<T> {
        UnsafeCell(core::cell::UnsafeCell::new(data))
    }

    /// Runs `f` with a unique pointer to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Slow-path probes: which rarely taken branch an execution went through.
pub(crate) mod probe {
    /// A named slow path. The discriminant indexes the counter array.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum SlowPath {
        /// A remote free lost the CAS on the owner's remote list and retried.
        RemotePushRetry = 0,
        /// The owner's swap took a non-empty remote list.
        RemoteCollect = 1,
        /// A tagged-index stack pop lost its CAS (a concurrent push/pop, ABA prevented).
        StackPopRetry = 2,
        /// A tagged-index stack push lost its CAS.
        StackPushRetry = 3,
        /// A thread took over a heap that a previous owner abandoned with chunks in it.
        Adoption = 4,
        /// A chunk pool handed out a never-used chunk of a region that is not pre-faulted.
        FreshChunk = 5,
        /// A thread lost the race for the last fresh chunk (its index was past the end).
        FreshExhausted = 6,
        /// An allocation found its heap's lists empty and served a block from the remote list
        /// it had just taken.
        ServeRemote = 7,
    }

    /// Number of [`SlowPath`] variants.
    #[cfg(loom)]
    const PATHS: usize = 8;

    #[cfg(loom)]
    std::thread_local! {
        /// Per OS thread: loom runs all threads of a model as coroutines on the test's own OS
        /// thread, so parallel `#[test]`s do not see each other's counts.
        static HITS: [core::cell::Cell<usize>; PATHS] = const {
            [const { core::cell::Cell::new(0) }; PATHS]
        };
    }

    /// Records that `path` was taken (loom builds only).
    #[cfg(loom)]
    #[inline]
    pub(crate) fn hit(path: SlowPath) {
        HITS.with(|h| h[path as usize].set(h[path as usize].get() + 1));
    }

    /// Records that `path` was taken (no-op outside loom).
    #[cfg(not(loom))]
    #[inline(always)]
    pub(crate) fn hit(_path: SlowPath) {}

    /// How often `path` was taken on this OS thread since the last [`reset`].
    #[cfg(all(loom, test))]
    pub(crate) fn hits(path: SlowPath) -> usize {
        HITS.with(|h| h[path as usize].get())
    }

    /// Clears this OS thread's counters.
    #[cfg(all(loom, test))]
    pub(crate) fn reset() {
        HITS.with(|h| h.iter().for_each(|c| c.set(0)));
    }
}
