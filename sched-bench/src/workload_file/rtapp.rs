//! rt-app import: the periodic subset of rt-app's JSON workload format, plus its mutexes,
//! barriers and suspend/resume.
//!
//! rt-app (github.com/scheduler-tools/rt-app) describes threads as a sequence of events. This
//! importer reads its files with [`relaxed_json`] (comments, trailing
//! commas, repeated keys kept in order, like rt-app's `workgen`) and maps them to the
//! [`model`](super::model):
//!
//! - `global`: `duration` (seconds, `-1` = until the tasks end) and `default_policy`. Keys that
//!   only steer rt-app's own logging, calibration or resources ([`IGNORED_GLOBAL`]) are accepted
//!   and ignored.
//! - `tasks`: each entry is a [`TaskSpec`]: `instance`, `loop`, `delay` (µs), `cpus`, `policy`,
//!   `priority` (the nice value for SCHED_OTHER, as in rt-app), `dl-runtime` / `dl-period` /
//!   `dl-deadline` (µs; period defaults to runtime and deadline to period, as in rt-app;
//!   `dl-runtime` on a SCHED_OTHER task is its custom slice), and either events directly or a
//!   `phases` object whose entries each have a `loop` (default 1) and events.
//! - events are recognised by key prefix in rt-app's order (so `runtime` is tested before `run`,
//!   and `run0`, `timer1` work): `run`, `runtime`, `sleep` (µs), `timer` (`ref`, `period` µs,
//!   `mode` relative|absolute), `yield`, `lock` / `unlock` (a mutex name: one
//!   priority-inheriting mutex per name, shared by every task; validation requires each phase to
//!   unlock what it locks and the tasks to lock in one order) and `barrier` (a name; its users
//!   are the task instances that name it), `suspend` (empty or the task's own name),
//!   `resume` (a task that suspends), and the condition variables: `wait` and `sync`
//!   (`{ "ref": condition, "mutex": mutex }`; `sync` signals, then waits, as rt-app's
//!   `rtapp_sig_and_wait`), `signal` and `broad` (a condition name). Validation requires a
//!   phase to hold the mutex of its `wait` (and no other), and a duration when any task waits.
//!   Every other rt-app event (`fork`, `mem`, `iorun`, ...) is rejected with [`ErrorKind::UnsupportedEvent`] naming it, as are per-phase scheduling
//!   changes and other keys rt-app reads that sched-bench does not model.
//! - `resources` (rt-app's legacy declaration; rt-app creates resources from the events that
//!   name them): entries of type `mutex`, `barrier`, `wait`, `signal`, `broadcast` or `sync`
//!   (or without a type) are accepted, other types refused.
//! - Keys rt-app's parser (`rt-app_parse_config.c`) never reads at their place, such as
//!   `global.frag` in rt-app's own examples or a misspelt key, are ignored by rt-app; they are
//!   accepted here with a warning naming their line ([`import`] returns the warnings).
//!
//! Loop semantics follow rt-app's parser: a task without `phases` is one phase; its `loop`
//! counts repetitions of that phase (absent = forever). With `phases`, the task `loop` counts
//! passes over all phases (absent = forever) and each phase's `loop` defaults to 1.

use super::error::{Error, ErrorKind};
use super::model::{
    Class, CondWait, Event, Phase, Repeat, Reservation, Sched, TaskSpec, Timer, TimerMode, Workload,
};
use super::relaxed_json::{self, Kind, Member, Value};
use super::validate::{self, Field, Problem};
use std::path::Path;
use std::time::Duration;

/// `global` keys that configure rt-app itself (logging, calibration, lock/memory/IO resources),
/// not what the tasks do; sched-bench accepts and ignores them.
pub const IGNORED_GLOBAL: &[&str] = &[
    "calibration",
    "pi_enabled",
    "lock_pages",
    "logdir",
    "log_basename",
    "log_size",
    "ftrace",
    "gnuplot",
    "cumulative_slack",
    "io_device",
    "mem_buffer_size",
];

