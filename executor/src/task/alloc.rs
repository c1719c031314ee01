//! Where task blocks come from: the fixed-size pools of `kairos-alloc`, or `Box`.
//!
//! Every task is one block (header, scheduler handle, future or output, join waker). With
//! [`TaskAllocator::Pool`] (the default) the block comes from a process-wide
//! [`kairos_alloc::SizeClasses`] reserved and pre-faulted up front: O(1) allocation on the
//! spawning thread, O(1) free on any thread (a free on another thread is one CAS onto the owner's
//! remote list), no system call and no page fault in steady state.
//!
//! The pool is created with its own fallback *off*, so that kairos decides what happens when a
//! block cannot come from it: the task is boxed by the global allocator instead and counted
//! ([`TaskMemory::system_allocs`]). That happens when the future is larger than the largest
//! class ([`kairos_alloc::MAX_BLOCK_SIZE`]) or more aligned than a class allows, when the pool is
//! exhausted, or when more threads allocate at once than it has heaps. `free` tells the two kinds
//! of blocks apart by address (`SizeClasses::contains`), so no flag is stored per task, and a
//! boxed block always goes back to the allocator it came from, even under a user
//! `#[global_allocator]`.
//!
//! The pool is process-wide, not per runtime, because a task can outlive its runtime (a kept
//! `JoinHandle` or waker) and must still be freed into the pool it came from.
//!
//! Under loom every block is boxed: the pool's own loom models live in `kairos-alloc`.

use std::ptr::NonNull;

/// How a runtime allocates its task blocks.
///
/// ```
/// use kairos::{Runtime, TaskAllocator};
/// let rt = Runtime::builder().task_allocator(TaskAllocator::System).build().unwrap();
/// assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskAllocator {
    /// The process-wide task pool (`kairos-alloc`), falling back to the global allocator for
    /// blocks the pool cannot serve. The default.
    #[default]
    Pool,
    /// The global allocator (`Box`) for every task: for comparisons, or programs that must not
    /// reserve the pool's memory.
    System,
}

/// Counters of task-block allocation, process-wide (all runtimes).
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(rt.spawn(async {})).unwrap();
/// let mem = kairos::task_memory();
/// assert!(mem.pool.is_some());
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TaskMemory {
    /// Statistics of the task pool, if it was created (by the first runtime built with
    /// [`TaskAllocator::Pool`]); `None` if it was never needed or its memory could not be
    /// reserved.
    pub pool: Option<kairos_alloc::Stats>,
    /// Task blocks ever allocated with the global allocator instead of the pool (fallbacks, and
    /// every task of [`TaskAllocator::System`] runtimes).
    pub system_allocs: u64,
    /// Of those, the ones not freed yet.
    pub system_live: u64,
}

/// Capacity reserved for the task pool: 64 MiB of address space, reserved when the first pool
/// runtime is built and backed as tasks use it (pre-faulted in full only after
/// [`configure_task_pool`]). Enough for about 250k tasks of 256 bytes alive at once; beyond that
/// tasks are boxed (and counted) rather than failing.
pub const TASK_POOL_CAPACITY: usize = 64 << 20;

/// Block sizes of the task pool. Finer than powers of two where task blocks fall (a task block
/// is 56 bytes of header and handle, 16 of join waker, plus the future: small futures make
/// 96–512 byte blocks), so less is lost to rounding: a task sleeping on a `Sleep` is 112 bytes
/// and gets a 112-byte block instead of 128. At most `kairos_alloc::MAX_CLASSES` (16) classes.
#[cfg(not(loom))]
const TASK_CLASSES: [usize; 16] = [
    64, 80, 96, 112, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 2048, 4096, 8192,
];

/// Threads that may hold a heap of the task pool at once; further threads fall back to `Box`.
#[cfg(not(loom))]
const TASK_POOL_MAX_HEAPS: usize = 256;

#[cfg(not(loom))]
mod imp {
    use super::*;
    use kairos_alloc::{Config, SizeClasses};
    use std::alloc::Layout;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    use std::sync::OnceLock;

