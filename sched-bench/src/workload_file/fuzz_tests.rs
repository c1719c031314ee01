//! Property tests (proptest) of both parsers, the validator and the TOML printer (issue 18,
//! point 5), 10,000 cases per target.
//!
//! - **Never panic**: arbitrary text, and text built from the formats' own keys with hostile
//!   values (huge, negative, fractional, control characters, wrong types), through
//!   [`parse_text`] as TOML and as rt-app JSON, and through [`relaxed_json::parse`].
//! - **Never exceed the limits**: whatever a parser accepts passes [`validate::workload`], has
//!   no time beyond [`validate::MAX_TIME`], at most [`validate::MAX_INSTANCES`] per task and
//!   no control character in a name, and its memory estimate is finite.
//! - **Accept what the printer writes**: every valid periodic workload printed with
//!   [`to_toml`] (what `workloads --export` prints) parses back to the same model.
//! - The validator never panics on arbitrary models, and a model it accepts is within the
//!   limits.
//!
//! Run time (`cargo test -p sched-bench --bin sched-bench fuzz`): see `docs/sched-bench.md`,
//! "Tests".

use super::budget;
use super::model::{
    Class, Event, Periodic, Phase, Repeat, Reservation, Sched, TaskSpec, Timer, TimerMode, Workload,
};
use super::toml_format::to_toml;
use super::validate::{self, MAX_INSTANCES, MAX_TIME};
use super::{parse_text, relaxed_json, Format};
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::path::Path;
use std::time::Duration;

/// Cases per target.
const CASES: u32 = 10_000;

fn config() -> Config {
    Config {
        cases: CASES,
        // Failures are reported with their input; no regression files in the source tree.
        failure_persistence: None,
        ..Config::default()
    }
}

/// The limits every accepted workload must meet.
fn within_limits(w: &Workload) {
    validate::workload(w).expect("an accepted workload is valid");
    if let Some(d) = w.duration {
        assert!(d <= MAX_TIME);
    }
    for t in &w.tasks {
        assert!((1..=MAX_INSTANCES).contains(&t.instances));
        assert!(!t.name.chars().any(char::is_control), "{:?}", t.name);
        assert!(t.delay <= MAX_TIME);
        for e in t.phases.iter().flat_map(|p| &p.events) {
            match e {
                Event::Run(d) | Event::Runtime(d) | Event::Sleep(d) => assert!(*d <= MAX_TIME),
                Event::Timer(timer) => assert!(timer.period <= MAX_TIME),
                Event::Lock(m)
                | Event::Unlock(m)
                | Event::Barrier(m)
                | Event::Suspend(m)
                | Event::Resume(m)
                | Event::Signal(m)
                | Event::Broadcast(m) => {
                    assert!(!m.is_empty() && !m.chars().any(char::is_control), "{m:?}");
                }
                Event::Wait(w) | Event::SignalWait(w) => {
                    for m in [&w.cond, &w.mutex] {
                        assert!(!m.is_empty() && !m.chars().any(char::is_control), "{m:?}");
                    }
                }
                Event::Yield => {}
            }
        }
    }
    let e = budget::estimate(w, true);
    assert!(e.bytes > 0);
    assert!(budget::watchdog_limit(w) >= budget::HANG_MARGIN);
}

/// A value for a TOML field: sane, hostile, or of the wrong type.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,4}(ns|us|ms|s)".prop_map(|s| format!("\"{s}\"")),
        "-?[0-9]{1,25}(\\.[0-9]{1,12})?(ns|us|µs|ms|s|h|)".prop_map(|s| format!("\"{s}\"")),
        any::<i64>().prop_map(|i| i.to_string()),
        (0u32..5000).prop_map(|i| i.to_string()),
        Just("\"fifo\"".to_owned()),
        Just("\"deadline\"".to_owned()),
        Just("\"other\"".to_owned()),
        Just("[0, 1]".to_owned()),
        Just("[1, 1]".to_owned()),
        Just("[99999]".to_owned()),
        Just("true".to_owned()),
        Just("1.5".to_owned()),
        "\"[a-z\\x00-\\x1f]{0,6}\"",
    ]
}

const TOML_TASK_KEYS: &[&str] = &[
    "name", "count", "period", "deadline", "work", "policy", "priority", "nice", "runtime", "cpus",
    "delay", "jobs", "prio",
];

