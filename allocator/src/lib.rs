//! `kairos-alloc`: fixed-size block pools with O(1) allocation and free from any thread.
//!
//! Built for a real-time task runtime, where tasks are allocated on one worker and often freed
//! on another, and where the steady state must take no syscall, no page fault, no lock and no
//! unbounded loop:
//!
//! * **Region**: memory is reserved once (`Config::capacity`), cut into 64 KiB chunks aligned
//!   to 64 KiB, and every page is touched at start. A block's chunk header is found by masking
//!   its address. Memory goes back to the OS only when you call `trim`.
//! * **Heaps**: each thread owns a heap (one per allocator), with per-class lists of chunks;
//!   allocation pops the current chunk's free list or bumps, without atomics.
//! * **Remote frees**: a block freed on another thread is pushed on its owner heap's remote list
//!   with one CAS; the owner takes the whole list with one swap when its own lists run dry and
//!   serves the blocks from it directly, without touching their chunks.
//! * **Global chunk pool**: empty chunks go back to a lock-free stack of chunk indices with an
//!   ABA tag, shared by all heaps and classes.
//! * **Threads come and go**: a thread's heap is released when it exits and adopted, with its
//!   chunks and pending remote frees, by the next thread that needs one. Nothing leaks.
//!
//! The design follows mimalloc (D. Leijen, B. Zorn, L. de Moura, "Mimalloc: Free List Sharding
//! in Action", APLAS 2019), simplified to fixed capacity; `docs/allocator.md` has the picture,
//! the invariants and the cost of every path. Each module's docs explain its part.
//!
//! # Using it
//!
//! ```
//! use core::alloc::Layout;
//! use kairos_alloc::{Config, SizeClasses};
//!
//! let classes = SizeClasses::new(Config::new(4 << 20)).unwrap();
//! let layout = Layout::from_size_align(300, 64).unwrap();
//! let block = classes.alloc_layout(layout).unwrap();
//! std::thread::scope(|s| {
//!     let addr = block.as_ptr() as usize;
//!     let classes = &classes;
//!     s.spawn(move || {
//!         let block = core::ptr::NonNull::new(addr as *mut u8).unwrap();
//!         // SAFETY: allocated above with `layout`; freed once, here (a remote free).
//!         unsafe { classes.free(block, layout) };
//!     });
//! });
//! assert_eq!(classes.stats().live_blocks, 0);
//! ```
//!
//! The executor allocates task blocks from [`global()`] the same way.
//!
//! # Loom
//!
//! All sync primitives come from the `loom` shim module; under `RUSTFLAGS="--cfg loom"` the
//! crate's loom models check the remote free list, the tagged chunk pool and heap
//! abandonment/adoption (see `docs/allocator.md` for the list).
#![warn(
    missing_docs,
    clippy::undocumented_unsafe_blocks,
    unsafe_op_in_unsafe_fn
)]

mod chunk;
mod chunk_pool;
mod class_heap;
mod class_table;
mod config;
mod engine;
mod error;
mod global_alloc;
mod heap;
mod index_stack;
mod loom;
mod pool;
mod pool_box;
mod region;
mod remote;
mod size_classes;
mod stats;
mod sys_alloc;
mod thread_heap;

#[cfg(all(test, loom))]
mod loom_tests;

pub use chunk::CHUNK_SIZE;
pub use class_table::{DEFAULT_CLASSES, MAX_BLOCK_ALIGN, MAX_BLOCK_SIZE, MAX_CLASSES};
pub use config::{Config, DEFAULT_MAX_HEAPS};
pub use error::AllocError;
pub use global_alloc::{global, init_global, PoolAlloc, GLOBAL_CAPACITY};
pub use heap::Heap;
pub use pool::Pool;
pub use pool_box::PoolBox;
pub use size_classes::SizeClasses;
pub use stats::Stats;
