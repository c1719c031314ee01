//! A periodic control loop: a 1 ms real-time task on an absolute release grid, next to
//! background work, with its deadline misses and latencies accounted.
//!
//! ```text
//! cargo run -p kairos --example periodic_control
//! ```
//!
//! Two workers under `Policy::Edf`. The control task is released every 1 ms (`spawn_periodic`:
//! releases do not drift, each job's deadline is its release plus 500 µs) and computes 50 µs per
//! job. Four background tasks, without deadlines, compute in 20 µs slices (`kairos::work`
//! checks between slices whether a more urgent task waits, and yields to it). After 200 ms the
//! loop is stopped and its statistics printed: jobs released and completed, misses, the worst
//! lateness, and release-to-start latency percentiles.

use kairos::{Job, Periodic, Policy, Runtime};
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = Runtime::builder().workers(2).policy(Policy::Edf).build()?;
    let control = rt.spawn_periodic(
        Periodic::new(Duration::from_millis(1))
            .deadline(Duration::from_micros(500))
            .name("control"),
        |job: Job| async move {
            // Read sensors, compute, write actuators: here, 50 µs of CPU.
            kairos::work(Duration::from_micros(50)).await;
            let _ = job.index();
        },
    )?;
    let background: Vec<_> = (0..4)
        .map(|_| {
            rt.spawn(async {
                for _ in 0..100 {
                    kairos::work(Duration::from_micros(500)).await;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    control.stop();
    let s = control.stats();
    rt.block_on(control.join());
    for task in background {
        rt.block_on(task)?;
    }
    println!(
        "control loop: {} released, {} completed, {} missed their 500 us deadline, worst \
         lateness {:?}",
        s.released, s.completed, s.missed, s.max_lateness
    );
    println!(
        "release -> start: p50 {} ns, p99 {} ns, max {} ns",
        s.start_latency.p50(),
        s.start_latency.p99(),
        s.start_latency.max()
    );
    println!(
        "release -> completion: p50 {} ns, p99 {} ns, max {} ns",
        s.response_time.p50(),
        s.response_time.p99(),
        s.response_time.max()
    );
    assert!(s.completed > 0, "the control loop never ran");
    Ok(())
}
