//! The one place sync primitives come from.
//!
//! Every atomic, lock, condition variable, `Arc` and `UnsafeCell` the runtime uses is imported
//! from here. Under `--cfg loom` they are loom's model-checked versions, otherwise the standard
//! library's, so the same code is what loom explores and what ships.
//!
//! `UnsafeCell` follows loom's closure API (`with` / `with_mut`) in both builds, because loom
//! tracks every access to the cell's contents through those closures and reports concurrent
//! access as a data race.
//!
//! [`Backoff`] is what a spin-wait backs off with: crossbeam's `Backoff` normally, and under loom
//! a stand-in that yields to loom's scheduler on every step. Loom runs one thread at a time, so a
//! thread that spins without yielding never lets the thread it waits for run.

#[cfg(loom)]
pub(crate) use loom::{
    hint::spin_loop,
    sync::{atomic, Arc, Condvar, Mutex, MutexGuard},
};

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

#[cfg(not(loom))]
pub(crate) use std::{
    hint::spin_loop,
    sync::{atomic, Arc, Condvar, Mutex, MutexGuard},
};

/// Exponential backoff for spin-waits (see the module docs): the worker's search rounds
/// (`worker/mod.rs`).
#[cfg(not(loom))]
pub(crate) use crossbeam_utils::Backoff;

/// Loom's stand-in for `crossbeam_utils::Backoff`: the same methods and the same step counting
/// (so [`Backoff::is_completed`] turns true after as many steps), but every `spin` and `snooze`
/// is a `loom::thread::yield_now`, which lets loom schedule the thread being waited for.
#[cfg(loom)]
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    /// Steps taken since the last reset; counts like crossbeam's.
    step: std::cell::Cell<u32>,
}

#[cfg(loom)]
impl Backoff {
    // Only the loom model `loom_tests::backoff` calls this one (the worker uses `snooze`).
    #[cfg_attr(not(test), allow(dead_code))]
    /// Past this step `spin` stops counting (crossbeam's `SPIN_LIMIT`).
    const SPIN_LIMIT: u32 = 6;
    /// Past this step the backoff is completed (crossbeam's `YIELD_LIMIT`).
    const YIELD_LIMIT: u32 = 10;

    /// A backoff at its first step.
    pub(crate) fn new() -> Backoff {
        Backoff::default()
    }

    // Only the loom model `loom_tests::backoff` calls this one (the worker uses `snooze`).
    #[cfg_attr(not(test), allow(dead_code))]
    /// Back to the first step.
    pub(crate) fn reset(&self) {
        self.step.set(0);
    }

    // Only the loom model `loom_tests::backoff` calls this one (the worker uses `snooze`).
    #[cfg_attr(not(test), allow(dead_code))]
    /// One step of a lock-free retry loop: yields to loom.
    pub(crate) fn spin(&self) {
        loom::thread::yield_now();
        if self.step.get() <= Self::SPIN_LIMIT {
            self.step.set(self.step.get() + 1);
        }
    }

    /// One step of a wait for another thread: yields to loom.
    pub(crate) fn snooze(&self) {
        loom::thread::yield_now();
        if self.step.get() <= Self::YIELD_LIMIT {
            self.step.set(self.step.get() + 1);
        }
    }

    // Only the loom model `loom_tests::backoff` calls this one (the worker uses `snooze`).
    #[cfg_attr(not(test), allow(dead_code))]
    /// Whether the waiter should stop spinning and block (crossbeam's rule).
    pub(crate) fn is_completed(&self) -> bool {
        self.step.get() > Self::YIELD_LIMIT
    }
}

/// `std::cell::UnsafeCell` with loom's closure-based access API.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// Wraps `data`.
    #[inline]
    pub(crate) const fn new(data: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(data))
    }

    /// The contents, consuming the cell.
    #[inline]
    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }

    /// Runs `f` with a shared pointer to the contents.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a unique pointer to the contents.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Locks `mutex`, ignoring poisoning.
///
/// No lock in the runtime is held across user code, so a poisoned lock can only come from a
/// panic inside the runtime itself; the protected data is still consistent at every unlock
/// point, so the guard is recovered rather than propagating the poison as a second panic.
#[inline]
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Records that a slow path named `path` ran, so a loom model can assert that at least one of its
/// explored executions reached the path it is about (a model that never reaches its path proves
/// nothing). Compiles to nothing outside loom builds.
///
/// Loom runs the threads of a model as coroutines on the test's OS thread, so a plain
/// thread-local collects the paths of every execution of the model.
#[cfg(loom)]
pub(crate) fn reached(path: &'static str) {
    REACHED.with(|r| {
        r.borrow_mut().insert(path);
    });
}

/// See the loom version.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn reached(_path: &'static str) {}

#[cfg(loom)]
std::thread_local! {
    static REACHED: std::cell::RefCell<std::collections::BTreeSet<&'static str>> =
        const { std::cell::RefCell::new(std::collections::BTreeSet::new()) };
}

/// Takes the set of paths recorded by [`reached`] on this thread since the last call.
#[cfg(all(loom, test))]
pub(crate) fn take_reached() -> std::collections::BTreeSet<&'static str> {
    REACHED.with(|r| std::mem::take(&mut *r.borrow_mut()))
}
