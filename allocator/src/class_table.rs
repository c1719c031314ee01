//! Size classes: which block sizes an allocator serves and how a request finds its class.
//!
//! A class is a block size, a multiple of [`GRANULE`] between [`GRANULE`] and
//! [`MAX_BLOCK_SIZE`]. Its alignment is the largest power of two dividing the size, capped at
//! [`MAX_BLOCK_ALIGN`]: blocks start at the header rounded up to that alignment and follow each
//! other at `size` steps, so every block is aligned for free. For the default power-of-two
//! classes this costs nothing: the space lost to padding is smaller than one block anyway.
//!
//! The lookup from a request size to a class is one table read (`lookup[ceil(size / 16)]`),
//! then at most a few steps up while the class's alignment is below the request's (at most
//! [`MAX_CLASSES`] steps, usually none). The table is a fixed 1 KiB array and the classes live
//! in a `heapless::Vec`: both bounded, both built once, no allocation.

use core::alloc::Layout;

use crate::chunk::{CHUNK_SIZE, HEADER_SIZE};
use crate::error::AllocError;

/// Block sizes are multiples of this (and at least this): 16 bytes, enough for the free-list
/// link and for `max_align_t` on common targets.
pub(crate) const GRANULE: usize = 16;

/// Largest block size: 16 KiB, so a chunk holds at least three blocks.
///
/// ```
/// assert_eq!(kairos_alloc::MAX_BLOCK_SIZE, 16 * 1024);
/// ```
pub const MAX_BLOCK_SIZE: usize = 16 * 1024;

/// Largest block alignment: one 4 KiB page. Larger alignments would waste most of a chunk.
///
/// ```
/// assert_eq!(kairos_alloc::MAX_BLOCK_ALIGN, 4096);
/// ```
pub const MAX_BLOCK_ALIGN: usize = 4096;

/// Most size classes one allocator can have.
///
/// ```
/// assert_eq!(kairos_alloc::MAX_CLASSES, 16);
/// ```
pub const MAX_CLASSES: usize = 16;

/// The default classes of [`SizeClasses`](crate::SizeClasses): powers of two from 64 B to
/// 4 KiB. 64 B is a cache line (nothing smaller is worth a task); 4 KiB is a page.
///
/// ```
/// assert_eq!(kairos_alloc::DEFAULT_CLASSES, [64, 128, 256, 512, 1024, 2048, 4096]);
/// ```
pub const DEFAULT_CLASSES: [usize; 7] = [64, 128, 256, 512, 1024, 2048, 4096];

/// Marks a lookup entry with no class.
const NO_CLASS: u8 = u8::MAX;

/// Entries of the size lookup table: one per granule up to the largest block.
const LOOKUP_LEN: usize = MAX_BLOCK_SIZE / GRANULE + 1;

/// The geometry of one class within a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClassInfo {
    /// Block size in bytes.
    pub(crate) size: u32,
    /// Guaranteed block alignment.
    pub(crate) align: u32,
    /// Offset of block 0 from the chunk base (header rounded up to `align`).
    pub(crate) first: u32,
    /// Offset just past the last block.
    pub(crate) end: u32,
}

impl ClassInfo {
    /// The geometry for blocks of `size` bytes (already validated).
    fn new(size: usize) -> ClassInfo {
        let align = (1usize << size.trailing_zeros()).min(MAX_BLOCK_ALIGN);
        let first = HEADER_SIZE.next_multiple_of(align);
        let count = (CHUNK_SIZE - first) / size;
        ClassInfo {
            size: size as u32,
            align: align as u32,
            first: first as u32,
            end: (first + count * size) as u32,
        }
    }

    /// Blocks per chunk.
    pub(crate) fn blocks_per_chunk(&self) -> usize {
        ((self.end - self.first) / self.size) as usize
    }

    /// The layout of one block.
    pub(crate) fn layout(&self) -> Layout {
        // Cannot fail: `align` is a power of two and `size` a small multiple of it.
        Layout::from_size_align(self.size as usize, self.align as usize)
            .unwrap_or(Layout::new::<u8>())
    }
}

/// The classes of one allocator and the size-to-class lookup.
pub(crate) struct ClassTable {
    /// Classes in strictly increasing size order.
    classes: heapless::Vec<ClassInfo, MAX_CLASSES>,
    /// `lookup[ceil(size / GRANULE)]` = smallest class whose size is at least `size`.
    lookup: [u8; LOOKUP_LEN],
    /// Largest alignment any class guarantees.
    max_align: usize,
}

