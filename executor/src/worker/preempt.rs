//! Preemption requests between workers under `Edf` and `Priority`.
//!
//! A poll is never interrupted: a running task yields at its next cooperative check
//! (`task::should_yield`, `work`, the budget) if its worker's [`Slot`] holds a request. Each
//! worker publishes in its slot the [`Urgency`] of the task it polls (`running`, `IDLE` when it
//! polls none) and clears its request when a poll starts.
//!
//! # Protocol
//!
//! - **Pusher** (whoever makes a task of urgency `u` runnable, on any thread): queues the task,
//!   then [`after_push`]: a `SeqCst` fence, then it reads every slot's `running`. If some worker
//!   runs nothing, nobody is flagged (that worker picks the task up; the caller wakes it if it
//!   is parked). Otherwise the least urgent running worker is flagged if `u` beats it.
//! - **Worker** (between its pick and the poll): stores the picked task's urgency in `running`,
//!   clears its request, then [`after_publish`]: a `SeqCst` fence, then it reads the head mirrors
//!   of every queue and flags *itself* if a queued task beats the one it is about to poll.
//!
//! Why the worker's recheck: its pick looked at the queues *before* it published. A pusher that
//! queued a task after that look, but read `running` before the publication, saw `IDLE` or the
//! previous task's urgency: it flagged nobody (or set a request the worker then cleared), and
//! the new task waited for the whole poll. Under a task that only yields when asked, that is
//! forever (`periodic_releases_preempt_a_cpu_bound_task` hung that way, one run in three when the
//! test binary ran its tests in parallel).
//!
//! Why the fences: it is the store-buffer (Dekker) pattern. Each side writes its location (the
//! queue; `running` and `preempt`), then reads the other's. The two `SeqCst` fences are ordered
//! in one total order: if the pusher's comes first, the worker's recheck sees the queued task;
//! if the worker's comes first, the pusher reads the new urgency and its request is stored after
//! the worker's clear, so it survives into the poll. Without the fences both reads may see the
//! old values (x86 reorders a store with a later load). The loom model
//! `loom_tests::preempt::pick_vs_push` checks this (loom models `SeqCst` fences exactly, unlike
//! `SeqCst` accesses), and `scripts/loom-mutation.sh` removes the worker's fence and requires the
//! model to fail.
//!
//! Cost: one fence per poll under `Edf` and `Priority` (an `mfence`, about 30 cycles on x86) and
//! one per push of an urgent task; `Fifo` and `Fair` never preempt by urgency and pay nothing.
//! A request the recheck sets because of a stale mirror costs one early yield, never a lost task.

use crate::event::{self, EventKind};
use crate::loom::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::policy::runqueue::Urgency;
use crossbeam_utils::CachePadded;

/// One worker's preemption state, read and written by every thread.
pub(crate) struct Slot {
    /// Set by a pusher (or by the worker's own recheck) when a task more urgent than the running
    /// one became runnable: the running task's next cooperative check yields. Cleared when the
    /// worker starts its next poll.
    preempt: AtomicBool,
    /// [`Urgency`] of the task this worker polls, `Urgency::IDLE` when it polls none.
    running: AtomicU64,
    /// Header address of the task this worker polls or polled last (0: none since it parked).
    /// Only compared, never dereferenced: inheritance (`ordered.rs`, `reprioritized`) finds the
    /// worker of a running lock holder with it. On a line of its own: the worker writes it at
    /// nearly every pick, while every push on every worker reads `running` (`after_push`); on
    /// one line, each pick would take that line away from the other cores.
    task: CachePadded<AtomicUsize>,
}

impl Slot {
    /// A worker that runs nothing and was asked nothing.
    pub(crate) fn new() -> Slot {
        Slot {
            preempt: AtomicBool::new(false),
            running: AtomicU64::new(Urgency::IDLE.0),
            task: CachePadded::new(AtomicUsize::new(0)),
        }
    }

    /// Publishes the urgency of the task this worker runs now (no write if unchanged).
    #[inline]
    pub(crate) fn set_running(&self, urgency: Urgency) {
        if self.running.load(Ordering::Relaxed) != urgency.0 {
            self.running.store(urgency.0, Ordering::Relaxed);
        }
    }

    /// Records the header address of the task this worker polls now (0: none); no write if
    /// unchanged.
    #[inline]
    pub(crate) fn set_task(&self, task: usize) {
        if self.task.load(Ordering::Relaxed) != task {
            self.task.store(task, Ordering::Relaxed);
        }
    }

    /// Whether this worker polls (or polled last) the task at header address `task`.
    #[inline]
    pub(crate) fn polls(&self, task: usize) -> bool {
        self.task.load(Ordering::Relaxed) == task
    }

    /// The urgency this worker published last.
    #[inline]
    pub(crate) fn running(&self) -> Urgency {
        Urgency(self.running.load(Ordering::Relaxed))
    }

    /// Clears a pending request (no write if none).
    #[inline]
    pub(crate) fn clear(&self) {
        if self.preempt.load(Ordering::Relaxed) {
            self.preempt.store(false, Ordering::Relaxed);
        }
    }

    /// Asks the running task to yield at its next cooperative check (no write if asked).
    #[inline]
    pub(crate) fn request(&self) {
        if !self.preempt.load(Ordering::Relaxed) {
            self.preempt.store(true, Ordering::Relaxed);
        }
    }

    /// Whether the running task was asked to yield.
    #[inline]
    pub(crate) fn requested(&self) -> bool {
        self.preempt.load(Ordering::Relaxed)
    }
}

impl Default for Slot {
    fn default() -> Slot {
        Slot::new()
    }
}

/// Pusher side, after a task of `urgency` was queued: flags the least urgent running worker if
/// `urgency` beats it. Returns whether some worker other than `me` (the caller's own worker, if
/// it is one) runs nothing: it will pick the task up, and the caller should wake it if it is
/// parked. The calling worker itself is between two polls and picks next anyway.
pub(crate) fn after_push<'a>(
    slots: impl IntoIterator<Item = &'a Slot>,
    urgency: Urgency,
    me: Option<usize>,
) -> bool {
    // Pairs with the fence in `after_publish` (module docs).
    fence(Ordering::SeqCst);
    let mut least: Option<(&Slot, Urgency, usize)> = None;
    for (i, slot) in slots.into_iter().enumerate() {
        let running = slot.running();
        if running == Urgency::IDLE {
            return Some(i) != me;
        }
        if least.is_none_or(|(_, u, _)| running > u) {
            least = Some((slot, running, i));
        }
    }
    if let Some((slot, running, i)) = least {
        if urgency < running {
            slot.request();
            event::emit(EventKind::PreemptRequest, || (0, i as u64, 0));
        }
    }
    false
}

/// Worker side, after it stored the urgency of the task it is about to poll in `slot` and
/// cleared its request: flags itself if `queued()` (the most urgent head among the queues it
/// could pick from) beats `urgency`.
#[inline]
pub(crate) fn after_publish(slot: &Slot, urgency: Urgency, queued: impl FnOnce() -> Urgency) {
    // Pairs with the fence in `after_push` (module docs). `--cfg kairos_loom_weaken` drops it, so
    // that `scripts/loom-mutation.sh` can show the loom model catching the lost request.
    #[cfg(not(kairos_loom_weaken))]
    fence(Ordering::SeqCst);
    if queued() < urgency {
        crate::loom::reached("preempt.recheck_flags_itself");
        slot.request();
        event::emit(EventKind::PreemptRequest, || (0, u64::MAX, 0));
    }
}
