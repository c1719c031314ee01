//! The in-memory workload model that both file formats parse into.
//!
//! A [`Workload`] is a set of [`TaskSpec`]s plus run-wide settings. A task is rt-app's notion of
//! a thread: `instances` identical copies, each running its [`Phase`]s in order, the whole
//! sequence repeated [`Repeat`] times (or until the workload's duration ends). A phase is a list
//! of [`Event`]s repeated its own number of times. Our TOML format describes only periodic tasks
//! and maps each one to a single phase `[Run(work), Timer(period, absolute)]`; rt-app files may
//! use several phases and the other events.
//!
//! Scheduling parameters ([`Sched`]) are attributes, not a backend choice: a TOML task may give a
//! priority *and* a nice value, and the backend picks what it uses (kairos `Priority` the
//! priority, `Fair` the nice value, `Edf` the job deadline). `class` is set only when the file
//! asks for one Linux scheduling class for this task (always for rt-app files, whose tasks each
//! have a policy; in TOML only with `policy = ...`).
//!
//! All times are [`Duration`]s (nanosecond resolution). The model is plain data: it does no I/O
//! and has no defaults of its own; [`validate`](super::validate) states its invariants.

use std::fmt;
use std::time::Duration;

/// A workload: what to run, for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Name in reports: the TOML `name`, else the file name without its extension.
    pub name: String,
    /// Wall time of one run. `None`: until every task has finished its loops (rt-app's
    /// `duration: -1`); [`validate`](super::validate) then requires every task to be finite.
    pub duration: Option<Duration>,
    /// Seed of the workload's random stream (simulation, hog placement); 0 when not given.
    pub seed: u64,
    /// Background CPU hogs: busy threads at SCHED_OTHER nice 0, one per hog, that compete
    /// with the tasks for the whole run (the interference of a loaded machine).
    pub hogs: usize,
    /// How the hogs compute between two yields on the async backends. Not in the file
    /// grammar (both loaders give [`HogKind::Yielding`]); the periodic built-ins set
    /// [`HogKind::YieldingCpu`], or [`HogKind::NonYielding`] for `non-yielding-hogs`
    /// (`PeriodicSet::model`).
    pub hog_kind: HogKind,
    /// The tasks, in file order.
    pub tasks: Vec<TaskSpec>,
}

/// How a workload's background hogs compute between two yields. A kernel hog thread never
/// yields either way (the kernel preempts it), so the kernel backend runs both kinds alike; on
/// the async backends ([`crate::async_backend`]) a hog spins a slice of wall time with no yield
/// inside, then yields, and the kind sets the slice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HogKind {
    /// Slices of `async_backend::jobs::SLICE` (20 µs) of wall time: a cooperative CPU-bound
    /// task. What a file's `hogs` are.
    #[default]
    Yielding,
    /// Slices of 20 µs of the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`, a spin on that
    /// clock: no work units), so a slice lasts longer in wall time when the OS takes the worker
    /// thread away: the cooperative background tasks of the periodic built-ins, which measured
    /// their slices that way (`kairos::work(20 µs)`, tokio's CPU spin) before they ran on the
    /// workload-file runner.
    YieldingCpu,
    /// Polls of this much wall time with no yield and no cooperative check inside: a task a
    /// cooperative runtime cannot take its worker from for the poll's length (the built-in
    /// `non-yielding-hogs`).
    NonYielding(Duration),
}

/// One task (rt-app: one entry of `tasks`), run as `instances` identical threads/futures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskSpec {
    /// Name as in the file; unique within the workload.
    pub name: String,
    /// Identical copies (TOML `count`, rt-app `instance`).
    pub instances: u32,
    /// Scheduling attributes.
    pub sched: Sched,
    /// Relative deadline of each job (measured from its release), for EDF ordering and
    /// deadline-miss accounting. `None`: the task states no deadline.
    pub deadline: Option<Duration>,
    /// CPUs the task may run on (rt-app `cpus`); `None`: any.
    pub cpus: Option<Vec<usize>>,
    /// Wait before the first phase starts (rt-app `delay`).
    pub delay: Duration,
    /// How often the whole phase sequence runs.
    pub repeat: Repeat,
    /// The phases, in order; never empty.
    pub phases: Vec<Phase>,
}