/// A TOML document from the format's keys with random values, headers and garbage.
fn toml_doc() -> impl Strategy<Value = String> {
    let top = prop::collection::vec(
        (
            prop::sample::select(&["name", "duration", "seed", "hogs", "extra"][..]),
            toml_value(),
        ),
        0..4,
    );
    let task = prop::collection::vec((prop::sample::select(TOML_TASK_KEYS), toml_value()), 0..10);
    let header = prop::sample::select(&["[[task]]", "[task]", "[[tasks]]", "", "[[task]"][..]);
    (
        any::<bool>(),
        top,
        prop::collection::vec((header, task), 0..4),
        "[ -~\\n]{0,20}",
    )
        .prop_map(|(bom, top, tasks, tail)| {
            let mut s = String::new();
            if bom {
                s.push('\u{feff}');
            }
            for (k, v) in top {
                s.push_str(&format!("{k} = {v}\n"));
            }
            for (h, keys) in tasks {
                s.push_str(h);
                s.push('\n');
                for (k, v) in keys {
                    s.push_str(&format!("{k} = {v}\n"));
                }
            }
            s.push_str(&tail);
            s
        })
}

/// A value for an rt-app key: integers of every size, strings, objects, arrays, garbage.
fn json_value() -> impl Strategy<Value = String> {
    prop_oneof![
        (-2i64..200_000).prop_map(|i| i.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        Just("9223372036854775807".to_owned()),
        Just("99999999999999999999999".to_owned()),
        Just("1.5".to_owned()),
        Just("\"SCHED_FIFO\"".to_owned()),
        Just("\"SCHED_DEADLINE\"".to_owned()),
        Just("[0, 1]".to_owned()),
        Just("{ \"ref\": \"unique\", \"period\": 1000, \"mode\": \"absolute\" }".to_owned()),
        Just("{ \"period\": 0 }".to_owned()),
        Just("{ \"p\": { \"run\": 10, \"loop\": 2 } }".to_owned()),
        Just("null".to_owned()),
        "\"[a-z\\x00-\\x1f\"\\\\]{0,5}\"",
    ]
}

const RTAPP_TASK_KEYS: &[&str] = &[
    "instance",
    "loop",
    "delay",
    "cpus",
    "policy",
    "priority",
    "dl-runtime",
    "dl-period",
    "dl-deadline",
    "phases",
    "run",
    "runtime",
    "sleep",
    "timer",
    "yield",
    "run1",
    "lock",
    "util_min",
    "period",
    "colour",
];

/// An rt-app document from its keys with random values, comments and truncation.
fn json_doc() -> impl Strategy<Value = String> {
    let global = prop::collection::vec(
        (
            prop::sample::select(&["duration", "default_policy", "frag", "calibration"][..]),
            json_value(),
        ),
        0..4,
    );
    let task = prop::collection::vec((prop::sample::select(RTAPP_TASK_KEYS), json_value()), 0..8);
    let tasks = prop::collection::vec(("[a-z\\x00\\x01]{1,3}", task), 0..4);
    (global, tasks, any::<bool>(), 0usize..400).prop_map(|(global, tasks, comment, cut)| {
        let members = |kv: Vec<(String, String)>| {
            kv.iter()
                .map(|(k, v)| format!("\"{k}\": {v}"))
                .collect::<Vec<_>>()
                .join(",\n")
        };
        let g = members(global.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
        let t = tasks
            .into_iter()
            .map(|(name, keys)| {
                let body = members(keys.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
                (name, format!("{{ {body} }}"))
            })
            .collect();
        let mut s = format!(
            "{{ {}\"global\": {{ {g} }},\n\"tasks\": {{ {} }} }}",
            if comment { "/* c */ // d\n" } else { "" },
            members(t)
        );
        // Sometimes cut short (on a character boundary).
        if cut < s.len() && cut % 3 == 0 {
            let mut at = cut;
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            s.truncate(at);
        }
        s
    })
}

/// A valid TOML task, as `key = value` lines.
fn good_toml_task() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        1u32..50,
        1u64..100_000,
        0u64..100,
        prop::option::of(1u32..=99),
        prop::option::of(-20i32..=19),
        prop::option::of(1u64..1000),
        prop::option::of(0u64..10_000),
    )
        .prop_map(|(count, period, work_pct, prio, nice, jobs, delay)| {
            let mut kv = vec![
                ("count".to_owned(), count.to_string()),
                ("period".to_owned(), format!("\"{period}us\"")),
                (
                    "work".to_owned(),
                    format!("\"{}ns\"", period * 10 * work_pct),
                ),
            ];
            if let Some(p) = prio {
                kv.push(("priority".to_owned(), p.to_string()));
            }
            if let Some(n) = nice {
                kv.push(("nice".to_owned(), n.to_string()));
            }
            if let Some(j) = jobs {
                kv.push(("jobs".to_owned(), j.to_string()));
            }
            if let Some(d) = delay {
                kv.push(("delay".to_owned(), format!("\"{d}us\"")));
            }
            kv
        })
}

/// A valid TOML document with, sometimes, one field replaced or added with a hostile value.
fn near_valid_toml() -> impl Strategy<Value = String> {
    (
        1u64..3600,
        prop::collection::vec(good_toml_task(), 1..4),
        prop::option::of((
            0usize..4,
            prop::sample::select(TOML_TASK_KEYS),
            toml_value(),
        )),
        any::<bool>(),
    )
        .prop_map(|(duration, mut tasks, mutation, bom)| {
            if let Some((i, key, value)) = mutation {
                let n = tasks.len();
                let t = &mut tasks[i % n];
                t.retain(|(k, _)| k != key);
                t.push((key.to_owned(), value));
            }
            let mut s = if bom {
                "\u{feff}".to_owned()
            } else {
                String::new()
            };
            s.push_str(&format!("duration = \"{duration}s\"\n"));
            for (i, t) in tasks.iter().enumerate() {
                s.push_str("[[task]]\n");
                if !t.iter().any(|(k, _)| k == "name") {
                    s.push_str(&format!("name = \"t{i}\"\n"));
                }
                for (k, v) in t {
                    s.push_str(&format!("{k} = {v}\n"));
                }
            }
            s
        })
}

/// A valid rt-app document with, sometimes, one key added with a hostile value.
fn near_valid_json() -> impl Strategy<Value = String> {
    let task = (
        prop::option::of(1u32..20),
        prop::option::of(1u64..1000),
        1u64..10_000,
        prop_oneof![
            (1u64..100_000)
                .prop_map(|p| format!("\"timer\": {{ \"ref\": \"unique\", \"period\": {p} }}")),
            (0u64..100_000).prop_map(|p| format!("\"sleep\": {p}")),
            Just("\"yield\": 1".to_owned()),
        ],
    );
    (
        prop_oneof![Just(-1i64), 1i64..100],
        prop::collection::vec(task, 1..4),
        prop::option::of((
            0usize..4,
            prop::sample::select(RTAPP_TASK_KEYS),
            json_value(),
        )),
    )
        .prop_map(|(duration, tasks, mutation)| {
            let body: Vec<String> = tasks
                .iter()
                .enumerate()
                .map(|(i, (instance, lp, run, wait))| {
                    let mut keys = vec![format!("\"run\": {run}"), wait.clone()];
                    if let Some(n) = instance {
                        keys.push(format!("\"instance\": {n}"));
                    }
                    // Without a duration every task must be finite.
                    match (lp, duration) {
                        (Some(l), _) => keys.push(format!("\"loop\": {l}")),
                        (None, -1) => keys.push("\"loop\": 3".to_owned()),
                        (None, _) => {}
                    }
                    if let Some((j, k, v)) = &mutation {
                        if j % tasks.len() == i {
                            keys.push(format!("\"{k}\": {v}"));
                        }
                    }
                    format!("\"t{i}\": {{ {} }}", keys.join(", "))
                })
                .collect();
            format!(
                "{{ \"global\": {{ \"duration\": {duration} }},\n\"tasks\": {{ {} }} }}",
                body.join(",\n")
            )
        })
}

fn check_parse(text: &str, format: Format) {
    let path = Path::new(match format {
        Format::Toml => "fuzz.toml",
        Format::RtApp => "fuzz.json",
    });
    if let Ok(w) = parse_text(text, path, format) {
        within_limits(&w);
    }
}

/// A duration anywhere from 0 to far beyond the limits.
fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..10_000_000_000).prop_map(Duration::from_nanos),
        any::<u64>().prop_map(Duration::from_nanos),
        Just(MAX_TIME),
        Just(MAX_TIME + Duration::from_nanos(1)),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        duration().prop_map(Event::Run),
        duration().prop_map(Event::Runtime),
        duration().prop_map(Event::Sleep),
        Just(Event::Yield),
        (duration(), "unique|shared|[a-z]{0,3}", any::<bool>()).prop_map(|(period, r, abs)| {
            Event::Timer(Timer {
                reference: r,
                period,
                mode: if abs {
                    TimerMode::Absolute
                } else {
                    TimerMode::Relative
                },
            })
        }),
    ]
}

