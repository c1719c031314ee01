//! Random periodic task sets for schedulability experiments: UUniFast utilizations and
//! log-uniform periods.
//!
//! - UUniFast: E. Bini, G. Buttazzo, "Measuring the performance of schedulability tests",
//!   Real-Time Systems 30(1-2), 2005. Draws `n` utilizations summing to `U`, uniformly over the
//!   simplex: `next = sum * r^(1/(n-i))`, `u_i = sum - next`.
//! - Log-uniform periods (P. Emberson, R. Stafford, R. Davis, "Techniques for the synthesis of
//!   multiprocessor tasksets", WATERS 2010): `T = exp(uniform(ln min, ln max))`, so each decade
//!   of periods is equally likely.
//!
//! Periods and execution times are rounded *down* to a granularity (by default the
//! [`WORK_SLICE`](crate::work::WORK_SLICE), 20 µs), so the set's utilization never exceeds the target
//! and, with every release and execution time a whole number of slices, a job's cooperative
//! checks fall exactly on the releases of the others (see `docs/determinism.md`).

use super::SimRng;
use std::time::Duration;

/// One implicit- or constrained-deadline periodic task: `wcet` of work every `period`, due
/// `deadline` after each release.
///
/// ```
/// use kairos::sim::PeriodicTask;
/// use std::time::Duration;
/// let t = PeriodicTask::implicit(Duration::from_millis(2), Duration::from_millis(5));
/// assert_eq!(t.deadline, t.period);
/// assert!((t.utilization() - 0.4).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeriodicTask {
    /// Execution time of each job (`kairos::work(wcet)`).
    pub wcet: Duration,
    /// Time between releases.
    pub period: Duration,
    /// Relative deadline.
    pub deadline: Duration,
}

impl PeriodicTask {
    /// A task whose deadline is its period.
    ///
    /// ```
    /// let t = kairos::sim::PeriodicTask::implicit(std::time::Duration::from_millis(1), std::time::Duration::from_millis(4));
    /// assert_eq!(t.deadline, std::time::Duration::from_millis(4));
    /// ```
    pub fn implicit(wcet: Duration, period: Duration) -> PeriodicTask {
        PeriodicTask {
            wcet,
            period,
            deadline: period,
        }
    }

    /// `wcet / period`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = kairos::sim::PeriodicTask::implicit(Duration::from_millis(1), Duration::from_millis(4));
    /// assert_eq!(t.utilization(), 0.25);
    /// ```
    pub fn utilization(&self) -> f64 {
        self.wcet.as_secs_f64() / self.period.as_secs_f64()
    }
}

/// `n` utilizations summing to `total`, uniformly distributed over the simplex (UUniFast).
/// Empty for `n == 0`.
///
/// ```
/// let mut rng = kairos::sim::SimRng::new(1);
/// let u = kairos::sim::uunifast(&mut rng, 5, 0.8);
/// assert_eq!(u.len(), 5);
/// assert!((u.iter().sum::<f64>() - 0.8).abs() < 1e-9);
/// assert!(u.iter().all(|&x| x >= 0.0));
/// ```
pub fn uunifast(rng: &mut SimRng, n: usize, total: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let mut sum = total;
    for i in 1..n {
        let next = sum * rng.next_f64().powf(1.0 / (n - i) as f64);
        out.push(sum - next);
        sum = next;
    }
    out.push(sum);
    out
}

/// A period drawn log-uniformly from `[min, max]`, rounded down to a multiple of `granularity`
/// (and at least one `granularity`).
///
/// ```
/// use std::time::Duration;
/// let mut rng = kairos::sim::SimRng::new(2);
/// let g = Duration::from_micros(20);
/// let p = kairos::sim::log_uniform_period(&mut rng, Duration::from_millis(1), Duration::from_millis(100), g);
/// assert!(p >= Duration::from_millis(1) - g && p <= Duration::from_millis(100));
/// assert_eq!(p.as_nanos() % g.as_nanos(), 0);
/// ```
pub fn log_uniform_period(
    rng: &mut SimRng,
    min: Duration,
    max: Duration,
    granularity: Duration,
) -> Duration {
    let (lo, hi) = (min.as_secs_f64().max(1e-9), max.as_secs_f64().max(1e-9));
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let t = (lo.ln() + rng.next_f64() * (hi.ln() - lo.ln())).exp();
    round_down(Duration::from_secs_f64(t), granularity).max(granularity)
}

/// `d` rounded down to a multiple of `granularity` (unchanged for a zero granularity).
fn round_down(d: Duration, granularity: Duration) -> Duration {
    let g = granularity.as_nanos();
    if g == 0 {
        return d;
    }
    let n = d.as_nanos() / g * g;
    Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))
}

/// Parameters of [`generate`].
///
/// ```
/// let spec = kairos::sim::TaskSetSpec::new(10, 0.9);
/// assert_eq!(spec.tasks, 10);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TaskSetSpec {
    /// Number of tasks.
    pub tasks: usize,
    /// Target total utilization (the set's is at most this, after rounding down).
    pub utilization: f64,
    /// Shortest period.
    pub min_period: Duration,
    /// Longest period.
    pub max_period: Duration,
    /// Periods and execution times are multiples of this.
    pub granularity: Duration,
}

impl TaskSetSpec {
    /// `tasks` tasks of total utilization `utilization`, periods in 1..100 ms, in multiples of
    /// [`WORK_SLICE`](crate::work::WORK_SLICE).
    ///
    /// ```
    /// let s = kairos::sim::TaskSetSpec::new(4, 0.5);
    /// assert_eq!(s.granularity, kairos::WORK_SLICE);
    /// ```
    pub fn new(tasks: usize, utilization: f64) -> TaskSetSpec {
        TaskSetSpec {
            tasks,
            utilization,
            min_period: Duration::from_millis(1),
            max_period: Duration::from_millis(100),
            granularity: crate::work::WORK_SLICE,
        }
    }
}

/// A random implicit-deadline task set: UUniFast utilizations, log-uniform periods, execution
/// times `floor(u * T)` in whole granules (a task whose share rounds to zero gets one granule
/// only if that keeps the total within the target; otherwise it is dropped).
///
/// ```
/// use kairos::sim::{generate, SimRng, TaskSetSpec};
/// let set = generate(&mut SimRng::new(9), &TaskSetSpec::new(8, 0.95));
/// let u: f64 = set.iter().map(|t| t.utilization()).sum();
/// assert!(u <= 0.95 + 1e-12);
/// assert!(set.iter().all(|t| t.wcet.as_nanos() % kairos::WORK_SLICE.as_nanos() == 0));
/// ```
pub fn generate(rng: &mut SimRng, spec: &TaskSetSpec) -> Vec<PeriodicTask> {
    let utils = uunifast(rng, spec.tasks, spec.utilization);
    let g = spec.granularity;
    let mut set = Vec::with_capacity(spec.tasks);
    let mut total = 0.0;
    let mut zero = Vec::new();
    for u in utils {
        let period = log_uniform_period(rng, spec.min_period, spec.max_period, g);
        let wcet = round_down(period.mul_f64(u.clamp(0.0, 1.0)), g);
        if wcet.is_zero() {
            zero.push(period);
            continue;
        }
        let task = PeriodicTask::implicit(wcet, period);
        total += task.utilization();
        set.push(task);
    }
    for period in zero {
        let task = PeriodicTask::implicit(g.max(Duration::from_nanos(1)), period);
        if total + task.utilization() <= spec.utilization {
            total += task.utilization();
            set.push(task);
        }
    }
    set
}
