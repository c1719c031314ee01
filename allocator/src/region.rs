//! The reserved region: one contiguous, chunk-aligned mapping, pre-faulted unless the
//! configuration says otherwise ([`Config::prefault`](crate::Config::prefault)).
//!
//! Reservation happens once, when an allocator is built:
//!
//! 1. `mmap` `len + align` bytes of private anonymous memory, then `munmap` the slop before
//!    the first `align` boundary and after the end, so the region starts on a chunk boundary
//!    and a block's chunk header is found by masking its address. `align` is [`CHUNK_SIZE`],
//!    or a huge page ([`HUGE_PAGE`]) for a pre-faulted region of at least that size on Linux,
//!    which is also advised `MADV_HUGEPAGE`.
//! 2. If pre-faulting: write one byte in every page. After this the steady state takes no page
//!    faults: every later access hits a page that is already backed. If not, pages are backed on
//!    first touch, so resident memory grows with use (and each first touch is a page fault).
//!
//! Giving memory back is explicit ([`Region::discard_chunk`], reached through `trim`): it
//! `madvise(MADV_DONTNEED)`s the pages of one free chunk *after* its header page, so the header
//! (which holds atomics) stays resident and intact, and the next use of the chunk faults its
//! block pages back in.
//!
//! On non-Unix targets the region comes from `System` with chunk alignment and `discard_chunk`
//! does nothing.

use core::ptr::NonNull;

use crate::chunk::{ChunkHeader, CHUNK_SIZE, HEADER_SIZE};
use crate::error::AllocError;

/// Page size assumed when the OS does not say.
const FALLBACK_PAGE: usize = 4096;

/// A transparent huge page on x86-64 and on arm64 with 4 KiB pages: 2 MiB.
///
/// On Linux, a pre-faulted region of at least this size is aligned to it and asked to be backed by huge
/// pages (`MADV_HUGEPAGE`), so that blocks reached in random order (a free of a task that slept
/// for a while) cost one TLB entry per 2 MiB instead of one per 4 KiB page. Resident memory
/// does not change: a pre-faulted region is resident in full either way. A lazily backed region
/// keeps small pages, so that it grows by 4 KiB and not by 2 MiB per first touch.
const HUGE_PAGE: usize = 2 << 20;

/// A chunk-aligned mapping of `len` bytes, unmapped on drop.
pub(crate) struct Region {
    /// First byte; a multiple of [`CHUNK_SIZE`]. Dangling (but aligned) when `len == 0`.
    base: NonNull<u8>,
    /// Length in bytes; a multiple of [`CHUNK_SIZE`].
    len: usize,
    /// OS page size: the unit of pre-faulting and of `madvise`.
    page: usize,
}

// SAFETY: `Region` is an owned mapping, like a `Box<[u8]>`; the raw pointer is only a handle.
unsafe impl Send for Region {}
// SAFETY: `&Region` only reads the immutable base/len/page fields; concurrent access to the
// bytes is governed by the allocator's protocols, not by `Region`.
unsafe impl Sync for Region {}

impl Region {
    /// Reserves `chunks` chunks, pre-faulting them if `prefault`.
    pub(crate) fn reserve(chunks: usize, prefault: bool) -> Result<Region, AllocError> {
        let len = chunks * CHUNK_SIZE;
        let page = page_size();
        if len == 0 {
            // A dangling pointer aligned to the chunk size: `contains` is false for every
            // address because `len` is zero.
            let base = NonNull::new(CHUNK_SIZE as *mut u8)
                .ok_or(AllocError::InvalidConfig("chunk size"))?;
            return Ok(Region { base, len, page });
        }
        let huge = cfg!(target_os = "linux") && prefault && len >= HUGE_PAGE;
        let base = map(len, if huge { HUGE_PAGE } else { CHUNK_SIZE })?;
        if huge {
            advise_huge(base, len);
        }
        let region = Region { base, len, page };
        if prefault {
            region.prefault();
        }
        Ok(region)
    }

