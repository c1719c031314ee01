//! Running a tokio-based library on kairos (issue 14, "Interop"): code that needs tokio's
//! reactor or timers (here `tokio::time::sleep` and `tokio::spawn`) panics on a kairos worker
//! ("there is no reactor running"); wrapped in `async_compat::Compat` it runs, because Compat
//! enters a tokio runtime of its own (one background thread) around each poll. kairos schedules
//! the wrapped future like any other task.

use async_compat::Compat;
use std::time::Duration;

fn runtime() -> kairos::Runtime {
    kairos::Runtime::builder().workers(2).build().unwrap()
}

/// Without Compat, tokio's timer refuses to run on a kairos worker, and says why.
#[test]
fn tokio_timer_without_compat_panics_with_a_message() {
    let rt = runtime();
    let err = rt
        .block_on(rt.spawn(async { tokio::time::sleep(Duration::from_millis(1)).await }))
        .unwrap_err();
    assert!(err.is_panic());
    let payload = err.into_panic();
    let msg = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(msg.contains("no reactor running"), "{msg}");
}

/// With Compat, a tokio timer and a tokio task inside a kairos task complete, and the kairos
/// task's output comes back through its `JoinHandle`.
#[test]
fn tokio_code_runs_inside_compat() {
    let rt = runtime();
    let v = rt
        .block_on(rt.spawn(Compat::new(async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let inner = tokio::spawn(async { 20 });
            inner.await.unwrap() + 22
        })))
        .unwrap();
    assert_eq!(v, 42);
}

/// Compat under an ordered policy: the wrapped task keeps its kairos scheduling parameters.
#[test]
fn compat_task_keeps_its_deadline_under_edf() {
    let rt = kairos::Runtime::builder()
        .workers(1)
        .policy(kairos::Policy::Edf)
        .build()
        .unwrap();
    let deadline = kairos::time::Instant::now() + Duration::from_secs(5);
    let seen = rt
        .block_on(rt.spawn_with(
            kairos::Sched::default().deadline_at(deadline),
            Compat::new(async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                kairos::task::deadline()
            }),
        ))
        .unwrap();
    assert_eq!(seen, Some(deadline));
}
