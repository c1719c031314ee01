//! The mutexes of a workload file's `lock` / `unlock` events on the kernel backend: one
//! priority-inheriting pthread mutex (`PTHREAD_PRIO_INHERIT`, as rt-app's with `pi_enabled`)
//! per name, shared by every thread of the run.
//!
//! With priority inheritance the kernel runs a thread that holds a mutex a higher-priority
//! thread waits for at that waiter's priority (for `SCHED_DEADLINE` waiters, with the waiter's
//! deadline parameters) until it unlocks, which bounds the inversion (Sha, Rajkumar, Lehoczky,
//! "Priority Inheritance Protocols", IEEE Trans. Computers 39(9), 1990). Locking and
//! unlocking are split across events (the job loop's `Action::Lock` and `Action::Unlock`), so a
//! mutex is not a guard here: each thread keeps the names it holds ([`Held`]) and unlocks them
//! if its run ends inside a critical section.

use super::cond::PthreadCond;
use crate::spin::Stopped;
use std::cell::UnsafeCell;
use std::collections::HashMap;

/// One `PTHREAD_PRIO_INHERIT` mutex, boxed so its address never moves (pthread mutexes must not
/// be moved once initialised).
#[derive(Debug)]
pub struct PiMutex {
    /// The pthread mutex, locked and unlocked through raw pointers.
    raw: UnsafeCell<libc::pthread_mutex_t>,
}

// SAFETY: a pthread mutex is made to be locked and unlocked from any thread; every access goes
// through the pthread functions, which synchronise.
unsafe impl Send for PiMutex {}
// SAFETY: as above.
unsafe impl Sync for PiMutex {}

impl PiMutex {
    /// A new unlocked priority-inheriting mutex.
    ///
    /// # Errors
    /// The pthread error code if the attribute or the mutex cannot be initialised.
    fn new() -> Result<Box<PiMutex>, i32> {
        let m = Box::new(PiMutex {
            // SAFETY: an all-zero pthread_mutex_t is a valid value to initialise from (it is
            // PTHREAD_MUTEX_INITIALIZER on glibc); pthread_mutex_init below sets it up.
            raw: UnsafeCell::new(unsafe { std::mem::zeroed() }),
        });
        // SAFETY: an all-zero attribute object, initialised by pthread_mutexattr_init before use.
        let mut attr: libc::pthread_mutexattr_t = unsafe { std::mem::zeroed() };
        // SAFETY: `attr` is a valid, exclusively owned attribute object; `m.raw` is boxed (its
        // address is stable) and not shared yet; the attribute is destroyed after use.
        let rc = unsafe {
            let mut rc = libc::pthread_mutexattr_init(&mut attr);
            if rc == 0 {
                rc = libc::pthread_mutexattr_setprotocol(&mut attr, libc::PTHREAD_PRIO_INHERIT);
                if rc == 0 {
                    rc = libc::pthread_mutex_init(m.raw.get(), &attr);
                }
                libc::pthread_mutexattr_destroy(&mut attr);
            }
            rc
        };
        if rc == 0 {
            Ok(m)
        } else {
            Err(rc)
        }
    }

    /// Locks, waiting while another thread holds the mutex.
    fn lock(&self) {
        // SAFETY: the mutex was initialised in `new` and lives as long as `self`; the caller
        // (`Held`) never locks one it already holds.
        let rc = unsafe { libc::pthread_mutex_lock(self.raw.get()) };
        debug_assert_eq!(rc, 0, "pthread_mutex_lock");
    }

    /// Unlocks; the calling thread holds the mutex (`Held` checks).
    fn unlock(&self) {
        // SAFETY: initialised in `new`; locked by this thread (only `Held` calls this, for a
        // name it locked).
        let rc = unsafe { libc::pthread_mutex_unlock(self.raw.get()) };
        debug_assert_eq!(rc, 0, "pthread_mutex_unlock");
    }
}

