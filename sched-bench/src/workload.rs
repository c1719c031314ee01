//! Built-in workloads for `sched-bench compare`: what the tasks do, independent of the runtime.
//!
//! A [`Builtin`] is a name, a one-line summary and a [`Shape`]: the parameters of a family of
//! task sets. New instances of a family are new entries in [`BUILTIN`].
//!
//! - [`Shape::Sliced`] (`mixed-small`): a batch of CPU-bound tasks run to completion; one
//!   generic runner written against [`Exec`], so every backend runs the identical task set; the
//!   result is the batch's run time. CPU work is simulated with [`work`] (a busy loop on the
//!   clock), so a task's cost does not depend on the machine's speed, only on its time.
//! - [`Shape::Periodic`] (`latency-under-load`, `mixed-latency`, `mixed-latency-hogs`,
//!   `non-yielding-hogs`):
//!   periodic tasks with deadlines plus background load for a fixed time; the result is
//!   release→start latency, response time, deadline misses and background throughput. Run by
//!   [`crate::rt_compare`]. Each set is also a workload file ([`PeriodicSet::model`]: the
//!   struct the TOML and rt-app loaders produce, valid under their rules), and that model is
//!   what every real backend runs, with the runner that runs workload files there (one runner
//!   per backend): kernel threads, or the async runner, which runs the periodic tasks as
//!   kairos' own periodic tasks (`Runtime::spawn_periodic`) on kairos and as a release loop on
//!   tokio. Only the simulator's rows run the set directly.

use crate::error::{BenchError, TaskFailed};
use crate::exec::Exec;
use crate::spin::wall as work;
use crate::workload_file::model::{HogKind, Periodic, Sched, TaskSpec, Workload as FileWorkload};
use std::time::{Duration, Instant};

/// A named built-in task set (a workload *file* is [`crate::workload_file::model::Workload`];
/// the periodic built-ins convert to one with [`PeriodicSet::model`]).
#[derive(Debug)]
pub struct Builtin {
    /// Name on the command line.
    pub name: &'static str,
    /// One line for `sched-bench workloads`.
    pub summary: &'static str,
    /// What the tasks do.
    pub shape: Shape,
}

/// Families of task sets.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// CPU-bound tasks cut into slices with a yield between slices, each spawning children.
    Sliced(Sliced),
    /// Periodic real-time tasks with deadlines plus CPU-bound background tasks, for a fixed
    /// time; run by [`crate::rt_compare`] (release-driven, not a root task).
    Periodic(PeriodicSet),
}

/// A periodic task set: `tasks` released on one absolute time grid from a common start, plus
/// `background` CPU-bound tasks that spin in [`BACKGROUND_SLICE`] slices and yield after each,
/// all on `workers` workers for `duration`.
///
/// Each task carries the scheduling parameters of every kairos policy at once (each policy reads
/// its own: `Edf` the per-job deadline, `Priority` the priority, `Fair` the nice value, `Fifo`
/// none); background tasks have none (no deadline, priority 0, nice 0).
#[derive(Clone, Copy, Debug)]
pub struct PeriodicSet {
    /// Worker threads of each runtime (`--workers` overrides).
    pub workers: usize,
    /// Length of one run (`--duration` overrides).
    pub duration: Duration,
    /// The periodic tasks.
    pub tasks: &'static [RtTask],
    /// CPU-bound background tasks.
    pub background: usize,
    /// How the background tasks compute.
    pub hogs: Hogs,
}

/// How the background tasks of a [`PeriodicSet`] compute. They have no scheduling parameters
/// (no deadline, priority 0, nice 0: the fair class under `Policy::Classes`, `SCHED_OTHER` on
/// the kernel backend).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hogs {
    /// [`BACKGROUND_SLICE`] (20 µs) of CPU per slice, then a yield: a cooperative hog.
    Cooperative,
    /// Polls this long (a spin on the wall clock; virtual CPU time under the simulator) with no
    /// cooperative check inside (no `should_yield()`, no await), then a yield: a hog that never
    /// yields inside its long polls, which a cooperative runtime cannot take the worker from.
    /// Wall time, so that the worker is held for the poll's length however loaded the machine.
    NonYielding(Duration),
}

impl Hogs {
    /// Length of one background slice (one poll of a non-yielding hog); the unit of the
    /// background throughput.
    pub fn slice(self) -> Duration {
        match self {
            Hogs::Cooperative => BACKGROUND_SLICE,
            Hogs::NonYielding(poll) => poll,
        }
    }
}

