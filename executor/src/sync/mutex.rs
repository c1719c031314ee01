//! [`Mutex`]: an async mutex with priority and deadline inheritance.
//!
//! The lock word and the acquire protocol are in `mutex_raw.rs`; the inheritance rules in
//! `task/boost.rs`. This file is the typed layer: the data, the guards, the public API.
//!
//! # A holder that panics
//!
//! The lock is *not* poisoned (as tokio's `Mutex`): a task that panics while holding a guard
//! unwinds, the guard's `drop` releases the lock (handing it to the next waiter, restoring the
//! panicking task's own parameters), and the next holder sees the data as the panicking task
//! left it. A program whose invariants may break mid-update must restore them itself (or keep a
//! flag in the data).

use super::mutex_raw::RawMutex;
use crate::loom::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// An async mutual-exclusion lock for tasks, with priority and deadline inheritance.
///
/// `lock().await` suspends the task (it never blocks the worker thread) until the lock is free.
/// While a task waits, the holder runs with the waiter's urgency if that is higher: under `Edf`
/// the earlier deadline, under `Priority` the higher priority (transitively, through a holder
/// that itself waits on another `Mutex`); its own parameters come back when it releases the
/// lock. Waiters are granted the lock in urgency order under `Edf` and `Priority`, in arrival
/// order under `Fifo` and `Fair`. Turn inheritance off with [`Mutex::with_inheritance`].
///
/// The uncontended `lock` and `unlock` are one compare-and-swap each (plus one task reference
/// count change); no poisoning (see the module docs of `sync/mutex.rs`, and `docs/sync.md`).
///
/// ```
/// use kairos::sync::Mutex;
/// use std::sync::Arc;
///
/// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
/// let total = rt.block_on(async {
///     let counter = Arc::new(Mutex::new(0u64));
///     let tasks: Vec<_> = (0..8)
///         .map(|_| {
///             let counter = counter.clone();
///             kairos::spawn(async move {
///                 for _ in 0..100 {
///                     *counter.lock().await += 1;
///                 }
///             })
///         })
///         .collect();
///     for t in tasks {
///         t.await.unwrap();
///     }
///     let n = *counter.lock().await;
///     n
/// });
/// assert_eq!(total, 800);
/// ```
pub struct Mutex<T> {
    /// The lock word.
    raw: RawMutex,
    /// The protected value.
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `data` to one holder at a time, possibly on another
// thread, so `T: Send` suffices for both (as `std::sync::Mutex`).
unsafe impl<T: Send> Send for Mutex<T> {}
// SAFETY: see `Send`.
unsafe impl<T: Send> Sync for Mutex<T> {}

/// Returned by [`Mutex::try_lock`] when the lock is held: await [`Mutex::lock`] instead, or try
/// again later.
///
/// ```
/// let m = kairos::sync::Mutex::new(1);
/// let _g = m.try_lock().unwrap();
/// assert_eq!(m.try_lock().unwrap_err(), kairos::sync::TryLockError);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the mutex is locked: await Mutex::lock to wait for it, or try again later")]
pub struct TryLockError;

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`, with inheritance on.
    ///
    /// ```
    /// let m = kairos::sync::Mutex::new(vec![1, 2]);
    /// assert_eq!(m.into_inner(), vec![1, 2]);
    /// ```
    pub fn new(value: T) -> Mutex<T> {
        Mutex::with_inheritance(value, true)
    }

