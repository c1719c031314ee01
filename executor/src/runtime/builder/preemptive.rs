//! `Builder::preemptive_classes`: which OS priority each class's threads get, and whether the
//! runtime gets them at all (the configuration checks, and the probe for `CAP_SYS_NICE`, with
//! `best_effort_priority`'s fallback to cooperative classes). The groups themselves:
//! `worker/class_threads.rs`.

use super::{Builder, Policy, DEADLINE_CLASS_FIFO_PRIORITY};
use crate::error::BuildError;
use crate::runtime::thread_setup::{self, WorkerPriority};

impl Builder {
    /// Preemptive classes: the OS priorities of the deadline, priority and fair classes'
    /// threads (see [`preemptive_classes`](Self::preemptive_classes)).
    pub(super) fn class_priorities(&self) -> Result<[WorkerPriority; 3], BuildError> {
        let (deadline, fair) = match self.priority {
            WorkerPriority::Realtime(p) if p < 2 => {
                return Err(BuildError::InvalidPriority {
                    priority: self.priority,
                    reason: "under preemptive_classes a Realtime priority p is the deadline \
                             class's, and the priority class's is p - 1: p must be at least 2",
                })
            }
            WorkerPriority::Realtime(p) => (p, WorkerPriority::Normal),
            other => (DEADLINE_CLASS_FIFO_PRIORITY, other),
        };
        Ok([
            WorkerPriority::Realtime(deadline),
            WorkerPriority::Realtime(deadline - 1),
            fair,
        ])
    }

    /// Whether this runtime gets preemptive classes: checks the configuration, then whether
    /// the OS grants the deadline class's priority (a probe thread); if not, fails, or with
    /// `best_effort_priority` warns and returns `false` (cooperative classes).
    pub(super) fn use_class_threads(&self) -> Result<bool, BuildError> {
        if !self.preemptive_classes {
            return Ok(false);
        }
        if self.policy != Policy::Classes {
            return Err(BuildError::InvalidParameter {
                parameter: "preemptive_classes",
                reason: "needs Policy::Classes (its threads are split by scheduling class): add \
                         .policy(Policy::Classes)",
            });
        }
        if self.current_thread {
            return Err(BuildError::InvalidParameter {
                parameter: "preemptive_classes",
                reason: "needs worker threads and a current-thread runtime has none: drop \
                         current_thread() or preemptive_classes(true)",
            });
        }
        if let Err(reason) = self.priority.validate() {
            return Err(BuildError::InvalidPriority {
                priority: self.priority,
                reason,
            });
        }
        let [deadline, ..] = self.class_priorities()?;
        let WorkerPriority::Realtime(priority) = deadline else {
            unreachable!("the deadline class runs at SCHED_FIFO");
        };
        match thread_setup::probe(deadline) {
            Ok(()) => Ok(true),
            Err(source) if self.best_effort_priority => {
                eprintln!(
                    "kairos: warning: preemptive_classes needs SCHED_FIFO priority {priority} \
                     ({source}; CAP_SYS_NICE or RLIMIT_RTPRIO); running cooperative classes \
                     instead (best_effort_priority is on)"
                );
                Ok(false)
            }
            Err(source) => Err(BuildError::PreemptiveClasses { priority, source }),
        }
    }
}
