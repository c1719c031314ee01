//! Fifo stealing with patience: a thief leaves a short queue to an owner that is working
//! through it.
//!
//! # Why
//!
//! A task that wakes a few others in one poll (a producer filling a channel that three
//! receivers wait on) queues them behind itself on its own worker, and a parked peer is woken
//! for the surplus (`idle.rs`). If the peer steals at once, the woken tasks run on two cores and
//! every message of their channel crosses between them: a cache-line transfer and a contended
//! lock per message, and each receiver that empties the channel parks, is woken by the next
//! send onto the sender's worker and stolen again, a migration per message. Measured on
//! `sched-bench micro --only worker_pool` (1,000,000 messages, 2 workers): 380-620 ns per
//! message when stolen at once, 43 ns when the pool stays on one worker (`docs/benchmarks.md`,
//! "Stealing with patience"). A migration pays only if the owner would not have reached the task
//! soon itself.
//!
//! # The rule
//!
//! A thief looks at a victim's ring: the owner's pop index (`queue/local.rs`, `Steal::progress`)
//! and its length. It steals at once when the ring holds at least [`BACKLOG`] tasks (more than
//! an owner clears in a moment). A shorter ring is stolen from only once the owner's pop index
//! has stayed where this thief first saw it for [`PATIENCE_NS`]: the owner is stuck in one poll,
//! so the queue behind it waits. An owner that pops within the window is working through its
//! queue and keeps it. The first sighting of each victim is remembered across searches (an
//! index that has not moved since an earlier search means an owner still in the same poll).
//!
//! This is Go's patience with a running P's `runnext` (`runqgrab` in `runtime/proc.go`: a thief
//! waits about 3 µs before it takes the one goroutine a running P is about to run), applied to
//! the short queue, and the same trade as Linux's idle balancing, which does not pull work to a
//! CPU whose expected idle time is below the cost of a migration (`sysctl_sched_migration_cost`).
//!
//! # Never lost, bounded
//!
//! A task left to its owner is never lost: only its owner pushes to a ring, so the owner is
//! awake and pops it after its current poll. The cost is latency when the owner's next poll is
//! long. So a search that left work to owners ends in a park of at most [`RECHECK_NS`]
//! (`Core::declined`); the worker then searches again, and a victim whose pop index has not moved
//! meanwhile is stolen from at once. Such a park also skips the rings in the last searcher's
//! recheck (`Shared::notify_if_work_pending`): they hold exactly the work it chose to leave, and
//! waking for it would make the search a busy loop. For the same reason the worker parks
//! *resting* (`idle.rs`): a push that makes surplus on an owner's ring does not wake it (every
//! other notification does). And the search itself ends once the owners it left work to had
//! twice [`PATIENCE_NS`] to show they are stuck (`Core::search`), instead of spinning its rounds
//! out: without these two the idle worker of `worker_pool` kept a core busy for nothing.
//!
//! A thief that took the last tasks of a stuck owner's ring may find it empty in its next search
//! and park for good, not resting. The owner, still in the same poll, may then queue more: such a
//! push counts as surplus (`Local::push_back`: thieves took from the ring since the owner last
//! popped), so it wakes that thief. Without it, the task queued next waited for the poll's end
//! (`tests/tests/fifo_patience.rs` hung so, about once in eight runs on a loaded machine).
//!
//! # Woken for surplus
//!
//! A worker that a push woke for surplus (`Shared::notify_parked_for_surplus`) steals at first
//! sight in the search that follows: the pusher judged its queue worth a wake-up, which a
//! resting worker is never given, so the worker pool, whose second worker rests, keeps its
//! patience, while a task that spawns jobs for a parked peer gets them started without the wait.
//! Patience applies to every other search: after a bounded park, or after a worker ran out of
//! its own work.
//!
//! # Price
//!
//! Where the short queue is real work and the thief was not woken for it, its first steal comes
//! [`PATIENCE_NS`] later: a task that spawns a few computing jobs and awaits them pays part of
//! that at every round (`examples/fork_join.rs`: 50-100 µs jobs on two workers take about 4%
//! longer than with stealing at first sight; 7-8% before a wake for surplus skipped the wait).
//!
//! Under the simulator's virtual clock the rule is off (time does not pass during a search, so
//! a thief would never steal a short ring): the simulator models stealing at first sight.