/// How often something repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// This many times (at least 1).
    Times(u64),
    /// Until the workload's duration ends (rt-app `loop: -1`).
    Forever,
}

/// Scheduling attributes of a task. Which ones a backend uses depends on the backend; see the
/// module docs. Invariants (checked by [`validate`](super::validate)): `Fifo`/`Rr` need a
/// `priority`; `Deadline` needs a `reservation`; a `reservation` only goes with `Deadline`;
/// a `slice` only with `Other` or no class.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sched {
    /// The Linux class the file asks for; `None`: the backend decides.
    pub class: Option<Class>,
    /// Nice value, -20 (most CPU) ..= 19; SCHED_OTHER and kairos `Fair` weight. Default 0.
    pub nice: i32,
    /// Real-time priority 1 ..= 99 (higher runs first); SCHED_FIFO/RR and kairos `Priority`.
    pub priority: Option<u32>,
    /// SCHED_DEADLINE reservation (CBS budget).
    pub reservation: Option<Reservation>,
    /// SCHED_OTHER custom slice (EEVDF `sched_runtime`, Linux 6.12+): rt-app's `dl-runtime`
    /// on a SCHED_OTHER task.
    pub slice: Option<Duration>,
    /// kairos priority 0 ..= 255, when it is not `priority`: the periodic built-ins' own
    /// (`RtTask::priority`, set by `rt_compare`'s async rows), which kairos' `Priority` and
    /// `Classes` policies compare and age on the 0 ..= 255 scale. Not in the file grammar
    /// (`None` from both loaders); `None`: kairos gets `priority` (0 without one).
    pub kairos_priority: Option<u8>,
}

/// A Linux scheduling class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// SCHED_OTHER (CFS/EEVDF), weighted by nice.
    Other,
    /// SCHED_FIFO.
    Fifo,
    /// SCHED_RR.
    Rr,
    /// SCHED_DEADLINE (EDF + CBS).
    Deadline,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Class::Other => "SCHED_OTHER",
            Class::Fifo => "SCHED_FIFO",
            Class::Rr => "SCHED_RR",
            Class::Deadline => "SCHED_DEADLINE",
        })
    }
}

/// SCHED_DEADLINE parameters: `runtime` of CPU every `period`, to be used within `deadline` of
/// each period's start. The kernel requires 1024 ns <= runtime <= deadline <= period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// Budget per period (`sched_runtime`).
    pub runtime: Duration,
    /// Relative deadline (`sched_deadline`).
    pub deadline: Duration,
    /// Period (`sched_period`).
    pub period: Duration,
}

/// A list of events repeated `repeat` times (rt-app: one entry of `phases`, or the task object
/// itself when it has no `phases`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phase {
    /// Name as in the file (rt-app phase key; `main` for a task without phases; `periodic` for
    /// TOML tasks). Not unique: rt-app files may repeat a phase key, and both phases are kept.
    pub name: String,
    /// How often the event list runs before the next phase.
    pub repeat: Repeat,
    /// The events, in file order (repeated keys kept); never empty.
    pub events: Vec<Event>,
}

