//! Tests of the workload file loaders against rt-app files (the repository's fixtures, and
//! rt-app's published examples when `../shared` is beside the repository), the TOML round trip,
//! bad inputs (errors with file/line/field, never panics) and format detection.

use super::model::{
    Class, CondWait, Event, Phase, Repeat, Reservation, Timer, TimerMode, Workload,
};
use super::toml_format::{parse_duration, to_toml};
use super::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The repository's own rt-app files (`tests/fixtures/rt-app/`), one per feature the loader
/// models.
fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rt-app")
}

fn example(name: &str) -> PathBuf {
    fixtures_dir().join(name)
}

/// Every rt-app JSON file to run the whole-file tests on: the fixtures, and rt-app's published
/// examples in `../shared/rt-app/examples` when that folder is beside the repository (it is
/// optional: without it the test says so and runs on the fixtures alone).
fn rt_app_files() -> Vec<PathBuf> {
    let mut dirs = vec![fixtures_dir()];
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/rt-app/examples");
    if shared.is_dir() {
        dirs.push(shared);
    } else {
        eprintln!(
            "note: {} is absent: skipping rt-app's published examples, running the repository's \
             fixtures only",
            shared.display()
        );
    }
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn timer(period_us: u64) -> Event {
    Event::Timer(Timer {
        reference: "unique".to_owned(),
        period: us(period_us),
        mode: TimerMode::Relative,
    })
}

fn phase(name: &str, repeat: Repeat, events: Vec<Event>) -> Phase {
    Phase {
        name: name.to_owned(),
        repeat,
        events,
    }
}

fn json(text: &str) -> Result<Workload, Error> {
    parse_text(text, Path::new("t.json"), Format::RtApp)
}

fn toml(text: &str) -> Result<Workload, Error> {
    parse_text(text, Path::new("t.toml"), Format::Toml)
}

// ---- rt-app examples -------------------------------------------------------------------------

#[test]
fn every_example_imports_or_names_what_is_unsupported() {
    let files = rt_app_files();
    assert!(files.len() >= 6, "expected the 6 fixtures, found {files:?}");
    for f in &files {
        match load(f) {
            Ok(w) => assert!(!w.tasks.is_empty(), "{}", f.display()),
            Err(e) => match &e.kind {
                ErrorKind::UnsupportedEvent { key, .. } | ErrorKind::UnsupportedKey { key, .. } => {
                    assert!(e.to_string().contains(key.as_str()), "{e}");
                    assert!(e.line.is_some(), "{e}");
                }
                _ => panic!(
                    "{} was rejected without naming an unsupported event: {e}",
                    f.display()
                ),
            },
        }
    }
}

#[test]
fn template_json() {
    let w = load(&example("periodic-timer.json")).unwrap();
    assert_eq!(w.name, "periodic-timer");
    assert_eq!(w.duration, Some(Duration::from_secs(6)));
    let [t] = w.tasks.as_slice() else {
        panic!("{w:?}")
    };
    assert_eq!(
        (t.name.as_str(), t.instances, t.repeat),
        ("thread0", 1, Repeat::Forever)
    );
    assert_eq!(t.sched.class, Some(Class::Other));
    assert_eq!(
        t.phases,
        [phase(
            "main",
            Repeat::Times(1),
            vec![
                Event::Run(us(10_000)),
                Event::Sleep(Duration::ZERO),
                timer(100_000)
            ]
        )]
    );
}

#[test]
fn example1_run_then_sleep() {
    let w = load(&example("run-sleep.json")).unwrap();
    assert_eq!(w.duration, Some(Duration::from_secs(2)));
    let t = &w.tasks[0];
    assert_eq!(t.repeat, Repeat::Forever);
    assert_eq!(
        t.phases[0].events,
        [Event::Run(us(20_000)), Event::Sleep(us(80_000))]
    );
}

#[test]
fn example2_periodic_relative_timer() {
    let w = load(&example("relative-timer.json")).unwrap();
    let t = &w.tasks[0];
    assert_eq!(t.phases[0].events, [Event::Run(us(10_000)), timer(100_000)]);
    assert_eq!(t.deadline, None);
    // rt-app timers default to relative mode, which the TOML format does not express.
    let err = to_toml(&w).unwrap_err();
    assert!(err.to_string().contains("thread0"), "{err}");
}

#[test]
fn example3_phases_without_global() {
    let w = load(&example("phases.json")).unwrap();
    assert_eq!(
        w.duration, None,
        "no global section: run until the tasks end"
    );
    let t = &w.tasks[0];
    assert_eq!((t.instances, t.repeat), (12, Repeat::Times(1)));
    assert_eq!(
        t.phases,
        [
            phase(
                "light",
                Repeat::Times(10),
                vec![Event::Run(us(3_000)), timer(30_000)]
            ),
            phase(
                "heavy",
                Repeat::Times(10),
                vec![Event::Run(us(27_000)), timer(30_000)]
            ),
        ]
    );
}

#[test]
fn spreading_tasks_keeps_the_repeated_phase() {
    let w = load(&example("repeated-phase.json")).unwrap();
    assert_eq!(w.duration, Some(Duration::from_secs(60)));
    let names = |i: usize| -> Vec<(String, Repeat)> {
        w.tasks[i]
            .phases
            .iter()
            .map(|p| (p.name.clone(), p.repeat))
            .collect()
    };
    assert_eq!(
        names(0),
        [
            ("light".into(), Repeat::Times(300)),
            ("heavy".into(), Repeat::Times(300))
        ]
    );
    // thread2 has the key "heavy1" twice; both phases are kept, in file order.
    assert_eq!(
        names(1),
        [
            ("light1".into(), Repeat::Times(900)),
            ("heavy1".into(), Repeat::Times(600)),
            ("light2".into(), Repeat::Times(300)),
            ("heavy1".into(), Repeat::Times(600)),
        ]
    );
    assert_eq!(
        w.tasks[1].phases[3].events,
        [Event::Run(us(7_000)), timer(10_000)]
    );
}

#[test]
fn custom_slice_other_and_deadline() {
    let w = load(&example("slice-and-deadline-defaults.json")).unwrap();
    let other = &w.tasks[0];
    assert_eq!(other.sched.class, Some(Class::Other));
    assert_eq!(other.sched.nice, -19);
    assert_eq!(other.sched.slice, Some(us(100_000)));
    let dl = &w.tasks[1];
    assert_eq!(dl.sched.class, Some(Class::Deadline));
    // rt-app defaults: period = runtime, deadline = period.
    let r = Reservation {
        runtime: us(200_000),
        deadline: us(200_000),
        period: us(200_000),
    };
    assert_eq!(dl.sched.reservation, Some(r));
    assert_eq!(dl.deadline, Some(us(200_000)));
    assert_eq!(dl.phases[0].events, [Event::Run(us(20_000))]);
}

// ---- rt-app semantics ------------------------------------------------------------------------

#[test]
fn repeated_event_keys_are_separate_events_in_order() {
    let w = json(
        r#"{ "tasks": { "t": { "loop": 3, "run": 1000, "sleep": 500, "run": 2000, } },
             "global": { "duration": 1 } }"#,
    )
    .unwrap();
    let t = &w.tasks[0];
    assert_eq!(t.repeat, Repeat::Times(3));
    assert_eq!(
        t.phases[0].events,
        [
            Event::Run(us(1000)),
            Event::Sleep(us(500)),
            Event::Run(us(2000))
        ]
    );
}

