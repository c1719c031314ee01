//! The barriers of a workload file's `barrier` events on the kernel backend: one per name,
//! shared by every thread of the run, each released when all its users (the task instances
//! whose events name it) have arrived.
//!
//! A generation-counting barrier on a mutex and a condition variable (the classic
//! sense-reversing design, Mellor-Crummey and Scott, "Algorithms for Scalable Synchronization on
//! Shared-Memory Multiprocessors", ACM TOCS 9(1), 1991, in its blocking form) rather than
//! `pthread_barrier_wait`: a wait must end at the end of the run (an instance that stopped
//! never arrives), which `pthread_barrier_wait` cannot do. The condition variable's timed wait
//! gives that.
//!
//! `suspend` / `resume` use the same generation counting ([`Suspensions`]): `suspend` waits for
//! the task's generation to change, `resume` bumps it and wakes every waiter, so a resume with
//! no instance suspended is lost, as rt-app's condition broadcast.

use crate::spin::{mono_ns, Stopped};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// One barrier.
#[derive(Debug)]
struct Barrier {
    /// Users that must arrive for a generation to be released.
    users: usize,
    /// (arrived in this generation, generation number).
    state: Mutex<(usize, u64)>,
    /// Waiters of the current generation.
    released: Condvar,
}

impl Barrier {
    /// Arrives and waits for the generation's last user, or until `CLOCK_MONOTONIC` reaches
    /// `end`.
    fn wait(&self, end: u64) -> Result<(), Stopped> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let generation = state.1;
        state.0 += 1;
        if state.0 >= self.users {
            *state = (0, generation.wrapping_add(1));
            self.released.notify_all();
            return Ok(());
        }
        while state.1 == generation {
            let now = mono_ns();
            if now >= end {
                return Err(Stopped);
            }
            state = self
                .released
                .wait_timeout(state, Duration::from_nanos(end - now))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Ok(())
    }
}

/// The barriers of one run, by name.
#[derive(Debug, Default)]
pub struct Barriers {
    /// One per name the workload's `barrier` events use.
    by_name: HashMap<String, Barrier>,
}

impl Barriers {
    /// One barrier per `(name, users)`.
    pub fn new(barriers: &[(String, usize)]) -> Barriers {
        Barriers {
            by_name: barriers
                .iter()
                .map(|(name, users)| {
                    (
                        name.clone(),
                        Barrier {
                            users: (*users).max(1),
                            state: Mutex::new((0, 0)),
                            released: Condvar::new(),
                        },
                    )
                })
                .collect(),
        }
    }

    /// Waits at `name` until its users have all arrived, or the run ends at `end`
    /// (`CLOCK_MONOTONIC` ns). A name the workload does not use passes at once.
    ///
    /// # Errors
    /// [`Stopped`] if the run ended first.
    pub fn wait(&self, name: &str, end: u64) -> Result<(), Stopped> {
        match self.by_name.get(name) {
            Some(b) => b.wait(end),
            None => Ok(()),
        }
    }
}

/// One generation counter and condition variable per task that suspends itself.
#[derive(Debug, Default)]
pub struct Suspensions {
    /// By task name: the generation (bumped by each `resume`) and its waiters.
    by_task: HashMap<String, (Mutex<u64>, Condvar)>,
}

impl Suspensions {
    /// One entry per task in `tasks`.
    pub fn new(tasks: &[String]) -> Suspensions {
        Suspensions {
            by_task: tasks
                .iter()
                .map(|t| (t.clone(), (Mutex::new(0), Condvar::new())))
                .collect(),
        }
    }

    /// Blocks the calling instance of `task` until the next `resume` of it, or until
    /// `CLOCK_MONOTONIC` reaches `end`.
    ///
    /// # Errors
    /// [`Stopped`] if the run ended first.
    pub fn suspend(&self, task: &str, end: u64) -> Result<(), Stopped> {
        let Some((lock, cv)) = self.by_task.get(task) else {
            return Ok(());
        };
        let mut generation = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = *generation;
        while *generation == seen {
            let now = mono_ns();
            if now >= end {
                return Err(Stopped);
            }
            generation = cv
                .wait_timeout(generation, Duration::from_nanos(end - now))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Ok(())
    }

    /// Wakes every instance of `task` suspended now.
    pub fn resume(&self, task: &str) {
        if let Some((lock, cv)) = self.by_task.get(task) {
            let mut generation = lock.lock().unwrap_or_else(PoisonError::into_inner);
            *generation = generation.wrapping_add(1);
            cv.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Three threads pass a 3-user barrier five times: nobody leaves generation `k` before all
    /// three arrived (each counts its arrivals before waiting, and after the wait sees at
    /// least `3k` arrivals); a lone user of a 2-user barrier is released by the end of the run.
    #[test]
    fn releases_whole_generations_and_stops_at_the_end() {
        let b = Arc::new(Barriers::new(&[
            ("b".to_owned(), 3),
            ("pair".to_owned(), 2),
        ]));
        let arrived = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (b, arrived) = (Arc::clone(&b), Arc::clone(&arrived));
                std::thread::spawn(move || {
                    for k in 1..=5 {
                        arrived.fetch_add(1, Ordering::SeqCst);
                        b.wait("b", u64::MAX).unwrap();
                        assert!(arrived.load(Ordering::SeqCst) >= 3 * k);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(b.wait("pair", mono_ns() + 1_000_000), Err(Stopped));
        assert_eq!(b.wait("unused", 0), Ok(()));
    }

    /// A suspended thread waits for a resume that comes after it suspended: a resume before
    /// is lost (the thread then stops at the end), one after wakes it.
    #[test]
    fn resume_wakes_only_suspended_instances() {
        let s = Arc::new(Suspensions::new(&["t".to_owned()]));
        s.resume("t");
        assert_eq!(s.suspend("t", mono_ns() + 1_000_000), Err(Stopped));
        let waiter = {
            let s = Arc::clone(&s);
            std::thread::spawn(move || s.suspend("t", u64::MAX))
        };
        // Resume until the waiter has seen one (it may not have suspended yet when the first
        // resume comes; a lost resume is the documented behaviour).
        while !waiter.is_finished() {
            s.resume("t");
            std::thread::yield_now();
        }
        assert_eq!(waiter.join().unwrap(), Ok(()));
    }
}