/// One step of a phase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Do this much CPU work (rt-app `run`: a calibrated amount of work that takes this long on
    /// an idle CPU; it takes longer when preempted). kairos: `kairos::work`.
    Run(Duration),
    /// Stay busy until this much wall time has passed (rt-app `runtime`), however much of it the
    /// task actually got the CPU.
    Runtime(Duration),
    /// Sleep this long, relative to now.
    Sleep(Duration),
    /// Wait for the next tick of a periodic timer.
    Timer(Timer),
    /// Give up the CPU once (sched_yield / `yield_now`).
    Yield,
    /// Lock the named mutex (rt-app `lock`), waiting while another task instance holds it. A
    /// priority-inheriting mutex on every backend that has one: `PTHREAD_PRIO_INHERIT` on the
    /// kernel backend, an inheriting `kairos::sync::Mutex` on kairos (tokio's `Mutex` has no
    /// inheritance). Every instance of every task naming it shares one mutex.
    Lock(String),
    /// Unlock the named mutex (rt-app `unlock`); the instance must hold it.
    Unlock(String),
    /// Wait at the named barrier (rt-app `barrier`) until every task instance whose events
    /// name it has arrived there ([`Workload::barriers`]), then all go on. A
    /// `pthread`-style barrier on the kernel backend, `kairos::sync::Barrier` on kairos,
    /// `tokio::sync::Barrier` on tokio; a wait ends at the end of the run.
    Barrier(String),
    /// Block until another task resumes this one (rt-app `suspend`; the name is the task's
    /// own, filled in by the import when the file leaves it empty, as rt-app's workgen does).
    /// A wait ends at the end of the run.
    Suspend(String),
    /// Wake every instance of the named task that is suspended now (rt-app `resume`); one
    /// that is not suspended misses it, as with rt-app's condition broadcast.
    Resume(String),
    /// Wait on a condition variable (rt-app `wait`, `pthread_cond_wait`): release the mutex the
    /// instance holds, block until a `signal` or `broad` of the condition (or the end of the
    /// run), then lock the mutex again. The wait is part of the current job. One condition
    /// per name, shared by every task instance: a `pthread_cond_t` on the kernel backend, a
    /// `Notify` of the runtime (with a count of waiters) on kairos and tokio.
    Wait(CondWait),
    /// Wake one instance waiting on the named condition now (rt-app `signal`,
    /// `pthread_cond_signal`); with nobody waiting the signal is lost.
    Signal(String),
    /// Wake every instance waiting on the named condition now (rt-app `broad`,
    /// `pthread_cond_broadcast`).
    Broadcast(String),
    /// `Signal` the condition, then `Wait` on it (rt-app `sync`), with the mutex held
    /// throughout until the wait releases it.
    SignalWait(CondWait),
}

/// The operands of a condition wait (rt-app's `{ "ref": condition, "mutex": mutex }`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CondWait {
    /// The condition variable's name.
    pub cond: String,
    /// The mutex the instance holds, released during the wait and locked again after it.
    pub mutex: String,
}

impl Workload {
    /// Every barrier name the tasks' events use, sorted, with its number of users: the task
    /// instances whose events name it (each instance counts once however often it reaches it).
    pub fn barriers(&self) -> Vec<(String, usize)> {
        let mut users: Vec<(String, usize)> = Vec::new();
        for t in &self.tasks {
            let mut names: Vec<&str> = t
                .phases
                .iter()
                .flat_map(|p| p.events.iter())
                .filter_map(|e| match e {
                    Event::Barrier(b) => Some(b.as_str()),
                    _ => None,
                })
                .collect();
            names.sort_unstable();
            names.dedup();
            for name in names {
                let n = usize::try_from(t.instances).unwrap_or(usize::MAX);
                match users.iter_mut().find(|(b, _)| b == name) {
                    Some((_, u)) => *u = u.saturating_add(n),
                    None => users.push((name.to_owned(), n)),
                }
            }
        }
        users.sort_unstable();
        users
    }

    /// The names `pick` takes from the tasks' events, sorted, each once.
    fn event_names(&self, pick: impl Fn(&Event) -> Option<&String>) -> Vec<String> {
        let mut names: Vec<String> = self
            .tasks
            .iter()
            .flat_map(|t| t.phases.iter())
            .flat_map(|p| p.events.iter())
            .filter_map(|e| pick(e).cloned())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Every task some `suspend` event names, sorted, each once.
    pub fn suspending(&self) -> Vec<String> {
        self.event_names(|e| match e {
            Event::Suspend(t) => Some(t),
            _ => None,
        })
    }

    /// Every condition name the tasks' `wait`, `signal`, `broad` and `sync` events use, sorted,
    /// each once.
    pub fn conds(&self) -> Vec<String> {
        self.event_names(|e| match e {
            Event::Wait(w) | Event::SignalWait(w) => Some(&w.cond),
            Event::Signal(c) | Event::Broadcast(c) => Some(c),
            _ => None,
        })
    }

    /// Whether some task blocks on a condition (`wait` or `sync`).
    pub fn waits_on_conds(&self) -> bool {
        self.tasks
            .iter()
            .flat_map(|t| t.phases.iter())
            .flat_map(|p| p.events.iter())
            .any(|e| matches!(e, Event::Wait(_) | Event::SignalWait(_)))
    }

    /// Every mutex name the tasks' `lock` events use, sorted, each once.
    pub fn mutexes(&self) -> Vec<String> {
        self.event_names(|e| match e {
            Event::Lock(m) => Some(m),
            _ => None,
        })
    }
}

/// A periodic timer event: ticks at `start + k * period`, `start` being when the task first
/// reached the timer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timer {
    /// rt-app `ref`: `unique` (or any name starting with `unique`) is private to each thread
    /// instance; any other name is one timer shared by every event that names it.
    pub reference: String,
    /// Tick interval.
    pub period: Duration,
    /// What happens when the task reaches the timer after its tick has passed.
    pub mode: TimerMode,
}