    static POOL: OnceLock<Option<SizeClasses>> = OnceLock::new();
    /// Capacity the pool is created with; set by `configure_task_pool` before creation.
    static CAPACITY: AtomicUsize = AtomicUsize::new(TASK_POOL_CAPACITY);
    /// Capacity the pool was actually created with (0 until created).
    static CREATED_WITH: AtomicUsize = AtomicUsize::new(0);
    /// Whether the pool is (to be) pre-faulted: set by `configure_task_pool`; the default pool
    /// is only reserved address space, backed as tasks use it.
    static PREFAULT: AtomicBool = AtomicBool::new(false);
    /// Whether the pool was actually created pre-faulted.
    static CREATED_PREFAULTED: AtomicBool = AtomicBool::new(false);
    /// Statistics only (no synchronisation role), hence plain std atomics outside the shim.
    static SYSTEM_ALLOCS: AtomicU64 = AtomicU64::new(0);
    static SYSTEM_FREES: AtomicU64 = AtomicU64::new(0);

    /// The task pool, created (and pre-faulted) on first use.
    pub(crate) fn pool() -> Option<&'static SizeClasses> {
        POOL.get_or_init(|| {
            let capacity = CAPACITY.load(Ordering::Acquire);
            let prefault = PREFAULT.load(Ordering::Acquire);
            CREATED_WITH.store(capacity, Ordering::Release);
            CREATED_PREFAULTED.store(prefault, Ordering::Release);
            let config = Config::new(capacity)
                .with_prefault(prefault)
                .with_fallback(false)
                .with_max_heaps(TASK_POOL_MAX_HEAPS);
            SizeClasses::with_classes(&TASK_CLASSES, config).ok()
        })
        .as_ref()
    }

    /// Moves `value` into a new block.
    pub(crate) fn alloc<T>(value: T, allocator: TaskAllocator) -> NonNull<T> {
        let layout = Layout::new::<T>();
        if allocator == TaskAllocator::Pool {
            if let Some(pool) = pool() {
                if let Ok(block) = pool.alloc_layout(layout) {
                    let ptr = block.cast::<T>();
                    // SAFETY: the block is fresh, ours, and fits `layout` (size and alignment).
                    unsafe { ptr.as_ptr().write(value) };
                    return ptr;
                }
            }
        }
        SYSTEM_ALLOCS.fetch_add(1, Ordering::Relaxed);
        NonNull::from(Box::leak(Box::new(value)))
    }

    /// Drops the value and frees its block.
    ///
    /// # Safety
    /// `ptr` came from [`alloc`] with the same `T`, and nothing uses it any more.
    pub(crate) unsafe fn free<T>(ptr: NonNull<T>) {
        let block = ptr.cast::<u8>();
        match POOL.get().and_then(Option::as_ref) {
            Some(pool) if pool.contains(block) => {
                // SAFETY: the caller owns the value; drop it in place, then return the block,
                // which `alloc` took from this pool with `Layout::new::<T>()`.
                unsafe {
                    std::ptr::drop_in_place(ptr.as_ptr());
                    pool.free(block, Layout::new::<T>());
                }
            }
            _ => {
                SYSTEM_FREES.fetch_add(1, Ordering::Relaxed);
                // SAFETY: not a pool block, so `alloc` boxed it.
                drop(unsafe { Box::from_raw(ptr.as_ptr()) });
            }
        }
    }

    pub(crate) fn configure(capacity: usize) -> Result<(), TaskPoolError> {
        if POOL.get().is_some() {
            return Err(TaskPoolError::AlreadyCreated);
        }
        CAPACITY.store(capacity, Ordering::Release);
        PREFAULT.store(true, Ordering::Release);
        // A runtime built concurrently may have created it with the defaults meanwhile.
        let _ = pool();
        match POOL.get().and_then(Option::as_ref) {
            Some(_)
                if CREATED_WITH.load(Ordering::Acquire) == capacity
                    && CREATED_PREFAULTED.load(Ordering::Acquire) =>
            {
                Ok(())
            }
            Some(_) => Err(TaskPoolError::AlreadyCreated),
            None => Err(TaskPoolError::Reserve { capacity }),
        }
    }

    pub(crate) fn memory() -> TaskMemory {
        let allocs = SYSTEM_ALLOCS.load(Ordering::Relaxed);
        let frees = SYSTEM_FREES.load(Ordering::Relaxed);
        TaskMemory {
            pool: POOL.get().and_then(Option::as_ref).map(SizeClasses::stats),
            system_allocs: allocs,
            system_live: allocs.saturating_sub(frees),
        }
    }
}

