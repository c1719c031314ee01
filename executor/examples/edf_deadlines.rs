//! EDF: tasks with deadlines run earliest deadline first, whatever order they were spawned in.
//!
//! ```text
//! cargo run -p kairos --example edf_deadlines
//! ```
//!
//! One worker under `Policy::Edf`. A parent task spawns seven jobs with deadlines in shuffled
//! order; they wait in the worker's queue while the parent runs, and when it returns the worker
//! runs them by deadline. The example prints the order they ran in. A relative deadline
//! (`Sched::deadline`) counts from the spawn; a task without a deadline runs after every task
//! that has one.

use kairos::{Policy, Runtime, Sched};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = Runtime::builder().workers(1).policy(Policy::Edf).build()?;
    let order = Arc::new(Mutex::new(Vec::new()));
    let parent = {
        let order = order.clone();
        rt.spawn(async move {
            // Deadlines in ms, spawned out of order; `None`: no deadline (runs last).
            [
                Some(40),
                Some(10),
                None,
                Some(30),
                Some(5),
                Some(20),
                Some(15),
            ]
            .into_iter()
            .map(|deadline_ms| {
                let mut sched = Sched::default().name("job");
                if let Some(ms) = deadline_ms {
                    sched = sched.deadline(Duration::from_millis(ms));
                }
                let order = order.clone();
                kairos::spawn_with(sched, async move {
                    order.lock().unwrap().push(deadline_ms);
                })
            })
            .collect::<Vec<_>>()
        })
    };
    rt.block_on(async {
        for job in parent.await.expect("parent") {
            job.await.expect("job");
        }
    });
    let ran = order.lock().unwrap().clone();
    println!("spawned with deadlines (ms): 40, 10, none, 30, 5, 20, 15");
    let shown: Vec<String> = ran
        .iter()
        .map(|d| d.map_or("none".to_owned(), |ms| ms.to_string()))
        .collect();
    println!("ran in order:                {}", shown.join(", "));
    let with_deadline: Vec<u64> = ran.iter().flatten().copied().collect();
    assert!(
        with_deadline.windows(2).all(|w| w[0] <= w[1]),
        "not EDF order"
    );
    assert_eq!(
        ran.last(),
        Some(&None),
        "the task without a deadline runs last"
    );
    Ok(())
}
