//! Task-local values: [`task_local!`](crate::task_local) declares a [`LocalKey`], and
//! [`LocalKey::scope`] runs a future with a value for it, carried across the future's awaits
//! wherever it is polled (any worker, the simulator, another executor).
//!
//! # Protocol
//!
//! A key is a thread-local slot (`RefCell<Option<T>>`). A scope owns its value while its future
//! is not being polled. Each poll of [`TaskLocalFuture`] swaps its value into the slot of the
//! polling thread, polls the inner future, and swaps it back out (also when the poll unwinds),
//! so the slot holds the value exactly during the scope's polls, on whichever thread they run.
//! What was in the slot before (an enclosing scope's value, or nothing) is kept in the scope
//! meanwhile and restored afterwards: scopes nest, and the innermost value is the one seen.
//! A task switches values only between polls, so tasks on one thread never see each other's
//! values.
//!
//! The inner future is also dropped inside the scope, so its destructors see the value.
//!
//! This is the design tokio's `task_local!` uses too; kairos' version is its own code. The
//! macro itself is in `macros.rs` (the facade, with kairos' other macros).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A task-local key, declared with [`task_local!`](crate::task_local).
///
/// ```
/// kairos::task_local! { static TRACE: u32; }
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let seen = rt.block_on(TRACE.scope(7, async { TRACE.with(|t| *t) }));
/// assert_eq!(seen, 7);
/// ```
pub struct LocalKey<T: 'static> {
    /// The slot on each thread; holds the value during the polls of its scope.
    slot: &'static std::thread::LocalKey<RefCell<Option<T>>>,
}

/// Returned by [`LocalKey::try_with`] outside a scope of the key: set the value with
/// [`LocalKey::scope`] (or [`LocalKey::sync_scope`]) around the code that reads it.
///
/// ```
/// kairos::task_local! { static ID: u8; }
/// let err = ID.try_with(|_| ()).unwrap_err();
/// assert!(err.to_string().contains("scope"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "task-local value read outside its scope: wrap the future that reads it in \
     LocalKey::scope(value, future) (or the code in LocalKey::sync_scope)"
)]
pub struct AccessError;

impl<T: 'static> LocalKey<T> {
    /// Used by [`task_local!`](crate::task_local); not a public API.
    #[doc(hidden)]
    pub const fn __new(slot: &'static std::thread::LocalKey<RefCell<Option<T>>>) -> LocalKey<T> {
        LocalKey { slot }
    }

    /// Runs `future` with `value` as this key's value: [`with`](Self::with) inside it (at any
    /// await depth, on any worker) sees `value`. Scopes nest; the innermost wins.
    ///
    /// ```
    /// kairos::task_local! { static DEPTH: u32; }
    /// let mut sim = kairos::sim::Builder::new().workers(2).build().unwrap();
    /// let seen = sim.block_on(DEPTH.scope(1, async {
    ///     let inner = DEPTH.scope(2, async { DEPTH.get() }).await;
    ///     (inner, DEPTH.get())
    /// }));
    /// assert_eq!(seen, (2, 1));
    /// ```
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            value: Some(value),
            future: Some(future),
        }
    }

    /// Runs `f` with `value` as this key's value (synchronous code; for a future use
    /// [`scope`](Self::scope)).
    ///
    /// ```
    /// kairos::task_local! { static LEVEL: u8; }
    /// assert_eq!(LEVEL.sync_scope(3, || LEVEL.get()), 3);
    /// ```
    pub fn sync_scope<R>(&'static self, value: T, f: impl FnOnce() -> R) -> R {
        let mut value = Some(value);
        let _entered = Entered::new(self, &mut value);
        f()
    }

    /// Calls `f` with a reference to the current value.
    ///
    /// # Panics
    /// Outside a scope of this key (the message says so); use [`try_with`](Self::try_with) to
    /// get an error instead. Also if `f` enters a new scope of this same key.
    ///
    /// ```
    /// kairos::task_local! { static NAME: String; }
    /// let len = NAME.sync_scope("kairos".to_string(), || NAME.with(|n| n.len()));
    /// assert_eq!(len, 6);
    /// ```
    #[track_caller]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        match self.try_with(f) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    /// Calls `f` with a reference to the current value, or returns [`AccessError`] outside a
    /// scope of this key.
    ///
    /// ```
    /// kairos::task_local! { static NAME: &'static str; }
    /// assert!(NAME.try_with(|n| n.len()).is_err());
    /// assert_eq!(NAME.sync_scope("x", || NAME.try_with(|n| n.len())), Ok(1));
    /// ```
    pub fn try_with<R>(&'static self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        self.slot
            .try_with(|slot| {
                let slot = slot.borrow();
                slot.as_ref().map(f).ok_or(AccessError)
            })
            .unwrap_or(Err(AccessError))
    }
}