fn repeat() -> impl Strategy<Value = Repeat> {
    prop_oneof![
        Just(Repeat::Forever),
        (0u64..5).prop_map(Repeat::Times),
        any::<u64>().prop_map(Repeat::Times),
    ]
}

fn sched() -> impl Strategy<Value = Sched> {
    (
        prop::option::of(prop::sample::select(
            &[Class::Other, Class::Fifo, Class::Rr, Class::Deadline][..],
        )),
        -25i32..25,
        prop::option::of(0u32..120),
        prop::option::of((duration(), duration(), duration())),
        prop::option::of(duration()),
    )
        .prop_map(|(class, nice, priority, res, slice)| Sched {
            class,
            nice,
            priority,
            reservation: res.map(|(runtime, deadline, period)| Reservation {
                runtime,
                deadline,
                period,
            }),
            slice,
            kairos_priority: None,
        })
}

fn task() -> impl Strategy<Value = TaskSpec> {
    (
        "[a-z\\x00\\n]{0,4}",
        prop_oneof![0u32..3, any::<u32>()],
        sched(),
        prop::option::of(duration()),
        prop::option::of(prop::collection::vec(0usize..1100, 0..3)),
        duration(),
        repeat(),
        prop::collection::vec(
            (repeat(), prop::collection::vec(event(), 0..4)).prop_map(|(repeat, events)| Phase {
                name: "p".to_owned(),
                repeat,
                events,
            }),
            0..3,
        ),
    )
        .prop_map(
            |(name, instances, sched, deadline, cpus, delay, repeat, phases)| TaskSpec {
                name,
                instances,
                sched,
                deadline,
                cpus,
                delay,
                repeat,
                phases,
            },
        )
}