impl Drop for PiMutex {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`; no thread holds it any more (every thread unlocks what
        // it holds before it ends, and the table outlives the threads).
        unsafe { libc::pthread_mutex_destroy(self.raw.get()) };
    }
}

/// The mutexes of one run, by name.
#[derive(Debug, Default)]
pub struct PiMutexes {
    /// One per name the workload's `lock` events use.
    by_name: HashMap<String, Box<PiMutex>>,
}

impl PiMutexes {
    /// One mutex per name in `names`.
    ///
    /// # Errors
    /// A message naming the mutex and the pthread error, if one cannot be created.
    pub fn new(names: &[String]) -> Result<PiMutexes, String> {
        let mut by_name = HashMap::with_capacity(names.len());
        for name in names {
            let m = PiMutex::new().map_err(|rc| {
                format!(
                    "cannot create the priority-inheriting mutex `{name}`: {}",
                    std::io::Error::from_raw_os_error(rc)
                )
            })?;
            by_name.insert(name.clone(), m);
        }
        Ok(PiMutexes { by_name })
    }
}

/// The mutexes one thread holds, so that it unlocks them if its run ends inside a critical
/// section.
#[derive(Debug)]
pub struct Held<'a> {
    /// The run's mutexes.
    all: &'a PiMutexes,
    /// Names this thread holds, in locking order.
    names: Vec<&'a str>,
}

impl<'a> Held<'a> {
    /// Nothing held yet.
    pub fn new(all: &'a PiMutexes) -> Held<'a> {
        Held {
            all,
            names: Vec::new(),
        }
    }

    /// Locks `name` (validation guarantees the workload names it and does not hold it).
    pub fn lock(&mut self, name: &str) {
        if let Some((key, m)) = self.all.by_name.get_key_value(name) {
            if !self.names.contains(&key.as_str()) {
                m.lock();
                self.names.push(key);
            }
        }
    }

    /// Waits on `cond` with the held mutex `name` (`pthread_cond_timedwait`: released for the
    /// wait, held again after it, also when the run ends first); does nothing if this thread
    /// does not hold `name` (validation rules that out).
    ///
    /// # Errors
    /// [`Stopped`] if the run ended (`CLOCK_MONOTONIC` reached `end`) first.
    pub fn cond_wait(&mut self, cond: &PthreadCond, name: &str, end: u64) -> Result<(), Stopped> {
        match self.all.by_name.get(name) {
            Some(m) if self.names.contains(&name) => {
                // SAFETY: the mutex was initialised in `PiMutex::new`, lives in the run's table
                // (which outlives this thread's `Held`), and this thread holds it (`names`).
                unsafe { cond.wait(m.raw.get(), end) }
            }
            _ => Ok(()),
        }
    }

    /// Unlocks `name` if this thread holds it.
    pub fn unlock(&mut self, name: &str) {
        if let Some(i) = self.names.iter().position(|n| *n == name) {
            self.names.remove(i);
            if let Some(m) = self.all.by_name.get(name) {
                m.unlock();
            }
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        while let Some(name) = self.names.pop() {
            if let Some(m) = self.all.by_name.get(name) {
                m.unlock();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    /// Four threads increment a counter inside `lock`/`unlock` with a non-atomic
    /// read-modify-write (load, then store): no increment is lost, so the mutex excludes; a
    /// thread that ends holding the mutex releases it (the last lock below would hang).
    #[test]
    fn excludes_and_releases_at_thread_end() {
        let all = Arc::new(PiMutexes::new(&["m".to_owned()]).unwrap());
        let count = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (all, count) = (Arc::clone(&all), Arc::clone(&count));
                std::thread::spawn(move || {
                    let mut held = Held::new(&all);
                    for _ in 0..2_000 {
                        held.lock("m");
                        let v = count.load(Ordering::Relaxed);
                        std::hint::spin_loop();
                        count.store(v + 1, Ordering::Relaxed);
                        held.unlock("m");
                    }
                    held.lock("m");
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(count.load(Ordering::Relaxed), 8_000);
        let mut held = Held::new(&all);
        held.lock("m");
        held.unlock("m");
        held.unlock("not held");
    }
}
