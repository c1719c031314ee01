//! sched-bench's own workload format: TOML describing periodic tasks.
//!
//! ```toml
//! name = "control-loop"   # optional; default: the file name without extension
//! duration = "10s"        # wall time of one run (optional if every task has `jobs`)
//! seed = 42               # optional, default 0
//! hogs = 1                # optional: background busy threads, default 0
//!
//! [[task]]
//! name = "sensor"         # required, unique
//! count = 4               # optional: identical instances, default 1
//! period = "1ms"          # required: release interval
//! deadline = "800us"      # optional: relative deadline of each job, default = period
//! work = "200us"          # required: CPU time of each job
//! policy = "fifo"         # optional: other | fifo | rr | deadline; default: the backend's
//! priority = 80           # optional: 1..=99, higher first (FIFO/RR, kairos Priority)
//! nice = -5               # optional: -20..=19, default 0 (SCHED_OTHER, kairos Fair)
//! runtime = "250us"       # optional, policy = "deadline" only: budget, default = work
//! cpus = [0, 1]           # optional: allowed CPUs, default all
//! delay = "5ms"           # optional: offset of the first release, default 0
//! jobs = 1000             # optional: jobs per instance, default: until `duration` ends
//! ```
//!
//! Durations are strings with a unit: `ns`, `us` (or `µs`), `ms`, `s`; decimals are allowed
//! down to whole nanoseconds (`"1.5ms"`). A bare number is refused because its unit would be a
//! guess. Each task becomes one [`Phase`](super::model::Phase) `[Run(work), Timer(period,
//! absolute)]` (see [`TaskSpec::periodic_phases`]).
//!
//! Parsing uses serde with `deny_unknown_fields` and [`toml::Spanned`] values, so every error
//! (syntax, unknown or missing field, wrong type, invalid value) has a line; errors about one
//! field name it as `task[i].field`. [`to_toml`] writes a workload back in this format; parsing
//! that text gives the same [`Workload`] (tested).

use super::error::{Error, ErrorKind};
use super::model::{
    format_duration, Class, Periodic, Repeat, Reservation, Sched, TaskSpec, Workload,
};
use super::validate::{self, Field, Problem};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// The top level of a TOML workload file, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: Option<Spanned<String>>,
    duration: Option<Spanned<DurationValue>>,
    seed: Option<Spanned<i64>>,
    hogs: Option<Spanned<i64>>,
    #[serde(default)]
    task: Vec<Spanned<RawTask>>,
}

/// One `[[task]]`, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    name: Spanned<String>,
    count: Option<Spanned<i64>>,
    period: Spanned<DurationValue>,
    deadline: Option<Spanned<DurationValue>>,
    work: Spanned<DurationValue>,
    policy: Option<Spanned<String>>,
    priority: Option<Spanned<i64>>,
    nice: Option<Spanned<i64>>,
    runtime: Option<Spanned<DurationValue>>,
    cpus: Option<Spanned<Vec<i64>>>,
    delay: Option<Spanned<DurationValue>>,
    jobs: Option<Spanned<i64>>,
}

