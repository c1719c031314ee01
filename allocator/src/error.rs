//! The one error type of the crate.
//!
//! Every way an allocation can fail is a variant, and every message says what the caller can do
//! about it. Nothing in the public API panics on bad input; it returns one of these instead.

/// Why an allocation, or building an allocator, failed.
///
/// ```
/// use kairos_alloc::{AllocError, Config, Pool, CHUNK_SIZE};
///
/// // One chunk of 16 KiB blocks holds three blocks (the chunk header takes the first page).
/// let pool = Pool::new(16 * 1024, Config::new(CHUNK_SIZE)).unwrap();
/// let blocks: Vec<_> = (0..3).map(|_| pool.alloc().unwrap()).collect();
/// let err = pool.alloc().unwrap_err();
/// assert!(matches!(err, AllocError::Exhausted { .. }));
/// assert!(err.to_string().contains("raise"));
/// for b in blocks {
///     // SAFETY: each block came from this pool and is freed once.
///     unsafe { pool.free(b) };
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AllocError {
    /// Every chunk of the region is in use and fallback is off.
    #[error(
        "kairos-alloc: out of memory: all {chunks} chunks of the region are in use; \
         raise Config::capacity, free blocks, or enable Config::with_fallback(true) to fall back \
         to the system allocator"
    )]
    Exhausted {
        /// Number of chunks in the region.
        chunks: usize,
    },
    /// The layout is larger or more aligned than the largest block, and fallback is off.
    #[error(
        "kairos-alloc: layout of {size} bytes aligned to {align} is not served: the largest \
         block is {max_size} bytes aligned to {max_align}; use a larger size class or enable \
         Config::with_fallback(true)"
    )]
    Unsupported {
        /// Requested size in bytes.
        size: usize,
        /// Requested alignment in bytes.
        align: usize,
        /// Largest block size this allocator serves.
        max_size: usize,
        /// Largest alignment this allocator serves.
        max_align: usize,
    },
    /// A zero-size layout was requested; pools only hand out real blocks.
    #[error(
        "kairos-alloc: zero-size layout: pools hand out real blocks only; use \
         NonNull::dangling() for zero-sized values"
    )]
    ZeroSize,
    /// Every heap slot is owned by a live thread (or an explicit `Heap`), and fallback is off.
    #[error(
        "kairos-alloc: all {max} heaps are owned by live threads; raise Config::max_heaps or \
         enable Config::with_fallback(true)"
    )]
    TooManyHeaps {
        /// Number of heap slots.
        max: usize,
    },
    /// The operating system refused to reserve the region.
    #[error(
        "kairos-alloc: the OS refused to reserve {bytes} bytes (errno {errno}); lower \
         Config::capacity or raise the process memory limit"
    )]
    Reserve {
        /// Bytes asked for.
        bytes: usize,
        /// The OS error number (0 when the system allocator returned null).
        errno: i32,
    },
    /// A configuration value is out of range.
    #[error("kairos-alloc: invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// [`init_global`](crate::init_global) was called after the global instance already existed.
    #[error(
        "kairos-alloc: the global instance is already initialised; call init_global before the \
         first use of global() or PoolAlloc"
    )]
    AlreadyInitialised,
}
