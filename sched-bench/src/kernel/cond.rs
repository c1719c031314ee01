//! The condition variables of a workload file's `wait` / `signal` / `broad` / `sync` events on
//! the kernel backend: one `pthread_cond_t` per name, shared by every thread of the run, used
//! with the run's priority-inheriting mutexes ([`super::pi_mutex`]) exactly as rt-app uses them
//! (`pthread_cond_wait` on the mutex the thread holds, `pthread_cond_signal`,
//! `pthread_cond_broadcast`; rt-app's `sync` signals, then waits).
//!
//! The conditions measure time on `CLOCK_MONOTONIC` (`pthread_condattr_setclock`), the clock of
//! the run's end, so a wait still blocked when the run ends times out there
//! (`pthread_cond_timedwait`) and the thread stops, holding the mutex again as
//! `pthread_cond_timedwait` guarantees; the thread's [`Held`](super::pi_mutex::Held) unlocks it.

use crate::spin::Stopped;
use std::cell::UnsafeCell;
use std::collections::HashMap;

/// One `pthread_cond_t` on `CLOCK_MONOTONIC`, boxed so its address never moves.
#[derive(Debug)]
pub struct PthreadCond {
    /// The condition, used through raw pointers.
    raw: UnsafeCell<libc::pthread_cond_t>,
}

// SAFETY: a pthread condition is made to be waited on and signalled from any thread; every
// access goes through the pthread functions, which synchronise.
unsafe impl Send for PthreadCond {}
// SAFETY: as above.
unsafe impl Sync for PthreadCond {}

impl PthreadCond {
    /// A new condition on `CLOCK_MONOTONIC`.
    ///
    /// # Errors
    /// The pthread error code if the attribute or the condition cannot be initialised.
    fn new() -> Result<Box<PthreadCond>, i32> {
        let c = Box::new(PthreadCond {
            // SAFETY: an all-zero pthread_cond_t is a valid value to initialise from (it is
            // PTHREAD_COND_INITIALIZER on glibc); pthread_cond_init below sets it up.
            raw: UnsafeCell::new(unsafe { std::mem::zeroed() }),
        });
        // SAFETY: an all-zero attribute object, initialised by pthread_condattr_init before use.
        let mut attr: libc::pthread_condattr_t = unsafe { std::mem::zeroed() };
        // SAFETY: `attr` is a valid, exclusively owned attribute object; `c.raw` is boxed (its
        // address is stable) and not shared yet; the attribute is destroyed after use.
        let rc = unsafe {
            let mut rc = libc::pthread_condattr_init(&mut attr);
            if rc == 0 {
                rc = libc::pthread_condattr_setclock(&mut attr, libc::CLOCK_MONOTONIC);
                if rc == 0 {
                    rc = libc::pthread_cond_init(c.raw.get(), &attr);
                }
                libc::pthread_condattr_destroy(&mut attr);
            }
            rc
        };
        if rc == 0 {
            Ok(c)
        } else {
            Err(rc)
        }
    }

    /// Wakes one thread waiting now, if any (`pthread_cond_signal`).
    pub fn signal(&self) {
        // SAFETY: initialised in `new`, alive as long as `self`.
        unsafe { libc::pthread_cond_signal(self.raw.get()) };
    }

    /// Wakes every thread waiting now (`pthread_cond_broadcast`).
    pub fn broadcast(&self) {
        // SAFETY: initialised in `new`, alive as long as `self`.
        unsafe { libc::pthread_cond_broadcast(self.raw.get()) };
    }

