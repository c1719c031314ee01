//! Construction parameters shared by [`Pool`](crate::Pool) and
//! [`SizeClasses`](crate::SizeClasses).

use crate::chunk::CHUNK_SIZE;
use crate::error::AllocError;

/// Default number of heap slots: one per thread that allocates at the same time.
///
/// 64 covers a worker per core on large machines plus helper threads. Each slot costs one
/// per-class heap record (a few hundred bytes) per size class, reserved up front.
pub const DEFAULT_MAX_HEAPS: usize = 64;

/// How much memory an allocator reserves and what it does when it runs out.
///
/// ```
/// use kairos_alloc::Config;
///
/// let config = Config::new(4 << 20).with_fallback(true).with_max_heaps(8);
/// assert_eq!(config.capacity, 4 << 20);
/// assert!(config.fallback);
/// assert_eq!(config.max_heaps, 8);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Bytes reserved up front (pre-faulted if [`prefault`](Config::prefault)), rounded up to
    /// whole chunks ([`CHUNK_SIZE`]). Zero is allowed: every allocation then fails (or falls
    /// back).
    pub capacity: usize,
    /// When `true` (the default), every page of the region is backed when the allocator is
    /// built, so no allocation ever takes a page fault: what a real-time program wants. On
    /// Linux such a region of 2 MiB or more is also aligned to 2 MiB and advised to use
    /// transparent huge pages (fewer TLB misses; the same resident memory). When
    /// `false`, the region is only reserved address space: pages (and chunk headers) are backed
    /// on first use, so resident memory grows with the memory actually used, at the price of a
    /// page fault on each page's first touch.
    pub prefault: bool,
    /// When `true`, requests the region cannot serve (exhaustion, oversized or over-aligned
    /// layouts, no free heap slot) go to the system allocator and are counted in
    /// [`Stats::fallback_allocs`](crate::Stats::fallback_allocs), instead of returning an
    /// error. Off by default: a real-time program should see exhaustion, not a hidden syscall.
    pub fallback: bool,
    /// Heap slots: how many threads (or explicit [`Heap`](crate::Heap)s) can own a heap at once.
    pub max_heaps: usize,
}

impl Config {
    /// `capacity` bytes, no fallback, [`DEFAULT_MAX_HEAPS`] heap slots.
    ///
    /// ```
    /// let c = kairos_alloc::Config::new(1 << 20);
    /// assert!(!c.fallback);
    /// ```
    pub const fn new(capacity: usize) -> Config {
        Config {
            capacity,
            prefault: true,
            fallback: false,
            max_heaps: DEFAULT_MAX_HEAPS,
        }
    }

    /// Sets [`Config::fallback`].
    ///
    /// ```
    /// assert!(kairos_alloc::Config::new(0).with_fallback(true).fallback);
    /// ```
    pub const fn with_fallback(mut self, fallback: bool) -> Config {
        self.fallback = fallback;
        self
    }

    /// Sets [`Config::prefault`].
    ///
    /// ```
    /// let c = kairos_alloc::Config::new(1 << 20).with_prefault(false);
    /// assert!(!c.prefault);
    /// assert!(kairos_alloc::Config::new(0).prefault);
    /// ```
    pub const fn with_prefault(mut self, prefault: bool) -> Config {
        self.prefault = prefault;
        self
    }

    /// Sets [`Config::max_heaps`].
    ///
    /// ```
    /// assert_eq!(kairos_alloc::Config::new(0).with_max_heaps(2).max_heaps, 2);
    /// ```
    pub const fn with_max_heaps(mut self, max_heaps: usize) -> Config {
        self.max_heaps = max_heaps;
        self
    }

    /// Number of chunks the capacity rounds up to, or why the configuration is unusable.
    pub(crate) fn chunk_count(&self) -> Result<usize, AllocError> {
        if self.max_heaps == 0 {
            return Err(AllocError::InvalidConfig("max_heaps must be at least 1"));
        }
        if self.max_heaps >= u32::MAX as usize {
            return Err(AllocError::InvalidConfig(
                "max_heaps must be below u32::MAX",
            ));
        }
        let chunks = self.capacity.div_ceil(CHUNK_SIZE);
        // Chunk indices are u32 with u32::MAX as "none"; the region length must fit an isize.
        if chunks >= u32::MAX as usize || chunks > (isize::MAX as usize) / CHUNK_SIZE - 1 {
            return Err(AllocError::InvalidConfig("capacity is too large"));
        }
        Ok(chunks)
    }
}

impl Default for Config {
    /// 16 MiB, no fallback, [`DEFAULT_MAX_HEAPS`] heap slots.
    ///
    /// ```
    /// assert_eq!(kairos_alloc::Config::default().capacity, 16 << 20);
    /// ```
    fn default() -> Config {
        Config::new(16 << 20)
    }
}
