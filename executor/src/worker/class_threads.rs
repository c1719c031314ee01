//! Preemptive classes: one group of worker threads per scheduling class, at OS priorities, so
//! that the kernel preempts a lower class's poll when a higher class has work
//! (`Builder::preemptive_classes`, `Policy::Classes` only).
//!
//! # The model
//!
//! Under cooperative `Classes` every worker runs every class, and a deadline task released while
//! all workers poll fair tasks waits for a cooperative check of one of them (`preempt.rs`). Here
//! the runtime's `3 × n` workers are split into three [`Groups`] of `n`, one per class (worker
//! `i` serves class `i / n`: deadline, priority, fair). A group's workers pick, steal and are
//! flagged for preemption only among themselves, with their own injector and their own idle
//! protocol (`idle.rs`, one [`Idle`](super::idle::Idle) per group). The OS does the rest: the
//! deadline group's threads run at `SCHED_FIFO` above the priority group's, which run at
//! `SCHED_FIFO` above the fair group's `SCHED_OTHER` threads (`runtime/builder.rs` sets them),
//! and worker `j` of every group shares a core with worker `j` of the others when pinned. A
//! parked deadline worker woken for a released job preempts whatever fair poll holds its core,
//! in the middle of that poll, with no cooperation from the task. This is embassy's design on
//! microcontrollers (one executor per interrupt priority) with threads for interrupts.
//!
//! # Where a task goes
//!
//! At every push the task's class ([`task_group`]: a budget or a deadline, else a priority of 1
//! or more, else fair) names its group. A task made runnable on a worker of that group goes to
//! that worker's queue, as in every ordered runtime; anywhere else (another group's worker, a
//! timer fired by another group, a thread outside the runtime) it goes to its group's injector
//! and one parked worker of the group is woken. So a task that changes its class
//! (`task::set_deadline`, `set_priority`, inheritance) moves to its new class's threads at its
//! next push: its next wake or yield. A running task whose class changes is asked to yield at
//! its next cooperative check, so that it moves; a queued task whose class changes through
//! inheritance is taken out of its group's queue and pushed into its new group's.
//!
//! Wake-ups of another group's workers are held back inside a batch of wake-ups (timers fired
//! together, I/O events; `Shared::wake_batch`) and done at its end, the highest class first:
//! the woken worker may preempt the waking thread at once. Only the deadline group's workers
//! wait for timers (`Core::sleep` in `worker/mod.rs`), so a release wakes its own thread.
//!
//! # Costs
//!
//! Three times the threads (the higher groups' threads park when their class is idle, so they
//! cost stacks and kernel entries, not CPU), a kernel context switch for every preemption (a few
//! µs, paid only when a higher class becomes runnable while a lower one computes), and for the
//! cooperative runtimes one well-predicted branch where the idle protocol picks its group.
//!
//! # The simulator
//!
//! The simulator does not model this mode: it runs `Policy::Classes` cooperatively (the
//! simulated workers are stepped by one thread, which has no OS priorities to preempt with).

use crate::policy::classes::{class_of, Class};
use crate::task::Header;
use std::ops::Range;

/// How a runtime's workers are grouped: one group (every runtime but preemptive classes), or one
/// group per scheduling class, of equal size, in class order (deadline, priority, fair).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Groups {
    /// Number of groups: 1, or 3 (one per class).
    count: usize,
    /// Workers per group.
    size: usize,
}

/// Number of scheduling classes, and of groups under preemptive classes.
pub(crate) const CLASSES: usize = 3;

impl Groups {
    /// All `workers` in one group.
    pub(crate) fn single(workers: usize) -> Groups {
        Groups {
            count: 1,
            size: workers,
        }
    }

    /// `per_class` workers for each class: `3 × per_class` in all.
    pub(crate) fn per_class(per_class: usize) -> Groups {
        Groups {
            count: CLASSES,
            size: per_class,
        }
    }

    /// Whether the workers are split by class.
    #[inline]
    pub(crate) fn by_class(&self) -> bool {
        self.count > 1
    }

    /// Number of groups.
    #[inline]
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Workers per group.
    #[inline]
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The group of worker `worker`.
    #[inline]
    pub(crate) fn of(&self, worker: usize) -> usize {
        if self.count == 1 {
            0
        } else {
            worker / self.size
        }
    }

    /// The workers of group `group`.
    #[inline]
    pub(crate) fn range(&self, group: usize) -> Range<usize> {
        group * self.size..(group + 1) * self.size
    }
}