#[test]
fn events_by_prefix_runtime_before_run() {
    let w = json(
        r#"{ "tasks": { "t": { "phases": { "p": { "loop": -1,
              "runtime0": 5, "run1": 6, "sleep_a": 7, "yield": 0, "yield2": "",
              "timer9": { "ref": "shared", "period": 1000, "mode": "absolute" } } } } },
             "global": { "duration": 1, "default_policy": "SCHED_FIFO" } }"#,
    )
    .unwrap();
    let t = &w.tasks[0];
    assert_eq!(t.sched.class, Some(Class::Fifo));
    assert_eq!(t.sched.priority, Some(10), "rt-app's default RT priority");
    assert_eq!(
        t.phases[0].events,
        [
            Event::Runtime(us(5)),
            Event::Run(us(6)),
            Event::Sleep(us(7)),
            Event::Yield,
            Event::Yield,
            Event::Timer(Timer {
                reference: "shared".into(),
                period: us(1000),
                mode: TimerMode::Absolute
            }),
        ]
    );
    assert_eq!(t.phases[0].repeat, Repeat::Forever);
}

#[test]
fn task_attributes() {
    let w = json(
        r#"{ "tasks": { "t": { "instance": 3, "delay": 250, "cpus": [2, 0], "policy": "SCHED_RR",
             "priority": 42, "run": 10 } }, "global": { "duration": 1 } }"#,
    )
    .unwrap();
    let t = &w.tasks[0];
    assert_eq!((t.instances, t.delay), (3, us(250)));
    assert_eq!(t.cpus, Some(vec![2, 0]));
    assert_eq!(
        (t.sched.class, t.sched.priority),
        (Some(Class::Rr), Some(42))
    );
}

#[test]
fn unsupported_events_are_named() {
    for (key, event) in [("fork", "fork"), ("mem", "mem"), ("iorun", "iorun")] {
        let text = format!(
            "{{\n \"tasks\": {{\n  \"t\": {{\n   \"run\": 10,\n   \"{key}\": \"x\"\n  }}\n }},\n \"global\": {{ \"duration\": 1 }}\n}}"
        );
        let e = json(&text).unwrap_err();
        assert!(
            matches!(&e.kind, ErrorKind::UnsupportedEvent { key: k, event: ev } if k == key && *ev == event),
            "{e}"
        );
        assert_eq!(e.line, Some(5), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("`{key}`")) && msg.contains(&format!("tasks.t.{key}")),
            "{msg}"
        );
    }
}

/// `lock` / `unlock` import as events in file order, a `resources` entry of type mutex (or
/// without a type) is accepted, and `Workload::mutexes` lists each name once.
#[test]
fn lock_and_unlock_import_with_mutex_resources() {
    let w = json(
        r#"{ "resources": { "m1": { "type": "mutex" }, "m2": {} },
             "tasks": { "t": { "loop": 2, "lock": "m1", "run": 10, "lock1": "m2",
                               "unlock": "m2", "unlock1": "m1", "sleep": 100 },
                        "u": { "loop": 1, "lock": "m2", "run": 5, "unlock": "m2" } },
             "global": { "duration": 1 } }"#,
    )
    .unwrap();
    let t = &w.tasks.iter().find(|t| t.name == "t").unwrap().phases[0];
    assert_eq!(
        t.events,
        [
            Event::Lock("m1".to_owned()),
            Event::Run(us(10)),
            Event::Lock("m2".to_owned()),
            Event::Unlock("m2".to_owned()),
            Event::Unlock("m1".to_owned()),
            Event::Sleep(us(100)),
        ]
    );
    assert_eq!(w.mutexes(), ["m1", "m2"]);
    assert_eq!(t.events[0].to_string(), "lock m1");
}