impl<T: Copy + 'static> LocalKey<T> {
    /// A copy of the current value.
    ///
    /// # Panics
    /// Outside a scope of this key, as [`with`](Self::with).
    ///
    /// ```
    /// kairos::task_local! { static ID: u64; }
    /// assert_eq!(ID.sync_scope(9, || ID.get()), 9);
    /// ```
    #[track_caller]
    pub fn get(&'static self) -> T {
        self.with(|v| *v)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("LocalKey { .. }")
    }
}

/// A scope entered on this thread: the key's slot holds the scope's value until it is dropped,
/// which puts the value back into the scope and the previous one into the slot.
struct Entered<'a, T: 'static> {
    /// The key.
    key: &'static LocalKey<T>,
    /// The scope's storage: the previous slot content while entered, the value otherwise.
    value: &'a mut Option<T>,
}

impl<'a, T: 'static> Entered<'a, T> {
    /// Swaps `value` into the slot of `key` on this thread.
    ///
    /// # Panics
    /// If the slot is borrowed (a scope entered inside `with` of the same key) or the thread's
    /// locals are being destroyed.
    #[track_caller]
    fn new(key: &'static LocalKey<T>, value: &'a mut Option<T>) -> Entered<'a, T> {
        match Entered::try_new(key, value) {
            Some(entered) => entered,
            None => panic!(
                "a task-local scope was entered while the thread's locals are being destroyed"
            ),
        }
    }

    /// As [`new`](Self::new), but `None` while the thread's locals are being destroyed.
    fn try_new(key: &'static LocalKey<T>, value: &'a mut Option<T>) -> Option<Entered<'a, T>> {
        key.slot
            .try_with(|slot| {
                let mut slot = slot.try_borrow_mut().unwrap_or_else(|_| {
                    panic!(
                        "LocalKey::scope entered inside LocalKey::with of the same key: take what \
                     you need out of `with` first"
                    )
                });
                std::mem::swap(&mut *slot, value);
            })
            .ok()?;
        Some(Entered { key, value })
    }
}

impl<T: 'static> Drop for Entered<'_, T> {
    fn drop(&mut self) {
        let _ = self.key.slot.try_with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                std::mem::swap(&mut *slot, self.value);
            }
        });
    }
}

/// A future run inside a scope of a task-local key ([`LocalKey::scope`]).
///
/// ```
/// kairos::task_local! { static ID: u32; }
/// let fut: kairos::task::TaskLocalFuture<u32, _> = ID.scope(1, async { ID.get() });
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// assert_eq!(rt.block_on(fut), 1);
/// ```
pub struct TaskLocalFuture<T: 'static, F> {
    /// The key.
    key: &'static LocalKey<T>,
    /// The value, between polls (the slot's previous content during a poll).
    value: Option<T>,
    /// The future, until it completes (then dropped inside the scope).
    future: Option<F>,
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`; it is only
        // polled in place and dropped in place (assigning `None` drops the old value where it
        // is, here and in `Drop`). `key` and `value` are not pinned and may be moved freely.
        let this = unsafe { self.get_unchecked_mut() };
        let _entered = Entered::new(this.key, &mut this.value);
        let Some(future) = this.future.as_mut() else {
            panic!("TaskLocalFuture polled after it completed");
        };
        // SAFETY: see above: `future` stays where it is until it is dropped in place.
        let polled = unsafe { Pin::new_unchecked(future) }.poll(cx);
        if polled.is_ready() {
            // Dropped in place, inside the scope.
            this.future = None;
        }
        polled
    }
}

impl<T: 'static, F> Drop for TaskLocalFuture<T, F> {
    fn drop(&mut self) {
        if self.future.is_some() {
            // Drop the unfinished future inside the scope, so its destructors see the value
            // (without it if the thread's locals are already gone).
            let _entered = Entered::try_new(self.key, &mut self.value);
            self.future = None;
        }
    }
}

impl<T: 'static, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture")
            .field("done", &self.future.is_none())
            .finish()
    }
}
