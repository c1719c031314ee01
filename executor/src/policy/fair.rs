//! Fair share: weighted virtual runtime, smallest first (CFS-like).
//!
//! Linux's Completely Fair Scheduler (Ingo Molnar, 2.6.23; `Documentation/scheduler/
//! sched-design-CFS.rst`, `kernel/sched/fair.c`) gives each runnable entity a *virtual runtime*:
//! the CPU time it received, divided by its weight relative to nice 0. Always running the entity
//! with the smallest virtual runtime makes CPU time proportional to weight. kairos keeps the
//! pieces that are policy, as plain functions and one queue:
//!
//! - **Weights** from a nice value, Linux's `sched_prio_to_weight` ([`SCHED_PRIO_TO_WEIGHT`]).
//! - **Charging** ([`charge`]): after running `ran` ns, `vruntime += ran * 1024 / weight`
//!   (`calc_delta_fair`). Linux multiplies by a precomputed inverse (`sched_prio_to_wmult`) and
//!   truncates; kairos divides exactly in `u128` and rounds *up*, saturating at `u64::MAX`. Why
//!   up: a task runtime sees polls far shorter than a kernel tick, and with truncation a nice -20
//!   task (weight 88761) polled for under 87 ns would be charged nothing, forever. Rounding up
//!   charges every nonzero run at least 1, at an error below 1 virtual ns per charge.
//! - **Ordering** ([`FairQueue`]): pop the smallest `(vruntime, enqueue sequence)`, so equal
//!   virtual runtimes run in FIFO order.
//! - **`min_vruntime`**: a monotonic floor that follows the smallest virtual runtime in play, as
//!   CFS's `update_min_vruntime`: it only moves up, to the smallest of the queued items and the
//!   running one. [`FairQueue::pop`] counts the popped item as the running one (it is about to
//!   run). A running task's later progress does not move it: the runtime-wide floor that
//!   [`super::runqueue`] takes with every push covers that.
//! - **Placement** of woken and new tasks relative to `min_vruntime` ([`place_woken`],
//!   [`place_new`]), from CFS's `place_entity` (before EEVDF replaced it in Linux 6.6): a sleeper
//!   cannot hoard credit, and a burst of new tasks cannot push ahead of waiting ones.
//!
//! Fairness bound: when every item is re-queued after running, the spread between the largest
//! and smallest virtual runtime never exceeds the largest single charge (the smallest is always
//! the one that runs, and it passes the others by at most one charge). The tests check CPU
//! shares against exactly that bound.
//!
//! Costs: a binary min-heap on `(vruntime, seq)` ([`KeyedHeap`]; CFS uses an rbtree): push
//! O(log n) (O(1) on average), pop O(log n), peek and `min_vruntime` O(1), remove and re-key
//! O(n). The helper functions
//! are O(1) and allocation-free. Memory per entry: the item and 16 bytes of key.

use super::key::{KeyedHeap, PopBatch};

/// Weight of a nice-0 task: charges at nice 0 are plain nanoseconds (`NICE_0_LOAD` without
/// Linux's extra fixed-point resolution).
/// Virtual runtime of a task that has not been placed on a fair-share queue yet (placement then
/// starts it level with the queue instead of 0 virtual nanoseconds).
pub(crate) const UNPLACED: u64 = u64::MAX;

pub(crate) const NICE_0_WEIGHT: u32 = 1024;

/// Weight by nice value, index `nice + 20`: Linux's `sched_prio_to_weight[40]`
/// (`kernel/sched/core.c`, unchanged since 2.6.23). Consecutive entries differ by a factor of
/// ~1.25, which the kernel comment explains as "~10% more or less CPU per nice level" between
/// two competing CPU-bound tasks.
pub(crate) const SCHED_PRIO_TO_WEIGHT: [u32; 40] = [
    /* -20 */ 88761, 71755, 56483, 46273, 36291, //
    /* -15 */ 29154, 23254, 18705, 14949, 11916, //
    /* -10 */ 9548, 7620, 6100, 4904, 3906, //
    /*  -5 */ 3121, 2501, 1991, 1586, 1277, //
    /*   0 */ 1024, 820, 655, 526, 423, //
    /*   5 */ 335, 272, 215, 172, 137, //
    /*  10 */ 110, 87, 70, 56, 45, //
    /*  15 */ 36, 29, 23, 18, 15, //
];

/// Linux's base `sysctl_sched_latency`, 6 ms: the period in which every runnable task should
/// run once. The kernel scales it by `1 + log2(cpus)`; kairos leaves the choice to the caller
/// of [`place_woken`].
pub(crate) const DEFAULT_SCHED_LATENCY_NS: u64 = 6_000_000;

