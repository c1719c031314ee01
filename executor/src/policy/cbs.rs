//! Bandwidth budgets: the hard constant bandwidth server (CBS) of a budgeted deadline task.
//!
//! A task may declare a budget: at most `runtime` ns of CPU per `period` ns (`Sched::budget`).
//! Its server keeps two numbers, the *remaining budget* `q` and the *server deadline* `d`, and
//! the task is scheduled (in the deadline class, by EDF) with the server deadline. This is the
//! Constant Bandwidth Server of Abeni & Buttazzo ("Integrating Multimedia Applications in Hard
//! Real-Time Systems", RTSS 1998), in the *hard* form Linux's `SCHED_DEADLINE` implements
//! (`kernel/sched/deadline.c`; `Documentation/scheduler/sched-deadline.rst`, "Bandwidth
//! reservation"):
//!
//! - **Charging.** Every poll's length is subtracted from `q` ([`Server::charge`]). `q` may go
//!   negative: kairos preempts only at cooperative checks, so a poll can overrun its budget, and
//!   the overrun is carried as debt into the next period (as Linux carries a negative runtime).
//! - **Throttling (the choice made here).** A server whose `q <= 0` is *throttled*: the task is
//!   not queued before its server deadline `d`, the end of the period it overran. There it is
//!   *replenished*: `d += period`, `q += runtime`, repeated while `q <= 0` (a debt of several
//!   budgets parks it for as many periods). The paper's original (soft) CBS would instead queue
//!   it at once with the postponed deadline; that is work-conserving but lets an overrunning
//!   task keep its worker whenever nothing else of the deadline class is runnable, so the
//!   classes below it would starve. Parking is what makes the reservation hold against them:
//!   over any window the task gets at most `runtime` per `period`, plus one poll of overrun.
//! - **Wake-up rule.** When the task is queued again (woken, or yielding) and not throttled, the
//!   server checks whether its remaining budget can still be spent before `d` at the reserved
//!   rate: if `q > (d - now) * runtime / period` (or `d <= now`), it would exceed its bandwidth,
//!   so it starts a new period: `d = now + period`, `q = runtime` (CBS rule 3; Linux's
//!   `dl_entity_overflow`). Otherwise it keeps `d` and `q`.
//!
//! The structure is pure (the caller passes `now` and the poll lengths); the task header stores
//! it (`task/policy_state.rs`) and the ordered core applies it at each push (`worker/ordered.rs`).

/// A bandwidth server's parameters and state. Times in ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Server {
    /// Budget per period, `1..=period`.
    pub(crate) runtime: u64,
    /// Period, and relative server deadline: at least 1.
    pub(crate) period: u64,
    /// Remaining budget; negative after an overrun (a debt).
    pub(crate) remaining: i64,
    /// Absolute server deadline; 0 before the first push.
    pub(crate) deadline: u64,
}

/// What a push of a budgeted task does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Push {
    /// Queue it in the deadline class with this server deadline.
    Queue(u64),
    /// Throttled: park it until this time, then push again.
    ParkUntil(u64),
}

impl Server {
    /// A server of `runtime` per `period`, clamped to `1 <= runtime <= period` (a budget larger
    /// than its period would be more than one worker). Its first push starts its first period.
    pub(crate) fn new(runtime: u64, period: u64) -> Server {
        let period = period.max(1);
        Server {
            runtime: runtime.clamp(1, period),
            period,
            remaining: 0,
            deadline: 0,
        }
    }

    /// Whether the budget is spent (the server is throttled until its deadline).
    #[inline]
    pub(crate) fn exhausted(&self) -> bool {
        self.remaining <= 0 && self.deadline != 0
    }

    /// Budget left, in ns (0 when spent).
    #[inline]
    pub(crate) fn left(&self) -> u64 {
        self.remaining.max(0) as u64
    }

    /// Charges `ran` ns of CPU to the budget.
    #[inline]
    pub(crate) fn charge(&mut self, ran: u64) {
        let ran = i64::try_from(ran).unwrap_or(i64::MAX);
        self.remaining = self.remaining.saturating_sub(ran);
    }

    /// The task is being queued at `now`: replenish a throttled server whose deadline has come,
    /// apply the wake-up rule, and say whether to queue it (with which deadline) or park it.
    pub(crate) fn on_push(&mut self, now: u64) -> Push {
        if self.exhausted() {
            if now < self.deadline {
                return Push::ParkUntil(self.deadline);
            }
            self.replenish();
        }
        if self.overflows(now) {
            self.deadline = now.saturating_add(self.period);
            self.remaining = i64::try_from(self.runtime).unwrap_or(i64::MAX);
        }
        Push::Queue(self.deadline)
    }