    /// A new unlocked mutex; `inherit: false` turns priority and deadline inheritance off for
    /// it (waiters are still granted in urgency order), e.g. to measure what inheritance buys.
    ///
    /// ```
    /// let m = kairos::sync::Mutex::with_inheritance(0, false);
    /// assert!(!m.inherits());
    /// ```
    pub fn with_inheritance(value: T, inherit: bool) -> Mutex<T> {
        Mutex {
            raw: RawMutex::new(inherit),
            data: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the mutex.
    ///
    /// ```
    /// assert_eq!(kairos::sync::Mutex::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T> Mutex<T> {
    /// Whether waiters lend their urgency to the holder.
    ///
    /// ```
    /// assert!(kairos::sync::Mutex::new(()).inherits());
    /// ```
    pub fn inherits(&self) -> bool {
        self.raw.inherits()
    }

    /// Waits until the lock is free and takes it. Cancel-safe: dropping the future while it
    /// waits removes the waiter (and the urgency it lent the holder).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let m = kairos::sync::Mutex::new(1);
    /// rt.block_on(async {
    ///     *m.lock().await += 1;
    /// });
    /// assert_eq!(m.into_inner(), 2);
    /// ```
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        self.raw.acquire().await;
        MutexGuard { lock: self }
    }

    /// Takes the lock if it is free now.
    ///
    /// # Errors
    /// [`TryLockError`] if it is held.
    ///
    /// ```
    /// let m = kairos::sync::Mutex::new(5);
    /// assert_eq!(*m.try_lock().unwrap(), 5);
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        if self.raw.try_lock() {
            Ok(MutexGuard { lock: self })
        } else {
            Err(TryLockError)
        }
    }

    /// Waits for the lock of a shared mutex and returns a guard that owns a clone of the `Arc`
    /// (`'static`: it can be moved into another task).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let m = Arc::new(kairos::sync::Mutex::new(0));
    /// rt.block_on(async {
    ///     let mut g = m.clone().lock_owned().await;
    ///     kairos::spawn(async move { *g = 9 }).await.unwrap();
    /// });
    /// assert_eq!(*m.try_lock().unwrap(), 9);
    /// ```
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        self.raw.acquire().await;
        OwnedMutexGuard { lock: self }
    }

    /// [`try_lock`](Self::try_lock) returning an owned guard.
    ///
    /// # Errors
    /// [`TryLockError`] if it is held.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(kairos::sync::Mutex::new(5));
    /// let g = m.clone().try_lock_owned().unwrap();
    /// assert!(m.try_lock().is_err());
    /// drop(g);
    /// ```
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        if self.raw.try_lock() {
            Ok(OwnedMutexGuard { lock: self })
        } else {
            Err(TryLockError)
        }
    }

    /// The value, through exclusive access to the mutex (no locking needed).
    ///
    /// ```
    /// let mut m = kairos::sync::Mutex::new(1);
    /// *m.get_mut() = 2;
    /// assert_eq!(m.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` excludes every guard.
        self.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.field("inherits", &self.inherits()).finish()
    }
}

/// Access to a [`Mutex`]'s value; the lock is released when the guard is dropped.
///
/// ```
/// let m = kairos::sync::Mutex::new(String::new());
/// m.try_lock().unwrap().push('a');
/// assert_eq!(*m.try_lock().unwrap(), "a");
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T> {
    /// The locked mutex.
    lock: &'a Mutex<T>,
}

// SAFETY: the guard gives `&T` / `&mut T` to whichever thread holds it (as std's guard when
// moved); sending it needs `T: Send`, sharing it `T: Sync`.
unsafe impl<T: Send + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, and `&mut self` makes this the only access.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.unlock();
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A [`MutexGuard`] that owns an `Arc` of its mutex ([`Mutex::lock_owned`]).
///
/// ```
/// use std::sync::Arc;
/// let m = Arc::new(kairos::sync::Mutex::new(1));
/// let mut g = m.clone().try_lock_owned().unwrap();
/// *g += 1;
/// drop(g);
/// assert_eq!(*m.try_lock().unwrap(), 2);
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T> {
    /// The locked mutex.
    lock: Arc<Mutex<T>>,
}

// SAFETY: as for `MutexGuard`.
unsafe impl<T: Send + Sync> Sync for OwnedMutexGuard<T> {}

impl<T> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, and `&mut self` makes this the only access.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.raw.unlock();
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
