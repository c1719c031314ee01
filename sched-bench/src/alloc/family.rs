//! The allocators under test, behind one small interface so every case is written once.
//!
//! A case is a generic function over [`Family`]: it asks the family for a [`Local`] handle on
//! each thread it runs (a kairos [`Heap`] is `!Send`, so handles are made on
//! the thread that uses them) and allocates and frees 128-byte blocks through it. Cases are
//! monomorphised per allocator ([`with_family!`](crate::alloc::with_family)), so no indirect call
//! sits between the benchmark loop and the allocator.
//!
//! | [`Which`] | allocation | free |
//! |---|---|---|
//! | `kairos` | `Heap::alloc` on a heap owned by the thread (no thread-local lookup) | `Heap::free`: local, or a remote push if another heap owns the block |
//! | `kairos-tls` | `Pool::alloc` (the thread's heap found in the thread-local table; what the executor's path costs) | `Pool::free` |
//! | `system` | `std::alloc::System.alloc` (glibc `malloc` on Linux) | `System.dealloc` |
//! | `mimalloc` | `mimalloc::MiMalloc.alloc` through `GlobalAlloc`, not installed as the global allocator | `MiMalloc.dealloc` |
//! | `harness` | no allocator: returns the same 128-byte buffer every time | nothing |
//!
//! `harness` is the floor under every row: the cost of the benchmark loop, the touch, the
//! channel or ring, and the clock, with no allocator in it.
//!
//! All four get the same layout, [`BLOCK_SIZE`] bytes aligned to 16 (what `malloc` guarantees
//! anyway), so `system` and `mimalloc` take their plain `malloc` paths. The kairos pool is
//! created once per `sched-bench alloc` run ([`KairosPool`]) and shared by both kairos rows.

use crate::error::BenchError;
use kairos_alloc::{Config, Heap, Pool};
use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr::NonNull;

/// Size of every block, in bytes.
pub const BLOCK_SIZE: usize = 128;

/// Alignment asked of every allocator: `malloc`'s own, so no allocator takes an aligned path.
pub const BLOCK_ALIGN: usize = 16;

/// Capacity of the kairos pool: 64 MiB, 1,024 chunks. The largest case keeps 65,536 blocks
/// (8 MiB) live; the rest is headroom for blocks in flight between threads and for chunks a
/// heap still holds partially used.
pub const POOL_CAPACITY: usize = 64 << 20;

/// The layout of every block.
pub fn block_layout() -> Layout {
    // 128 and 16 are a valid size and power-of-two alignment.
    match Layout::from_size_align(BLOCK_SIZE, BLOCK_ALIGN) {
        Ok(layout) => layout,
        Err(_) => unreachable!("128 bytes aligned to 16 is a valid layout"),
    }
}

/// One allocator under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Which {
    /// kairos-alloc `Pool` through an explicitly owned per-thread `Heap`.
    #[value(name = "kairos")]
    Kairos,
    /// kairos-alloc `Pool::alloc` / `Pool::free` (thread-local heap lookup).
    #[value(name = "kairos-tls")]
    KairosTls,
    /// `std::alloc::System` (glibc malloc).
    #[value(name = "system")]
    System,
    /// mimalloc, called directly through `GlobalAlloc`.
    #[value(name = "mimalloc")]
    Mimalloc,
    /// No allocator: the benchmark harness alone.
    #[value(name = "harness")]
    Harness,
}

impl Which {
    /// Every allocator, in table order.
    pub const ALL: [Which; 5] = [
        Which::Kairos,
        Which::KairosTls,
        Which::System,
        Which::Mimalloc,
        Which::Harness,
    ];

    /// The name in tables and reports.
    pub fn name(self) -> &'static str {
        match self {
            Which::Kairos => "kairos",
            Which::KairosTls => "kairos-tls",
            Which::System => "system",
            Which::Mimalloc => "mimalloc",
            Which::Harness => "harness",
        }
    }
}

/// A per-thread allocation handle.
pub trait Local {
    /// One block of [`block_layout`], or `None` if the allocator has none.
    fn alloc(&self) -> Option<NonNull<u8>>;

    /// Frees a block, on any thread.
    ///
    /// # Safety
    /// `ptr` came from this family's `alloc` (on any thread) and is freed exactly once.
    unsafe fn free(&self, ptr: NonNull<u8>);
}

/// An allocator: hands out per-thread handles.
pub trait Family: Sync {
    /// The handle a thread allocates and frees through.
    type Local<'a>: Local
    where
        Self: 'a;