fn workload() -> impl Strategy<Value = Workload> {
    (
        prop::option::of(duration()),
        0usize..2000,
        prop::collection::vec(task(), 0..4),
    )
        .prop_map(|(duration, hogs, tasks)| Workload {
            name: "w".to_owned(),
            duration,
            seed: 0,
            hogs,
            hog_kind: super::model::HogKind::Yielding,
            tasks,
        })
}

/// A valid periodic workload (what the TOML format can express).
fn periodic_workload() -> impl Strategy<Value = Workload> {
    let ms = |n: u64| Duration::from_micros(n * 1000);
    let task = (
        1u32..100,
        1u64..1000,
        0u64..1000,
        prop::option::of(1u32..=99),
        -20i32..=19,
        prop::option::of(0u64..1000),
        prop::option::of(1u64..100),
    );
    (
        prop::option::of(1u64..100),
        0usize..4,
        0u64..1000,
        prop::collection::vec(task, 1..5),
    )
        .prop_map(move |(duration, hogs, seed, tasks)| Workload {
            name: "round-trip".to_owned(),
            duration: Some(duration.map_or(ms(1000), Duration::from_secs)),
            seed,
            hogs,
            hog_kind: super::model::HogKind::Yielding,
            tasks: tasks
                .into_iter()
                .enumerate()
                .map(
                    |(i, (count, period, work, prio, nice, delay, jobs))| TaskSpec {
                        name: format!("t{i}"),
                        instances: count,
                        sched: Sched {
                            class: None,
                            nice,
                            priority: prio,
                            reservation: None,
                            slice: None,
                            kairos_priority: None,
                        },
                        // TOML's default job deadline is the period.
                        deadline: Some(Duration::from_micros(period)),
                        cpus: None,
                        delay: delay.map_or(Duration::ZERO, Duration::from_micros),
                        repeat: jobs.map_or(Repeat::Forever, Repeat::Times),
                        phases: TaskSpec::periodic_phases(Periodic {
                            period: Duration::from_micros(period),
                            work: Duration::from_micros(work.min(period)),
                        }),
                    },
                )
                .collect(),
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn toml_parser_never_panics_and_stays_in_limits(
        text in prop_oneof![toml_doc(), near_valid_toml()]
    ) {
        check_parse(&text, Format::Toml);
    }

    #[test]
    fn rtapp_parser_never_panics_and_stays_in_limits(
        text in prop_oneof![json_doc(), near_valid_json()]
    ) {
        check_parse(&text, Format::RtApp);
    }

    #[test]
    fn both_parsers_take_any_text(text in "\\PC{0,120}") {
        check_parse(&text, Format::Toml);
        check_parse(&text, Format::RtApp);
        let _ = relaxed_json::parse(&text);
    }

    #[test]
    fn validator_never_panics_and_accepts_only_limited_models(w in workload()) {
        if validate::workload(&w).is_ok() {
            within_limits(&w);
        }
    }

    #[test]
    fn printed_toml_parses_back_to_the_same_model(w in periodic_workload()) {
        validate::workload(&w).expect("the generator makes valid workloads");
        let text = to_toml(&w).expect("periodic workloads are expressible");
        let back = parse_text(&text, Path::new("round-trip.toml"), Format::Toml)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        prop_assert_eq!(back, w);
    }
}