/// One periodic task of a [`PeriodicSet`].
#[derive(Clone, Copy, Debug)]
pub struct RtTask {
    /// Name in reports and in kairos' per-name metrics.
    pub name: &'static str,
    /// Release interval `T`.
    pub period: Duration,
    /// Relative deadline `D`; `None`: the period (implicit deadline).
    pub deadline: Option<Duration>,
    /// CPU time of each job `C` (`kairos::work(C)`; on tokio a CPU spin in 20 µs slices).
    pub work: Duration,
    /// Priority under kairos `Priority` (0 lowest, 255 highest).
    pub priority: u8,
    /// Nice value under kairos `Fair` (-20 ..= 19).
    pub nice: i8,
}

impl RtTask {
    /// The relative deadline: the given one, else the period.
    pub fn deadline(&self) -> Duration {
        self.deadline.unwrap_or(self.period)
    }
}

/// Real-time priority (1 ..= 99, SCHED_FIFO's range and the workload file's `priority`) of a
/// kairos priority `p` (0 ..= 255): `1 + p · 98 / 255`, so 0 → 1 and 255 → 99, order kept
/// (mixed-latency: ctrl 97, sensor 93, audio 89, video 85, telemetry 81; latency-under-load:
/// tick 99).
pub fn rt_priority(p: u8) -> u32 {
    1 + u32::from(p) * 98 / 255
}

impl PeriodicSet {
    /// This set as a workload file: the model the TOML and rt-app loaders produce
    /// ([`crate::workload_file::model`]), so any backend that runs workload files runs it.
    /// Each periodic task becomes a TOML-style periodic task (`Run(C)` then an absolute timer
    /// of period `T`, job deadline `D`, repeated until `duration` ends) with the scheduling
    /// fields `sched` gives it (the kernel rows: their Linux class and its parameters); the
    /// background tasks become `hogs`, of the [`HogKind`] of [`PeriodicSet::hogs`]
    /// (`YieldingCpu`: 20 µs slices of CPU time; `NonYielding` for `non-yielding-hogs`; the file
    /// grammar has neither: a file's hogs spin 20 µs slices of wall time).
    pub fn model(
        &self,
        name: &str,
        duration: Duration,
        sched: impl Fn(&RtTask) -> Sched,
    ) -> FileWorkload {
        let tasks = self
            .tasks
            .iter()
            .map(|task| TaskSpec {
                sched: sched(task),
                deadline: Some(task.deadline()),
                ..TaskSpec::plain_periodic(
                    task.name,
                    Periodic {
                        period: task.period,
                        work: task.work,
                    },
                )
            })
            .collect();
        FileWorkload {
            name: name.to_owned(),
            duration: Some(duration),
            seed: 0,
            hogs: self.background,
            hog_kind: match self.hogs {
                Hogs::Cooperative => HogKind::YieldingCpu,
                Hogs::NonYielding(poll) => HogKind::NonYielding(poll),
            },
            tasks,
        }
    }
}

/// Length of one background slice: a background task spins this long (wall time on the real
/// runtimes, `kairos::work` under the simulator), then yields.
pub const BACKGROUND_SLICE: Duration = Duration::from_micros(20);

const fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `latency-under-load`: one 1 ms task that has to start on time while eight background tasks
/// keep both workers busy.
static LATENCY_UNDER_LOAD: &[RtTask] = &[RtTask {
    name: "tick",
    period: ms(1),
    deadline: Some(ms(1)),
    work: us(15),
    priority: 255,
    nice: -20,
}];

/// `non-yielding-hogs`: one 1 ms task (C 50 µs, D 1 ms) beside two hogs that compute 20 ms per
/// poll ([`Hogs::NonYielding`]): on a cooperative runtime a release waits for the running hog
/// poll to end (up to 20 ms); a preemptive one (the kernel) takes the CPU from it.
static NON_YIELDING_HOGS: &[RtTask] = &[RtTask {
    name: "tick",
    period: ms(1),
    deadline: Some(ms(1)),
    work: us(50),
    priority: 255,
    nice: -20,
}];

/// `mixed-latency`: five periodic tasks (U = 0.41) on one worker. Priorities are rate
/// monotonic (shorter period, higher priority); every task gets nice -20 (more urgent than the
/// background tasks under `Fair`, equal among themselves).
static MIXED_LATENCY: &[RtTask] = &[
    RtTask {
        name: "ctrl",
        period: ms(2),
        deadline: None,
        work: us(200),
        priority: 250,
        nice: -20,
    },
    RtTask {
        name: "sensor",
        period: ms(8),
        deadline: None,
        work: us(900),
        priority: 240,
        nice: -20,
    },
    RtTask {
        name: "audio",
        period: ms(10),
        deadline: Some(us(1_500)),
        work: us(500),
        priority: 230,
        nice: -20,
    },
    RtTask {
        name: "video",
        period: ms(20),
        deadline: None,
        work: ms(2),
        priority: 220,
        nice: -20,
    },
    RtTask {
        name: "telemetry",
        period: ms(100),
        deadline: None,
        work: ms(5),
        priority: 210,
        nice: -20,
    },
];