/// `barrier` imports as an event; its users are the instances of the tasks that name it, each
/// counted once however often it reaches the barrier.
#[test]
fn barrier_users_are_the_instances_that_name_it() {
    let w = json(
        r#"{ "resources": { "b": { "type": "barrier" } },
             "tasks": { "t": { "instance": 3, "barrier": "b", "run": 10, "barrier1": "b",
                               "sleep": 100 },
                        "u": { "barrier": "b", "run": 5, "barrier1": "c", "sleep": 100 } },
             "global": { "duration": 1 } }"#,
    )
    .unwrap();
    assert_eq!(w.barriers(), [("b".to_owned(), 4), ("c".to_owned(), 1)]);
    let t = &w.tasks.iter().find(|t| t.name == "t").unwrap().phases[0];
    assert_eq!(t.events[0], Event::Barrier("b".to_owned()));
    // Without a duration an instance that finished would leave the others waiting forever.
    let e = json_err(r#"{ "tasks": { "t": { "loop": 1, "barrier": "b", "run": 1 } } }"#);
    assert!(e.to_string().contains("needs a duration"), "{e}");
    // A barrier inside a critical section is refused.
    let e = json_err(
        r#"{ "tasks": { "t": { "loop": 1, "lock": "m", "barrier": "b", "unlock": "m" } },
             "global": { "duration": 1 } }"#,
    );
    assert!(e.to_string().contains("while holding `m`"), "{e}");
}

/// The events of task `name`'s first phase.
fn first_phase_events(w: &Workload, name: &str) -> Vec<Event> {
    w.tasks.iter().find(|t| t.name == name).unwrap().phases[0]
        .events
        .clone()
}

/// `suspend` with an empty name suspends its own task (as workgen fills it in); `resume` names
/// a task that suspends; the misuses are refused: suspending another task, resuming one that
/// never suspends, suspending without a duration or inside a critical section.
#[test]
fn suspend_and_resume_import_and_their_misuse_is_refused() {
    let w = json(
        r#"{ "tasks": { "d": { "run": 1, "resume": "w", "sleep": 1000 },
                        "w": { "suspend": "", "run": 1, "sleep": 10 } },
             "global": { "duration": 1 } }"#,
    )
    .unwrap();
    let events = |name: &str| first_phase_events(&w, name);
    assert_eq!(events("w")[0], Event::Suspend("w".to_owned()));
    assert_eq!(events("d")[1], Event::Resume("w".to_owned()));
    assert_eq!(w.suspending(), ["w"]);
    for (text, needle) in [
        (
            r#"{ "tasks": { "d": { "run": 1, "sleep": 1 },
                           "w": { "suspend": "d", "run": 1, "sleep": 1 } },
                "global": { "duration": 1 } }"#,
            "a task suspends itself",
        ),
        (
            r#"{ "tasks": { "d": { "run": 1, "resume": "x", "sleep": 1 } },
                "global": { "duration": 1 } }"#,
            "no task named `x` suspends itself",
        ),
        (
            r#"{ "tasks": { "w": { "loop": 1, "suspend": "", "run": 1 } } }"#,
            "`suspend` needs a duration",
        ),
        (
            r#"{ "tasks": { "w": { "lock": "m", "suspend": "", "unlock": "m", "sleep": 1 } },
                "global": { "duration": 1 } }"#,
            "while holding `m`",
        ),
    ] {
        let e = json_err(text);
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
}

/// rt-app's condition events import in file order (`wait` and `sync` with their `ref` and
/// `mutex`, `signal` and `broad` with a name), condition resources are accepted, and
/// `Workload::conds` lists each name once; the misuses are refused: a wait without its mutex
/// held or while holding another, a wait without a duration, operands missing.
#[test]
fn condition_events_import_and_their_misuse_is_refused() {
    let w = json(
        r#"{ "resources": { "c": { "type": "wait" }, "d": { "type": "broadcast" } },
             "tasks": { "p": { "run": 1, "lock": "m", "signal": "c", "broad": "d",
                               "unlock": "m", "sleep": 1000 },
                        "w": { "lock": "m", "wait": { "ref": "c", "mutex": "m" },
                               "sync": { "ref": "d", "mutex": "m" }, "unlock": "m",
                               "run": 1, "sleep": 10 } },
             "global": { "duration": 1 } }"#,
    )
    .unwrap();
    let events = |name: &str| first_phase_events(&w, name);
    let cw = |c: &str| CondWait {
        cond: c.to_owned(),
        mutex: "m".to_owned(),
    };
    assert_eq!(
        events("p")[1..4],
        [
            Event::Lock("m".to_owned()),
            Event::Signal("c".to_owned()),
            Event::Broadcast("d".to_owned()),
        ]
    );
    assert_eq!(
        events("w")[1..3],
        [Event::Wait(cw("c")), Event::SignalWait(cw("d"))]
    );
    assert_eq!(w.conds(), ["c", "d"]);
    assert_eq!(w.mutexes(), ["m"]);
    assert_eq!(events("w")[1].to_string(), "wait c (m)");
    assert_eq!(events("w")[2].to_string(), "sync d (m)");
    for (text, needle) in [
        (
            r#"{ "tasks": { "w": { "wait": { "ref": "c", "mutex": "m" }, "sleep": 1 } },
                "global": { "duration": 1 } }"#,
            "must hold it here",
        ),
        (
            r#"{ "tasks": { "w": { "lock": "a", "lock1": "m", "sync": { "ref": "c", "mutex": "m" },
                                  "unlock": "m", "unlock1": "a", "sleep": 1 } },
                "global": { "duration": 1 } }"#,
            "while also holding `a`",
        ),
        (
            r#"{ "tasks": { "w": { "loop": 1, "lock": "m",
                                  "wait": { "ref": "c", "mutex": "m" }, "unlock": "m" } } }"#,
            "`wait` and `sync` need a duration",
        ),
        (
            r#"{ "tasks": { "w": { "lock": "m", "wait": { "mutex": "m" }, "unlock": "m" } },
                "global": { "duration": 1 } }"#,
            "no `ref`",
        ),
        (
            r#"{ "tasks": { "w": { "lock": "m", "wait": { "ref": "c" }, "unlock": "m" } },
                "global": { "duration": 1 } }"#,
            "no `mutex`",
        ),
        (
            r#"{ "tasks": { "w": { "signal": "", "sleep": 1 } }, "global": { "duration": 1 } }"#,
            "non-empty",
        ),
    ] {
        let e = json_err(text);
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
}

