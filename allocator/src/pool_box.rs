//! [`PoolBox`]: a typed owner of one pool block.

use core::alloc::Layout;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use crate::engine::Core;
use crate::thread_heap;

/// A `Box<T>` whose memory is a block of a [`Pool`](crate::Pool) or
/// [`SizeClasses`](crate::SizeClasses). Dropping it drops the value and frees the block (a
/// remote free if dropped on another thread).
///
/// ```
/// use kairos_alloc::{Config, Pool};
///
/// let pool = Pool::new(64, Config::new(1 << 20)).unwrap();
/// let mut b = pool.boxed(41u32).unwrap();
/// *b += 1;
/// assert_eq!(*b, 42);
/// std::thread::scope(|s| {
///     s.spawn(move || drop(b)); // freed remotely
/// });
/// assert_eq!(pool.stats().live_blocks, 0);
/// ```
pub struct PoolBox<'a, T> {
    /// The value, in the block.
    ptr: NonNull<T>,
    /// The allocator to free into.
    core: &'a Core,
    /// The layout the block was allocated with (needed if it came from the fallback).
    layout: Layout,
    /// We own a `T`.
    _owns: PhantomData<T>,
}

// SAFETY: a `PoolBox<T>` owns its `T` like `Box<T>`; `Core` is `Sync`, so dropping (freeing)
// on another thread is allowed.
unsafe impl<T: Send> Send for PoolBox<'_, T> {}
// SAFETY: `&PoolBox<T>` only gives `&T`.
unsafe impl<T: Sync> Sync for PoolBox<'_, T> {}

impl<'a, T> PoolBox<'a, T> {
    /// Moves `value` into `block`.
    ///
    /// # Safety
    /// `block` is a live block of `core`, allocated with `layout`, which fits `T`; the box
    /// takes ownership of it.
    pub(crate) unsafe fn from_block(
        core: &'a Core,
        block: NonNull<u8>,
        layout: Layout,
        value: T,
    ) -> PoolBox<'a, T> {
        let ptr = block.cast::<T>();
        // SAFETY: the block is ours, large and aligned enough for `T`.
        unsafe { ptr.as_ptr().write(value) };
        PoolBox {
            ptr,
            core,
            layout,
            _owns: PhantomData,
        }
    }

    /// The address of the value.
    ///
    /// ```
    /// let pool = kairos_alloc::Pool::new(64, kairos_alloc::Config::new(1 << 20)).unwrap();
    /// let b = pool.boxed(1u8).unwrap();
    /// assert_eq!(PoolBox::as_ptr(&b) as usize % 64, 0);
    /// # use kairos_alloc::PoolBox;
    /// ```
    pub fn as_ptr(this: &PoolBox<'a, T>) -> *const T {
        this.ptr.as_ptr()
    }
}

impl<T> Deref for PoolBox<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: `ptr` holds an initialised `T` owned by this box.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> DerefMut for PoolBox<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and `&mut self` makes the access unique.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T> Drop for PoolBox<'_, T> {
    fn drop(&mut self) {
        let slot = thread_heap::owned_slot(self.core);
        // SAFETY: the box owns an initialised `T` in a live block of `core` allocated with
        // `layout`; it is dropped and freed exactly once, here. `slot` is owned by this thread.
        unsafe {
            core::ptr::drop_in_place(self.ptr.as_ptr());
            self.core.free(self.ptr.cast(), self.layout, slot);
        }
    }
}

impl<T: core::fmt::Debug> core::fmt::Debug for PoolBox<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&**self, f)
    }
}