/// The weight of `nice`, clamped to `-20..=19` as `setpriority(2)` clamps.
#[inline]
pub(crate) fn weight(nice: i8) -> u32 {
    SCHED_PRIO_TO_WEIGHT[(nice.clamp(-20, 19) + 20) as usize]
}

/// `ran_ns` of CPU time in virtual nanoseconds for `weight`: `ceil(ran_ns * 1024 / weight)`,
/// saturating at `u64::MAX` (see the module docs for why it rounds up).
///
/// # Panics
///
/// If `weight` is 0.
#[inline]
pub(crate) fn to_virtual(ran_ns: u64, weight: u32) -> u64 {
    assert!(weight > 0, "a weight must be positive");
    let scaled = u128::from(ran_ns) * u128::from(NICE_0_WEIGHT);
    u64::try_from(scaled.div_ceil(u128::from(weight))).unwrap_or(u64::MAX)
}

/// `vruntime` after running `ran_ns` at `weight` (CFS's `update_curr`), saturating.
#[inline]
pub(crate) fn charge(vruntime: u64, ran_ns: u64, weight: u32) -> u64 {
    vruntime.saturating_add(to_virtual(ran_ns, weight))
}

/// The virtual runtime a task woken from sleep is queued with:
/// `max(vruntime, min_vruntime - sched_latency / 2)` (saturating at 0).
///
/// This is `place_entity(.., initial = 0)` of CFS with `GENTLE_FAIR_SLEEPERS`: a sleeper keeps
/// its own virtual runtime if that is recent, but is never placed more than half a latency
/// period behind `min_vruntime`. So however long it slept, it gets at most `sched_latency / 2`
/// virtual ns of credit over the tasks that kept running (and it never gains by being placed:
/// the `max` keeps a task that is already ahead where it is).
#[inline]
pub(crate) fn place_woken(vruntime: u64, min_vruntime: u64, sched_latency: u64) -> u64 {
    vruntime.max(min_vruntime.saturating_sub(sched_latency / 2))
}

/// The virtual runtime a new task starts with: `min_vruntime + debit`, saturating.
///
/// This is `place_entity(.., initial = 1)` of CFS, whose `START_DEBIT` feature charges a new
/// task one virtual slice up front (`sched_vslice`) so that spawning cannot be used to get ahead
/// of waiting tasks. The debit is the caller's: a task runtime spawns far more often than a
/// kernel forks, so `0` (start level with the queue) is a reasonable choice. CFS also takes the
/// max with the parent's virtual runtime; kairos tasks have no parent, so that part is dropped.
#[inline]
pub(crate) fn place_new(min_vruntime: u64, debit: u64) -> u64 {
    min_vruntime.saturating_add(debit)
}

/// A fair-share run queue.
#[derive(Debug)]
pub(crate) struct FairQueue<T> {
    /// Items keyed by virtual runtime; the heap supplies the enqueue sequence.
    heap: KeyedHeap<u64, T>,
    /// The monotonic floor new and woken tasks are placed against.
    min_vruntime: u64,
}

impl<T> FairQueue<T> {
    /// An empty queue with `min_vruntime` 0.
    pub(crate) fn new() -> FairQueue<T> {
        FairQueue {
            heap: KeyedHeap::new(),
            min_vruntime: 0,
        }
    }

    /// Number of queued items.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// The floor for placing tasks; never decreases.
    #[inline]
    pub(crate) fn min_vruntime(&self) -> u64 {
        self.min_vruntime
    }

    /// Queues `item` with virtual runtime `vruntime`, behind queued items with the same one.
    /// O(log n). Does not move `min_vruntime` (the caller places the item first).
    #[inline]
    pub(crate) fn push(&mut self, item: T, vruntime: u64) {
        self.heap.push(item, vruntime);
    }