/// What the import refuses about mutexes, each with the field and what to do: a resource of a
/// kind it does not run, a phase that ends holding a mutex, an unlock of one not held, a
/// relock of one held, two tasks locking two mutexes in opposite orders, an empty name.
#[test]
fn mutex_misuse_is_refused() {
    let doc = |t: &str, u: &str| {
        format!(
            r#"{{ "tasks": {{ "t": {{ "loop": 1, {t} }}, "u": {{ "loop": 1, {u} }} }},
                 "global": {{ "duration": 1 }} }}"#
        )
    };
    let plain = r#""run": 1"#;
    for (text, needle) in [
        (
            r#"{ "resources": { "c": { "type": "timer" } }, "tasks": { "t": { "run": 1 } } }"#
                .to_owned(),
            "only mutex (lock, unlock), barrier and condition",
        ),
        (doc(r#""lock": "m", "run": 1"#, plain), "ends holding `m`"),
        (
            doc(r#""run": 1, "unlock": "m""#, plain),
            "does not hold `m`",
        ),
        (
            doc(r#""lock": "m", "lock1": "m", "unlock": "m""#, plain),
            "already holds `m`",
        ),
        (
            doc(
                r#""lock": "a", "lock1": "b", "unlock": "b", "unlock1": "a""#,
                r#""lock": "b", "lock1": "a", "unlock": "a", "unlock1": "b""#,
            ),
            "in both orders",
        ),
        (doc(r#""lock": "", "unlock": """#, plain), "non-empty"),
    ] {
        let e = json_err(&text);
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
}

fn json_err(text: &str) -> Error {
    match json(text) {
        Ok(w) => panic!("accepted: {w:?}\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn rtapp_bad_inputs_have_line_and_field() {
    let wrap = |task: &str| {
        format!(
            "{{\n\"global\": {{ \"duration\": 1 }},\n\"tasks\": {{\n\"t\": {{\n{task}\n}}\n}}\n}}"
        )
    };
    // (task body starting on line 5, expected line, expected field, expected message part)
    let cases: &[(&str, u32, &str, &str)] = &[
        ("\"run\": 10,\n\"policy\": \"SCHED_DEADLINE\",\n\"dl-runtime\": 100,\n\"dl-period\": 1000,\n\"dl-deadline\": 2000", 9, "tasks.t.dl-deadline", "longer than the period"),
        ("\"run\": 10,\n\"policy\": \"SCHED_DEADLINE\",\n\"dl-runtime\": 1", 7, "tasks.t.dl-runtime", "1024 ns"),
        ("\"run\": 10,\n\"policy\": \"SCHED_DEADLINE\",\n\"dl-runtime\": 500,\n\"dl-deadline\": 400", 7, "tasks.t.dl-runtime", "longer than the deadline"),
        ("\"run\": 10,\n\"policy\": \"SCHED_DEADLINE\"", 4, "tasks.t.dl-runtime", "1024 ns"),
        ("\"run\": -5", 5, "tasks.t.run", "negative"),
        ("\"run\": 1,\n\"timer\": { \"ref\": \"unique\", \"period\": -100 }", 6, "tasks.t.timer.period", "negative"),
        ("\"run\": 1,\n\"timer\": { \"ref\": \"unique\", \"period\": 0 }", 6, "tasks.t.timer", "positive"),
        ("\"run\": 1,\n\"timer\": { \"ref\": \"unique\" }", 6, "tasks.t.timer", "no `period`"),
        ("\"run\": 1,\n\"timer\": { \"period\": 10, \"mode\": \"sometimes\" }", 6, "tasks.t.timer.mode", "relative"),
        ("\"run\": 1.5", 5, "tasks.t.run", "integer"),
        ("\"run\": 1,\n\"period\": 3", 6, "tasks.t.period", "legacy"),
        ("\"run\": 1,\n\"util_min\": 3", 6, "tasks.t.util_min", "not supported"),
        ("\"run\": 1,\n\"loop\": 0", 6, "tasks.t.loop", "-1 (forever) or at least 1"),
        ("\"run\": 1,\n\"instance\": -2", 6, "tasks.t.instance", "instance -2"),
        ("\"run\": 1,\n\"instance\": 0", 6, "tasks.t.instance", "0 instances"),
        ("\"run\": 1,\n\"priority\": 30", 6, "tasks.t.priority", "nice 30"),
        ("\"run\": 1,\n\"policy\": \"SCHED_FIFO\",\n\"priority\": 120", 7, "tasks.t.priority", "priority 120"),
        ("\"run\": 1,\n\"policy\": \"SCHED_IDLE\"", 6, "tasks.t.policy", "SCHED_IDLE"),
        ("\"run\": 1,\n\"policy\": \"SCHED_FIFO\",\n\"dl-runtime\": 100", 7, "tasks.t.dl-runtime", "only applies to SCHED_DEADLINE"),
        ("\"run\": 1,\n\"cpus\": [0, -1]", 6, "tasks.t.cpus", "negative"),
        ("\"run\": 1,\n\"cpus\": [1, 1]", 6, "tasks.t.cpus", "twice"),
        ("\"run\": 1,\n\"cpus\": 3", 6, "tasks.t.cpus", "array"),
        ("\"run\": 1,\n\"delay\": 1,\n\"delay\": 2", 7, "tasks.t.delay", "given twice (first on line 6)"),
        ("\"loop\": 2", 4, "tasks.t", "no events"),
        ("\"run\": 1,\n\"phases\": { \"p\": { \"run\": 1 } }", 5, "tasks.t.run", "move them into a phase"),
        ("\"phases\": {\n\"p\": { \"run\": 1, \"policy\": \"SCHED_FIFO\" } }", 6, "tasks.t.phases.p.policy", "per phase"),
        ("\"phases\": {\n\"p\": { \"loop\": 0, \"run\": 1 } }", 6, "tasks.t.phases.p.loop", "at least 1"),
        ("\"phases\": {\n\"p\": { \"loop\": 1 } }", 6, "tasks.t.phases.p", "no events"),
        ("\"phases\": {\n\"p\": 3 }", 6, "tasks.t.phases.p", "expected an object"),
    ];
    for &(task, line, field, needle) in cases {
        let text = wrap(task);
        let e = json_err(&text);
        assert_eq!(e.path, Path::new("t.json"));
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(line), Some(field)),
            "{e}\n{text}"
        );
        assert!(e.to_string().contains(needle), "{e}\n{text}");
    }
}

#[test]
fn rtapp_bad_documents() {
    let cases: &[(&str, Option<u32>, &str)] = &[
        ("{ \"tasks\": { \"t\": { \"run\": 1 } } }", Some(1), "never end"),
        ("{\n\"global\": { \"duration\": 0 },\n\"tasks\": { \"t\": { \"run\": 1 } } }", Some(2), "-1 (run until the tasks end) or at least 1"),
        ("{\n\"global\": { \"duration\": 1 },\n\"tasks\": {} }", Some(3), "no tasks"),
        ("{\n\"global\": { \"duration\": 1 } }", Some(1), "no `tasks`"),
        ("{\n\"tasks\": { \"t\": { \"run\": 1 } },\n\"resources\": { \"m\": { \"type\": \"membuf\" } } }", Some(3), "only mutex (lock, unlock), barrier and condition"),
        ("{\n\"tasks\": { \"t\": { \"run\": 1 } },\n\"tasks\": {} }", Some(3), "given twice"),
        ("{\n\"tasks\": { \"t\": { \"run\": 1, \"loop\": 1 }, \"t\": { \"run\": 1, \"loop\": 1 } } }", Some(2), "used twice"),
        ("[1, 2]", Some(1), "expected an object"),
        ("{\n\"tasks\": { \"t\": { \"run\": 1 } }\n\"global\": {} }", Some(3), "syntax error"),
    ];
    for &(text, line, needle) in cases {
        let e = json_err(text);
        assert_eq!(e.line, line, "{e}\n{text}");
        assert!(e.to_string().contains(needle), "{e}\n{text}");
    }
}

/// Issue 18, point 6: keys rt-app's parser never reads (`global.frag` in rt-app's own
/// examples, a misspelt task or phase key) are accepted with a warning naming line and field,
/// as rt-app ignores them.
#[test]
fn keys_rt_app_never_reads_are_ignored_with_a_warning() {
    let text = "{\n\"global\": { \"duration\": 1, \"frag\": 6000 },\n\"tasks\": { \"t\": {\n\"loop\": 1,\n\"colour\": 3,\n\"phases\": { \"p\": { \"run\": 1, \"speed\": 2, \"timer\": { \"period\": 10, \"tick\": 1 } } } } },\n\"extra\": 1 }";
    let (w, warnings) = super::rtapp::import(text, Path::new("t.json"), "t").unwrap();
    assert_eq!(w.tasks.len(), 1);
    let expected = [
        "t.json:2: global.frag:",
        "t.json:5: tasks.t.colour:",
        "t.json:6: tasks.t.phases.p.speed:",
        "t.json:6: tasks.t.phases.p.timer.tick:",
        "t.json:7: extra:",
    ];
    assert_eq!(warnings.len(), expected.len(), "{warnings:#?}");
    for e in expected {
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with(e) && w.contains("rt-app ignores it")),
            "{e}: {warnings:#?}"
        );
    }
}

#[test]
fn ignored_global_keys_and_empty_resources_are_accepted() {
    let w = json(
        r#"{ "resources": {}, "tasks": { "t": { "run": 1, "loop": 1 } },
             "global": { "duration": -1, "calibration": "CPU0", "logdir": "./", "gnuplot": true,
                         "ftrace": "main", "lock_pages": false, "pi_enabled": false } }"#,
    )
    .unwrap();
    assert_eq!(w.duration, None);
}

// ---- TOML ------------------------------------------------------------------------------------

const FULL_TOML: &str = r#"
name = "control-loop"
duration = "10s"
seed = 42
hogs = 1

[[task]]
name = "sensor"
count = 4
period = "1ms"
deadline = "800us"
work = "200us"
policy = "fifo"
priority = 80
cpus = [0, 1]

[[task]]
name = "planner"
period = "10ms"
work = "1.5ms"
nice = -5
delay = "5ms"
jobs = 1000

[[task]]
name = "logger"
period = "100ms"
deadline = "50ms"
work = "2ms"
policy = "deadline"
runtime = "3ms"

[[task]]
name = "batch"
period = "1s"
work = "300ms"
policy = "other"
nice = 19
priority = 5
"#;

#[test]
fn toml_full_example_maps_to_the_model() {
    let w = toml(FULL_TOML).unwrap();
    assert_eq!(
        (w.name.as_str(), w.duration, w.seed, w.hogs),
        ("control-loop", Some(Duration::from_secs(10)), 42, 1)
    );
    let sensor = &w.tasks[0];
    assert_eq!((sensor.instances, sensor.deadline), (4, Some(us(800))));
    assert_eq!(
        (sensor.sched.class, sensor.sched.priority),
        (Some(Class::Fifo), Some(80))
    );
    assert_eq!(sensor.cpus, Some(vec![0, 1]));
    assert_eq!(sensor.repeat, Repeat::Forever);
    assert_eq!(
        sensor.phases[0].events,
        [
            Event::Run(us(200)),
            Event::Timer(Timer {
                reference: "unique".into(),
                period: us(1000),
                mode: TimerMode::Absolute
            })
        ]
    );
    let planner = &w.tasks[1];
    assert_eq!((planner.sched.class, planner.sched.nice), (None, -5));
    assert_eq!(
        (planner.deadline, planner.delay, planner.repeat),
        (Some(us(10_000)), us(5_000), Repeat::Times(1000))
    );
    assert_eq!(planner.phases[0].events[0], Event::Run(us(1500)));
    let logger = &w.tasks[2];
    assert_eq!(
        logger.sched.reservation,
        Some(Reservation {
            runtime: us(3_000),
            deadline: us(50_000),
            period: us(100_000)
        })
    );
}

#[test]
fn toml_round_trips() {
    let first = toml(FULL_TOML).unwrap();
    let text = to_toml(&first).unwrap();
    let second = toml(&text).unwrap();
    assert_eq!(first, second, "written as:\n{text}");
    // Writing again is stable.
    assert_eq!(to_toml(&second).unwrap(), text);
}

#[test]
fn toml_round_trips_variants() {
    let durations = ["1ns", "1024ns", "1.5us", "999us", "1ms", "2.25s", "3s"];
    for (i, d) in durations.iter().enumerate() {
        for policy in [
            "",
            "policy = \"other\"",
            "policy = \"fifo\"\npriority = 1",
            "policy = \"rr\"\npriority = 99",
            "policy = \"deadline\"",
        ] {
            let text = format!(
                "duration = \"{d}\"\nseed = {i}\n[[task]]\nname = \"t{i}\"\nperiod = \"{d}\"\nwork = \"1ns\"\ndeadline = \"{d}\"\n{policy}\n"
            );
            let Ok(w) = toml(&text) else {
                // Only deadline tasks below the kernel's minimum runtime may be refused.
                assert!(policy.contains("deadline"), "{text}");
                continue;
            };
            let again = toml(&to_toml(&w).unwrap()).unwrap();
            assert_eq!(w, again, "{text}");
        }
    }
}

#[test]
fn rtapp_periodic_absolute_tasks_convert_to_toml() {
    let w = json(
        r#"{ "tasks": { "dl": { "policy": "SCHED_DEADLINE", "dl-runtime": 2000, "dl-period": 10000,
             "dl-deadline": 8000, "phases": { "periodic": { "run": 1500,
             "timer": { "ref": "unique", "period": 10000, "mode": "absolute" } } } } },
             "global": { "duration": 3 } }"#,
    )
    .unwrap();
    let text = to_toml(&w).unwrap();
    assert_eq!(toml(&text).unwrap().tasks, w.tasks, "{text}");
}

