//! Metadata storage taken straight from [`std::alloc::System`].
//!
//! The allocator's own bookkeeping (heap slots, chunk links, the shared core) must not come from
//! the global allocator: when [`PoolAlloc`](crate::PoolAlloc) *is* the global allocator, a `Box`
//! inside its lazy initialisation would re-enter it. So the two shapes we need, a fixed-length
//! slice and a reference-counted box, are written here on top of `System` directly. Both are
//! allocated once, when an allocator is built, never on an allocation path.

use core::alloc::Layout;
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::NonNull;
use std::alloc::{GlobalAlloc, System};

use crate::error::AllocError;
use crate::loom::{fence, AtomicUsize, Ordering};

/// A fixed-length `[T]` in `System` memory, built element by element and never resized.
pub(crate) struct SysSlice<T> {
    /// First element; dangling when `len == 0` or `T` is zero-sized.
    ptr: NonNull<T>,
    /// Number of initialised elements.
    len: usize,
    /// Number of elements the allocation was sized for (equals `len` unless `init` panicked).
    cap: usize,
    /// We own `T`s (drop check).
    _owns: PhantomData<T>,
}

// SAFETY: `SysSlice<T>` owns its elements like `Box<[T]>` does; sending or sharing it sends or
// shares the `T`s, so the same bounds apply.
unsafe impl<T: Send> Send for SysSlice<T> {}
// SAFETY: as above: `&SysSlice<T>` only hands out `&T`.
unsafe impl<T: Sync> Sync for SysSlice<T> {}

impl<T> SysSlice<T> {
    /// Builds `len` elements with `init(index)`.
    pub(crate) fn new(
        len: usize,
        mut init: impl FnMut(usize) -> T,
    ) -> Result<SysSlice<T>, AllocError> {
        let layout =
            Layout::array::<T>(len).map_err(|_| AllocError::InvalidConfig("metadata too large"))?;
        let ptr = if layout.size() == 0 {
            NonNull::dangling()
        } else {
            // SAFETY: `layout` has a non-zero size.
            let raw = unsafe { System.alloc(layout) };
            NonNull::new(raw.cast::<T>()).ok_or(AllocError::Reserve {
                bytes: layout.size(),
                errno: 0,
            })?
        };
        let mut slice = SysSlice {
            ptr,
            len: 0,
            cap: len,
            _owns: PhantomData,
        };
        for i in 0..len {
            // SAFETY: `i < len`, so the slot is inside the allocation, and it is not yet
            // initialised. `slice.len` counts initialised slots, so if `init` panics, `Drop`
            // drops exactly those.
            unsafe { slice.ptr.as_ptr().add(i).write(init(i)) };
            slice.len = i + 1;
        }
        Ok(slice)
    }
}

impl<T> Deref for SysSlice<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        // SAFETY: `ptr` points to `len` initialised `T`s (or is dangling with `len == 0`), and
        // they live as long as `self`.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T> Drop for SysSlice<T> {
    fn drop(&mut self) {
        // SAFETY: the first `len` elements are initialised and dropped exactly once, here.
        unsafe {
            core::ptr::drop_in_place(core::ptr::slice_from_raw_parts_mut(
                self.ptr.as_ptr(),
                self.len,
            ))
        };
        // `Layout::array(cap)` succeeded in `new`, so it succeeds again.
        if let Ok(layout) = Layout::array::<T>(self.cap) {
            if layout.size() != 0 {
                // SAFETY: allocated in `new` with `System` and exactly this layout.
                unsafe { System.dealloc(self.ptr.as_ptr().cast(), layout) };
            }
        }
    }
}

/// The heap block behind a [`SysArc`]: the count next to the value.
struct ArcInner<T> {
    /// Number of live `SysArc` handles; the last one to go drops `value`.
    refs: AtomicUsize,
    /// The shared value.
    value: T,
}

/// A minimal `Arc` in `System` memory (see the module docs for why not `std::sync::Arc`).
///
/// The counting protocol is `Arc`'s: `Relaxed` increment (a new handle is made from an existing
/// one, so the object is already alive), `Release` decrement, and an `Acquire` fence in the last
/// owner before dropping, so every use of the value happens-before its destruction.
pub(crate) struct SysArc<T> {
    /// The shared block; valid while `refs > 0`.
    ptr: NonNull<ArcInner<T>>,
    /// We own a share of an `ArcInner<T>` (drop check).
    _owns: PhantomData<ArcInner<T>>,
}

// SAFETY: like `Arc<T>`: handles on several threads share `&T` and the last one drops `T`.
unsafe impl<T: Send + Sync> Send for SysArc<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for SysArc<T> {}

impl<T> SysArc<T> {
    /// Moves `value` into a new `System` block with one reference.
    pub(crate) fn new(value: T) -> Result<SysArc<T>, AllocError> {
        let layout = Layout::new::<ArcInner<T>>();
        // SAFETY: `ArcInner` holds an atomic, so its size is non-zero.
        let raw = unsafe { System.alloc(layout) }.cast::<ArcInner<T>>();
        let ptr = NonNull::new(raw).ok_or(AllocError::Reserve {
            bytes: layout.size(),
            errno: 0,
        })?;
        // SAFETY: freshly allocated for exactly this type.
        unsafe {
            ptr.as_ptr().write(ArcInner {
                refs: AtomicUsize::new(1),
                value,
            })
        };
        Ok(SysArc {
            ptr,
            _owns: PhantomData,
        })
    }

    /// Address of the shared value: identifies the allocator in per-thread tables (which do
    /// not exist under loom).
    #[cfg_attr(loom, allow(dead_code))]
    #[inline]
    pub(crate) fn as_ptr(&self) -> *const T {
        // SAFETY: the block is alive while this handle exists.
        unsafe { &self.ptr.as_ref().value as *const T }
    }
}

impl<T> Clone for SysArc<T> {
    fn clone(&self) -> SysArc<T> {
        // SAFETY: the block is alive while this handle exists.
        unsafe { self.ptr.as_ref() }
            .refs
            .fetch_add(1, Ordering::Relaxed);
        SysArc {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T> Deref for SysArc<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the block is alive while this handle exists.
        unsafe { &self.ptr.as_ref().value }
    }
}

impl<T> Drop for SysArc<T> {
    fn drop(&mut self) {
        // SAFETY: the block is alive until the count reaches zero, which at most this call does.
        if unsafe { self.ptr.as_ref() }
            .refs
            .fetch_sub(1, Ordering::Release)
            != 1
        {
            return;
        }
        fence(Ordering::Acquire);
        // SAFETY: we were the last handle: no other reference to the block exists, and the
        // fence orders every other handle's use before this drop. The block was allocated in
        // `new` with this layout.
        unsafe {
            core::ptr::drop_in_place(self.ptr.as_ptr());
            System.dealloc(self.ptr.as_ptr().cast(), Layout::new::<ArcInner<T>>());
        }
    }
}
