//! The process-wide instance and the [`GlobalAlloc`] adaptor.
//!
//! [`global()`] is a [`SizeClasses`] with the default classes, created on first use with
//! [`GLOBAL_CAPACITY`] bytes and fallback **on** (so code that uses it without configuring
//! anything never fails for lack of memory; watch `stats().fallback_allocs` instead).
//! [`init_global`] chooses another configuration, if called before the first use.
//!
//! Creating the instance allocates only through `System` and `mmap`, never through the global
//! allocator, so [`PoolAlloc`] can be the `#[global_allocator]` and lazily create the very
//! instance it allocates from.

use core::alloc::Layout;
use std::alloc::GlobalAlloc;
use std::sync::OnceLock;

use crate::class_table::{ClassTable, DEFAULT_CLASSES};
use crate::config::Config;
use crate::engine::Core;
use crate::error::AllocError;
use crate::size_classes::SizeClasses;

/// Capacity of the lazily created global instance: 16 MiB (256 chunks), pre-faulted on first
/// use. Enough for tens of thousands of small tasks; beyond it the fallback takes over.
///
/// ```
/// assert_eq!(kairos_alloc::GLOBAL_CAPACITY, 16 << 20);
/// ```
pub const GLOBAL_CAPACITY: usize = 16 << 20;

/// Heap slots of the default global instance.
const GLOBAL_MAX_HEAPS: usize = 128;

/// The global instance.
static GLOBAL: OnceLock<SizeClasses> = OnceLock::new();

/// The default global configuration.
fn default_config() -> Config {
    Config::new(GLOBAL_CAPACITY)
        .with_fallback(true)
        .with_max_heaps(GLOBAL_MAX_HEAPS)
}

/// Builds a `SizeClasses` with `config`; if the OS refuses the region, a zero-capacity one
/// (everything then goes to the fallback, if on).
fn build(config: &Config) -> SizeClasses {
    let make = |config: &Config| {
        ClassTable::new(&DEFAULT_CLASSES)
            .and_then(|classes| Core::new(config, classes))
            .map(SizeClasses::from_core)
    };
    match make(config) {
        Ok(classes) => classes,
        Err(_) => match make(
            &Config::new(0)
                .with_fallback(true)
                .with_max_heaps(GLOBAL_MAX_HEAPS),
        ) {
            Ok(classes) => classes,
            // Only fails if `System` cannot give us the few KiB of heap slots: the process
            // is out of memory before it started.
            Err(err) => panic!("{err}"),
        },
    }
}

/// The process-wide allocator: the default classes, [`GLOBAL_CAPACITY`] bytes, fallback on.
///
/// This is what the kairos executor allocates task blocks from.
///
/// Not for loom models: its atomics would outlive one loom execution. Use a per-model
/// `SizeClasses` there.
///
/// ```
/// use core::alloc::Layout;
///
/// let layout = Layout::from_size_align(320, 64).unwrap();
/// let block = kairos_alloc::global().alloc_layout(layout).unwrap();
/// // SAFETY: allocated from the global instance with `layout`, freed once.
/// unsafe { kairos_alloc::global().free(block, layout) };
/// ```
pub fn global() -> &'static SizeClasses {
    GLOBAL.get_or_init(|| build(&default_config()))
}

/// Creates the global instance with `config` instead of the default. Must run before the first
/// use of [`global()`] or [`PoolAlloc`]; otherwise [`AllocError::AlreadyInitialised`].
///
/// ```
/// use kairos_alloc::{init_global, AllocError, Config};
///
/// // In a doctest the global instance is still untouched.
/// init_global(Config::new(1 << 20).with_fallback(true)).unwrap();
/// assert_eq!(kairos_alloc::global().stats().chunks_total, 16);
/// assert_eq!(init_global(Config::default()).err(), Some(AllocError::AlreadyInitialised));
/// ```
pub fn init_global(config: Config) -> Result<&'static SizeClasses, AllocError> {
    let classes = ClassTable::new(&DEFAULT_CLASSES)?;
    let mut built = None;
    let mut error = None;
    let instance = GLOBAL.get_or_init(|| match Core::new(&config, classes) {
        Ok(core) => {
            built = Some(());
            SizeClasses::from_core(core)
        }
        Err(err) => {
            error = Some(err);
            build(&default_config())
        }
    });
    match (built, error) {
        (Some(()), _) => Ok(instance),
        (None, Some(err)) => Err(err),
        (None, None) => Err(AllocError::AlreadyInitialised),
    }
}

/// A [`GlobalAlloc`] on top of [`global()`].
///
/// Layouts up to the largest class (4 KiB, alignment up to 4 KiB) come from the pool; larger
/// ones and anything the pool cannot serve go to [`System`](std::alloc::System) (counted in
/// `global().stats().fallback_allocs`). Deallocation tells the two apart by address.
///
/// ```no_run
/// #[global_allocator]
/// static ALLOC: kairos_alloc::PoolAlloc = kairos_alloc::PoolAlloc;
///
/// fn main() {
///     let v: Vec<u64> = (0..100).collect(); // 800 bytes: a pool block
///     assert_eq!(v.len(), 100);
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolAlloc;

// SAFETY: `alloc` returns blocks that fit `layout` (a class at least as large and as aligned,
// or `System` with the same layout) and are not handed out again until freed, or null;
// `dealloc` sends each pointer back where it came from: region blocks to the pool (found by
// address), others to `System` with the caller's layout, the one they were allocated with.
unsafe impl GlobalAlloc for PoolAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let global = global();
        match global.alloc_layout(layout) {
            Ok(block) => block.as_ptr(),
            // Only when fallback is off (init_global) or `System` itself failed: go to `System`
            // anyway, counted like a fallback allocation so `dealloc` can free it the same way.
            Err(_) => global.core().system_alloc(layout),
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(block) = core::ptr::NonNull::new(ptr) {
            // SAFETY: `ptr` came from `alloc` above with `layout` (the caller's contract): a
            // region block of the global instance, or a `System` block with this layout, which
            // `free` recognises by address.
            unsafe { global().free(block, layout) };
        }
    }
}
