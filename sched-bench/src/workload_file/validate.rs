//! The model's invariants, checked once for both formats.
//!
//! Front ends ([`toml_format`](super::toml_format), [`rtapp`](super::rtapp)) check only what
//! their syntax can get wrong (types, units, unknown keys). Everything about the *meaning* of a
//! workload (ranges, SCHED_DEADLINE's rules, a workload that would never end) is checked here on
//! the finished [`Workload`], and a [`Problem`] names the offending task and model [`Field`]; the
//! front end turns that into the file's own field name and line.

use super::model::{Class, Event, Phase, Repeat, TaskSpec, Workload};
use std::collections::HashSet;
use std::time::Duration;

/// The smallest SCHED_DEADLINE runtime the kernel accepts: `1 << DL_SCALE` ns
/// (`__checkparam_dl` in kernel/sched/deadline.c).
pub const MIN_DL_RUNTIME: Duration = Duration::from_nanos(1024);
/// Nice range of SCHED_OTHER.
pub const NICE: std::ops::RangeInclusive<i32> = -20..=19;
/// Real-time priority range of SCHED_FIFO / SCHED_RR.
pub const PRIORITY: std::ops::RangeInclusive<u32> = 1..=99;
/// CPU numbers must fit a default `cpu_set_t` (CPU_SETSIZE).
pub const MAX_CPU: usize = 1023;
/// Upper bound on `instances`: more copies of one task than this is a typo, not a benchmark.
pub const MAX_INSTANCES: u32 = 1_000_000;
/// Upper bound on background hogs (one busy thread each).
pub const MAX_HOGS: usize = 1024;
/// Longest time a field may give (duration, delay, event times, deadlines, reservations)
/// unless long times are allowed ([`allow_long_times`]): one day. Longer is almost always a
/// unit mistake, and a day-long run is not a benchmark anyone waits for by accident.
pub const MAX_TIME: Duration = Duration::from_secs(24 * 3600);

/// Whether times beyond [`MAX_TIME`] are accepted (`--allow-long-times`); set once by `main`
/// before any workload file is loaded.
static ALLOW_LONG_TIMES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Accepts times beyond [`MAX_TIME`] from now on (`--allow-long-times`).
pub fn allow_long_times() {
    ALLOW_LONG_TIMES.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// `Err` with a message if `d` is beyond [`MAX_TIME`] and long times are not allowed.
fn time(what: &str, d: Duration) -> Result<(), String> {
    if d > MAX_TIME && !ALLOW_LONG_TIMES.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(format!(
            "{what} of {} is longer than a day ({} s); check the unit, or pass \
             --allow-long-times if it is meant",
            super::model::format_duration(d),
            d.as_secs()
        ));
    }
    Ok(())
}

/// A model field a [`Problem`] is about; front ends map it to their own spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Workload duration.
    Duration,
    /// Workload hog count.
    Hogs,
    /// The task list as a whole.
    Tasks,
    /// Task name; with no task index, the workload's name.
    Name,
    /// Task instances.
    Instances,
    /// Task nice value.
    Nice,
    /// Task real-time priority.
    Priority,
    /// SCHED_DEADLINE runtime.
    Runtime,
    /// SCHED_DEADLINE deadline.
    DlDeadline,
    /// SCHED_OTHER custom slice.
    Slice,
    /// Per-job relative deadline.
    JobDeadline,
    /// CPU set.
    Cpus,
    /// Task loop count.
    Repeat,
    /// Delay before the task's first phase.
    Delay,
    /// Phase `.0` (its loop count or its event list).
    Phase(usize),
    /// Event `.1` of phase `.0`.
    Event(usize, usize),
}

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Index of the task in [`Workload::tasks`], for task fields.
    pub task: Option<usize>,
    /// The field.
    pub field: Field,
    /// What is wrong and what to do.
    pub message: String,
}

fn problem(task: Option<usize>, field: Field, message: String) -> Problem {
    Problem {
        task,
        field,
        message,
    }
}