/// rt-app's event prefixes in the order rt-app tests them (`obj_is_event` /
/// `parse_task_event_data`), with whether sched-bench supports them.
const EVENTS: &[(&str, bool)] = &[
    ("lock", true),
    ("unlock", true),
    ("wait", true),
    ("signal", true),
    ("broad", true),
    ("sync", true),
    ("sleep", true),
    ("runtime", true),
    ("run", true),
    ("timer", true),
    ("suspend", true),
    ("resume", true),
    ("mem", false),
    ("iorun", false),
    ("yield", true),
    ("barrier", true),
    ("fork", false),
];

/// Task-level keys rt-app has that sched-bench does not model.
const UNSUPPORTED_TASK_KEYS: &[(&str, &str)] = &[
    (
        "nodes_membind",
        "NUMA memory binding is not modelled; remove it",
    ),
    (
        "util_min",
        "utilisation clamping is not modelled; remove it",
    ),
    (
        "util_max",
        "utilisation clamping is not modelled; remove it",
    ),
    (
        "taskgroup",
        "cgroup task groups are not modelled; remove it",
    ),
    (
        "period",
        "rt-app's legacy task-level scheduling parameter (SCHED_DEADLINE period, read when \
         dl-period is absent) is not imported; use dl-period",
    ),
    (
        "deadline",
        "rt-app's legacy task-level scheduling parameter (SCHED_DEADLINE deadline, read when \
         dl-deadline is absent) is not imported; use dl-deadline",
    ),
];

/// Scheduling keys that rt-app also allows inside a phase (to change them mid-run).
const PHASE_SCHED_KEYS: &[&str] = &[
    "cpus",
    "policy",
    "priority",
    "dl-runtime",
    "dl-period",
    "dl-deadline",
    "nodes_membind",
    "util_min",
    "util_max",
    "taskgroup",
];

const TASK_KEYS: &str = "instance, loop, delay, cpus, policy, priority, dl-runtime, dl-period, \
                         dl-deadline, phases, nodes_membind, util_min, util_max, taskgroup, \
                         period, deadline, and events";
const PHASE_KEYS: &str = "loop, events";

/// Where the parts of one task are in the file, to point validation errors at a line.
struct TaskLoc {
    /// `tasks.<name>`.
    path: String,
    /// Line of the task's key.
    line: u32,
    /// Lines of the task's own keys.
    keys: Vec<(String, u32)>,
    /// Per phase: its path, line and its events' keys and lines.
    phases: Vec<PhaseLoc>,
}

struct PhaseLoc {
    path: String,
    line: u32,
    events: Vec<(String, u32)>,
}

/// Reads positions and values of one file.
struct Importer<'a> {
    /// The file, for messages.
    path: &'a Path,
    /// Warnings about keys rt-app's parser never reads (accepted and ignored, as rt-app does).
    warnings: std::cell::RefCell<Vec<String>>,
}

/// Imports an rt-app file's text, with one warning per key that rt-app's parser never reads
/// (such as `global.frag` in rt-app's own examples): rt-app ignores those keys, and so does this
/// importer, but a misspelt key is ignored too, so each one is reported with its line. `name`
/// becomes the workload name (the caller passes the file stem); `path` is only used in
/// messages.
///
/// # Errors
/// Malformed JSON, keys or events outside the supported subset, or a workload that breaks a
/// [`validate`] invariant; each with the line and field.
pub fn import(text: &str, path: &Path, name: &str) -> Result<(Workload, Vec<String>), Error> {
    let root = relaxed_json::parse(text).map_err(|e| Error {
        path: path.to_owned(),
        line: Some(e.line),
        column: Some(e.column),
        field: None,
        kind: ErrorKind::Syntax(e.message),
    })?;
    let importer = Importer {
        path,
        warnings: std::cell::RefCell::new(Vec::new()),
    };
    let w = importer.workload(&root, name)?;
    Ok((w, importer.warnings.into_inner()))
}