    /// Which allocator this is.
    fn which(&self) -> Which;

    /// A handle for the calling thread.
    ///
    /// # Errors
    /// [`BenchError::Task`] if the allocator cannot serve another thread (kairos: no heap slot).
    fn local(&self) -> Result<Self::Local<'_>, BenchError>;

    /// The error for an allocation that returned no block, with what the allocator can say.
    fn exhausted(&self) -> BenchError {
        alloc_failed(self.which(), "the allocator returned no block".to_owned())
    }
}

/// [`BenchError::Task`] naming the allocator.
pub fn alloc_failed(which: Which, message: String) -> BenchError {
    BenchError::Task {
        backend: which.name().to_owned(),
        message,
    }
}

/// The kairos pool shared by the `kairos` and `kairos-tls` rows.
#[derive(Debug)]
pub struct KairosPool {
    pool: Pool,
}

impl KairosPool {
    /// Reserves and pre-faults [`POOL_CAPACITY`] bytes of [`BLOCK_SIZE`]-byte blocks.
    ///
    /// # Errors
    /// [`BenchError::Build`] with kairos-alloc's message.
    pub fn new() -> Result<KairosPool, BenchError> {
        let pool =
            Pool::new(BLOCK_SIZE, Config::new(POOL_CAPACITY)).map_err(|e| BenchError::Build {
                backend: "kairos-alloc".to_owned(),
                message: e.to_string(),
            })?;
        Ok(KairosPool { pool })
    }

    /// The pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The exhaustion error with the pool's counters in it.
    fn exhausted(&self, which: Which) -> BenchError {
        let s = self.pool.stats();
        alloc_failed(
            which,
            format!(
                "the pool returned no block (live {}, chunks in use {} of {}, remote frees {}); \
                 this is a kairos-alloc finding, not a benchmark error",
                s.live_blocks, s.chunks_in_use, s.chunks_total, s.remote_frees
            ),
        )
    }
}

/// `kairos`: explicit heaps.
#[derive(Debug)]
pub struct KairosHeaps<'p>(pub &'p KairosPool);

/// A thread's explicitly owned kairos heap.
#[derive(Debug)]
pub struct KairosHeap<'a> {
    heap: Heap<'a>,
    layout: Layout,
}

impl Local for KairosHeap<'_> {
    #[inline]
    fn alloc(&self) -> Option<NonNull<u8>> {
        self.heap.alloc().ok()
    }

    #[inline]
    unsafe fn free(&self, ptr: NonNull<u8>) {
        // SAFETY: forwarded contract; `layout` is the pool's block layout.
        unsafe { self.heap.free(ptr, self.layout) }
    }
}

impl Family for KairosHeaps<'_> {
    type Local<'a>
        = KairosHeap<'a>
    where
        Self: 'a;

    fn which(&self) -> Which {
        Which::Kairos
    }

    fn local(&self) -> Result<KairosHeap<'_>, BenchError> {
        let pool = self.0.pool();
        let heap = pool
            .heap()
            .map_err(|e| alloc_failed(Which::Kairos, e.to_string()))?;
        Ok(KairosHeap {
            heap,
            layout: pool.block_layout(),
        })
    }

    fn exhausted(&self) -> BenchError {
        self.0.exhausted(Which::Kairos)
    }
}

/// `kairos-tls`: the pool's thread-local heaps.
#[derive(Debug)]
pub struct KairosTls<'p>(pub &'p KairosPool);

impl Local for &Pool {
    #[inline]
    fn alloc(&self) -> Option<NonNull<u8>> {
        Pool::alloc(self).ok()
    }

    #[inline]
    unsafe fn free(&self, ptr: NonNull<u8>) {
        // SAFETY: forwarded contract.
        unsafe { Pool::free(self, ptr) }
    }
}

impl Family for KairosTls<'_> {
    type Local<'a>
        = &'a Pool
    where
        Self: 'a;

    fn which(&self) -> Which {
        Which::KairosTls
    }

    fn local(&self) -> Result<&Pool, BenchError> {
        Ok(self.0.pool())
    }

    fn exhausted(&self) -> BenchError {
        self.0.exhausted(Which::KairosTls)
    }
}

/// `system` and `mimalloc`: any [`GlobalAlloc`] called directly.
#[derive(Debug)]
pub struct Global<A: 'static> {
    alloc: &'static A,
    which: Which,
    layout: Layout,
}

/// `std::alloc::System`.
pub fn system() -> Global<System> {
    Global {
        alloc: &System,
        which: Which::System,
        layout: block_layout(),
    }
}

