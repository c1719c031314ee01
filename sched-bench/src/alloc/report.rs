//! The report of `sched-bench alloc`: the results table, the targets (issue 4's, with issue 17's
//! stricter `shuffled_64k` goal), notes; and the same as JSON.
//!
//! Targets are checked against the `kairos` row (explicit per-thread heaps, the allocator's
//! fast path); the `kairos-tls` ratio is shown next to it for reference. A target whose case did
//! not run is left out.

use super::latency::Tail;
use super::{Case, Row};
use crate::json::{self, Obj};
use crate::table::{num, Table};

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
    pub fn json(&self) -> serde_json::Value {
        let rows = self.rows.iter().map(|r| {
            let mut o = Obj::new()
                .str("case", r.case.name())
                .str("metric", r.metric)
                .str("unit", r.unit)
                .str("allocator", r.allocator)
                .val("summary", r.summary);
            if let Some(f) = &r.faults {
                o = o.val("faults_per_run", f);
            }
            if let Some(p) = r.pinned {
                o = o.str("pinned", if p { "yes" } else { "no" });
            }
            o.finish()
        });
        let targets = self.targets().into_iter().map(|g| {
            Obj::new()
                .str("target", g.what)
                .str("goal", g.goal)
                .num("kairos", g.kairos)
                .num("reference", g.reference)
                .num("ratio", g.ratio)
                .num("kairos_tls_ratio", g.tls_ratio.unwrap_or(f64::NAN))
                .str("met", if g.met { "yes" } else { "no" })
                .finish()
        });
        let mut o = Obj::new()
            .str("command", "alloc")
            .int("rounds", self.rounds as u64)
            .int("block_size", super::family::BLOCK_SIZE as u64)
            .str("machine", self.busy.unwrap_or("unknown"))
            .str("pinning", self.pinning.unwrap_or("not applicable"))
            .str("kairos_pool", self.pool);
        if let Some(c) = self.clock {
            o = o.val(
                "latency_clock_floor_ns",
                Obj::new()
                    .num("p50", c.p50)
                    .num("p99", c.p99)
                    .num("p99_9", c.p999)
                    .num("p99_99", c.p9999)
                    .num("max", c.max)
                    .finish(),
            );
        }
        o.val("results", json::array(rows))
            .val("targets", json::array(targets))
            .finish()
    }
}

fn ratio(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}x")
    } else {
        "-".to_owned()
    }
}