/// Checks every invariant of `w`; the first broken one in file order is returned.
///
/// # Errors
/// The first [`Problem`] found.
pub fn workload(w: &Workload) -> Result<(), Problem> {
    if w.tasks.is_empty() {
        return Err(problem(
            None,
            Field::Tasks,
            "the workload has no tasks; add at least one".to_owned(),
        ));
    }
    if let Some(c) = w.name.chars().find(|c| c.is_control()) {
        return Err(problem(
            None,
            Field::Name,
            format!(
                "the workload name {:?} contains the control character U+{:04X}; names appear \
                 in reports and file names, use printable characters",
                w.name, c as u32
            ),
        ));
    }
    if w.duration == Some(Duration::ZERO) {
        return Err(problem(
            None,
            Field::Duration,
            "the duration must be positive".to_owned(),
        ));
    }
    if let Some(d) = w.duration {
        time("the duration", d).map_err(|m| problem(None, Field::Duration, m))?;
    }
    if w.hogs > MAX_HOGS {
        return Err(problem(
            None,
            Field::Hogs,
            format!("{} hogs is more than the limit of {MAX_HOGS}", w.hogs),
        ));
    }
    let mut names = HashSet::new();
    for (i, t) in w.tasks.iter().enumerate() {
        if !names.insert(t.name.as_str()) {
            return Err(problem(
                Some(i),
                Field::Name,
                format!(
                    "task name `{}` is used twice; give each task its own name",
                    t.name
                ),
            ));
        }
        task(t).map_err(|(field, message)| problem(Some(i), field, message))?;
    }
    lock_order(w).map_err(|(i, message)| problem(Some(i), Field::Tasks, message))?;
    for (i, t) in w.tasks.iter().enumerate() {
        for (p, phase) in t.phases.iter().enumerate() {
            for (e, event) in phase.events.iter().enumerate() {
                let message = match event {
                    Event::Suspend(name) if *name != t.name => format!(
                        "`suspend {name}`: a task suspends itself; leave the name empty or give \
                         this task's name `{}`",
                        t.name
                    ),
                    Event::Resume(name) if !w.suspending().contains(name) => format!(
                        "`resume {name}`: no task named `{name}` suspends itself; name a task \
                         with a `suspend` event"
                    ),
                    _ => continue,
                };
                return Err(problem(Some(i), Field::Event(p, e), message));
            }
        }
    }
    if w.duration.is_none() && !w.suspending().is_empty() {
        return Err(problem(
            None,
            Field::Duration,
            "`suspend` needs a duration: a task whose resumer has finished would wait forever; \
             set a duration"
                .to_owned(),
        ));
    }
    if w.duration.is_none() && w.waits_on_conds() {
        return Err(problem(
            None,
            Field::Duration,
            "`wait` and `sync` need a duration: a task whose signaller has finished would wait \
             forever; set a duration"
                .to_owned(),
        ));
    }
    if w.duration.is_none() {
        if let Some((b, _)) = w.barriers().first() {
            return Err(problem(
                None,
                Field::Duration,
                format!(
                    "barrier `{b}` needs a duration: an instance that has finished its loops \
                     never arrives, and the others would wait for it forever; set a duration"
                ),
            ));
        }
    }
    if w.duration.is_none() {
        if let Some((i, t)) = w.tasks.iter().enumerate().find(|(_, t)| !t.is_finite()) {
            return Err(problem(
                Some(i),
                Field::Duration,
                format!(
                    "the workload would never end: task `{}` loops forever and no duration is \
                     set; set a duration or give every loop a count",
                    t.name
                ),
            ));
        }
    }
    Ok(())
}

/// Checks one task.
fn task(t: &TaskSpec) -> Result<(), (Field, String)> {
    if t.name.is_empty() {
        return Err((Field::Name, "the task name is empty".to_owned()));
    }
    if let Some(c) = t.name.chars().find(|c| c.is_control()) {
        return Err((
            Field::Name,
            format!(
                "the task name {:?} contains the control character U+{:04X}; names appear in \
                 reports and file names, use printable characters",
                t.name, c as u32
            ),
        ));
    }
    if !(1..=MAX_INSTANCES).contains(&t.instances) {
        return Err((
            Field::Instances,
            format!("{} instances: must be 1 ..= {MAX_INSTANCES}", t.instances),
        ));
    }
    sched(t)?;
    times(t)?;
    if t.deadline == Some(Duration::ZERO) {
        return Err((
            Field::JobDeadline,
            "the deadline must be positive".to_owned(),
        ));
    }
    if let Some(cpus) = &t.cpus {
        if cpus.is_empty() {
            return Err((
                Field::Cpus,
                "the CPU list is empty; omit it to allow every CPU".to_owned(),
            ));
        }
        let mut seen = HashSet::new();
        for &c in cpus {
            if c > MAX_CPU {
                return Err((
                    Field::Cpus,
                    format!("CPU {c} is beyond the largest supported CPU number {MAX_CPU}"),
                ));
            }
            if !seen.insert(c) {
                return Err((Field::Cpus, format!("CPU {c} is listed twice")));
            }
        }
    }
    if t.repeat == Repeat::Times(0) {
        return Err((
            Field::Repeat,
            "the loop count must be at least 1 (or forever)".to_owned(),
        ));
    }
    if t.phases.is_empty() {
        return Err((Field::Phase(0), "the task has no phases".to_owned()));
    }
    for (p, phase) in t.phases.iter().enumerate() {
        if phase.repeat == Repeat::Times(0) {
            return Err((
                Field::Phase(p),
                "the phase loop count must be at least 1 (or forever)".to_owned(),
            ));
        }
        if phase.events.is_empty() {
            return Err((
                Field::Phase(p),
                "the phase has no events; give it at least one (run, runtime, sleep, timer, \
                 yield)"
                    .to_owned(),
            ));
        }
        for (e, event) in phase.events.iter().enumerate() {
            if let Event::Timer(timer) = event {
                if timer.period.is_zero() {
                    return Err((
                        Field::Event(p, e),
                        "the timer period must be positive".to_owned(),
                    ));
                }
            }
        }
        locks_balanced(p, phase)?;
    }
    Ok(())
}

