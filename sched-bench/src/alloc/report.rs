//! The report of `sched-bench alloc`: the results table, the targets (issue 4's, with issue 17's
//! stricter `shuffled_64k` goal), notes; and the same as JSON.
//!
//! Targets are checked against the `kairos` row (explicit per-thread heaps, the allocator's
//! fast path); the `kairos-tls` ratio is shown next to it for reference. A target whose case did
//! not run is left out.

use super::latency::Tail;
use super::{Case, Row};
use crate::json;
use crate::stats::Summary;
use crate::table::{num, Table};
use serde::Serialize;

/// Everything printed at the end of a run.
#[derive(Debug)]
pub struct Report<'a> {
    /// The results.
    pub rows: &'a [Row],
    /// The clock-only baseline of the latency case, if it ran.
    pub clock: Option<Tail>,
    /// Whether the pinned cases were pinned.
    pub pinning: Option<&'a str>,
    /// The kairos pool's counters after the run.
    pub pool: &'a str,
    /// How busy the machine was.
    pub busy: Option<&'a str>,
    /// Measured rounds.
    pub rounds: usize,
}

/// One target (issues 4 and 17).
#[derive(Debug)]
struct Target {
    /// What is compared.
    what: &'static str,
    /// The goal as text.
    goal: &'static str,
    /// kairos' value.
    kairos: f64,
    /// The reference value (mimalloc's, or System's for spawn_many).
    reference: f64,
    /// kairos / reference (or the fault count for the faults target).
    ratio: f64,
    /// kairos-tls / reference, where it applies.
    tls_ratio: Option<f64>,
    /// Met?
    met: bool,
}