/// Overrun behaviour of a [`Timer`] (rt-app `mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerMode {
    /// rt-app's default: a missed tick re-anchors the timer at "now"; missed jobs are dropped.
    Relative,
    /// Ticks stay on the original grid; a late task runs the missed jobs back to back.
    Absolute,
}

/// The shape of a simple periodic task: each job does `work`, released every `period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Periodic {
    /// Release interval.
    pub period: Duration,
    /// CPU work per job.
    pub work: Duration,
}

/// Name of the single phase a TOML task maps to.
pub const PERIODIC_PHASE: &str = "periodic";
/// Timer reference of TOML tasks: private per instance.
pub const UNIQUE_TIMER: &str = "unique";

impl TaskSpec {
    /// The phase list of a periodic task: one phase, run once per job, `work` then the next
    /// release on an absolute grid. The inverse of [`TaskSpec::as_periodic`].
    pub fn periodic_phases(p: Periodic) -> Vec<Phase> {
        vec![Phase {
            name: PERIODIC_PHASE.to_owned(),
            repeat: Repeat::Times(1),
            events: vec![
                Event::Run(p.work),
                Event::Timer(Timer {
                    reference: UNIQUE_TIMER.to_owned(),
                    period: p.period,
                    mode: TimerMode::Absolute,
                }),
            ],
        }]
    }

    /// A plain periodic task `name`: one instance, `p.work` every `p.period` on an absolute
    /// grid ([`TaskSpec::periodic_phases`]), forever, first release at the start; no scheduling
    /// fields, no job deadline, no CPU list (set them with struct update syntax).
    pub fn plain_periodic(name: &str, p: Periodic) -> TaskSpec {
        TaskSpec {
            name: name.to_owned(),
            instances: 1,
            sched: Sched::default(),
            deadline: None,
            cpus: None,
            delay: Duration::ZERO,
            repeat: Repeat::Forever,
            phases: TaskSpec::periodic_phases(p),
        }
    }

    /// `Some` if this task is exactly what [`TaskSpec::periodic_phases`] builds (what the TOML
    /// format can express): the async backends run such a task (repeated forever) as kairos'
    /// own periodic task (`crate::async_backend::periodic`).
    pub fn as_periodic(&self) -> Option<Periodic> {
        let [phase] = self.phases.as_slice() else {
            return None;
        };
        if phase.repeat != Repeat::Times(1) || phase.name != PERIODIC_PHASE {
            return None;
        }
        match phase.events.as_slice() {
            [Event::Run(work), Event::Timer(t)]
                if t.mode == TimerMode::Absolute && t.reference == UNIQUE_TIMER =>
            {
                Some(Periodic {
                    period: t.period,
                    work: *work,
                })
            }
            _ => None,
        }
    }

    /// Whether the task ends by itself (finite task and phase loops).
    pub fn is_finite(&self) -> bool {
        self.repeat != Repeat::Forever && self.phases.iter().all(|p| p.repeat != Repeat::Forever)
    }
}