    /// Releases `mutex`, blocks until a signal (or a spurious wake-up) or until
    /// `CLOCK_MONOTONIC` reaches `end` (`u64::MAX`: no end), and locks `mutex` again, in every
    /// case.
    ///
    /// # Errors
    /// [`Stopped`] if the wait timed out at `end`.
    ///
    /// # Safety
    /// `mutex` is an initialised pthread mutex that the calling thread holds, alive for the
    /// call.
    pub unsafe fn wait(&self, mutex: *mut libc::pthread_mutex_t, end: u64) -> Result<(), Stopped> {
        let rc = if end == u64::MAX {
            // SAFETY: the condition is initialised; the caller holds `mutex` (this function's
            // contract).
            unsafe { libc::pthread_cond_wait(self.raw.get(), mutex) }
        } else {
            let at = libc::timespec {
                tv_sec: (end / 1_000_000_000).min(libc::time_t::MAX as u64) as libc::time_t,
                tv_nsec: (end % 1_000_000_000) as libc::c_long,
            };
            // SAFETY: as above; `at` is a valid timespec on the condition's clock.
            unsafe { libc::pthread_cond_timedwait(self.raw.get(), mutex, &at) }
        };
        if rc == libc::ETIMEDOUT {
            Err(Stopped)
        } else {
            debug_assert_eq!(rc, 0, "pthread_cond_wait");
            Ok(())
        }
    }
}

impl Drop for PthreadCond {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`; no thread waits on it any more (the table outlives the
        // threads of the run).
        unsafe { libc::pthread_cond_destroy(self.raw.get()) };
    }
}

/// The conditions of one run, by name.
#[derive(Debug, Default)]
pub struct Conds {
    /// One per name the workload's condition events use.
    by_name: HashMap<String, Box<PthreadCond>>,
}

impl Conds {
    /// One condition per name in `names`.
    ///
    /// # Errors
    /// A message naming the condition and the pthread error, if one cannot be created.
    pub fn new(names: &[String]) -> Result<Conds, String> {
        let mut by_name = HashMap::with_capacity(names.len());
        for name in names {
            let c = PthreadCond::new().map_err(|rc| {
                format!(
                    "cannot create the condition variable `{name}`: {}",
                    std::io::Error::from_raw_os_error(rc)
                )
            })?;
            by_name.insert(name.clone(), c);
        }
        Ok(Conds { by_name })
    }

    /// The condition named `name`, if the workload uses it.
    pub fn get(&self, name: &str) -> Option<&PthreadCond> {
        self.by_name.get(name).map(|c| &**c)
    }

    /// `pthread_cond_signal` on `name`.
    pub fn signal(&self, name: &str) {
        if let Some(c) = self.get(name) {
            c.signal();
        }
    }

    /// `pthread_cond_broadcast` on `name`.
    pub fn broadcast(&self, name: &str) {
        if let Some(c) = self.get(name) {
            c.broadcast();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::pi_mutex::{Held, PiMutexes};
    use crate::spin::mono_ns;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A signal sent while nobody waits is lost (the next wait runs to the end of the run and
    /// comes back holding the mutex); a broadcast wakes all three threads waiting on the
    /// condition (each counted itself under the mutex before waiting, so all three are inside
    /// `pthread_cond_wait` when the broadcast comes; the end of 60 s only bounds a failure).
    #[test]
    fn a_lone_signal_is_lost_and_a_broadcast_wakes_every_waiter() {
        let mutexes = Arc::new(PiMutexes::new(&["m".to_owned()]).unwrap());
        let conds = Arc::new(Conds::new(&["c".to_owned()]).unwrap());
        conds.signal("c");
        let mut held = Held::new(&mutexes);
        held.lock("m");
        let c = conds.get("c").unwrap();
        assert_eq!(held.cond_wait(c, "m", mono_ns() + 1_000_000), Err(Stopped));
        held.unlock("m");

        let waiting = Arc::new(AtomicUsize::new(0));
        let end = mono_ns() + 60_000_000_000;
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (mutexes, conds, waiting) = (
                    Arc::clone(&mutexes),
                    Arc::clone(&conds),
                    Arc::clone(&waiting),
                );
                std::thread::spawn(move || {
                    let mut held = Held::new(&mutexes);
                    held.lock("m");
                    waiting.fetch_add(1, Ordering::SeqCst);
                    let woken = held.cond_wait(conds.get("c").unwrap(), "m", end);
                    held.unlock("m");
                    woken
                })
            })
            .collect();
        loop {
            held.lock("m");
            if waiting.load(Ordering::SeqCst) == 3 {
                conds.broadcast("c");
                held.unlock("m");
                break;
            }
            held.unlock("m");
            std::thread::yield_now();
        }
        for t in threads {
            assert_eq!(t.join().unwrap(), Ok(()));
        }
        conds.broadcast("unused");
    }
}