/// Checks that phase `p` unlocks every mutex it locks, before it ends, and locks none it holds
/// or unlocks none it does not hold (so every repetition starts and ends holding nothing, and
/// a task instance never waits for itself).
fn locks_balanced(p: usize, phase: &Phase) -> Result<(), (Field, String)> {
    let mut held: Vec<&str> = Vec::new();
    for (e, event) in phase.events.iter().enumerate() {
        match event {
            Event::Lock(m) if held.contains(&m.as_str()) => {
                return Err((
                    Field::Event(p, e),
                    format!("`lock {m}`: the task already holds `{m}` here (it would wait for itself)"),
                ));
            }
            Event::Lock(m) => held.push(m),
            Event::Wait(w) | Event::SignalWait(w) if !held.contains(&w.mutex.as_str()) => {
                return Err((
                    Field::Event(p, e),
                    format!(
                        "`{event}`: a condition wait releases `{m}` and locks it again, so the \
                         task must hold it here (pthread_cond_wait's rule); `lock {m}` before it \
                         in the same phase",
                        m = w.mutex
                    ),
                ));
            }
            Event::Wait(w) | Event::SignalWait(w) if held.len() > 1 => {
                let other = held.iter().find(|h| **h != w.mutex).copied().unwrap_or_default();
                return Err((
                    Field::Event(p, e),
                    format!(
                        "`{event}` while also holding `{other}`: the task that would signal \
                         could be waiting for that mutex; unlock it before the wait"
                    ),
                ));
            }
            Event::Barrier(_) | Event::Suspend(_) if !held.is_empty() => {
                return Err((
                    Field::Event(p, e),
                    format!(
                        "`{event}` while holding `{}`: the instances it waits for could be \
                         waiting for that mutex; unlock before it",
                        held[0]
                    ),
                ));
            }
            Event::Unlock(m) => match held.iter().position(|h| h == m) {
                Some(i) => {
                    held.remove(i);
                }
                None => {
                    return Err((
                        Field::Event(p, e),
                        format!("`unlock {m}`: the task does not hold `{m}` here; lock it first in the same phase"),
                    ))
                }
            },
            _ => {}
        }
    }
    match held.first() {
        Some(m) => Err((
            Field::Phase(p),
            format!("the phase ends holding `{m}`; unlock it within the phase"),
        )),
        None => Ok(()),
    }
}

/// Checks that no two tasks can wait for each other through their mutexes: the "locks `b` while
/// holding `a`" pairs of every phase of every task form no cycle (else the run could deadlock).
/// Returns the index of a task on a cycle and the cycle's description.
fn lock_order(w: &Workload) -> Result<(), (usize, String)> {
    let mut edges: Vec<(&str, &str, usize)> = Vec::new();
    for (i, t) in w.tasks.iter().enumerate() {
        for phase in &t.phases {
            let mut held: Vec<&str> = Vec::new();
            for event in &phase.events {
                match event {
                    Event::Lock(m) => {
                        for h in &held {
                            if !edges.iter().any(|&(a, b, _)| a == *h && b == m) {
                                edges.push((h, m, i));
                            }
                        }
                        held.push(m);
                    }
                    Event::Unlock(m) => held.retain(|h| h != m),
                    _ => {}
                }
            }
        }
    }
    // Depth-first search for a path back to the start of each edge.
    for &(a, b, task) in &edges {
        let mut stack = vec![b];
        let mut seen: Vec<&str> = Vec::new();
        while let Some(n) = stack.pop() {
            if n == a {
                return Err((
                    task,
                    format!(
                        "the tasks lock `{a}` and `{b}` in both orders (`{b}` while holding \
                         `{a}`, and back): two instances could wait for each other forever; \
                         lock them in one order everywhere"
                    ),
                ));
            }
            if seen.contains(&n) {
                continue;
            }
            seen.push(n);
            stack.extend(edges.iter().filter(|e| e.0 == n).map(|e| e.1));
        }
    }
    Ok(())
}