/// `tasks` parent tasks, spawned at once from a root task. Each parent runs `slices` slices of
/// `slice` busy time with a yield after every slice; after its first slice it spawns `children`
/// children (each `child_slices` slices of the same length, yielding likewise) and, after its
/// last slice, awaits them. The root awaits every parent.
#[derive(Clone, Copy, Debug)]
pub struct Sliced {
    /// Parent tasks.
    pub tasks: usize,
    /// Slices per parent.
    pub slices: u32,
    /// Busy time of one slice.
    pub slice: Duration,
    /// Children spawned by each parent.
    pub children: usize,
    /// Slices per child.
    pub child_slices: u32,
}

/// The built-in workloads.
pub static BUILTIN: &[Builtin] = &[
    Builtin {
        name: "mixed-small",
        summary: "1,000 tasks x 4 slices of 20 us CPU with yields between slices, each \
                  spawning one 1-slice child (2,000 tasks, 100 ms CPU in all)",
        shape: Shape::Sliced(Sliced {
            tasks: 1_000,
            slices: 4,
            slice: Duration::from_micros(20),
            children: 1,
            child_slices: 1,
        }),
    },
    Builtin {
        name: "latency-under-load",
        summary: "2 workers, 3 s: a 1 ms periodic task (15 us CPU, deadline 1 ms) plus 8 \
                  background tasks spinning in 20 us slices with a yield after each",
        shape: Shape::Periodic(PeriodicSet {
            workers: 2,
            duration: ms(3_000),
            tasks: LATENCY_UNDER_LOAD,
            background: 8,
            hogs: Hogs::Cooperative,
        }),
    },
    Builtin {
        name: "mixed-latency",
        summary: "1 worker, 3 s: ctrl 200us/2ms, sensor 900us/8ms, audio 500us/10ms (D 1.5ms), \
                  video 2ms/20ms, telemetry 5ms/100ms (C/T; D = T unless given), U = 0.41",
        shape: Shape::Periodic(PeriodicSet {
            workers: 1,
            duration: ms(3_000),
            tasks: MIXED_LATENCY,
            background: 0,
            hogs: Hogs::Cooperative,
        }),
    },
    Builtin {
        name: "mixed-latency-hogs",
        summary: "mixed-latency plus 3 background tasks spinning in 20 us slices with a yield \
                  after each",
        shape: Shape::Periodic(PeriodicSet {
            workers: 1,
            duration: ms(3_000),
            tasks: MIXED_LATENCY,
            background: 3,
            hogs: Hogs::Cooperative,
        }),
    },
    Builtin {
        name: "non-yielding-hogs",
        summary: "1 worker, 3 s: a 1 ms periodic task (50 us CPU, deadline 1 ms) beside 2 \
                  background tasks computing 20 ms per poll without ever yielding inside it",
        shape: Shape::Periodic(PeriodicSet {
            workers: 1,
            duration: ms(3_000),
            tasks: NON_YIELDING_HOGS,
            background: 2,
            hogs: Hogs::NonYielding(ms(20)),
        }),
    },
];

/// The periodic built-in `name` as a sched-bench TOML workload file (`sched-bench workloads
/// --export NAME`): loaded back, it is [`PeriodicSet::model`] with the portable scheduling
/// fields (no class: the backend decides; the kairos priority as the file's 1 ..= 99 priority,
/// [`rt_priority`]; the nice value), so every backend that runs files can run it.
///
/// # Errors
/// [`BenchError::Usage`] for an unknown name or a batch workload (it is not a set of periodic
/// tasks).
pub fn export_toml(name: &str) -> Result<String, BenchError> {
    let w = find(name)?;
    let Shape::Periodic(set) = w.shape else {
        return Err(BenchError::Usage(format!(
            "'{name}' is a batch workload; only the periodic built-ins (latency-under-load, \
             mixed-latency, mixed-latency-hogs, non-yielding-hogs) can be exported as workload files"
        )));
    };
    use crate::workload_file::model::format_duration as d;
    use std::fmt::Write as _;
    let mut out = format!(
        "# sched-bench built-in `{name}` as a workload file (sched-bench workloads --export \
         {name}).\n# {}\n# The built-in runs kairos and tokio on {} worker(s): pass that as --workers.\n\
         name = \"{name}\"\nduration = \"{}\"\nhogs = {}\n",
        w.summary,
        set.workers,
        d(set.duration),
        set.background
    );
    if let Hogs::NonYielding(poll) = set.hogs {
        let _ = writeln!(
            out,
            "# Not expressible in the file format: the built-in's hogs compute {} per poll \
             without yielding; a file's hogs yield between short slices.",
            d(poll)
        );
    }
    for t in set.tasks {
        let _ = write!(
            out,
            "\n[[task]]\nname = \"{}\"\nperiod = \"{}\"\ndeadline = \"{}\"\nwork = \"{}\"\n\
             priority = {}\nnice = {}\n",
            t.name,
            d(t.period),
            d(t.deadline()),
            d(t.work),
            rt_priority(t.priority),
            t.nice
        );
    }
    Ok(out)
}