impl ClassTable {
    /// Classes of the given sizes, each rounded up to a multiple of [`GRANULE`].
    pub(crate) fn new(sizes: &[usize]) -> Result<ClassTable, AllocError> {
        if sizes.is_empty() {
            return Err(AllocError::InvalidConfig(
                "at least one size class is needed",
            ));
        }
        let mut classes = heapless::Vec::new();
        let mut previous = 0;
        for &size in sizes {
            if size == 0 || size > MAX_BLOCK_SIZE {
                return Err(AllocError::InvalidConfig(
                    "class sizes must be in 1..=MAX_BLOCK_SIZE",
                ));
            }
            let size = size.next_multiple_of(GRANULE);
            if size <= previous {
                return Err(AllocError::InvalidConfig(
                    "class sizes must be strictly increasing (after rounding up to 16 bytes)",
                ));
            }
            previous = size;
            classes
                .push(ClassInfo::new(size))
                .map_err(|_| AllocError::InvalidConfig("at most MAX_CLASSES size classes"))?;
        }
        let mut lookup = [NO_CLASS; LOOKUP_LEN];
        let mut class = 0;
        for (granules, slot) in lookup.iter_mut().enumerate() {
            while class < classes.len() && (classes[class].size as usize) < granules * GRANULE {
                class += 1;
            }
            if class < classes.len() {
                *slot = class as u8;
            }
        }
        let max_align = classes
            .iter()
            .map(|c| c.align as usize)
            .max()
            .unwrap_or(GRANULE);
        Ok(ClassTable {
            classes,
            lookup,
            max_align,
        })
    }

    /// Number of classes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.classes.len()
    }

    /// Class `i`.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &ClassInfo {
        &self.classes[i]
    }

    /// All classes, smallest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &ClassInfo> {
        self.classes.iter()
    }

    /// The smallest class that fits `layout`, or why none does.
    #[inline]
    pub(crate) fn class_for(&self, layout: Layout) -> Result<usize, AllocError> {
        let (size, align) = (layout.size(), layout.align());
        if size == 0 {
            return Err(AllocError::ZeroSize);
        }
        if size <= MAX_BLOCK_SIZE && align <= self.max_align {
            let mut class = self.lookup[size.div_ceil(GRANULE)] as usize;
            while class < self.classes.len() {
                if self.classes[class].align as usize >= align {
                    return Ok(class);
                }
                class += 1;
            }
        }
        Err(self.unsupported(layout))
    }

    /// The error for a layout no class fits.
    #[cold]
    fn unsupported(&self, layout: Layout) -> AllocError {
        AllocError::Unsupported {
            size: layout.size(),
            align: layout.align(),
            max_size: self.classes.last().map_or(0, |c| c.size as usize),
            max_align: self.max_align,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn default_classes_are_naturally_aligned() {
        let table = ClassTable::new(&DEFAULT_CLASSES).unwrap();
        for c in table.iter() {
            assert_eq!(c.align, c.size.min(MAX_BLOCK_ALIGN as u32));
            assert_eq!(c.first % c.align, 0);
            assert!(c.end as usize <= CHUNK_SIZE);
            assert!(c.blocks_per_chunk() >= 3);
        }
    }

    #[test]
    fn lookup_picks_smallest_fitting_class() {
        let table = ClassTable::new(&DEFAULT_CLASSES).unwrap();
        let l = |s, a| Layout::from_size_align(s, a).unwrap();
        assert_eq!(table.class_for(l(1, 1)), Ok(0));
        assert_eq!(table.class_for(l(64, 8)), Ok(0));
        assert_eq!(table.class_for(l(65, 8)), Ok(1));
        assert_eq!(table.class_for(l(16, 256)), Ok(2));
        assert_eq!(table.class_for(l(4096, 4096)), Ok(6));
        assert_eq!(table.class_for(l(0, 1)), Err(AllocError::ZeroSize));
        assert!(matches!(
            table.class_for(l(4097, 8)),
            Err(AllocError::Unsupported { .. })
        ));
        assert!(matches!(
            table.class_for(l(8, 8192)),
            Err(AllocError::Unsupported { .. })
        ));
    }

    #[test]
    fn odd_sizes_get_smaller_alignment() {
        let table = ClassTable::new(&[48, 96]).unwrap();
        assert_eq!(table.get(0).align, 16);
        assert_eq!(table.get(1).align, 32);
        let l = Layout::from_size_align(40, 32).unwrap();
        assert_eq!(table.class_for(l), Ok(1));
        let l = Layout::from_size_align(40, 64).unwrap();
        assert!(table.class_for(l).is_err());
    }

    #[test]
    fn bad_tables_are_rejected() {
        assert!(ClassTable::new(&[]).is_err());
        assert!(ClassTable::new(&[64, 64]).is_err());
        assert!(ClassTable::new(&[64, 60]).is_err());
        assert!(ClassTable::new(&[MAX_BLOCK_SIZE + 1]).is_err());
        assert!(ClassTable::new(&[16; 17]).is_err());
    }
}