/// Formats a duration in the largest unit that shows it exactly: `10ms`, `250us`, `1s`,
/// `1500ns`, `0s`. The TOML format writes durations this way; its parser reads them back.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".to_owned();
    }
    for (unit, per) in [("s", 1_000_000_000u128), ("ms", 1_000_000), ("us", 1_000)] {
        if ns.is_multiple_of(per) {
            return format!("{}{unit}", ns / per);
        }
    }
    format!("{ns}ns")
}

impl fmt::Display for Repeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Repeat::Times(n) => write!(f, "{n}"),
            Repeat::Forever => f.write_str("forever"),
        }
    }
}

impl Event {
    /// The time the event names: the duration of `run`, `runtime` and `sleep`, a timer's
    /// period; `None` for the events without one.
    pub fn time(&self) -> Option<Duration> {
        match self {
            Event::Run(d) | Event::Runtime(d) | Event::Sleep(d) => Some(*d),
            Event::Timer(t) => Some(t.period),
            Event::Yield
            | Event::Lock(_)
            | Event::Unlock(_)
            | Event::Barrier(_)
            | Event::Suspend(_)
            | Event::Resume(_)
            | Event::Wait(_)
            | Event::Signal(_)
            | Event::Broadcast(_)
            | Event::SignalWait(_) => None,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Run(d) => write!(f, "run {}", format_duration(*d)),
            Event::Runtime(d) => write!(f, "runtime {}", format_duration(*d)),
            Event::Sleep(d) => write!(f, "sleep {}", format_duration(*d)),
            Event::Timer(t) => write!(
                f,
                "timer {} {} ({})",
                t.reference,
                format_duration(t.period),
                match t.mode {
                    TimerMode::Relative => "relative",
                    TimerMode::Absolute => "absolute",
                }
            ),
            Event::Yield => f.write_str("yield"),
            Event::Lock(m) => write!(f, "lock {m}"),
            Event::Unlock(m) => write!(f, "unlock {m}"),
            Event::Barrier(b) => write!(f, "barrier {b}"),
            Event::Suspend(t) => write!(f, "suspend {t}"),
            Event::Resume(t) => write!(f, "resume {t}"),
            Event::Wait(w) => write!(f, "wait {} ({})", w.cond, w.mutex),
            Event::Signal(c) => write!(f, "signal {c}"),
            Event::Broadcast(c) => write!(f, "broad {c}"),
            Event::SignalWait(w) => write!(f, "sync {} ({})", w.cond, w.mutex),
        }
    }
}

impl fmt::Display for Sched {
    /// `SCHED_FIFO prio 50`, `SCHED_DEADLINE 2ms/8ms/10ms`, `backend's (nice 0, prio 10)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.class {
            Some(Class::Other) => write!(f, "SCHED_OTHER nice {}", self.nice)?,
            Some(c @ (Class::Fifo | Class::Rr)) => match self.priority {
                Some(p) => write!(f, "{c} prio {p}")?,
                None => write!(f, "{c}")?,
            },
            Some(Class::Deadline) => match self.reservation {
                Some(r) => write!(
                    f,
                    "SCHED_DEADLINE {}/{}/{}",
                    format_duration(r.runtime),
                    format_duration(r.deadline),
                    format_duration(r.period)
                )?,
                None => f.write_str("SCHED_DEADLINE")?,
            },
            None => {
                write!(f, "backend's (nice {}", self.nice)?;
                if let Some(p) = self.priority {
                    write!(f, ", prio {p}")?;
                }
                f.write_str(")")?;
            }
        }
        if let Some(s) = self.slice {
            write!(f, ", slice {}", format_duration(s))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_duration_picks_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_micros(250)), "250us");
        assert_eq!(format_duration(Duration::from_nanos(1024)), "1024ns");
    }

    #[test]
    fn periodic_phases_and_as_periodic_are_inverse() {
        let p = Periodic {
            period: Duration::from_millis(10),
            work: Duration::from_millis(2),
        };
        let t = TaskSpec::plain_periodic("t", p);
        assert_eq!(t.as_periodic(), Some(p));
        let mut relative = t.clone();
        if let Event::Timer(timer) = &mut relative.phases[0].events[1] {
            timer.mode = TimerMode::Relative;
        }
        assert_eq!(relative.as_periodic(), None);
        assert!(!t.is_finite());
    }
}