    /// Writes one byte in every page so each is backed by memory now, not on first use.
    #[cold]
    fn prefault(&self) {
        let mut offset = 0;
        while offset < self.len {
            // SAFETY: `offset < len`, so the byte is inside the mapping, which is writable and
            // not yet shared with anyone.
            unsafe { core::ptr::write_volatile(self.base.as_ptr().add(offset), 0) };
            offset += self.page;
        }
    }

    /// Number of chunks.
    #[inline]
    pub(crate) fn chunks(&self) -> usize {
        self.len / CHUNK_SIZE
    }

    /// Whether `ptr` points into the region.
    #[inline]
    pub(crate) fn contains(&self, ptr: *const u8) -> bool {
        (ptr as usize).wrapping_sub(self.base.as_ptr() as usize) < self.len
    }

    /// The header of chunk `index`.
    ///
    /// `index` must be below [`Region::chunks`] (checked in debug builds); the pointer is then
    /// in bounds and aligned to [`CHUNK_SIZE`].
    #[inline]
    pub(crate) fn chunk(&self, index: u32) -> NonNull<ChunkHeader> {
        debug_assert!((index as usize) < self.chunks());
        // SAFETY: `index < chunks`, so the offset stays inside the mapping; a pointer into a
        // live mapping is non-null.
        unsafe {
            NonNull::new_unchecked(self.base.as_ptr().add(index as usize * CHUNK_SIZE).cast())
        }
    }

    /// The index of the chunk whose header is `chunk`.
    #[inline]
    pub(crate) fn index_of(&self, chunk: NonNull<ChunkHeader>) -> u32 {
        let offset = (chunk.as_ptr() as usize).wrapping_sub(self.base.as_ptr() as usize);
        debug_assert!(offset < self.len && offset & (CHUNK_SIZE - 1) == 0);
        (offset / CHUNK_SIZE) as u32
    }

    /// Gives the block pages of chunk `index` back to the OS; the header page stays.
    ///
    /// Returns `true` if the pages were released. The caller must own the chunk (it is off every
    /// list), and nothing may hold a pointer into its block area: the bytes read as zero
    /// afterwards.
    #[cold]
    pub(crate) fn discard_chunk(&self, index: u32) -> bool {
        let keep = HEADER_SIZE.next_multiple_of(self.page);
        if keep >= CHUNK_SIZE {
            return false;
        }
        let start = self.chunk(index).as_ptr().cast::<u8>();
        // SAFETY: `keep < CHUNK_SIZE`, so `start + keep` is inside the chunk and the range
        // `[start + keep, start + CHUNK_SIZE)` is page aligned and inside the mapping.
        let from = unsafe { start.add(keep) };
        discard(from, CHUNK_SIZE - keep)
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        if self.len != 0 {
            unmap(self.base, self.len);
        }
    }
}

/// The OS page size.
#[cfg(unix)]
fn page_size() -> usize {
    // SAFETY: `sysconf` has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 0 {
        page as usize
    } else {
        FALLBACK_PAGE
    }
}

/// The OS page size.
#[cfg(not(unix))]
fn page_size() -> usize {
    FALLBACK_PAGE
}

/// Maps `len` bytes aligned to `align` (a power of two, at least [`CHUNK_SIZE`]).
#[cfg(unix)]
fn map(len: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
    let total = len + align;
    // SAFETY: an anonymous private mapping with no address hint has no preconditions.
    let raw = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            total,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        return Err(AllocError::Reserve {
            bytes: total,
            errno,
        });
    }
    let raw = raw.cast::<u8>();
    let head = (raw as usize).next_multiple_of(align) - raw as usize;
    // SAFETY: `head < align`, so `raw + head` and `raw + head + len` are inside the
    // `len + align` byte mapping.
    let base = unsafe { raw.add(head) };
    // SAFETY: as above.
    let tail_start = unsafe { base.add(len) };
    let tail = total - head - len;
    // SAFETY: both ranges are parts of the mapping we just made and nobody else knows of;
    // unmapping the unaligned slop leaves exactly `[base, base + len)`.
    unsafe {
        if head != 0 {
            libc::munmap(raw.cast(), head);
        }
        if tail != 0 {
            libc::munmap(tail_start.cast(), tail);
        }
    }
    NonNull::new(base).ok_or(AllocError::Reserve {
        bytes: total,
        errno: 0,
    })
}