impl Report<'_> {
    fn find(&self, metric: &str, allocator: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.metric == metric && r.allocator == allocator)
    }

    /// median of `allocator` / median of `reference` for `metric`.
    fn ratio(&self, metric: &str, allocator: &str, reference: &str) -> Option<f64> {
        Some(
            self.find(metric, allocator)?.summary.median
                / self.find(metric, reference)?.summary.median,
        )
    }

    fn targets(&self) -> Vec<Target> {
        // (metric, goal text, highest kairos/mimalloc ratio that meets it)
        const RATIO_TARGETS: [(&str, &str, f64); 4] = [
            ("pair", "<= 0.5x mimalloc", 0.5),
            // Issue 4 asked for 1.1x; issue 17 for 1.0x.
            ("shuffled_64k", "<= 1.0x mimalloc", 1.0),
            ("stream", "<= 0.5x mimalloc", 0.5),
            ("latency p99.99", "<= 0.1x mimalloc", 0.1),
        ];
        let mut out = Vec::new();
        for (metric, goal, limit) in RATIO_TARGETS {
            let (Some(k), Some(m)) = (self.find(metric, "kairos"), self.find(metric, "mimalloc"))
            else {
                continue;
            };
            let ratio = k.summary.median / m.summary.median;
            out.push(Target {
                what: metric,
                goal,
                kairos: k.summary.median,
                reference: m.summary.median,
                ratio,
                tls_ratio: self.ratio(metric, "kairos-tls", "mimalloc"),
                met: ratio <= limit,
            });
        }
        if let (Some(k), Some(m)) = (
            self.find("faults", "kairos"),
            self.find("faults", "mimalloc"),
        ) {
            out.push(Target {
                what: "faults (every round)",
                goal: "0 page faults",
                kairos: k.summary.max,
                reference: m.summary.max,
                ratio: f64::NAN,
                tls_ratio: None,
                met: k.summary.max == 0.0,
            });
        }
        if let (Some(p), Some(s)) = (
            self.find("spawn_many", "Pool"),
            self.find("spawn_many", "System (Box)"),
        ) {
            let ratio = p.summary.median / s.summary.median;
            out.push(Target {
                what: "spawn_many Pool vs System",
                goal: "<= 1.0x System",
                kairos: p.summary.median,
                reference: s.summary.median,
                ratio,
                tls_ratio: None,
                met: ratio <= 1.0,
            });
        }
        out
    }

    /// The tables and notes as printed.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mut t = Table::new([
            "case",
            "unit",
            "allocator",
            "median",
            "min",
            "max",
            "vs mimalloc",
            "faults/run",
        ])
        .text_columns(3);
        for r in self.rows.iter().filter(|r| r.case != Case::SpawnMany) {
            t.row([
                r.metric.to_owned(),
                r.unit.to_owned(),
                r.allocator.to_owned(),
                num(r.summary.median),
                num(r.summary.min),
                num(r.summary.max),
                self.ratio(r.metric, r.allocator, "mimalloc")
                    .map_or_else(|| "-".to_owned(), ratio),
                r.faults.map_or_else(String::new, |f| num(f.median)),
            ]);
        }
        out.push_str(&format!("{t}\n"));
        let spawn: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.case == Case::SpawnMany)
            .collect();
        if !spawn.is_empty() {
            let mut t = Table::new([
                "kairos spawn_many",
                "unit",
                "median",
                "min",
                "max",
                "vs System",
            ])
            .text_columns(2);
            for r in spawn {
                t.row([
                    r.allocator.to_owned(),
                    r.unit.to_owned(),
                    num(r.summary.median),
                    num(r.summary.min),
                    num(r.summary.max),
                    self.ratio(r.metric, r.allocator, "System (Box)")
                        .map_or_else(|| "-".to_owned(), ratio),
                ]);
            }
            out.push_str(&format!("{t}\n"));
        }
        let targets = self.targets();
        if !targets.is_empty() {
            let mut t = Table::new([
                "target",
                "goal",
                "kairos",
                "reference",
                "ratio",
                "kairos-tls ratio",
                "met",
            ])
            .text_columns(2);
            for g in &targets {
                t.row([
                    g.what.to_owned(),
                    g.goal.to_owned(),
                    num(g.kairos),
                    num(g.reference),
                    if g.ratio.is_finite() {
                        ratio(g.ratio)
                    } else {
                        "-".to_owned()
                    },
                    g.tls_ratio.map_or_else(|| "-".to_owned(), ratio),
                    if g.met { "yes" } else { "NO" }.to_owned(),
                ]);
            }
            out.push_str(&format!("{t}\n"));
        }
        if let Some(c) = self.clock {
            out.push_str(&format!(
                "latency floor (clock pair alone, pinned, no allocation): p50 {} p99 {} p99.9 {} \
                 p99.99 {} max {} ns\n",
                num(c.p50),
                num(c.p99),
                num(c.p999),
                num(c.p9999),
                num(c.max)
            ));
        }
        if let Some(p) = self.pinning {
            out.push_str(&format!("{p}\n"));
        }
        out.push_str(&format!("{}\n", self.pool));
        out.push_str(&format!(
            "{} rounds after one warm-up each; medians (min, max) of the rounds; \"vs mimalloc\" = \
             median / mimalloc's median (< 1: faster)\n",
            self.rounds
        ));
        if let Some(b) = self.busy {
            out.push_str(&format!("{b}\n"));
        }
        out
    }

    /// The same as JSON.
    pub fn json(&self) -> AllocJson<'_> {
        AllocJson {
            rounds: self.rounds,
            block_size: super::family::BLOCK_SIZE,
            machine: self.busy.unwrap_or("unknown"),
            pinning: self.pinning.unwrap_or("not applicable"),
            kairos_pool: self.pool,
            latency_clock_floor_ns: self.clock,
            results: self.rows.iter().map(Row::json).collect(),
            targets: self.targets().iter().map(Target::json).collect(),
        }
    }
}

/// `alloc --json`: the run's settings, the result rows and the targets. Serialised by derived
/// `Serialize`.
#[derive(Debug, Serialize)]
pub struct AllocJson<'a> {
    /// [`Report::rounds`].
    pub rounds: usize,
    /// The block size of every case, bytes.
    pub block_size: usize,
    /// [`Report::busy`], or `unknown`.
    pub machine: &'a str,
    /// [`Report::pinning`], or `not applicable`.
    pub pinning: &'a str,
    /// [`Report::pool`].
    pub kairos_pool: &'a str,
    /// [`Report::clock`], if the latency case ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_clock_floor_ns: Option<Tail>,
    /// One object per [`Row`].
    pub results: Vec<AllocRowJson<'a>>,
    /// One object per target whose case ran.
    pub targets: Vec<TargetJson>,
}