/// A ring holding at least this many tasks is stolen from at once. Chosen by measurement
/// (`docs/benchmarks.md`, "Stealing with patience"): with 4, the worker pool's three receivers and
/// its sender spread again now and then; without a bound, 100 tasks that yield stay on one
/// worker.
pub(crate) const BACKLOG: usize = 16;

/// How long a victim's pop index must stay still before its short ring is stolen from (ns). Go's
/// figure for `runnext`; chosen by measurement (`docs/benchmarks.md`, "what patience costs
/// fork-join"):
/// at 1 µs the worker pool spreads again (a producer's poll of 100 sends takes about 2 µs), at
/// 2 µs it does now and then; every µs more is paid by fork-join (`examples/fork_join.rs`),
/// where each round's steal waits it out.
pub(crate) const PATIENCE_NS: u64 = 3_000;

/// The longest park of a worker whose search left work to its owners (ns): how late, at worst,
/// it looks again for an owner that got stuck in a poll after the search.
pub(crate) const RECHECK_NS: u64 = 100_000;

/// What a thief last saw of one victim.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    /// The victim's pop index then.
    popped: u32,
    /// When it was first seen there (ns, the runtime's clock); 0: never seen.
    since: u64,
}

/// One thief's sightings of every victim.
#[derive(Debug)]
pub(crate) struct Patience {
    seen: Box<[Seen]>,
}

impl Patience {
    /// No victim seen yet, for a runtime of `workers` workers.
    pub(crate) fn new(workers: usize) -> Patience {
        Patience {
            seen: vec![Seen::default(); workers].into_boxed_slice(),
        }
    }

    /// Whether to steal from `victim`, whose ring holds `len` tasks and whose owner has popped
    /// `popped` so far, at `now`. Records the sighting.
    pub(crate) fn may_steal(&mut self, victim: usize, popped: u32, len: usize, now: u64) -> bool {
        if len >= BACKLOG {
            return true;
        }
        let seen = &mut self.seen[victim];
        if seen.since == 0 || seen.popped != popped {
            *seen = Seen { popped, since: now };
            return false;
        }
        now.saturating_sub(seen.since) >= PATIENCE_NS
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_long_ring_is_stolen_at_first_sight() {
        let mut p = Patience::new(2);
        assert!(p.may_steal(1, 7, BACKLOG, 1_000));
        assert!(p.may_steal(1, 7, BACKLOG + 100, 1_001));
    }

    #[test]
    fn a_short_ring_waits_for_a_still_owner() {
        let mut p = Patience::new(2);
        assert!(!p.may_steal(1, 7, 3, 1_000), "first sight");
        assert!(
            !p.may_steal(1, 7, 3, 1_000 + PATIENCE_NS - 1),
            "not long enough"
        );
        assert!(
            p.may_steal(1, 7, 3, 1_000 + PATIENCE_NS),
            "still in one poll"
        );
    }

    #[test]
    fn an_owner_that_pops_keeps_its_ring() {
        let mut p = Patience::new(2);
        assert!(!p.may_steal(1, 7, 3, 1_000));
        // The owner popped: the window starts again from the new index.
        assert!(!p.may_steal(1, 8, 3, 1_000 + PATIENCE_NS));
        assert!(!p.may_steal(1, 8, 3, 1_000 + 2 * PATIENCE_NS - 1));
        assert!(p.may_steal(1, 8, 1, 1_000 + 2 * PATIENCE_NS));
    }

    #[test]
    fn victims_are_watched_apart() {
        let mut p = Patience::new(3);
        assert!(!p.may_steal(1, 5, 1, 1_000));
        assert!(!p.may_steal(2, 9, 1, 1_000 + PATIENCE_NS));
        assert!(p.may_steal(1, 5, 1, 1_000 + PATIENCE_NS));
        assert!(!p.may_steal(2, 9, 1, 1_000 + PATIENCE_NS + 1));
    }
}