#[cfg(loom)]
mod imp {
    use super::*;

    pub(crate) fn alloc<T>(value: T, _allocator: TaskAllocator) -> NonNull<T> {
        NonNull::from(Box::leak(Box::new(value)))
    }

    /// # Safety
    /// As the pool version.
    pub(crate) unsafe fn free<T>(ptr: NonNull<T>) {
        // SAFETY: `alloc` boxed it.
        drop(unsafe { Box::from_raw(ptr.as_ptr()) });
    }

    pub(crate) fn configure(_capacity: usize) -> Result<(), TaskPoolError> {
        Ok(())
    }

    pub(crate) fn memory() -> TaskMemory {
        TaskMemory::default()
    }
}

pub(crate) use imp::{alloc, free};

#[cfg(not(loom))]
pub(crate) use imp::pool;

/// Why [`configure_task_pool`] failed.
///
/// ```
/// let _ = kairos::Runtime::builder().workers(1).build().unwrap(); // creates the pool
/// assert!(matches!(
///     kairos::configure_task_pool(1 << 20),
///     Err(kairos::TaskPoolError::AlreadyCreated)
/// ));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskPoolError {
    /// The pool already exists (a runtime with `TaskAllocator::Pool` was built first).
    #[error(
        "the task pool already exists: call kairos::configure_task_pool before building the \
         first runtime with TaskAllocator::Pool"
    )]
    AlreadyCreated,
    /// The memory could not be reserved (tasks will be boxed instead).
    #[error(
        "could not reserve {capacity} bytes for the task pool: use a smaller capacity or check \
         the address-space limit (ulimit -v); tasks are allocated with the global allocator \
         meanwhile"
    )]
    Reserve {
        /// The capacity asked for.
        capacity: usize,
    },
}

/// Sets the capacity of the process-wide task pool (default [`TASK_POOL_CAPACITY`]), reserves it
/// now and pre-faults it: every page is backed from then on (it counts in the process's resident
/// memory), so no spawn ever takes a page fault. This is the one call a real-time program makes
/// before building its runtime. Without it, the first [`TaskAllocator::Pool`] runtime creates
/// the default pool as reserved address space only, backed page by page as tasks use it (small
/// resident memory; the first use of each page is a page fault). Must be called before the
/// first runtime with [`TaskAllocator::Pool`] is built.
///
/// # Errors
/// [`TaskPoolError::AlreadyCreated`] if the pool exists already; [`TaskPoolError::Reserve`] if
/// the memory could not be reserved.
///
/// ```no_run
/// // Room for about a million 128-byte tasks at once.
/// kairos::configure_task_pool(160 << 20).expect("task pool");
/// let rt = kairos::Runtime::new().unwrap();
/// # drop(rt);
/// ```
pub fn configure_task_pool(capacity: usize) -> Result<(), TaskPoolError> {
    imp::configure(capacity)
}

/// Task-block allocation counters, process-wide.
///
/// ```
/// let before = kairos::task_memory().system_allocs;
/// let rt = kairos::Runtime::builder()
///     .workers(1)
///     .task_allocator(kairos::TaskAllocator::System)
///     .build()
///     .unwrap();
/// rt.block_on(rt.spawn(async {})).unwrap();
/// assert!(kairos::task_memory().system_allocs > before);
/// ```
pub fn task_memory() -> TaskMemory {
    imp::memory()
}