    /// Removes the item with the smallest virtual runtime (ties: pushed first), O(log n), and
    /// raises `min_vruntime` to its virtual runtime: the popped item is about to run, and it is
    /// the smallest of everything queued, so it is CFS's `min(curr, leftmost)`.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(u64, T)> {
        let (vruntime, item) = self.heap.pop()?;
        self.min_vruntime = self.min_vruntime.max(vruntime);
        Some((vruntime, item))
    }

    /// The virtual runtime [`pop`](Self::pop) would return. O(1).
    #[inline]
    pub(crate) fn peek_key(&self) -> Option<u64> {
        self.heap.peek_key()
    }

    /// Removes the queued item `is` matches (the earliest queued if several do) with its virtual
    /// runtime; `None` if none matches. Leaves `min_vruntime` alone: the item leaves without
    /// running. O(n): see [`KeyedHeap::remove`].
    pub(crate) fn remove(&mut self, is: impl FnMut(&T) -> bool) -> Option<(u64, T)> {
        self.heap.remove(is)
    }

    /// Gives the queued item `is` matches the virtual runtime `vruntime` and reports whether one
    /// matched. The item keeps its enqueue sequence; the value is used as given (no placement)
    /// and `min_vruntime` does not move. O(n): see [`KeyedHeap::rekey`].
    pub(crate) fn rekey(&mut self, vruntime: u64, is: impl FnMut(&T) -> bool) -> bool {
        self.heap.rekey(vruntime, is)
    }

    /// Whether an item `is` matches is queued. O(n).
    pub(crate) fn contains(&self, is: impl FnMut(&T) -> bool) -> bool {
        self.heap.contains(is)
    }

    /// Removes up to `n` items with the smallest virtual runtimes, smallest first, with their
    /// virtual runtimes (for stealing: every queue of a runtime shares one virtual time axis, so
    /// the thief queues them with the same values, see [`super::runqueue`]). Leaves
    /// `min_vruntime` alone: they leave without running. Lazy, O(log n) per item taken; items
    /// not taken stay queued.
    pub(crate) fn pop_batch(&mut self, n: usize) -> PopBatch<'_, u64, T> {
        self.heap.pop_batch(n)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn weight_table_matches_linux() {
        assert_eq!(weight(0), NICE_0_WEIGHT);
        assert_eq!(
            (weight(-20), weight(-1), weight(1), weight(19)),
            (88761, 1277, 820, 15)
        );
        assert_eq!((weight(-128), weight(127)), (88761, 15), "clamped");
        // Each step is ~1.25x (the "10% per nice level" of the kernel comment).
        for pair in SCHED_PRIO_TO_WEIGHT.windows(2) {
            let ratio = f64::from(pair[0]) / f64::from(pair[1]);
            assert!((1.2..1.3).contains(&ratio), "{pair:?}");
        }
    }

    #[test]
    fn charge_scales_by_weight_rounds_up_and_saturates() {
        assert_eq!(charge(5, 1_000, NICE_0_WEIGHT), 1_005);
        assert_eq!(charge(0, 1_000, 2 * NICE_0_WEIGHT), 500);
        assert_eq!(charge(0, 1_000, 15), 68_267); // 68266.67 rounded up
        assert_eq!(
            charge(0, 1, weight(-20)),
            1,
            "every nonzero run advances vruntime"
        );
        assert_eq!(charge(7, 0, weight(-20)), 7);
        assert_eq!(charge(u64::MAX - 1, 10, NICE_0_WEIGHT), u64::MAX);
        assert_eq!(to_virtual(u64::MAX, 15), u64::MAX);
    }

    #[test]
    fn smallest_vruntime_first_ties_fifo() {
        let mut q = FairQueue::new();
        for (i, v) in [30u64, 10, 20, 10, 30].into_iter().enumerate() {
            q.push(i, v);
        }
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![(10, 1), (10, 3), (20, 2), (30, 0), (30, 4)]);
        assert_eq!(q.len(), 0);
    }

    /// Runs `rounds` of pop / charge / re-push over tasks with `weights`, each run lasting
    /// `ran()` ns; returns picks and CPU time per task, and checks `min_vruntime` never drops.
    fn simulate(
        weights: &[u32],
        rounds: u32,
        mut ran: impl FnMut() -> u64,
    ) -> (Vec<u64>, Vec<u64>) {
        let mut q = FairQueue::new();
        for task in 0..weights.len() {
            q.push(task, 0);
        }
        let (mut picks, mut cpu) = (vec![0; weights.len()], vec![0; weights.len()]);
        let mut last_min = 0;
        for _ in 0..rounds {
            let (v, task) = q.pop().unwrap();
            assert!(q.min_vruntime() >= last_min);
            last_min = q.min_vruntime();
            let ns = ran();
            picks[task] += 1;
            cpu[task] += ns;
            q.push(task, charge(v, ns, weights[task]));
        }
        (picks, cpu)
    }

    #[test]
    fn weights_two_to_one_give_two_to_one_picks() {
        const SLICE: u64 = 1_000_000;
        let (picks, _) = simulate(&[2 * NICE_0_WEIGHT, NICE_0_WEIGHT], 30_000, || SLICE);
        // Virtual runtimes stay within one charge (SLICE, the light task's) of each other:
        // |picks[0] * SLICE / 2 - picks[1] * SLICE| <= SLICE, i.e. |picks[0] - 2 picks[1]| <= 2.
        assert_eq!(picks[0] + picks[1], 30_000);
        assert!(picks[0].abs_diff(2 * picks[1]) <= 2, "{picks:?}");
    }

    #[test]
    fn cpu_shares_follow_nice_weights_within_one_charge() {
        let weights = [weight(-5), weight(0), weight(5), weight(19)];
        let mut rng = Rng::new(42);
        let max_ran = 2_000_000;
        let (picks, cpu) = simulate(&weights, 50_000, || 1 + rng.next_u64() % max_ran);
        assert!(picks.iter().all(|&p| p > 0));
        // The spread of virtual runtimes is at most the largest single charge (the lightest
        // task's longest run). Each charge rounds up by < 1, so allow one per pick as well.
        let bound = to_virtual(max_ran, 15) + picks.iter().max().unwrap();
        let virt: Vec<u64> = (0..4)
            .map(|i| cpu[i] * 1024 / u64::from(weights[i]))
            .collect();
        for i in 0..4 {
            for j in 0..4 {
                assert!(virt[i].abs_diff(virt[j]) <= bound, "{virt:?} {bound}");
            }
        }
    }

    #[test]
    fn placement_bounds_sleeper_credit() {
        let min = 1_000_000_000;
        let lat = DEFAULT_SCHED_LATENCY_NS;
        // Slept long: credit capped at half a latency period.
        assert_eq!(place_woken(0, min, lat), min - lat / 2);
        // Slept briefly: keeps its own (smaller credit).
        assert_eq!(place_woken(min - 1_000, min, lat), min - 1_000);
        // Ahead of the floor: never moved back.
        assert_eq!(place_woken(min + 5, min, lat), min + 5);
        assert_eq!(place_woken(0, 100, lat), 0, "min - lat / 2 saturates at 0");
        assert_eq!(place_new(min, 0), min);
        assert_eq!(place_new(u64::MAX, 1), u64::MAX);

        // A sleeper woken into a busy queue runs ceil(credit / charge) times in a row, no more:
        // once it catches up, the tie goes to the busy task, queued first.
        let mut q = FairQueue::new();
        q.push("busy", min);
        q.pop();
        q.push("busy", min);
        q.push("sleeper", place_woken(0, q.min_vruntime(), lat));
        let slice = 100_000;
        let mut streak = 0;
        while let Some((v, task)) = q.pop() {
            if task == "busy" {
                break;
            }
            streak += 1;
            q.push(task, charge(v, slice, NICE_0_WEIGHT));
        }
        assert_eq!(streak, (lat / 2).div_ceil(slice));
    }

    /// Random pushes, pops, steals, removals and re-keys against a linear-scan model; also checks
    /// that `min_vruntime` never decreases (and that removals and re-keys leave it alone).
    #[test]
    fn matches_reference_model() {
        for seed in 0..8u64 {
            let mut rng = Rng::new(seed);
            let mut q = FairQueue::new();
            let mut model: Vec<(u64, u64, u32)> = Vec::new();
            let (mut seq, mut min) = (0u64, 0u64);
            let span = 1 + rng.next_u64() % 1_000;
            for op in 0..5_000u32 {
                let v = min.saturating_sub(span / 2) + rng.next_u64() % span;
                // An item that may or may not be queued.
                let target = rng.below(op + 1);
                match rng.below(12) {
                    0..=4 => {
                        q.push(op, v);
                        model.push((v, seq, op));
                        seq += 1;
                    }
                    5..=8 => {
                        let i = (0..model.len()).min_by_key(|&i| (model[i].0, model[i].1));
                        let want = i.map(|i| model.remove(i)).map(|(v, _, item)| (v, item));
                        if let Some((v, _)) = want {
                            min = min.max(v);
                        }
                        assert_eq!(q.pop(), want, "seed {seed} op {op}");
                    }
                    9 => {
                        let n = rng.below(3) as usize;
                        for got in q.pop_batch(n) {
                            let i = (0..model.len()).min_by_key(|&i| (model[i].0, model[i].1));
                            let (v, _, item) = model.remove(i.unwrap());
                            assert_eq!(got, (v, item), "seed {seed} op {op}");
                        }
                    }
                    10 => {
                        let found = model.iter_mut().find(|m| m.2 == target);
                        let want = found.is_some();
                        if let Some(m) = found {
                            m.0 = v;
                        }
                        assert_eq!(q.rekey(v, |&i| i == target), want, "seed {seed} op {op}");
                    }
                    _ => {
                        let i = model.iter().position(|m| m.2 == target);
                        let want = i.map(|i| model.remove(i)).map(|(v, _, item)| (v, item));
                        assert_eq!(q.remove(|&i| i == target), want, "seed {seed} op {op}");
                    }
                }
                assert_eq!(q.min_vruntime(), min, "seed {seed} op {op}");
                assert_eq!(q.len(), model.len());
                assert_eq!(q.peek_key(), model.iter().map(|m| m.0).min());
            }
        }
    }
}
