//! Records a runtime trace and writes it as Chrome Trace Event Format JSON, to open in
//! Perfetto (<https://ui.perfetto.dev>, "Open trace file") or `chrome://tracing` ("Load").
//!
//! ```text
//! cargo run -p kairos --example trace_perfetto [-- OUT.json]
//! ```
//!
//! Two workers under `Edf` run a periodic "control" task (1 ms period, 200 µs deadline, which
//! it misses now and then behind "crunch" tasks that compute in `work` slices) and a "ping" /
//! "pong" pair that wake each other. Prints the task dump taken while they run, then writes the
//! trace (default: `kairos-trace.json` in the temp directory) and says what it holds.

use kairos::{Periodic, Policy, Runtime, Sched};
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("kairos-trace.json"));
    let rt = Runtime::builder()
        .workers(2)
        .policy(Policy::Edf)
        .track_tasks(true)
        .build()?;
    rt.start_trace(1 << 18)?;
    let control = rt.spawn_periodic(
        Periodic::new(Duration::from_millis(1))
            .deadline(Duration::from_micros(200))
            .name("control"),
        |_job| async { kairos::work(Duration::from_micros(50)).await },
    )?;
    let crunch: Vec<_> = (0..3)
        .map(|_| {
            rt.spawn_with(
                Sched::default()
                    .name("crunch")
                    .deadline(Duration::from_millis(50)),
                async { kairos::work(Duration::from_millis(5)).await },
            )
        })
        .collect();
    let ping_pong = rt.spawn_with(Sched::default().name("ping"), async {
        for _ in 0..100 {
            kairos::spawn_with(Sched::default().name("pong"), async {
                kairos::yield_now().await;
            })
            .await
            .unwrap();
        }
    });
    println!("{}", rt.dump());
    rt.block_on(async {
        for c in crunch {
            c.await.unwrap();
        }
        ping_pong.await.unwrap();
        kairos::time::sleep(Duration::from_millis(5)).await;
    });
    control.stop();
    let trace = rt.stop_trace().expect("the trace was started above");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out)?);
    trace.write_chrome_json(&mut file)?;
    println!(
        "{} events on {} workers ({} lost), written to {}",
        trace.events().len(),
        trace.workers(),
        trace.lost(),
        out.display()
    );
    Ok(())
}