    /// `d += period`, `q += runtime`, until `q > 0`.
    fn replenish(&mut self) {
        let runtime = i64::try_from(self.runtime).unwrap_or(i64::MAX);
        // Periods of debt, at least one: ceil(-q / runtime) + 1 when q <= 0.
        let debt = u64::try_from(-self.remaining).unwrap_or(0);
        let periods = debt / self.runtime + 1;
        self.remaining = self
            .remaining
            .saturating_add(runtime.saturating_mul(periods as i64));
        self.deadline = self
            .deadline
            .saturating_add(self.period.saturating_mul(periods));
    }

    /// CBS rule 3: the remaining budget cannot be served before the deadline at the reserved
    /// bandwidth, `q / (d - now) > runtime / period`, or the deadline has passed. Exact in
    /// `u128`.
    fn overflows(&self, now: u64) -> bool {
        if self.deadline <= now {
            return true;
        }
        let q = u128::from(self.left());
        q * u128::from(self.period) > u128::from(self.deadline - now) * u128::from(self.runtime)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn first_push_starts_a_period() {
        let mut s = Server::new(2, 10);
        assert_eq!(s.on_push(100), Push::Queue(110));
        assert_eq!((s.left(), s.deadline), (2, 110));
        assert!(!s.exhausted());
    }

    #[test]
    fn parameters_are_clamped() {
        let s = Server::new(50, 10);
        assert_eq!((s.runtime, s.period), (10, 10));
        let s = Server::new(0, 0);
        assert_eq!((s.runtime, s.period), (1, 1));
    }

    #[test]
    fn overrun_parks_until_the_deadline_then_replenishes() {
        let mut s = Server::new(2, 10);
        s.on_push(0);
        s.charge(3); // one ns of debt
        assert!(s.exhausted());
        assert_eq!(s.on_push(4), Push::ParkUntil(10));
        // At the deadline: d = 20, q = 2 - 1 = 1; 1 * 10 <= (20 - 10) * 2, kept.
        assert_eq!(s.on_push(10), Push::Queue(20));
        assert_eq!(s.left(), 1);
    }

    #[test]
    fn debt_of_several_budgets_parks_for_as_many_periods() {
        let mut s = Server::new(2, 10);
        s.on_push(0);
        s.charge(7); // q = -5: needs three budgets to be positive again (-5 + 6 = 1)
        assert_eq!(s.on_push(5), Push::ParkUntil(10));
        // Replenished at 10 by three periods: d = 40, q = 1; the rule keeps it (1*10 <= 30*2).
        assert_eq!(s.on_push(10), Push::Queue(40));
        assert_eq!(s.left(), 1);
    }

    #[test]
    fn wake_up_rule_keeps_or_renews_the_deadline() {
        let mut s = Server::new(2, 10);
        s.on_push(0);
        s.charge(1); // q = 1, d = 10
                     // At 3: 1 * 10 <= 7 * 2: the budget fits before d, keep it.
        assert_eq!(s.on_push(3), Push::Queue(10));
        // At 6: 1 * 10 > 4 * 2: it would exceed the bandwidth, start a new period.
        assert_eq!(s.on_push(6), Push::Queue(16));
        assert_eq!(s.left(), 2);
        // A deadline in the past always starts a new period.
        assert_eq!(s.on_push(40), Push::Queue(50));
    }

    /// Over many periods a task that always overruns gets at most `runtime` per `period` plus
    /// one overrun: the bandwidth it is reserved, not more.
    #[test]
    fn a_task_that_never_stops_gets_its_bandwidth() {
        let (runtime, period, poll) = (3u64, 10u64, 2u64);
        let mut s = Server::new(runtime, period);
        let (mut now, mut used) = (0u64, 0u64);
        while now < 10_000 {
            match s.on_push(now) {
                Push::Queue(_) => {
                    s.charge(poll);
                    used += poll;
                    now += poll;
                }
                Push::ParkUntil(t) => now = t,
            }
        }
        // 1000 periods of 3 ns: 3000 ns, plus at most one poll of overrun.
        assert!(used <= 3_000 + poll, "{used}");
        assert!(used >= 3_000 - runtime, "{used}");
    }
}