/// mimalloc through `GlobalAlloc`.
pub fn mimalloc() -> Global<mimalloc::MiMalloc> {
    Global {
        alloc: &mimalloc::MiMalloc,
        which: Which::Mimalloc,
        layout: block_layout(),
    }
}

/// The handle of a [`Global`] family: the allocator and the layout.
#[derive(Debug, Clone, Copy)]
pub struct GlobalLocal<A: 'static> {
    alloc: &'static A,
    layout: Layout,
}

impl<A: GlobalAlloc> Local for GlobalLocal<A> {
    #[inline]
    fn alloc(&self) -> Option<NonNull<u8>> {
        // SAFETY: the layout has a non-zero size.
        NonNull::new(unsafe { self.alloc.alloc(self.layout) })
    }

    #[inline]
    unsafe fn free(&self, ptr: NonNull<u8>) {
        // SAFETY: forwarded contract: `ptr` came from this allocator with this layout.
        unsafe { self.alloc.dealloc(ptr.as_ptr(), self.layout) }
    }
}

impl<A: GlobalAlloc + Sync> Family for Global<A> {
    type Local<'a>
        = GlobalLocal<A>
    where
        Self: 'a;

    fn which(&self) -> Which {
        self.which
    }

    fn local(&self) -> Result<GlobalLocal<A>, BenchError> {
        Ok(GlobalLocal {
            alloc: self.alloc,
            layout: self.layout,
        })
    }
}

/// `harness`: no allocator at all, to measure what the benchmark itself costs.
#[derive(Debug)]
pub struct Harness;

/// The handle of [`Harness`]: one 128-byte buffer of its own, handed out again and again.
#[derive(Debug)]
pub struct HarnessLocal {
    /// From `Box::into_raw` of a `[u128; 8]` (128 bytes, 16-aligned); freed on drop. Written
    /// by `touch` on every "allocation", by the allocating thread only.
    buffer: NonNull<u8>,
}

/// The harness buffer: 128 bytes, 16-aligned.
type HarnessBuffer = [u128; BLOCK_SIZE / 16];

impl Drop for HarnessLocal {
    fn drop(&mut self) {
        // SAFETY: `buffer` came from `Box::into_raw` of a `HarnessBuffer`, and is dropped once.
        drop(unsafe { Box::from_raw(self.buffer.cast::<HarnessBuffer>().as_ptr()) });
    }
}

impl Local for HarnessLocal {
    #[inline]
    fn alloc(&self) -> Option<NonNull<u8>> {
        Some(self.buffer)
    }

    #[inline]
    unsafe fn free(&self, _ptr: NonNull<u8>) {}
}

impl Family for Harness {
    type Local<'a> = HarnessLocal;

    fn which(&self) -> Which {
        Which::Harness
    }

    fn local(&self) -> Result<HarnessLocal, BenchError> {
        let buffer: Box<HarnessBuffer> = Box::new([0; BLOCK_SIZE / 16]);
        Ok(HarnessLocal {
            buffer: NonNull::from(Box::leak(buffer)).cast::<u8>(),
        })
    }
}

/// Runs `$body` with `$a` bound to the [`Family`] for `$which` (monomorphised per allocator).
/// `$pool` is the run's [`KairosPool`].
macro_rules! with_family {
    ($which:expr, $pool:expr, |$a:ident| $body:expr) => {
        match $which {
            $crate::alloc::family::Which::Kairos => {
                let $a = &$crate::alloc::family::KairosHeaps($pool);
                $body
            }
            $crate::alloc::family::Which::KairosTls => {
                let $a = &$crate::alloc::family::KairosTls($pool);
                $body
            }
            $crate::alloc::family::Which::System => {
                let $a = &$crate::alloc::family::system();
                $body
            }
            $crate::alloc::family::Which::Mimalloc => {
                let $a = &$crate::alloc::family::mimalloc();
                $body
            }
            $crate::alloc::family::Which::Harness => {
                let $a = &$crate::alloc::family::Harness;
                $body
            }
        }
    };
}
pub(crate) use with_family;

/// Writes `tag` into the first word of a fresh block, as a user initialising it would; keeps
/// the compiler from treating an alloc/free pair as dead and makes every allocator hand out
/// memory that is really touched.
#[inline]
pub fn touch(block: NonNull<u8>, tag: usize) {
    // SAFETY: the block is fresh, ours, at least 128 bytes and 16-aligned.
    unsafe { block.cast::<usize>().as_ptr().write_volatile(tag) };
}