/// Looks a workload up by name.
///
/// # Errors
/// [`BenchError::Usage`] listing the valid names.
pub fn find(name: &str) -> Result<&'static Builtin, BenchError> {
    BUILTIN.iter().find(|w| w.name == name).ok_or_else(|| {
        let names: Vec<&str> = BUILTIN.iter().map(|w| w.name).collect();
        BenchError::Usage(format!(
            "unknown workload '{name}'; built-in workloads: {} (see `sched-bench workloads`)",
            names.join(", ")
        ))
    })
}

/// What one run of a workload observed.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// From the first spawn to the last completion, measured inside the root task.
    pub elapsed: Duration,
    /// Tasks that ran to completion (parents and children).
    pub tasks_completed: u64,
}

impl Sliced {
    /// Tasks one run spawns.
    pub fn tasks(&self) -> u64 {
        (self.tasks + self.tasks * self.children) as u64
    }

    /// Total busy time of one run: the lower bound of its duration on one worker.
    pub fn cpu_work(&self) -> Duration {
        let slices = self.tasks as u64
            * (u64::from(self.slices) + self.children as u64 * u64::from(self.child_slices));
        self.slice * u32::try_from(slices).unwrap_or(u32::MAX)
    }

    /// One run, as the body of a root task on `E`.
    pub async fn run<E: Exec>(self) -> Result<Outcome, TaskFailed> {
        run_sliced::<E>(self).await
    }
}

async fn run_sliced<E: Exec>(p: Sliced) -> Result<Outcome, TaskFailed> {
    let start = Instant::now();
    let parents: Vec<_> = (0..p.tasks).map(|_| E::spawn(parent::<E>(p))).collect();
    let mut tasks_completed = 0;
    for h in parents {
        tasks_completed += h.await??;
    }
    Ok(Outcome {
        elapsed: start.elapsed(),
        tasks_completed,
    })
}

/// A parent of [`Sliced`]; returns the number of tasks it accounts for (itself + children).
async fn parent<E: Exec>(p: Sliced) -> Result<u64, TaskFailed> {
    let mut children = Vec::with_capacity(p.children);
    for s in 0..p.slices {
        work(p.slice);
        if s == 0 {
            for _ in 0..p.children {
                children.push(E::spawn(sliced_job::<E>(p.child_slices, p.slice)));
            }
        }
        E::yield_now().await;
    }
    let mut done = 1;
    for c in children {
        c.await?;
        done += 1;
    }
    Ok(done)
}