fn toml_err(text: &str) -> Error {
    match toml(text) {
        Ok(w) => panic!("accepted: {w:?}\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn toml_bad_inputs_have_line_and_field() {
    let head = "duration = \"1s\"\n[[task]]\nname = \"a\"\n";
    // (task lines from line 4 on, expected line, expected field, message part)
    let cases: &[(&str, u32, Option<&str>, &str)] = &[
        ("period = \"-10ms\"\nwork = \"1ms\"", 4, Some("task[0].period"), "negative"),
        ("period = \"10ms\"\nwork = \"-1ms\"", 5, Some("task[0].work"), "negative"),
        ("period = \"0ms\"\nwork = \"1ms\"", 4, Some("task[0].period"), "positive"),
        ("period = 10\nwork = \"1ms\"", 4, Some("task[0].period"), "no unit"),
        ("period = \"10\"\nwork = \"1ms\"", 4, Some("task[0].period"), "no unit"),
        ("period = \"10 hours\"\nwork = \"1ms\"", 4, Some("task[0].period"), "unknown unit"),
        ("period = \"1.0000000001s\"\nwork = \"1ms\"", 4, Some("task[0].period"), "more precise than 1 ns"),
        ("period = \"99999999999s\"\nwork = \"1ms\"", 4, Some("task[0].period"), "too large"),
        ("period = \"10ms\"\nwork = \"1ms\"\nperoid = \"3ms\"", 6, Some("task[0]"), "unknown field `peroid`"),
        ("period = \"10ms\"", 2, None, "missing field `work`"),
        ("period = \"10ms\"\nwork = \"1ms\"\npolicy = \"deadline\"\ndeadline = \"20ms\"", 7, Some("task[0].deadline"), "longer than the period"),
        ("period = \"10ms\"\nwork = \"1000ns\"\npolicy = \"deadline\"", 5, Some("task[0].work"), "1024 ns"),
        ("period = \"10ms\"\nwork = \"1ms\"\npolicy = \"deadline\"\nruntime = \"1us\"", 7, Some("task[0].runtime"), "1024 ns"),
        ("period = \"10ms\"\nwork = \"1ms\"\nruntime = \"2ms\"", 6, Some("task[0].runtime"), "only applies"),
        ("period = \"10ms\"\nwork = \"1ms\"\npolicy = \"batch\"", 6, Some("task[0].policy"), "unknown policy"),
        ("period = \"10ms\"\nwork = \"1ms\"\npolicy = \"fifo\"", 6, Some("task[0].policy"), "needs a priority"),
        ("period = \"10ms\"\nwork = \"1ms\"\npriority = 100", 6, Some("task[0].priority"), "outside 1 ..= 99"),
        ("period = \"10ms\"\nwork = \"1ms\"\npriority = -1", 6, Some("task[0].priority"), "outside 1 ..= 99"),
        ("period = \"10ms\"\nwork = \"1ms\"\nnice = 20", 6, Some("task[0].nice"), "outside -20 ..= 19"),
        ("period = \"10ms\"\nwork = \"1ms\"\ncount = 0", 6, Some("task[0].count"), "0 instances"),
        ("period = \"10ms\"\nwork = \"1ms\"\ncount = -3", 6, Some("task[0].count"), "outside"),
        ("period = \"10ms\"\nwork = \"1ms\"\ncpus = [0, -1]", 6, Some("task[0].cpus"), "negative"),
        ("period = \"10ms\"\nwork = \"1ms\"\ncpus = []", 6, Some("task[0].cpus"), "empty"),
        ("period = \"10ms\"\nwork = \"1ms\"\njobs = 0", 6, Some("task[0].jobs"), "at least 1"),
        ("period = \"10ms\"\nwork = \"1ms\"\ndeadline = \"0s\"", 6, Some("task[0].deadline"), "positive"),
        ("period = \"10ms\"\nwork = [1]", 5, None, "invalid type"),
        ("period = \"10ms\"\nwork = \"1ms\"\n[[task]]\nname = \"a\"\nperiod = \"1ms\"\nwork = \"1ms\"", 7, Some("task[1].name"), "used twice"),
        ("period = \"10ms\"\nwork = \"1ms\"\nname = \"b\"", 6, None, "duplicate key"),
        ("period = \"10ms\nwork = \"1ms\"", 4, None, "syntax error"),
    ];
    for &(task, line, field, needle) in cases {
        let text = format!("{head}{task}\n");
        let e = toml_err(&text);
        assert_eq!(e.path, Path::new("t.toml"));
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(line), field),
            "{e}\n{text}"
        );
        assert!(e.to_string().contains(needle), "{e}\n{text}");
    }
}