/// A [`Row`] as its JSON report object.
#[derive(Debug, Serialize)]
pub struct AllocRowJson<'a> {
    /// [`Case::name`].
    pub case: &'static str,
    /// [`Row::metric`].
    pub metric: &'static str,
    /// [`Row::unit`].
    pub unit: &'static str,
    /// [`Row::allocator`].
    pub allocator: &'static str,
    /// [`Row::summary`].
    pub summary: &'a Summary,
    /// [`Row::faults`], where measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults_per_run: Option<&'a Summary>,
    /// [`Row::pinned`] as `yes` or `no`, where it applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<&'static str>,
}

/// A target as its JSON report object (non-finite figures as `null`).
#[derive(Debug, Serialize)]
pub struct TargetJson {
    /// What is compared.
    pub target: &'static str,
    /// The goal as text.
    pub goal: &'static str,
    /// kairos' value.
    pub kairos: f64,
    /// The reference value.
    pub reference: f64,
    /// kairos / reference.
    pub ratio: f64,
    /// kairos-tls / reference (`null` where it does not apply).
    pub kairos_tls_ratio: Option<f64>,
    /// `yes` or `no`.
    pub met: &'static str,
}

impl Row {
    /// This row's JSON report object.
    pub fn json(&self) -> AllocRowJson<'_> {
        AllocRowJson {
            case: self.case.name(),
            metric: self.metric,
            unit: self.unit,
            allocator: self.allocator,
            summary: &self.summary,
            faults_per_run: self.faults.as_ref(),
            pinned: self.pinned.map(json::yes_no),
        }
    }
}

impl Target {
    /// This target's JSON report object.
    fn json(&self) -> TargetJson {
        TargetJson {
            target: self.what,
            goal: self.goal,
            kairos: self.kairos,
            reference: self.reference,
            ratio: self.ratio,
            kairos_tls_ratio: self.tls_ratio,
            met: json::yes_no(self.met),
        }
    }
}

fn ratio(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}x")
    } else {
        "-".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document has the schema version, the settings, the rows (faults and pinning only
    /// where known), the clock floor and the targets with `null` where a figure is missing.
    #[test]
    fn json_report_keeps_its_keys() {
        let s = Summary::single;
        let row = |allocator: &'static str, median: f64, pinned: Option<bool>| Row {
            case: Case::Pair,
            metric: "pair",
            unit: "ns/pair",
            allocator,
            summary: s(median),
            faults: pinned.map(|_| s(0.0)),
            pinned,
        };
        let rows = [row("kairos", 1.0, Some(true)), row("mimalloc", 4.0, None)];
        let clock = Tail {
            p50: 20.0,
            p99: 30.0,
            p999: 40.0,
            p9999: 50.0,
            max: 60.0,
        };
        let report = Report {
            rows: &rows,
            clock: Some(clock),
            pinning: None,
            pool: "pool: 0 chunks",
            busy: None,
            rounds: 1,
        };
        let v = json::written_and_read("alloc", report.json());
        assert_eq!(
            (v["rounds"].as_u64(), v["block_size"].as_u64()),
            (Some(1), Some(128))
        );
        assert_eq!(
            (&v["machine"], &v["pinning"]),
            (&"unknown".into(), &"not applicable".into())
        );
        assert_eq!(v["latency_clock_floor_ns"]["p99_9"], 40.0);
        assert_eq!(v["latency_clock_floor_ns"]["p99_99"], 50.0);
        let (k, m) = (&v["results"][0], &v["results"][1]);
        assert_eq!(
            (&k["case"], &k["allocator"]),
            (&"pair".into(), &"kairos".into())
        );
        assert_eq!(k["summary"]["median"], 1.0);
        assert_eq!(
            (&k["pinned"], &k["faults_per_run"]["max"]),
            (&"yes".into(), &0.0.into())
        );
        assert!(m.get("pinned").is_none() && m.get("faults_per_run").is_none());
        let t = &v["targets"][0];
        assert_eq!((&t["target"], &t["met"]), (&"pair".into(), &"yes".into()));
        assert_eq!(t["ratio"], 0.25);
        assert!(t["kairos_tls_ratio"].is_null());
    }
}