async fn sliced_job<E: Exec>(slices: u32, slice: Duration) {
    for _ in 0..slices {
        work(slice);
        E::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_findable() {
        for w in BUILTIN {
            assert!(std::ptr::eq(find(w.name).unwrap(), w));
        }
        let err = find("nope").unwrap_err().to_string();
        assert!(err.contains("mixed-small"), "{err}");
    }

    /// Every periodic built-in is a valid workload file: its model passes the loader's rules
    /// and says what the set says (tasks, C, T, D, priorities, nice values, background).
    #[test]
    fn periodic_builtins_are_valid_workload_file_models() {
        use crate::workload_file::model::{Event, TimerMode};
        let mut checked = 0;
        for w in BUILTIN {
            let Shape::Periodic(set) = w.shape else {
                continue;
            };
            // The portable fields: no class (the backend decides), the priority in the file's
            // 1 ..= 99 range, the nice value.
            let portable = |t: &RtTask| Sched {
                nice: i32::from(t.nice),
                priority: Some(rt_priority(t.priority)),
                ..Sched::default()
            };
            let m = set.model(w.name, set.duration, portable);
            crate::workload_file::validate::workload(&m)
                .unwrap_or_else(|e| panic!("{}: {e:?}", w.name));
            assert_eq!(m.name, w.name);
            assert_eq!(m.duration, Some(set.duration));
            assert_eq!(m.hogs, set.background);
            let kind = match set.hogs {
                Hogs::Cooperative => HogKind::YieldingCpu,
                Hogs::NonYielding(poll) => HogKind::NonYielding(poll),
            };
            assert_eq!(m.hog_kind, kind);
            if w.name == "non-yielding-hogs" {
                assert_eq!(m.hog_kind, HogKind::NonYielding(Duration::from_millis(20)));
            }
            assert_eq!(m.tasks.len(), set.tasks.len());
            for (t, spec) in set.tasks.iter().zip(&m.tasks) {
                assert_eq!(spec.name, t.name);
                assert_eq!(spec.deadline, Some(t.deadline()));
                assert_eq!(spec.sched.nice, i32::from(t.nice));
                assert_eq!(spec.sched.priority, Some(rt_priority(t.priority)));
                assert_eq!(spec.sched.class, None, "the backend decides");
                let events = &spec.phases[0].events;
                assert_eq!(events[0], Event::Run(t.work));
                let Event::Timer(timer) = &events[1] else {
                    panic!("{}: no timer", t.name);
                };
                assert_eq!((timer.period, timer.mode), (t.period, TimerMode::Absolute));
            }
            checked += 1;
        }
        assert_eq!(checked, 4);
    }

    /// The exported TOML of every periodic built-in loads back (through the TOML loader) as
    /// exactly the set's model with the portable scheduling fields.
    #[test]
    fn exported_toml_loads_back_as_the_model() {
        use crate::workload_file::{parse_text, Format};
        for w in BUILTIN {
            let Shape::Periodic(set) = w.shape else {
                assert!(export_toml(w.name).is_err(), "{}", w.name);
                continue;
            };
            let text = export_toml(w.name).unwrap();
            let path = std::path::Path::new("exported.toml");
            let loaded = parse_text(&text, path, Format::Toml)
                .unwrap_or_else(|e| panic!("{}: {e}\n{text}", w.name));
            let portable = |t: &RtTask| Sched {
                nice: i32::from(t.nice),
                priority: Some(rt_priority(t.priority)),
                ..Sched::default()
            };
            let mut model = set.model(w.name, set.duration, portable);
            // The file grammar has only wall-time 20 µs hogs (the export of non-yielding-hogs
            // says so in a comment; CPU-time and wall-time slices are the same on an idle
            // machine).
            model.hog_kind = HogKind::Yielding;
            assert_eq!(loaded, model, "{text}");
        }
        assert!(export_toml("nope").is_err());
    }

    #[test]
    fn rt_priorities_keep_the_order() {
        assert_eq!(rt_priority(0), 1);
        assert_eq!(rt_priority(255), 99);
        let Shape::Periodic(set) = find("mixed-latency").unwrap().shape else {
            panic!("mixed-latency is periodic");
        };
        let prios: Vec<u32> = set.tasks.iter().map(|t| rt_priority(t.priority)).collect();
        assert_eq!(prios, [97, 93, 89, 85, 81]);
    }

    #[test]
    fn mixed_small_accounting() {
        let Shape::Sliced(w) = find("mixed-small").unwrap().shape else {
            panic!("mixed-small is a sliced workload");
        };
        assert_eq!(w.tasks(), 2_000);
        assert_eq!(w.cpu_work(), Duration::from_millis(100));
    }

    #[test]
    fn periodic_sets_are_feasible_and_urgent() {
        for name in [
            "latency-under-load",
            "mixed-latency",
            "mixed-latency-hogs",
            "non-yielding-hogs",
        ] {
            let Shape::Periodic(set) = find(name).unwrap().shape else {
                panic!("{name} is a periodic workload");
            };
            let utilisation: f64 = set
                .tasks
                .iter()
                .map(|t| t.work.as_secs_f64() / t.period.as_secs_f64())
                .sum();
            assert!(
                utilisation < set.workers as f64,
                "{name}: U = {utilisation}"
            );
            for t in set.tasks {
                assert!(t.work <= t.deadline() && t.deadline() <= t.period, "{t:?}");
                assert!(
                    t.priority > 0 && t.nice < 0,
                    "{t:?} is not more urgent than background"
                );
            }
        }
        // Rate monotonic: a shorter period never has a lower priority.
        let Shape::Periodic(mixed) = find("mixed-latency").unwrap().shape else {
            unreachable!()
        };
        for a in mixed.tasks {
            for b in mixed.tasks {
                if a.period < b.period {
                    assert!(a.priority > b.priority, "{a:?} vs {b:?}");
                }
            }
        }
    }
}