#[test]
fn toml_bad_top_level() {
    let cases: &[(&str, Option<u32>, &str)] = &[
        ("duration = \"1s\"\n", None, "no tasks"),
        ("duration = \"-1s\"\n", Some(1), "negative"),
        ("duration = \"0s\"\n[[task]]\nname = \"a\"\nperiod = \"1ms\"\nwork = \"1ms\"\n", Some(1), "positive"),
        ("[[task]]\nname = \"a\"\nperiod = \"1ms\"\nwork = \"1ms\"\n", Some(1), "task[0]: the workload would never end"),
        ("duration = \"1s\"\nseed = -1\n", Some(2), "seed"),
        ("duration = \"1s\"\nhogs = 5000\n[[task]]\nname = \"a\"\nperiod = \"1ms\"\nwork = \"1ms\"\n", Some(2), "5000 hogs"),
        ("duration = \"1s\"\ncolour = 1\n", Some(2), "unknown field `colour`"),
    ];
    for &(text, line, needle) in cases {
        let e = toml_err(text);
        assert_eq!(e.line, line, "{e}\n{text}");
        assert!(e.to_string().contains(needle), "{e}\n{text}");
    }
    // A finite workload needs no duration.
    let w = toml("[[task]]\nname = \"a\"\nperiod = \"1ms\"\nwork = \"1ms\"\njobs = 5\n").unwrap();
    assert_eq!((w.duration, w.name.as_str()), (None, "t"));
}

