//! `Sched`: the scheduling parameters a task is spawned with.

use crate::time::instant::Instant;
use std::time::Duration;

/// When a task's deadline is, as given to [`Sched`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DeadlineSpec {
    /// No deadline.
    None,
    /// Spawn time plus this much.
    After(Duration),
    /// This absolute instant.
    At(Instant),
}

/// Scheduling parameters of a task: deadline, priority, nice value and a name for metrics.
///
/// Pass it to [`Runtime::spawn_with`](crate::Runtime::spawn_with),
/// [`Handle::spawn_with`](crate::Handle::spawn_with) or [`spawn_with`](crate::spawn_with). Each
/// policy reads the parameters it orders by and ignores the others:
///
/// | parameter | used by | default |
/// |---|---|---|
/// | [`deadline`](Self::deadline) / [`deadline_at`](Self::deadline_at) | `Edf`, `Classes` | none: runs after every task with a deadline |
/// | [`priority`](Self::priority) | `Priority`, `Classes` | 0 (lowest) |
/// | [`nice`](Self::nice) | `Fair`, `Classes` | 0 (weight 1024) |
/// | [`budget`](Self::budget) | `Classes` | none |
/// | [`name`](Self::name) | metrics (every policy) | none |
///
/// Under `Classes` the parameters also choose the task's class: a deadline puts it in the
/// deadline class, else a priority of 1 or more in the priority class, else it is in the fair
/// class (`docs/policies.md`). Under `Fifo` only the name is used. A running task may change its own parameters with
/// [`task::set_deadline`](crate::task::set_deadline) and friends.
///
/// ```
/// use kairos::{Policy, Runtime, Sched};
/// use std::time::Duration;
///
/// let rt = Runtime::builder().workers(1).policy(Policy::Edf).build().unwrap();
/// let urgent = rt.spawn_with(Sched::default().deadline(Duration::from_millis(1)).name("ctrl"), async { 1 });
/// assert_eq!(rt.block_on(urgent).unwrap(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sched {
    /// The deadline as given.
    deadline: DeadlineSpec,
    /// Base priority, 0 lowest.
    priority: u8,
    /// Nice value, -20..=19.
    nice: i8,
    /// Metrics name.
    name: Option<&'static str>,
    /// Bandwidth budget: runtime per period.
    budget: Option<(Duration, Duration)>,
}

impl Default for Sched {
    /// No deadline, priority 0, nice 0, no name: what [`spawn`](crate::spawn) uses.
    fn default() -> Sched {
        Sched {
            deadline: DeadlineSpec::None,
            priority: 0,
            nice: 0,
            name: None,
            budget: None,
        }
    }
}

impl Sched {
    /// The same as [`Sched::default`].
    ///
    /// ```
    /// assert_eq!(kairos::Sched::new(), kairos::Sched::default());
    /// ```
    pub fn new() -> Sched {
        Sched::default()
    }

    /// A relative deadline: the absolute deadline is the spawn time plus `d` (saturating).
    ///
    /// ```
    /// let s = kairos::Sched::default().deadline(std::time::Duration::from_micros(500));
    /// # let _ = s;
    /// ```
    pub fn deadline(mut self, d: Duration) -> Sched {
        self.deadline = DeadlineSpec::After(d);
        self
    }

    /// An absolute deadline on the runtime clock.
    ///
    /// ```
    /// use kairos::time::Instant;
    /// let at = Instant::now() + std::time::Duration::from_millis(2);
    /// let s = kairos::Sched::default().deadline_at(at);
    /// # let _ = s;
    /// ```
    pub fn deadline_at(mut self, at: Instant) -> Sched {
        self.deadline = DeadlineSpec::At(at);
        self
    }

    /// The base priority: 0 lowest, 255 highest.
    ///
    /// ```
    /// let s = kairos::Sched::default().priority(200);
    /// assert_eq!(s.get_priority(), 200);
    /// ```
    pub fn priority(mut self, priority: u8) -> Sched {
        self.priority = priority;
        self
    }

