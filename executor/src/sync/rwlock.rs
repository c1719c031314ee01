//! [`RwLock`]: many readers or one writer, served in arrival order.
//!
//! Built on this module's fair [`Semaphore`] (as tokio's `RwLock`): the lock holds
//! [`MAX_READS`] permits; a read takes one, a write takes them all. The semaphore's strict
//! arrival order makes the lock fair: a writer that arrives waits for the readers already in,
//! and readers that arrive after it wait behind it, so neither side starves. No inheritance:
//! readers have no single holder to lend urgency to (documented in `docs/sync.md`).

use super::semaphore::Semaphore;
use super::TryLockError;
use crate::loom::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};

/// Most readers at once.
pub const MAX_READS: u32 = u32::MAX >> 3;

/// An async reader-writer lock for tasks, fair between readers and writers.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
/// let lock = kairos::sync::RwLock::new(5);
/// rt.block_on(async {
///     {
///         let (a, b) = (lock.read().await, lock.read().await); // readers share
///         assert_eq!(*a + *b, 10);
///     }
///     *lock.write().await += 1;
///     assert_eq!(*lock.read().await, 6);
/// });
/// ```
pub struct RwLock<T> {
    /// [`MAX_READS`] permits: one per reader, all for a writer.
    sem: Semaphore,
    /// The protected value.
    data: UnsafeCell<T>,
}

// SAFETY: a writer gets `&mut T` on some thread (needs `T: Send`), readers share `&T` across
// threads (needs `T: Sync`), as `std::sync::RwLock`.
unsafe impl<T: Send> Send for RwLock<T> {}
// SAFETY: see `Send`.
unsafe impl<T: Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new unlocked lock holding `value`.
    ///
    /// ```
    /// assert_eq!(kairos::sync::RwLock::new(1).into_inner(), 1);
    /// ```
    pub fn new(value: T) -> RwLock<T> {
        RwLock {
            sem: Semaphore::new(MAX_READS as usize),
            data: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the lock.
    ///
    /// ```
    /// assert_eq!(kairos::sync::RwLock::new("a").into_inner(), "a");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }

    /// The value, through exclusive access to the lock.
    ///
    /// ```
    /// let mut l = kairos::sync::RwLock::new(1);
    /// *l.get_mut() = 2;
    /// assert_eq!(l.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` excludes every guard.
        self.data.with_mut(|p| unsafe { &mut *p })
    }

    /// Waits for shared access (behind any writer that arrived earlier).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let l = kairos::sync::RwLock::new(3);
    /// assert_eq!(*rt.block_on(l.read()), 3);
    /// ```
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        match self.sem.acquire().await {
            Ok(p) => p.forget(),
            Err(_) => unreachable!("an RwLock's semaphore is never closed"),
        }
        RwLockReadGuard { lock: self }
    }

    /// Waits for exclusive access (behind every reader and writer that arrived earlier).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let l = kairos::sync::RwLock::new(3);
    /// rt.block_on(async { *l.write().await = 4 });
    /// assert_eq!(l.into_inner(), 4);
    /// ```
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        match self.sem.acquire_many(MAX_READS).await {
            Ok(p) => p.forget(),
            Err(_) => unreachable!("an RwLock's semaphore is never closed"),
        }
        RwLockWriteGuard { lock: self }
    }

    /// Shared access if available now.
    ///
    /// # Errors
    /// [`TryLockError`] if a writer holds or waits for the lock.
    ///
    /// ```
    /// let l = kairos::sync::RwLock::new(1);
    /// let _r = l.try_read().unwrap();
    /// assert!(l.try_write().is_err());
    /// ```
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire() {
            Ok(p) => {
                p.forget();
                Ok(RwLockReadGuard { lock: self })
            }
            Err(_) => Err(TryLockError),
        }
    }

    /// Exclusive access if available now.
    ///
    /// # Errors
    /// [`TryLockError`] if anyone holds or waits for the lock.
    ///
    /// ```
    /// let l = kairos::sync::RwLock::new(1);
    /// *l.try_write().unwrap() = 2;
    /// assert_eq!(*l.try_read().unwrap(), 2);
    /// ```
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire_many(MAX_READS) {
            Ok(p) => {
                p.forget();
                Ok(RwLockWriteGuard { lock: self })
            }
            Err(_) => Err(TryLockError),
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Shared access to an [`RwLock`]'s value, released on drop.
///
/// ```
/// let l = kairos::sync::RwLock::new(vec![1]);
/// assert_eq!(l.try_read().unwrap().len(), 1);
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T> {
    /// The lock.
    lock: &'a RwLock<T>,
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read permit excludes writers.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.add_permits(1);
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to an [`RwLock`]'s value, released on drop.
///
/// ```
/// let l = kairos::sync::RwLock::new(0);
/// *l.try_write().unwrap() += 1;
/// assert_eq!(l.into_inner(), 1);
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T> {
    /// The lock.
    lock: &'a RwLock<T>,
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write permits exclude every other guard.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write permits exclude every other guard; `&mut self` makes this the only
        // access through this one.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.add_permits(MAX_READS as usize);
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