#[test]
fn unknown_field_error_lists_the_valid_fields() {
    let e = toml_err(
        "duration = \"1s\"\n[[task]]\nname = \"a\"\nperiod = \"1ms\"\nwork = \"1ms\"\nprio = 3\n",
    );
    match &e.kind {
        ErrorKind::UnknownField { name, expected } => {
            assert_eq!(name, "prio");
            assert!(
                expected.contains("priority") && expected.contains("nice"),
                "{expected}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn durations_parse_exactly() {
    assert_eq!(parse_duration("10ms"), Ok(Duration::from_millis(10)));
    assert_eq!(parse_duration(" 1.5 s "), Ok(Duration::from_millis(1500)));
    assert_eq!(parse_duration("250µs"), Ok(us(250)));
    assert_eq!(parse_duration("0.001us"), Ok(Duration::from_nanos(1)));
    assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
    for bad in [
        "",
        "ms",
        "1.ms",
        ".5ms",
        "1..2ms",
        "1e3ms",
        "-0s",
        "1 m s",
        "18446744073709551616ns",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
}

// ---- robustness ------------------------------------------------------------------------------

/// Feeds `text` cut at every character and with characters replaced; loading must return (Ok or
/// Err), never panic. Cuts before the last closing brace/value must be errors.
fn assert_no_panic(text: &str, format: Format, must_fail_before: usize) {
    let path = Path::new("garbled");
    let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    for &cut in &boundaries {
        let piece = &text[..cut];
        let result = std::panic::catch_unwind(|| parse_text(piece, path, format).map(drop));
        match result {
            Err(_) => panic!("panic on input truncated at byte {cut}:\n{piece}"),
            Ok(r) if cut < must_fail_before => {
                assert!(r.is_err(), "truncated at {cut} accepted:\n{piece}")
            }
            Ok(_) => {}
        }
    }
    let replacements = [
        "{", "}", "[", "]", "\"", ":", ",", "/", "*", "-", "0", "9", "a", "\\", "\n", "=", "é",
    ];
    for (n, &at) in boundaries.iter().enumerate() {
        if n % 3 != 0 {
            continue;
        }
        let end = boundaries.get(n + 1).copied().unwrap_or(text.len());
        for r in replacements {
            let garbled = format!("{}{r}{}", &text[..at], &text[end..]);
            let result = std::panic::catch_unwind(|| parse_text(&garbled, path, format).map(drop));
            assert!(result.is_ok(), "panic on garbled input:\n{garbled}");
        }
    }
}

#[test]
fn truncated_and_garbled_examples_are_errors_not_panics() {
    for path in rt_app_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let last_brace = text.rfind('}').unwrap();
        assert_no_panic(&text, Format::RtApp, last_brace + 1);
    }
    assert_no_panic(FULL_TOML, Format::Toml, 0);
}

#[test]
fn arbitrary_bytes_do_not_panic() {
    // A small deterministic xorshift stream of printable-ish junk, including multi-byte text.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let alphabet: Vec<char> = "{}[]\",:/*-+.0123456789eEtrufalsn \n\\é€😀#=ab"
        .chars()
        .collect();
    for _ in 0..2000 {
        let len = (x % 64) as usize;
        let mut s = String::new();
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push(alphabet[(x % alphabet.len() as u64) as usize]);
        }
        for format in [Format::RtApp, Format::Toml] {
            let r =
                std::panic::catch_unwind(|| parse_text(&s, Path::new("junk"), format).map(drop));
            assert!(r.is_ok(), "panic on {s:?}");
        }
    }
}

// ---- loading ---------------------------------------------------------------------------------

#[test]
fn format_detection() {
    assert_eq!(Format::detect(Path::new("a.toml"), "{"), Format::Toml);
    assert_eq!(Format::detect(Path::new("a.JSON"), ""), Format::RtApp);
    assert_eq!(
        Format::detect(Path::new("a"), "/* c */ // d\n {"),
        Format::RtApp
    );
    assert_eq!(
        Format::detect(Path::new("a.txt"), "# c\nduration = \"1s\""),
        Format::Toml
    );
}

#[test]
fn load_reports_unreadable_and_non_utf8_files() {
    let e = load(Path::new("/nonexistent/w.toml")).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Read(_)), "{e}");
    assert!(
        e.to_string()
            .starts_with("/nonexistent/w.toml: could not read"),
        "{e}"
    );

    let dir = std::env::temp_dir().join(format!("sched-bench-wf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, b"{\n\"tasks\": \xff }").unwrap();
    let e = load(&bad).unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.to_string().contains("UTF-8"), "{e}");
    let good = dir.join("periodic.toml");
    std::fs::write(&good, FULL_TOML).unwrap();
    assert_eq!(load(&good).unwrap(), toml(FULL_TOML).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn summary_lists_tasks_and_phases() {
    let w = load(&example("repeated-phase.json")).unwrap();
    let s = summary(&w, Path::new("repeated-phase.json"));
    assert!(
        s.starts_with("repeated-phase.json: workload `repeated-phase`: 2 task(s), 2 thread(s)"),
        "{s}"
    );
    assert!(s.contains("| thread2 "), "{s}");
    assert_eq!(s.matches("heavy1").count(), 2, "{s}");
    assert!(s.contains("run 7ms, timer unique 10ms (relative)"), "{s}");
    let w = toml(FULL_TOML).unwrap();
    let s = summary(&w, Path::new("t.toml"));
    assert!(
        s.contains("SCHED_FIFO prio 80") && s.contains("SCHED_DEADLINE 3ms/50ms/100ms"),
        "{s}"
    );
    assert!(s.contains("backend's (nice -5)"), "{s}");
}

/// rt-app's legacy rule: a SCHED_DEADLINE task without `dl-runtime` takes its reservation
/// runtime from its task-level `runtime` key (which stays a run event too); `dl-runtime` wins
/// when both are there.
#[test]
fn rtapp_legacy_runtime_is_the_reservation_runtime() {
    let w = json(
        r#"{"tasks": {"d": {"policy": "SCHED_DEADLINE", "dl-period": 10000,
            "runtime": 2000, "sleep": 8000, "loop": 3}}, "global": {"duration": 1}}"#,
    )
    .unwrap();
    let r = w.tasks[0].sched.reservation.unwrap();
    assert_eq!(r.runtime, us(2_000));
    assert_eq!(r.period, us(10_000));
    assert_eq!(w.tasks[0].phases[0].events[0], Event::Runtime(us(2_000)));
    let w = json(
        r#"{"tasks": {"d": {"policy": "SCHED_DEADLINE", "dl-runtime": 3000, "dl-period": 10000,
            "runtime": 2000, "sleep": 8000, "loop": 3}}, "global": {"duration": 1}}"#,
    )
    .unwrap();
    assert_eq!(w.tasks[0].sched.reservation.unwrap().runtime, us(3_000));
}