/// Checks that no time of one task is beyond [`MAX_TIME`].
fn times(t: &TaskSpec) -> Result<(), (Field, String)> {
    time("the delay", t.delay).map_err(|m| (Field::Delay, m))?;
    if let Some(d) = t.deadline {
        time("the deadline", d).map_err(|m| (Field::JobDeadline, m))?;
    }
    if let Some(r) = t.sched.reservation {
        time("the SCHED_DEADLINE runtime", r.runtime).map_err(|m| (Field::Runtime, m))?;
        time("the SCHED_DEADLINE deadline", r.deadline).map_err(|m| (Field::DlDeadline, m))?;
        time("the SCHED_DEADLINE period", r.period).map_err(|m| (Field::DlDeadline, m))?;
    }
    if let Some(s) = t.sched.slice {
        time("the slice", s).map_err(|m| (Field::Slice, m))?;
    }
    for (p, phase) in t.phases.iter().enumerate() {
        for (e, event) in phase.events.iter().enumerate() {
            let Some(d) = event.time() else {
                continue;
            };
            time(&format!("`{event}`: the time"), d).map_err(|m| (Field::Event(p, e), m))?;
        }
    }
    Ok(())
}

/// Checks the scheduling attributes of one task.
fn sched(t: &TaskSpec) -> Result<(), (Field, String)> {
    let s = &t.sched;
    if !NICE.contains(&s.nice) {
        return Err((
            Field::Nice,
            format!("nice {} is outside -20 ..= 19", s.nice),
        ));
    }
    if let Some(p) = s.priority {
        if !PRIORITY.contains(&p) {
            return Err((Field::Priority, format!("priority {p} is outside 1 ..= 99")));
        }
    }
    match s.class {
        Some(c @ (Class::Fifo | Class::Rr)) if s.priority.is_none() => {
            return Err((Field::Priority, format!("{c} needs a priority 1 ..= 99")));
        }
        Some(Class::Deadline) if s.reservation.is_none() => {
            return Err((
                Field::Runtime,
                "SCHED_DEADLINE needs a runtime, deadline and period".to_owned(),
            ));
        }
        _ => {}
    }
    if let Some(r) = s.reservation {
        if s.class != Some(Class::Deadline) {
            return Err((
                Field::Runtime,
                "runtime/deadline/period reservations only apply to SCHED_DEADLINE".to_owned(),
            ));
        }
        if r.runtime < MIN_DL_RUNTIME {
            return Err((
                Field::Runtime,
                format!(
                    "SCHED_DEADLINE runtime {} ns is below the kernel's minimum of 1024 ns",
                    r.runtime.as_nanos()
                ),
            ));
        }
        if r.deadline > r.period {
            return Err((
                Field::DlDeadline,
                format!(
                    "SCHED_DEADLINE deadline {:?} is longer than the period {:?}; the kernel \
                     needs runtime <= deadline <= period",
                    r.deadline, r.period
                ),
            ));
        }
        if r.runtime > r.deadline {
            return Err((
                Field::Runtime,
                format!(
                    "SCHED_DEADLINE runtime {:?} is longer than the deadline {:?}; the kernel \
                     needs runtime <= deadline <= period",
                    r.runtime, r.deadline
                ),
            ));
        }
    }
    if s.slice.is_some() && !matches!(s.class, None | Some(Class::Other)) {
        return Err((
            Field::Slice,
            "a custom slice only applies to SCHED_OTHER tasks".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload_file::model::{Periodic, Reservation};

    fn periodic(name: &str) -> TaskSpec {
        TaskSpec::plain_periodic(
            name,
            Periodic {
                period: Duration::from_millis(10),
                work: Duration::from_millis(1),
            },
        )
    }

    fn one(t: TaskSpec) -> Workload {
        Workload {
            name: "w".into(),
            duration: Some(Duration::from_secs(1)),
            seed: 0,
            hogs: 0,
            hog_kind: crate::workload_file::model::HogKind::Yielding,
            tasks: vec![t],
        }
    }

    fn field_of(w: &Workload) -> Field {
        workload(w).unwrap_err().field
    }

    fn deadline_task(runtime_ns: u64, deadline_ns: u64, period_ns: u64) -> TaskSpec {
        let mut t = periodic("dl");
        t.sched.class = Some(Class::Deadline);
        t.sched.reservation = Some(Reservation {
            runtime: Duration::from_nanos(runtime_ns),
            deadline: Duration::from_nanos(deadline_ns),
            period: Duration::from_nanos(period_ns),
        });
        t
    }

    #[test]
    fn a_plain_periodic_task_is_valid() {
        workload(&one(periodic("a"))).unwrap();
    }

    #[test]
    fn deadline_rules() {
        workload(&one(deadline_task(1024, 2000, 2000))).unwrap();
        assert_eq!(
            field_of(&one(deadline_task(1023, 2000, 2000))),
            Field::Runtime
        );
        assert_eq!(
            field_of(&one(deadline_task(1024, 3000, 2000))),
            Field::DlDeadline
        );
        assert_eq!(
            field_of(&one(deadline_task(2500, 2000, 2000))),
            Field::Runtime
        );
        let mut no_res = periodic("x");
        no_res.sched.class = Some(Class::Deadline);
        assert_eq!(field_of(&one(no_res)), Field::Runtime);
        let mut stray = deadline_task(1024, 2000, 2000);
        stray.sched.class = Some(Class::Fifo);
        stray.sched.priority = Some(1);
        assert_eq!(field_of(&one(stray)), Field::Runtime);
    }

    #[test]
    fn ranges() {
        let mut t = periodic("a");
        t.sched.nice = 20;
        assert_eq!(field_of(&one(t)), Field::Nice);
        let mut t = periodic("a");
        t.sched.priority = Some(0);
        assert_eq!(field_of(&one(t)), Field::Priority);
        let mut t = periodic("a");
        t.sched.class = Some(Class::Rr);
        assert_eq!(field_of(&one(t)), Field::Priority);
        let mut t = periodic("a");
        t.instances = 0;
        assert_eq!(field_of(&one(t)), Field::Instances);
        let mut t = periodic("a");
        t.cpus = Some(vec![1, 1]);
        assert_eq!(field_of(&one(t)), Field::Cpus);
        let mut t = periodic("a");
        t.cpus = Some(vec![]);
        assert_eq!(field_of(&one(t)), Field::Cpus);
        let mut t = periodic("a");
        t.deadline = Some(Duration::ZERO);
        assert_eq!(field_of(&one(t)), Field::JobDeadline);
        let mut t = periodic("a");
        t.phases[0].events.clear();
        assert_eq!(field_of(&one(t)), Field::Phase(0));
        let mut t = periodic("a");
        if let Event::Timer(timer) = &mut t.phases[0].events[1] {
            timer.period = Duration::ZERO;
        }
        assert_eq!(field_of(&one(t)), Field::Event(0, 1));
    }

    #[test]
    fn workload_rules() {
        let mut w = one(periodic("a"));
        w.tasks.push(periodic("a"));
        let p = workload(&w).unwrap_err();
        assert_eq!((p.task, p.field), (Some(1), Field::Name));
        let mut w = one(periodic("a"));
        w.duration = None;
        let p = workload(&w).unwrap_err();
        assert_eq!(p.field, Field::Duration);
        assert!(p.message.contains("never end"), "{}", p.message);
        w.tasks[0].repeat = Repeat::Times(3);
        workload(&w).unwrap();
        w.tasks.clear();
        assert_eq!(field_of(&w), Field::Tasks);
    }

    /// Issue 18, point 5: absurd times are refused, naming the field.
    #[test]
    fn times_beyond_a_day_are_refused() {
        let mut t = periodic("a");
        t.delay = Duration::from_nanos(1_000_000_000_000_000_000);
        let p = workload(&one(t)).unwrap_err();
        assert_eq!(p.field, Field::Delay);
        assert!(p.message.contains("--allow-long-times"), "{}", p.message);
        let mut t = periodic("a");
        t.phases[0].events[1] = Event::Sleep(Duration::from_secs(2 * 24 * 3600));
        assert_eq!(field_of(&one(t)), Field::Event(0, 1));
        let mut w = one(periodic("a"));
        w.duration = Some(MAX_TIME + Duration::from_nanos(1));
        assert_eq!(field_of(&w), Field::Duration);
        w.duration = Some(MAX_TIME);
        workload(&w).unwrap();
    }
}