    /// The nice value, -20 (largest share) to 19 (smallest), clamped into that range. Under
    /// `Fair` it gives the task's weight from Linux's table (`sched_prio_to_weight`): nice 0 is
    /// 1024, each step is a factor of about 1.25.
    ///
    /// ```
    /// let s = kairos::Sched::default().nice(-30);
    /// assert_eq!(s.get_nice(), -20);
    /// ```
    pub fn nice(mut self, nice: i8) -> Sched {
        self.nice = nice.clamp(-20, 19);
        self
    }

    /// A name under which the task's metrics are also reported
    /// ([`Metrics::by_name`](crate::Metrics::by_name)).
    ///
    /// ```
    /// let s = kairos::Sched::default().name("sensor");
    /// assert_eq!(s.get_name(), Some("sensor"));
    /// ```
    pub fn name(mut self, name: &'static str) -> Sched {
        self.name = Some(name);
        self
    }

    /// A bandwidth budget: at most `runtime` of CPU per `period`, enforced under
    /// `Policy::Classes` by a hard constant bandwidth server (Abeni & Buttazzo 1998, as Linux's
    /// `SCHED_DEADLINE`): the task runs in the deadline class with its server's deadline (the
    /// end of its current period), and a task that overruns its budget is not queued again
    /// before that deadline, when its budget is replenished (`docs/policies.md`, "Budgets").
    /// `runtime` is clamped to `1 ns..=period`; a zero `period` means no budget. The other
    /// policies ignore it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = kairos::Sched::default().budget(Duration::from_micros(500), Duration::from_millis(10));
    /// assert_eq!(s.get_budget(), Some((Duration::from_micros(500), Duration::from_millis(10))));
    /// assert_eq!(kairos::Sched::default().budget(Duration::from_secs(1), Duration::ZERO).get_budget(), None);
    /// ```
    pub fn budget(mut self, runtime: Duration, period: Duration) -> Sched {
        self.budget =
            (!period.is_zero()).then(|| (runtime.clamp(Duration::from_nanos(1), period), period));
        self
    }

    /// The budget set: `(runtime, period)`.
    ///
    /// ```
    /// assert_eq!(kairos::Sched::default().get_budget(), None);
    /// ```
    pub fn get_budget(&self) -> Option<(Duration, Duration)> {
        self.budget
    }

    /// The budget in nanoseconds (saturating).
    pub(crate) fn budget_ns(&self) -> Option<(u64, u64)> {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.budget.map(|(c, t)| (nanos(c), nanos(t)))
    }

    /// The base priority set.
    ///
    /// ```
    /// assert_eq!(kairos::Sched::default().get_priority(), 0);
    /// ```
    pub fn get_priority(&self) -> u8 {
        self.priority
    }

    /// The nice value set.
    ///
    /// ```
    /// assert_eq!(kairos::Sched::default().nice(3).get_nice(), 3);
    /// ```
    pub fn get_nice(&self) -> i8 {
        self.nice
    }

    /// The name set.
    ///
    /// ```
    /// assert_eq!(kairos::Sched::default().get_name(), None);
    /// ```
    pub fn get_name(&self) -> Option<&'static str> {
        self.name
    }

    /// The absolute deadline for a task spawned at `now`.
    pub(crate) fn absolute_deadline(&self, now: Instant) -> Option<u64> {
        match self.deadline {
            DeadlineSpec::None => None,
            DeadlineSpec::After(d) => Some(now.saturating_add(d).as_nanos()),
            DeadlineSpec::At(at) => Some(at.as_nanos()),
        }
    }

    /// Whether a deadline was set (so spawning must read the clock).
    pub(crate) fn needs_clock(&self) -> bool {
        matches!(self.deadline, DeadlineSpec::After(_))
    }
}
