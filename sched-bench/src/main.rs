//! `sched-bench`: scheduling benchmarks (placeholder, filled in by the runtime core issue).
fn main() {}