/// A duration as written: normally a string with a unit; numbers are kept only to be refused
/// with a helpful message.
enum DurationValue {
    Text(String),
    Number(String),
}

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"10ms\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<DurationValue, E> {
                Ok(DurationValue::Text(s.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<DurationValue, E> {
                Ok(DurationValue::Number(n.to_string()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<DurationValue, E> {
                Ok(DurationValue::Number(n.to_string()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<DurationValue, E> {
                Ok(DurationValue::Number(n.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses `"10ms"`, `"1.5 s"`, `"250us"`, `"250µs"`, `"100ns"` exactly (integer arithmetic).
///
/// # Errors
/// A message saying what is wrong (negative, no unit, too precise, too large).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.starts_with('-') {
        return Err(format!("\"{text}\" is negative; durations are >= 0"));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = (&s[..split], s[split..].trim_start());
    let per_unit: u128 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "" => {
            return Err(format!(
                "\"{text}\" has no unit; write e.g. \"{text}ms\" (units: ns, us, ms, s)"
            ))
        }
        other => {
            return Err(format!(
                "unknown unit `{other}` in \"{text}\"; use ns, us, ms or s"
            ))
        }
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, "0"));
    if whole.is_empty()
        || frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!(
            "\"{text}\" is not a number followed by a unit, e.g. \"10ms\""
        ));
    }
    let too_large = || format!("\"{text}\" is too large");
    let whole: u128 = whole.parse().map_err(|_| too_large())?;
    let mut ns = whole.checked_mul(per_unit).ok_or_else(too_large)?;
    if !frac.is_empty() {
        let digits = u32::try_from(frac.len()).map_err(|_| too_large())?;
        let scale = 10u128
            .checked_pow(digits)
            .ok_or_else(|| format!("\"{text}\" has too many decimals"))?;
        let frac: u128 = frac.parse().map_err(|_| too_large())?;
        let scaled = frac.checked_mul(per_unit).ok_or_else(too_large)?;
        if !scaled.is_multiple_of(scale) {
            return Err(format!("\"{text}\" is more precise than 1 ns"));
        }
        ns = ns.checked_add(scaled / scale).ok_or_else(too_large)?;
    }
    u64::try_from(ns)
        .map(Duration::from_nanos)
        .map_err(|_| too_large())
}

/// Where one task's fields are, for error lines.
struct TaskLoc {
    line: u32,
    fields: Vec<(&'static str, u32)>,
}

/// Converts spans to lines and builds errors for one file.
struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn line(&self, span: Range<usize>) -> u32 {
        let end = span.start.min(self.text.len());
        let newlines = self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        u32::try_from(newlines + 1).unwrap_or(u32::MAX)
    }

    fn invalid(&self, span: Range<usize>, field: String, message: impl Into<String>) -> Error {
        Error::new(
            self.path,
            Some(self.line(span)),
            Some(field),
            ErrorKind::Invalid(message.into()),
        )
    }

    fn duration(&self, v: &Spanned<DurationValue>, field: &str) -> Result<Duration, Error> {
        match v.get_ref() {
            DurationValue::Text(s) => parse_duration(s),
            DurationValue::Number(n) => Err(format!(
                "{n} has no unit; write a string such as \"{n}ms\" (units: ns, us, ms, s)"
            )),
        }
        .map_err(|m| self.invalid(v.span(), field.to_owned(), m))
    }

    fn int<T: TryFrom<i64>>(&self, v: &Spanned<i64>, field: &str, range: &str) -> Result<T, Error> {
        T::try_from(*v.get_ref()).map_err(|_| {
            self.invalid(
                v.span(),
                field.to_owned(),
                format!("{} is outside {range}", v.get_ref()),
            )
        })
    }
}

/// Parses a TOML workload. `default_name` names the workload when the file has no `name`;
/// `path` is only used in error messages.
///
/// # Errors
/// Syntax errors, unknown/missing fields, wrong types, invalid values and broken
/// [`validate`] invariants, each with its line and (where it is one field) the field.
pub fn parse(text: &str, path: &Path, default_name: &str) -> Result<Workload, Error> {
    let ctx = Ctx { path, text };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| ctx.line(s));
        let message = e.message().trim_end().to_owned();
        // The task a line belongs to: the `[[task]]` headers before it.
        let task_at = |line: u32| {
            text.lines()
                .take(line as usize)
                .filter(|l| l.trim_start().starts_with("[[task]]"))
                .count()
                .checked_sub(1)
        };
        let (field, kind) = match unknown_field(&message) {
            Some((name, expected)) => (
                line.and_then(task_at).map(|i| format!("task[{i}]")),
                ErrorKind::UnknownField { name, expected },
            ),
            None if message.contains("expected a sequence")
                && line.is_some_and(|l| {
                    text.lines()
                        .nth(l as usize - 1)
                        .is_some_and(|t| t.trim_start().starts_with("[task]"))
                }) =>
            {
                (
                    Some("task".to_owned()),
                    ErrorKind::Syntax(
                        "`[task]` is one table; tasks are an array of tables: write `[[task]]` \
                         (double brackets) before each task"
                            .to_owned(),
                    ),
                )
            }
            None => (None, ErrorKind::Syntax(message)),
        };
        Error::new(path, line, field, kind)
    })?;
    let duration = raw
        .duration
        .as_ref()
        .map(|d| ctx.duration(d, "duration"))
        .transpose()?;
    let seed = raw
        .seed
        .as_ref()
        .map(|s| ctx.int::<u64>(s, "seed", "0 ..= 2^63-1"))
        .transpose()?;
    let hogs = raw
        .hogs
        .as_ref()
        .map(|h| ctx.int::<usize>(h, "hogs", "0 ..= 1024"))
        .transpose()?;
    let mut tasks = Vec::with_capacity(raw.task.len());
    let mut locs = Vec::with_capacity(raw.task.len());
    for (i, t) in raw.task.iter().enumerate() {
        let (spec, loc) = task(&ctx, i, t)?;
        tasks.push(spec);
        locs.push(loc);
    }
    let name_span = raw.name.as_ref().map(Spanned::span);
    let w = Workload {
        name: raw
            .name
            .map_or_else(|| default_name.to_owned(), Spanned::into_inner),
        duration,
        seed: seed.unwrap_or(0),
        hogs: hogs.unwrap_or(0),
        hog_kind: super::model::HogKind::Yielding,
        tasks,
    };
    validate::workload(&w)
        .map_err(|p| locate(&ctx, &p, &locs, &raw.duration, &raw.hogs, name_span))?;
    Ok(w)
}

/// Picks apart serde's "unknown field `x`, expected one of `a`, `b`" message.
fn unknown_field(message: &str) -> Option<(String, String)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (name, rest) = rest.split_once('`')?;
    let expected = rest
        .trim_start_matches(", expected ")
        .trim_start_matches("one of ")
        .replace('`', "");
    Some((name.to_owned(), expected))
}

fn task(ctx: &Ctx<'_>, i: usize, t: &Spanned<RawTask>) -> Result<(TaskSpec, TaskLoc), Error> {
    let f = |name: &str| format!("task[{i}].{name}");
    let raw = t.get_ref();
    let mut fields = vec![
        ("name", ctx.line(raw.name.span())),
        ("period", ctx.line(raw.period.span())),
        ("work", ctx.line(raw.work.span())),
    ];
    let mut note = |name: &'static str, span: Option<Range<usize>>| {
        if let Some(s) = span {
            fields.push((name, ctx.line(s)));
        }
    };
    note("count", raw.count.as_ref().map(Spanned::span));
    note("deadline", raw.deadline.as_ref().map(Spanned::span));
    note("policy", raw.policy.as_ref().map(Spanned::span));
    note("priority", raw.priority.as_ref().map(Spanned::span));
    note("nice", raw.nice.as_ref().map(Spanned::span));
    note("runtime", raw.runtime.as_ref().map(Spanned::span));
    note("cpus", raw.cpus.as_ref().map(Spanned::span));
    note("jobs", raw.jobs.as_ref().map(Spanned::span));
    note("delay", raw.delay.as_ref().map(Spanned::span));

    let period = ctx.duration(&raw.period, &f("period"))?;
    if period.is_zero() {
        return Err(ctx.invalid(
            raw.period.span(),
            f("period"),
            "the period must be positive",
        ));
    }
    let work = ctx.duration(&raw.work, &f("work"))?;
    let deadline = match &raw.deadline {
        Some(d) => ctx.duration(d, &f("deadline"))?,
        None => period,
    };
    let class = match &raw.policy {
        None => None,
        Some(p) => Some(match p.get_ref().as_str() {
            "other" => Class::Other,
            "fifo" => Class::Fifo,
            "rr" => Class::Rr,
            "deadline" => Class::Deadline,
            other => {
                return Err(ctx.invalid(
                    p.span(),
                    f("policy"),
                    format!("unknown policy \"{other}\"; use \"other\", \"fifo\", \"rr\" or \"deadline\", or omit it to let the backend decide"),
                ))
            }
        }),
    };
    let runtime = raw
        .runtime
        .as_ref()
        .map(|r| ctx.duration(r, &f("runtime")))
        .transpose()?;
    if let (Some(r), false) = (&raw.runtime, class == Some(Class::Deadline)) {
        return Err(ctx.invalid(
            r.span(),
            f("runtime"),
            "`runtime` only applies with policy = \"deadline\"; remove it or set the policy",
        ));
    }
    let reservation = (class == Some(Class::Deadline)).then(|| Reservation {
        runtime: runtime.unwrap_or(work),
        deadline,
        period,
    });
    let cpus = match &raw.cpus {
        None => None,
        Some(c) => Some(
            c.get_ref()
                .iter()
                .map(|&n| {
                    usize::try_from(n).map_err(|_| {
                        ctx.invalid(c.span(), f("cpus"), format!("CPU {n} is negative"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let instances = raw
        .count
        .as_ref()
        .map(|c| ctx.int::<u32>(c, &f("count"), "1 ..= 1000000"))
        .transpose()?;
    let priority = raw
        .priority
        .as_ref()
        .map(|p| ctx.int::<u32>(p, &f("priority"), "1 ..= 99"))
        .transpose()?;
    let nice = raw
        .nice
        .as_ref()
        .map(|n| ctx.int::<i32>(n, &f("nice"), "-20 ..= 19"))
        .transpose()?;
    let jobs = raw
        .jobs
        .as_ref()
        .map(|j| ctx.int::<u64>(j, &f("jobs"), "1 ..= 2^63-1"))
        .transpose()?;
    let delay = raw
        .delay
        .as_ref()
        .map(|d| ctx.duration(d, &f("delay")))
        .transpose()?;
    let spec = TaskSpec {
        name: raw.name.get_ref().clone(),
        instances: instances.unwrap_or(1),
        sched: Sched {
            class,
            nice: nice.unwrap_or(0),
            priority,
            reservation,
            slice: None,
            kairos_priority: None,
        },
        deadline: Some(deadline),
        cpus,
        delay: delay.unwrap_or_default(),
        repeat: jobs.map_or(Repeat::Forever, Repeat::Times),
        phases: TaskSpec::periodic_phases(Periodic { period, work }),
    };
    Ok((
        spec,
        TaskLoc {
            line: ctx.line(t.span()),
            fields,
        },
    ))
}

/// Turns a validation [`Problem`] into an error at the TOML key for that field.
fn locate(
    ctx: &Ctx<'_>,
    p: &Problem,
    locs: &[TaskLoc],
    duration: &Option<Spanned<DurationValue>>,
    hogs: &Option<Spanned<i64>>,
    name: Option<Range<usize>>,
) -> Error {
    let kind = ErrorKind::Invalid(p.message.clone());
    let top = |name: &str, span: Option<Range<usize>>| {
        Error::new(
            ctx.path,
            span.map(|s| ctx.line(s)),
            Some(name.to_owned()),
            ErrorKind::Invalid(p.message.clone()),
        )
    };
    match (p.task.and_then(|i| locs.get(i).map(|l| (i, l))), p.field) {
        (Some((i, loc)), Field::Duration) => {
            Error::new(ctx.path, Some(loc.line), Some(format!("task[{i}]")), kind)
        }
        (None, Field::Duration) => top("duration", duration.as_ref().map(Spanned::span)),
        (_, Field::Hogs) => top("hogs", hogs.as_ref().map(Spanned::span)),
        (None, Field::Name) => top("name", name),
        (Some((i, loc)), field) => {
            let has = |k: &str| loc.fields.iter().any(|(n, _)| *n == k);
            let key = match field {
                Field::Name => "name",
                Field::Instances => "count",
                Field::Nice => "nice",
                Field::Priority if has("priority") => "priority",
                Field::Priority => "policy",
                Field::Runtime if has("runtime") => "runtime",
                Field::Runtime => "work",
                Field::DlDeadline | Field::JobDeadline if has("deadline") => "deadline",
                Field::DlDeadline | Field::JobDeadline => "period",
                Field::Cpus => "cpus",
                Field::Repeat => "jobs",
                Field::Delay => "delay",
                Field::Event(_, 0) => "work",
                Field::Event(..) => "period",
                Field::Slice | Field::Phase(_) | Field::Tasks | Field::Duration | Field::Hogs => {
                    "name"
                }
            };
            let line = loc
                .fields
                .iter()
                .find(|(n, _)| *n == key)
                .map_or(loc.line, |(_, l)| *l);
            Error::new(ctx.path, Some(line), Some(format!("task[{i}].{key}")), kind)
        }
        (None, _) => Error::new(ctx.path, None, Some("task".to_owned()), kind),
    }
}

#[cfg_attr(
    not(test),
    allow(
        dead_code,
        reason = "the TOML writer is exercised by the round-trip tests; the backends will use it to record file workloads"
    )
)]
/// A workload the TOML format cannot express (e.g. an rt-app import with several phases).
#[derive(Debug, thiserror::Error)]
#[error("cannot write workload `{workload}` as TOML: {reason}")]
pub struct NotExpressible {
    /// The workload's name.
    pub workload: String,
    /// Which task or setting, and why.
    pub reason: String,
}

#[cfg_attr(
    not(test),
    allow(
        dead_code,
        reason = "the TOML writer is exercised by the round-trip tests; the backends will use it to record file workloads"
    )
)]
#[derive(Serialize)]
struct OutFile<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<String>,
    seed: i64,
    hogs: usize,
    task: Vec<OutTask<'a>>,
}

#[cfg_attr(
    not(test),
    allow(
        dead_code,
        reason = "the TOML writer is exercised by the round-trip tests; the backends will use it to record file workloads"
    )
)]
#[derive(Serialize)]
struct OutTask<'a> {
    name: &'a str,
    count: u32,
    period: String,
    deadline: String,
    work: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<u32>,
    nice: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpus: Option<&'a [usize]>,
    delay: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    jobs: Option<u64>,
}

#[cfg_attr(
    not(test),
    allow(
        dead_code,
        reason = "the TOML writer is exercised by the round-trip tests; the backends will use it to record file workloads"
    )
)]
/// Writes `w` in the TOML format. [`parse`] of the result gives `w` back.
///
/// # Errors
/// [`NotExpressible`] if a task is not a simple periodic task with a deadline (several phases,
/// sleeps, relative timers, a custom slice) or the seed exceeds TOML's integer range.
pub fn to_toml(w: &Workload) -> Result<String, NotExpressible> {
    let fail = |reason: String| NotExpressible {
        workload: w.name.clone(),
        reason,
    };
    let seed = i64::try_from(w.seed)
        .map_err(|_| fail(format!("seed {} exceeds TOML's integer range", w.seed)))?;
    let mut tasks = Vec::with_capacity(w.tasks.len());
    for t in &w.tasks {
        let Some(p) = t.as_periodic() else {
            return Err(fail(format!(
                "task `{}` is not one periodic phase (run, then an absolute timer)",
                t.name
            )));
        };
        let Some(deadline) = t.deadline else {
            return Err(fail(format!("task `{}` has no job deadline", t.name)));
        };
        if t.sched.slice.is_some() {
            return Err(fail(format!("task `{}` has a custom slice", t.name)));
        }
        let runtime = match t.sched.reservation {
            None => None,
            Some(r) if r.period == p.period && r.deadline == deadline => (r.runtime != p.work).then_some(r.runtime),
            Some(_) => {
                return Err(fail(format!(
                    "task `{}`'s SCHED_DEADLINE period/deadline differ from its timer period / job deadline",
                    t.name
                )))
            }
        };
        tasks.push(OutTask {
            name: &t.name,
            count: t.instances,
            period: format_duration(p.period),
            deadline: format_duration(deadline),
            work: format_duration(p.work),
            policy: t.sched.class.map(|c| match c {
                Class::Other => "other",
                Class::Fifo => "fifo",
                Class::Rr => "rr",
                Class::Deadline => "deadline",
            }),
            priority: t.sched.priority,
            nice: t.sched.nice,
            runtime: runtime.map(format_duration),
            cpus: t.cpus.as_deref(),
            delay: format_duration(t.delay),
            jobs: match t.repeat {
                Repeat::Times(n) => Some(n),
                Repeat::Forever => None,
            },
        });
    }
    let out = OutFile {
        name: &w.name,
        duration: w.duration.map(format_duration),
        seed,
        hogs: w.hogs,
        task: tasks,
    };
    toml::to_string(&out).map_err(|e| fail(e.to_string()))
}