impl Importer<'_> {
    /// Records that `field` (key `key`, at `line`) is one rt-app's parser never reads.
    fn ignored(&self, line: u32, field: &str, reads: &str) {
        self.warnings.borrow_mut().push(format!(
            "{}:{line}: {field}: rt-app's parser does not read this key here (it reads {reads}), \
             so rt-app ignores it; ignored here too (check its spelling if it was meant as one \
             of those)",
            self.path.display()
        ));
    }

    fn err(&self, line: u32, field: &str, kind: ErrorKind) -> Error {
        Error::new(self.path, Some(line), Some(field.to_owned()), kind)
    }

    fn invalid(&self, line: u32, field: &str, message: impl Into<String>) -> Error {
        self.err(line, field, ErrorKind::Invalid(message.into()))
    }

    fn object<'v>(&self, v: &'v Value, field: &str) -> Result<&'v [Member], Error> {
        match &v.kind {
            Kind::Object(m) => Ok(m),
            other => Err(self.invalid(
                v.line,
                field,
                format!("expected an object, found {}", other.describe()),
            )),
        }
    }

    fn int(&self, v: &Value, field: &str, unit: &str) -> Result<i64, Error> {
        match v.kind {
            Kind::Int(i) => Ok(i),
            ref other => Err(self.invalid(
                v.line,
                field,
                format!("expected an integer ({unit}), found {}", other.describe()),
            )),
        }
    }

    fn string<'v>(&self, v: &'v Value, field: &str) -> Result<&'v str, Error> {
        match &v.kind {
            Kind::Str(s) => Ok(s),
            other => Err(self.invalid(
                v.line,
                field,
                format!("expected a string, found {}", other.describe()),
            )),
        }
    }

    /// A non-negative number of microseconds.
    fn micros(&self, v: &Value, field: &str) -> Result<Duration, Error> {
        let us = self.int(v, field, "microseconds")?;
        u64::try_from(us).map(Duration::from_micros).map_err(|_| {
            self.invalid(
                v.line,
                field,
                format!("{us} us is negative; times are non-negative microseconds"),
            )
        })
    }

    /// rt-app's `loop`: -1 (forever) or a count >= 1.
    fn repeat(&self, v: &Value, field: &str) -> Result<Repeat, Error> {
        match self.int(v, field, "a loop count")? {
            -1 => Ok(Repeat::Forever),
            n if n >= 1 => Ok(Repeat::Times(n.unsigned_abs())),
            n => Err(self.invalid(
                v.line,
                field,
                format!("loop {n}: must be -1 (forever) or at least 1"),
            )),
        }
    }

    fn no_repeat(
        &self,
        seen: &mut Vec<(String, u32)>,
        m: &Member,
        field: &str,
    ) -> Result<(), Error> {
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == m.key) {
            return Err(self.invalid(
                m.line,
                field,
                format!(
                    "`{}` is given twice (first on line {first}); keep one",
                    m.key
                ),
            ));
        }
        seen.push((m.key.clone(), m.line));
        Ok(())
    }

    fn workload(&self, root: &Value, name: &str) -> Result<Workload, Error> {
        let members = self.object(root, "(document)")?;
        let mut seen = Vec::new();
        let mut global = None;
        let mut tasks = None;
        for m in members {
            self.no_repeat(&mut seen, m, &m.key)?;
            match m.key.as_str() {
                "global" => global = Some(m),
                "tasks" => tasks = Some(m),
                "resources" => self.resources(m)?,
                other => self.ignored(m.line, other, "global, tasks, resources"),
            }
        }
        let (duration, duration_line, default_class) = match global {
            Some(g) => self.global(g)?,
            None => (None, None, Class::Other),
        };
        let Some(tasks) = tasks else {
            return Err(Error::new(
                self.path,
                Some(root.line),
                Some("tasks".to_owned()),
                ErrorKind::Invalid("the file has no `tasks` object".to_owned()),
            ));
        };
        let mut specs = Vec::new();
        let mut locs = Vec::new();
        for t in self.object(&tasks.value, "tasks")? {
            let (spec, loc) = self.task(t, default_class)?;
            specs.push(spec);
            locs.push(loc);
        }
        let w = Workload {
            name: name.to_owned(),
            duration,
            seed: 0,
            hogs: 0,
            hog_kind: super::model::HogKind::Yielding,
            tasks: specs,
        };
        validate::workload(&w).map_err(|p| self.locate(&p, &locs, tasks.line, duration_line))?;
        Ok(w)
    }

    /// `(duration, its line, default class)`.
    fn global(&self, g: &Member) -> Result<(Option<Duration>, Option<u32>, Class), Error> {
        let mut duration = None;
        let mut duration_line = None;
        let mut class = Class::Other;
        let mut seen = Vec::new();
        for m in self.object(&g.value, "global")? {
            let field = format!("global.{}", m.key);
            self.no_repeat(&mut seen, m, &field)?;
            match m.key.as_str() {
                "duration" => {
                    duration_line = Some(m.line);
                    duration = match self.int(&m.value, &field, "seconds")? {
                        -1 => None,
                        s if s >= 1 => Some(Duration::from_secs(s.unsigned_abs())),
                        s => {
                            return Err(self.invalid(
                                m.line,
                                &field,
                                format!(
                                    "{s} s: must be -1 (run until the tasks end) or at least 1"
                                ),
                            ))
                        }
                    };
                }
                "default_policy" => class = self.policy(&m.value, &field)?,
                k if IGNORED_GLOBAL.contains(&k) => {}
                _ => self.ignored(
                    m.line,
                    &field,
                    &format!("duration, default_policy, {}", IGNORED_GLOBAL.join(", ")),
                ),
            }
        }
        Ok((duration, duration_line, class))
    }

    fn policy(&self, v: &Value, field: &str) -> Result<Class, Error> {
        match self.string(v, field)? {
            "SCHED_OTHER" => Ok(Class::Other),
            "SCHED_FIFO" => Ok(Class::Fifo),
            "SCHED_RR" => Ok(Class::Rr),
            "SCHED_DEADLINE" => Ok(Class::Deadline),
            other => Err(self.invalid(
                v.line,
                field,
                format!(
                    "policy `{other}` is not supported; use SCHED_OTHER, SCHED_FIFO, SCHED_RR \
                     or SCHED_DEADLINE"
                ),
            )),
        }
    }

    /// Checks rt-app's legacy `resources` object: each entry names a resource and may give its
    /// `type`. rt-app now creates resources from the events that name them, so sched-bench
    /// does the same and only checks that every declared one is a mutex, a barrier or a
    /// condition (or has no type), the kinds it runs; other kinds (`timer`, `membuf`, `iodev`)
    /// serve events it does not import.
    fn resources(&self, m: &Member) -> Result<(), Error> {
        let mut seen = Vec::new();
        for r in self.object(&m.value, "resources")? {
            let field = format!("resources.{}", r.key);
            self.no_repeat(&mut seen, r, &field)?;
            for k in self.object(&r.value, &field)? {
                let f = format!("{field}.{}", k.key);
                match k.key.as_str() {
                    "type" => match self.string(&k.value, &f)? {
                        "mutex" | "barrier" | "wait" | "signal" | "broadcast" | "sync" => {}
                        other => {
                            return Err(self.err(
                                k.line,
                                &f,
                                ErrorKind::UnsupportedKey {
                                    key: format!("resources.{}.type = {other}", r.key),
                                    why: "only mutex (lock, unlock), barrier and condition \
                                          (wait, signal, broadcast, sync) resources are \
                                          imported; timer, memory and IO resources are not",
                                },
                            ))
                        }
                    },
                    _ => self.ignored(k.line, &f, "type"),
                }
            }
        }
        Ok(())
    }

    /// The event type of a key (`run0` → `run`), by rt-app's prefix rule.
    fn event_type(key: &str) -> Option<(&'static str, bool)> {
        EVENTS
            .iter()
            .copied()
            .find(|(prefix, _)| key.starts_with(prefix))
    }

    /// Parses event `m`, whose key has the type `event` (see [`Importer::event_type`]).
    fn event(
        &self,
        m: &Member,
        field: &str,
        (event, supported): (&'static str, bool),
    ) -> Result<Event, Error> {
        if !supported {
            return Err(self.err(
                m.line,
                field,
                ErrorKind::UnsupportedEvent {
                    key: m.key.clone(),
                    event,
                },
            ));
        }
        Ok(match event {
            "run" => Event::Run(self.micros(&m.value, field)?),
            "runtime" => Event::Runtime(self.micros(&m.value, field)?),
            "sleep" => Event::Sleep(self.micros(&m.value, field)?),
            "yield" => Event::Yield,
            "lock" => Event::Lock(self.mutex_name(&m.value, field)?),
            "unlock" => Event::Unlock(self.mutex_name(&m.value, field)?),
            "barrier" => Event::Barrier(self.mutex_name(&m.value, field)?),
            // Empty (rt-app's workgen fills in the thread's own name): filled by `task`.
            "suspend" => Event::Suspend(self.string(&m.value, field)?.to_owned()),
            "resume" => Event::Resume(self.mutex_name(&m.value, field)?),
            "wait" => Event::Wait(self.cond_wait(&m.value, field)?),
            "sync" => Event::SignalWait(self.cond_wait(&m.value, field)?),
            "signal" => Event::Signal(self.mutex_name(&m.value, field)?),
            "broad" => Event::Broadcast(self.mutex_name(&m.value, field)?),
            _ => self.timer(&m.value, field)?,
        })
    }

    /// The resource name of a `lock` / `unlock` / `barrier` event: a non-empty string.
    fn mutex_name(&self, v: &Value, field: &str) -> Result<String, Error> {
        let name = self.string(v, field)?;
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(self.invalid(
                v.line,
                field,
                "the mutex or barrier name must be a non-empty string of printable characters",
            ));
        }
        Ok(name.to_owned())
    }

    /// The operands of a `wait` or `sync` event: `{ "ref": condition, "mutex": mutex }`, both
    /// required (rt-app needs the mutex for `pthread_cond_wait`).
    fn cond_wait(&self, v: &Value, field: &str) -> Result<CondWait, Error> {
        let (mut cond, mut mutex) = (None, None);
        let mut seen = Vec::new();
        for m in self.object(v, field)? {
            let f = format!("{field}.{}", m.key);
            self.no_repeat(&mut seen, m, &f)?;
            match m.key.as_str() {
                "ref" => cond = Some(self.mutex_name(&m.value, &f)?),
                "mutex" => mutex = Some(self.mutex_name(&m.value, &f)?),
                _ => self.ignored(m.line, &f, "ref, mutex"),
            }
        }
        match (cond, mutex) {
            (Some(cond), Some(mutex)) => Ok(CondWait { cond, mutex }),
            (None, _) => Err(self.invalid(
                v.line,
                field,
                "the condition wait has no `ref` (the condition's name)",
            )),
            (_, None) => Err(self.invalid(
                v.line,
                field,
                "the condition wait has no `mutex` (the mutex the task holds, released while it \
                 waits)",
            )),
        }
    }

    fn timer(&self, v: &Value, field: &str) -> Result<Event, Error> {
        // rt-app's default reference is the shared timer "unknown".
        let mut reference = "unknown".to_owned();
        let mut period = None;
        let mut mode = TimerMode::Relative;
        let mut seen = Vec::new();
        for m in self.object(v, field)? {
            let f = format!("{field}.{}", m.key);
            self.no_repeat(&mut seen, m, &f)?;
            match m.key.as_str() {
                "ref" => self.string(&m.value, &f)?.clone_into(&mut reference),
                "period" => period = Some(self.micros(&m.value, &f)?),
                "mode" => {
                    mode = match self.string(&m.value, &f)? {
                        "relative" => TimerMode::Relative,
                        "absolute" => TimerMode::Absolute,
                        other => {
                            return Err(self.invalid(
                                m.value.line,
                                &f,
                                format!("timer mode `{other}`: use \"relative\" or \"absolute\""),
                            ))
                        }
                    }
                }
                _ => self.ignored(m.line, &f, "ref, period, mode"),
            }
        }
        let Some(period) = period else {
            return Err(self.invalid(v.line, field, "the timer has no `period` (microseconds)"));
        };
        Ok(Event::Timer(Timer {
            reference,
            period,
            mode,
        }))
    }

    fn task(&self, t: &Member, default_class: Class) -> Result<(TaskSpec, TaskLoc), Error> {
        let path = format!("tasks.{}", t.key);
        let members = self.object(&t.value, &path)?;
        let mut keys: Vec<(String, u32)> = Vec::new();
        let mut instances = 1;
        let mut repeat = None;
        let mut delay = Duration::ZERO;
        let mut cpus = None;
        let mut class = default_class;
        let mut priority = None;
        let (mut dl_runtime, mut dl_period, mut dl_deadline) = (None, None, None);
        let mut phases_member = None;
        let mut events = Vec::new();
        let mut event_locs = Vec::new();
        for m in members {
            let field = format!("{path}.{}", m.key);
            if let Some(event) = Self::event_type(&m.key) {
                events.push(self.event(m, &field, event)?);
                event_locs.push((m.key.clone(), m.line));
                continue;
            }
            self.no_repeat(&mut keys, m, &field)?;
            match m.key.as_str() {
                "instance" => {
                    let n = self.int(&m.value, &field, "a count")?;
                    instances = u32::try_from(n).map_err(|_| {
                        self.invalid(
                            m.line,
                            &field,
                            format!("instance {n}: must be 1 ..= {}", validate::MAX_INSTANCES),
                        )
                    })?;
                }
                "loop" => repeat = Some(self.repeat(&m.value, &field)?),
                "delay" => delay = self.micros(&m.value, &field)?,
                "cpus" => cpus = Some(self.cpus(&m.value, &field)?),
                "policy" => class = self.policy(&m.value, &field)?,
                "priority" => {
                    priority = Some((
                        self.int(&m.value, &field, "a priority or nice value")?,
                        m.line,
                    ))
                }
                "dl-runtime" => dl_runtime = Some(self.micros(&m.value, &field)?),
                "dl-period" => dl_period = Some(self.micros(&m.value, &field)?),
                "dl-deadline" => dl_deadline = Some(self.micros(&m.value, &field)?),
                "phases" => phases_member = Some(m),
                other => {
                    if let Some((_, why)) = UNSUPPORTED_TASK_KEYS.iter().find(|(k, _)| *k == other)
                    {
                        return Err(self.err(
                            m.line,
                            &field,
                            ErrorKind::UnsupportedKey {
                                key: other.to_owned(),
                                why,
                            },
                        ));
                    }
                    self.ignored(m.line, &field, TASK_KEYS);
                }
            }
        }
        let line_of = |key: &str| {
            keys.iter()
                .find(|(k, _)| k == key)
                .map_or(t.line, |(_, l)| *l)
        };
        // rt-app's legacy rule (rt-app_parse_config.c): a SCHED_DEADLINE task without
        // `dl-runtime` takes its reservation runtime from a task-level `runtime` key.
        if class == Class::Deadline && dl_runtime.is_none() {
            if let Some(m) = members.iter().find(|m| m.key == "runtime") {
                dl_runtime = Some(self.micros(&m.value, &format!("{path}.runtime"))?);
            }
        }
        let sched = self.sched(
            class,
            priority,
            dl_runtime,
            dl_period,
            dl_deadline,
            &path,
            &line_of,
        )?;
        let (phases, phase_locs, repeat) = match phases_member {
            Some(pm) => {
                if let Some((key, line)) = event_locs.first() {
                    return Err(self.invalid(
                        *line,
                        &format!("{path}.{key}"),
                        "events at task level next to `phases` (rt-app ignores them); move them \
                         into a phase",
                    ));
                }
                let (phases, locs) = self.phases(pm, &path)?;
                (phases, locs, repeat.unwrap_or(Repeat::Forever))
            }
            None => (
                vec![Phase {
                    name: "main".to_owned(),
                    repeat: Repeat::Times(1),
                    events,
                }],
                vec![PhaseLoc {
                    path: path.clone(),
                    line: t.line,
                    events: event_locs,
                }],
                repeat.unwrap_or(Repeat::Forever),
            ),
        };
        let deadline = sched.reservation.map(|r| r.deadline);
        // rt-app's workgen fills an empty `suspend` with the thread's own name.
        let mut phases = phases;
        for e in phases.iter_mut().flat_map(|p| p.events.iter_mut()) {
            if let Event::Suspend(name) = e {
                if name.is_empty() {
                    t.key.clone_into(name);
                }
            }
        }
        Ok((
            TaskSpec {
                name: t.key.clone(),
                instances,
                sched,
                deadline,
                cpus,
                delay,
                repeat,
                phases,
            },
            TaskLoc {
                path,
                line: t.line,
                keys,
                phases: phase_locs,
            },
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn sched(
        &self,
        class: Class,
        priority: Option<(i64, u32)>,
        dl_runtime: Option<Duration>,
        dl_period: Option<Duration>,
        dl_deadline: Option<Duration>,
        path: &str,
        line_of: &dyn Fn(&str) -> u32,
    ) -> Result<Sched, Error> {
        let mut s = Sched {
            class: Some(class),
            ..Sched::default()
        };
        let only_deadline = |key: &str| {
            self.invalid(
                line_of(key),
                &format!("{path}.{key}"),
                format!(
                    "`{key}` only applies to SCHED_DEADLINE tasks (this one is {class}); remove it"
                ),
            )
        };
        match class {
            Class::Other => {
                if let Some((nice, line)) = priority {
                    // rt-app: `priority` of a SCHED_OTHER task is its nice value.
                    s.nice = i32::try_from(nice).map_err(|_| {
                        self.invalid(
                            line,
                            &format!("{path}.priority"),
                            format!("nice {nice} is outside -20 ..= 19"),
                        )
                    })?;
                }
                s.slice = dl_runtime;
                if dl_period.is_some() {
                    return Err(only_deadline("dl-period"));
                }
                if dl_deadline.is_some() {
                    return Err(only_deadline("dl-deadline"));
                }
            }
            Class::Fifo | Class::Rr => {
                // rt-app's DEFAULT_THREAD_PRIORITY.
                let (p, line) = priority.unwrap_or((10, line_of("policy")));
                s.priority = Some(u32::try_from(p).map_err(|_| {
                    self.invalid(
                        line,
                        &format!("{path}.priority"),
                        format!("priority {p} is outside 1 ..= 99"),
                    )
                })?);
                for (key, v) in [
                    ("dl-runtime", dl_runtime),
                    ("dl-period", dl_period),
                    ("dl-deadline", dl_deadline),
                ] {
                    if v.is_some() {
                        return Err(only_deadline(key));
                    }
                }
            }
            Class::Deadline => {
                if let Some((_, line)) = priority {
                    return Err(self.invalid(
                        line,
                        &format!("{path}.priority"),
                        "`priority` has no meaning for SCHED_DEADLINE; remove it",
                    ));
                }
                // rt-app's defaults: period = runtime, deadline = period.
                let runtime = dl_runtime.unwrap_or_default();
                let period = dl_period.unwrap_or(runtime);
                let deadline = dl_deadline.unwrap_or(period);
                s.reservation = Some(Reservation {
                    runtime,
                    deadline,
                    period,
                });
            }
        }
        Ok(s)
    }

    fn cpus(&self, v: &Value, field: &str) -> Result<Vec<usize>, Error> {
        let Kind::Array(items) = &v.kind else {
            return Err(self.invalid(
                v.line,
                field,
                format!(
                    "expected an array of CPU numbers, found {}",
                    v.kind.describe()
                ),
            ));
        };
        items
            .iter()
            .map(|c| {
                let n = self.int(c, field, "a CPU number")?;
                usize::try_from(n)
                    .map_err(|_| self.invalid(c.line, field, format!("CPU {n} is negative")))
            })
            .collect()
    }

    fn phases(&self, pm: &Member, task_path: &str) -> Result<(Vec<Phase>, Vec<PhaseLoc>), Error> {
        let mut phases = Vec::new();
        let mut locs = Vec::new();
        for p in self.object(&pm.value, &format!("{task_path}.phases"))? {
            let path = format!("{task_path}.phases.{}", p.key);
            let mut repeat = Repeat::Times(1);
            let mut events = Vec::new();
            let mut event_locs = Vec::new();
            let mut seen = Vec::new();
            for m in self.object(&p.value, &path)? {
                let field = format!("{path}.{}", m.key);
                if let Some(event) = Self::event_type(&m.key) {
                    events.push(self.event(m, &field, event)?);
                    event_locs.push((m.key.clone(), m.line));
                    continue;
                }
                self.no_repeat(&mut seen, m, &field)?;
                match m.key.as_str() {
                    "loop" => repeat = self.repeat(&m.value, &field)?,
                    k if PHASE_SCHED_KEYS.contains(&k) => {
                        return Err(self.err(
                            m.line,
                            &field,
                            ErrorKind::UnsupportedKey {
                                key: k.to_owned(),
                                why: "changing scheduling parameters per phase is not \
                                      supported; set it once on the task",
                            },
                        ))
                    }
                    _ => self.ignored(
                        m.line,
                        &field,
                        &format!("{PHASE_KEYS}, {}", PHASE_SCHED_KEYS.join(", ")),
                    ),
                }
            }
            phases.push(Phase {
                name: p.key.clone(),
                repeat,
                events,
            });
            locs.push(PhaseLoc {
                path,
                line: p.line,
                events: event_locs,
            });
        }
        Ok((phases, locs))
    }

    /// Turns a validation [`Problem`] into an error at the file's key for that field.
    fn locate(
        &self,
        p: &Problem,
        locs: &[TaskLoc],
        tasks_line: u32,
        duration_line: Option<u32>,
    ) -> Error {
        let kind = ErrorKind::Invalid(p.message.clone());
        let Some(loc) = p.task.and_then(|i| locs.get(i)) else {
            return match p.field {
                Field::Duration => Error::new(
                    self.path,
                    duration_line,
                    Some("global.duration".to_owned()),
                    kind,
                ),
                _ => self.err(tasks_line, "tasks", kind),
            };
        };
        let key = |key: &str| -> (u32, String) {
            let line = loc
                .keys
                .iter()
                .find(|(k, _)| k == key)
                .map_or(loc.line, |(_, l)| *l);
            (line, format!("{}.{key}", loc.path))
        };
        let (line, field) = match p.field {
            Field::Duration => (
                duration_line.unwrap_or(loc.line),
                "global.duration".to_owned(),
            ),
            Field::Hogs | Field::Tasks | Field::Name => (loc.line, loc.path.clone()),
            Field::Instances => key("instance"),
            Field::Nice | Field::Priority => key("priority"),
            Field::Runtime | Field::Slice => key("dl-runtime"),
            Field::DlDeadline | Field::JobDeadline => key("dl-deadline"),
            Field::Cpus => key("cpus"),
            Field::Repeat => key("loop"),
            Field::Delay => key("delay"),
            Field::Phase(i) => match loc.phases.get(i) {
                Some(ph) => (ph.line, ph.path.clone()),
                None => (loc.line, format!("{}.phases", loc.path)),
            },
            Field::Event(i, j) => match loc
                .phases
                .get(i)
                .and_then(|ph| ph.events.get(j).map(|e| (ph, e)))
            {
                Some((ph, (k, line))) => (*line, format!("{}.{k}", ph.path)),
                None => (loc.line, loc.path.clone()),
            },
        };
        self.err(line, &field, kind)
    }
}