/// Asks for transparent huge pages on `[base, base + len)` ([`HUGE_PAGE`]). Advice only: where
/// the kernel has them off (`/sys/kernel/mm/transparent_hugepage/enabled` is `never`) the call
/// fails and the region keeps small pages, which changes nothing but the TLB misses.
#[cfg(target_os = "linux")]
fn advise_huge(base: NonNull<u8>, len: usize) {
    // SAFETY: `[base, base + len)` is the mapping `map` just made, not yet shared; the advice
    // changes how it is backed, never its contents.
    unsafe { libc::madvise(base.as_ptr().cast(), len, libc::MADV_HUGEPAGE) };
}

/// No transparent huge pages to ask for.
#[cfg(not(target_os = "linux"))]
fn advise_huge(_base: NonNull<u8>, _len: usize) {}

/// Unmaps a region made by [`map`].
#[cfg(unix)]
fn unmap(base: NonNull<u8>, len: usize) {
    // SAFETY: `[base, base + len)` is exactly the mapping `map` returned, and the region is
    // being dropped, so nothing refers into it any more.
    unsafe { libc::munmap(base.as_ptr().cast(), len) };
}

/// Releases the pages of `[from, from + len)`.
#[cfg(unix)]
fn discard(from: *mut u8, len: usize) -> bool {
    // SAFETY: the caller passes a page-aligned range inside the mapping that nobody uses;
    // `MADV_DONTNEED` on private anonymous memory only drops its contents (reads see zeroes).
    unsafe { libc::madvise(from.cast(), len, libc::MADV_DONTNEED) == 0 }
}

/// Allocates `len` bytes aligned to `align` from `System`.
#[cfg(not(unix))]
fn map(len: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
    use std::alloc::{GlobalAlloc, Layout, System};
    let layout = Layout::from_size_align(len, align)
        .map_err(|_| AllocError::InvalidConfig("capacity is too large"))?;
    // SAFETY: `len > 0` (checked by the caller).
    let raw = unsafe { System.alloc(layout) };
    NonNull::new(raw).ok_or(AllocError::Reserve {
        bytes: len,
        errno: 0,
    })
}

/// Frees a region made by [`map`].
#[cfg(not(unix))]
fn unmap(base: NonNull<u8>, len: usize) {
    use std::alloc::{GlobalAlloc, Layout, System};
    if let Ok(layout) = Layout::from_size_align(len, CHUNK_SIZE) {
        // SAFETY: allocated by `map` with this layout; the region is being dropped.
        unsafe { System.dealloc(base.as_ptr(), layout) };
    }
}