/// The group serving `class` under preemptive classes.
#[inline]
pub(crate) fn class_group(class: Class) -> usize {
    match class {
        Class::Deadline => 0,
        Class::Priority => 1,
        Class::Fair => 2,
    }
}

/// The group of the task `header` under preemptive classes, from its parameters now: a budgeted
/// task is in the deadline class (its server gives it a deadline at its push), every other task
/// where [`class_of`] puts it.
#[inline]
pub(crate) fn task_group(header: &Header) -> usize {
    let sched = &header.policy;
    if sched.budget().is_some() {
        return class_group(Class::Deadline);
    }
    class_group(class_of(sched.deadline(), sched.priority()))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn workers_split_in_class_order() {
        let g = Groups::per_class(2);
        assert!(g.by_class());
        assert_eq!(g.count(), 3);
        assert_eq!(
            (0..6).map(|w| g.of(w)).collect::<Vec<_>>(),
            [0, 0, 1, 1, 2, 2]
        );
        assert_eq!(g.range(1), 2..4);
        assert_eq!(class_group(Class::Deadline), 0);
        assert_eq!(class_group(Class::Fair), 2);
        let one = Groups::single(4);
        assert!(!one.by_class());
        assert_eq!(one.of(3), 0);
        assert_eq!(one.range(0), 0..4);
    }

    /// A runtime of preemptive classes with `per_class` workers per class, or `None` (and a
    /// note) without CAP_SYS_NICE.
    fn preemptive_runtime(per_class: usize) -> Option<crate::Runtime> {
        match crate::Runtime::builder()
            .workers(per_class)
            .policy(crate::Policy::Classes)
            .preemptive_classes(true)
            .build()
        {
            Ok(rt) => Some(rt),
            Err(e) => {
                eprintln!("skipped: preemptive classes need CAP_SYS_NICE ({e})");
                None
            }
        }
    }

    /// While the deadline worker computes, the others run a task each and park; then a fair
    /// task sleeps again and again while this thread watches who holds the timer-waiter token:
    /// only deadline workers (index 0 of 1 per class) may. Without that rule the priority or
    /// fair worker, parked while the deadline worker was busy, takes the token and keeps it.
    #[test]
    fn only_deadline_workers_wait_for_timers() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        use std::time::Duration;

        let Some(rt) = preemptive_runtime(1) else {
            return;
        };
        let busy = rt.spawn_with(
            crate::Sched::default().deadline(Duration::from_millis(100)),
            async {
                // Wake the priority and the fair worker: they run these and park again while
                // this worker computes, the token free.
                crate::spawn_with(crate::Sched::default().priority(3), async {});
                crate::spawn(async {});
                let start = std::time::Instant::now();
                while start.elapsed() < Duration::from_millis(5) {
                    std::hint::spin_loop();
                }
            },
        );
        rt.block_on(busy).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        rt.spawn(async move {
            for _ in 0..200 {
                crate::time::sleep(Duration::from_micros(100)).await;
            }
            flag.store(true, Ordering::SeqCst);
        });
        let handle = rt.handle();
        let timers = handle.shared().timers();
        let mut holders = [0u64; CLASSES];
        while !done.load(Ordering::SeqCst) {
            if let Some(worker) = timers.current_waiter() {
                holders[worker] += 1;
            }
        }
        assert!(
            holders[0] > 0,
            "the deadline worker never waited: {holders:?}"
        );
        assert_eq!(holders[1..], [0, 0], "waiters by worker: {holders:?}");
    }

    /// A deadline task sleeps 200 times on two deadline workers: the worker that wakes for the
    /// timer runs the task and parks again, without waking its idle peer for nothing
    /// (`Shared::notify_after_search`). The deadline workers then park about once per sleep;
    /// a wake of the peer at every release made it about twice.
    #[test]
    fn a_release_does_not_wake_the_idle_peer() {
        use crate::Sched;
        use std::time::Duration;

        const SLEEPS: u64 = 200;
        let Some(rt) = preemptive_runtime(2) else {
            return;
        };
        let handle = rt.handle();
        let parks = || -> u64 {
            (0..2)
                .map(|w| handle.shared().worker_metrics(w).read().2)
                .sum()
        };
        let before = parks();
        let sleeper = rt.spawn_with(Sched::default().deadline(Duration::from_millis(1)), async {
            for _ in 0..SLEEPS {
                crate::time::sleep(Duration::from_micros(100)).await;
            }
        });
        rt.block_on(sleeper).unwrap();
        let per_sleep = (parks() - before) as f64 / SLEEPS as f64;
        assert!(
            per_sleep < 1.5,
            "deadline workers parked {per_sleep:.2} times per sleep"
        );
    }
}
