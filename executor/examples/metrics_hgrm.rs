//! Metrics: the runtime's counters and latency histograms, a text summary, and `.hgrm` files
//! (HdrHistogram's percentile distribution format, which HdrHistogram's plotters read).
//!
//! ```text
//! cargo run -p kairos --example metrics_hgrm [-- OUT_DIR]
//! ```
//!
//! Runs two named kinds of tasks ("ping" yields and sleeps, "crunch" computes) with latency
//! recording on (`Builder::record_latency(true)`; it is on by default under the ordered
//! policies), prints the counters and `Metrics::summary()`, and writes one `.hgrm` file per
//! histogram and name into OUT_DIR (default: a `kairos-metrics` folder in the temp directory).

use kairos::{Runtime, Sched};
use std::path::PathBuf;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("kairos-metrics"));
    let rt = Runtime::builder().workers(2).record_latency(true).build()?;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            if i % 2 == 0 {
                rt.spawn_with(Sched::default().name("ping"), async {
                    for _ in 0..50 {
                        kairos::yield_now().await;
                        kairos::time::sleep(Duration::from_micros(100)).await;
                    }
                })
            } else {
                rt.spawn_with(Sched::default().name("crunch"), async {
                    kairos::work(Duration::from_millis(2)).await;
                })
            }
        })
        .collect();
    for task in tasks {
        rt.block_on(task)?;
    }
    let m = rt.metrics();
    println!(
        "{} workers: {} polls, {} steals, {} parks, {} preemptions, {} panics, {} live tasks",
        m.workers, m.polls, m.steals, m.parks, m.preemptions, m.panics, m.live_tasks
    );
    println!("{}", m.summary());
    let files = m.write_hgrm(&out, "example.")?;
    println!("wrote {} .hgrm files into {}:", files.len(), out.display());
    for f in &files {
        println!("  {}", f.display());
    }
    assert!(m.by_name.contains_key("ping") && m.by_name.contains_key("crunch"));
    Ok(())
}