/// No page release without `madvise`.
#[cfg(not(unix))]
fn discard(_from: *mut u8, _len: usize) -> bool {
    false
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_aligned_and_contained() {
        let region = Region::reserve(3, true).unwrap();
        assert_eq!(region.chunks(), 3);
        for i in 0..3 {
            let chunk = region.chunk(i);
            assert_eq!(chunk.as_ptr() as usize % CHUNK_SIZE, 0);
            assert!(region.contains(chunk.as_ptr().cast()));
            assert_eq!(region.index_of(chunk), i);
        }
        let end = region.chunk(2).as_ptr() as usize + CHUNK_SIZE;
        assert!(!region.contains(end as *const u8));
        assert!(!region.contains((region.chunk(0).as_ptr() as usize - 1) as *const u8));
    }

    #[test]
    fn discard_keeps_the_header_page() {
        let region = Region::reserve(1, true).unwrap();
        let base = region.chunk(0).as_ptr().cast::<u8>();
        // SAFETY: the region is ours and unshared; offsets are inside chunk 0.
        unsafe {
            base.write(7);
            base.add(CHUNK_SIZE - 1).write(9);
        }
        if region.discard_chunk(0) {
            // SAFETY: as above.
            unsafe {
                assert_eq!(base.read(), 7, "header page kept");
                assert_eq!(base.add(CHUNK_SIZE - 1).read(), 0, "block pages released");
            }
        }
    }

    /// Pages of `region` backed by memory now (`mincore`).
    #[cfg(unix)]
    fn resident_pages(region: &Region) -> usize {
        let pages = region.len / region.page;
        let mut vec = vec![0u8; pages];
        // SAFETY: `base..base+len` is our mapping, page aligned; `vec` has one byte per page.
        let rc =
            unsafe { libc::mincore(region.base.as_ptr().cast(), region.len, vec.as_mut_ptr()) };
        assert_eq!(rc, 0, "mincore failed");
        vec.iter().filter(|b| *b & 1 == 1).count()
    }

    /// A pre-faulted region is resident in full as soon as it exists; one that is not has no
    /// page backed until it is touched, and then only the touched page.
    #[cfg(unix)]
    #[test]
    fn prefault_decides_what_is_resident() {
        let eager = Region::reserve(4, true).unwrap();
        assert_eq!(resident_pages(&eager), eager.len / eager.page);
        let lazy = Region::reserve(4, false).unwrap();
        assert_eq!(resident_pages(&lazy), 0);
        // SAFETY: the region is ours and unshared; the offset is inside chunk 2.
        unsafe { lazy.chunk(2).as_ptr().cast::<u8>().add(100).write(1) };
        assert_eq!(resident_pages(&lazy), 1);
    }

    /// The `VmFlags` of the mapping that holds `addr`, from `/proc/self/smaps`.
    #[cfg(target_os = "linux")]
    fn vm_flags(addr: *const u8) -> Vec<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("/proc/self/smaps");
        let addr = addr as usize;
        let mut inside = false;
        for line in smaps.lines() {
            let range = line
                .split_whitespace()
                .next()
                .and_then(|r| r.split_once('-'));
            if let Some((lo, hi)) = range {
                if let (Ok(lo), Ok(hi)) =
                    (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
                {
                    inside = lo <= addr && addr < hi;
                    continue;
                }
            }
            if let (true, Some(flags)) = (inside, line.strip_prefix("VmFlags:")) {
                return flags.split_whitespace().map(str::to_owned).collect();
            }
        }
        panic!("no mapping holds {addr:#x}");
    }

    /// A pre-faulted region of a huge page or more starts on a huge-page boundary and carries
    /// the huge-page advice (`hg`); a lazily backed one keeps small pages.
    #[cfg(target_os = "linux")]
    #[test]
    fn prefaulted_regions_ask_for_huge_pages() {
        let chunks = HUGE_PAGE / CHUNK_SIZE;
        let eager = Region::reserve(chunks, true).unwrap();
        assert_eq!(eager.base.as_ptr() as usize % HUGE_PAGE, 0);
        let lazy = Region::reserve(chunks, false).unwrap();
        assert!(!vm_flags(lazy.base.as_ptr()).iter().any(|f| f == "hg"));
        if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists() {
            eprintln!("skipped the advice check: this kernel has no transparent huge pages");
            return;
        }
        assert!(vm_flags(eager.base.as_ptr()).iter().any(|f| f == "hg"));
    }

    #[test]
    fn empty_region_contains_nothing() {
        let region = Region::reserve(0, true).unwrap();
        assert_eq!(region.chunks(), 0);
        assert!(!region.contains(CHUNK_SIZE as *const u8));
    }
}
