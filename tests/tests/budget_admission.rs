//! `try_spawn_with`: under `Classes` with admission control, a budgeted task is admitted like a
//! periodic task of its budget (`C` per `T`) for as long as it lives.

use kairos::{AdmissionError, Job, Periodic, Policy, Runtime, Sched};
use kairos_tests::Watchdog;
use std::time::Duration;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// One worker, `Classes`, admission control with a 50% deadline share.
fn runtime() -> Runtime {
    Runtime::builder()
        .workers(1)
        .policy(Policy::Classes)
        .admission_control(true)
        .deadline_share(50)
        .build()
        .unwrap()
}

/// Parameters: 50% share of one worker. A budget of 3 ms / 10 ms is admitted; a second one
/// (total 0.600) is refused with the share's numbers while the first lives, and admitted once
/// the first completed; a periodic task is refused beside two budgets the same way; dropping an
/// unfinished budgeted task frees its share.
#[test]
fn budgets_are_admitted_against_the_share_while_their_task_lives() {
    let _dog =
        Watchdog::default_for("budgets_are_admitted_against_the_share_while_their_task_lives");
    let rt = runtime();
    let budget = || Sched::default().budget(ms(3), ms(10));
    let (tx, rx) = kairos::sync::oneshot::channel::<()>();
    let first = rt
        .try_spawn_with(budget(), async move {
            let _ = rx.await;
        })
        .expect("0.3 fits in 0.5");
    let err = rt
        .try_spawn_with(budget(), async {})
        .expect_err("0.6 does not fit in 0.5");
    assert!(
        matches!(err, AdmissionError::DeadlineShare { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("0.600") && msg.contains("50% of 1 worker(s) = 0.500"),
        "{msg}"
    );
    // The first task completes: its share is free again.
    tx.send(()).unwrap();
    rt.block_on(first).unwrap();
    let second = rt
        .try_spawn_with(budget(), std::future::pending::<()>())
        .expect("admitted once the first is gone");
    // Periodic tasks are counted with the budgets.
    let periodic = Periodic::new(ms(10)).wcet(ms(3));
    let err = rt
        .spawn_periodic(periodic, |_: Job| async {})
        .expect_err("0.3 + 0.3 > 0.5");
    assert!(err.to_string().contains("0.600"), "{err}");
    // Aborting the pending task drops its future, and its share with it.
    second.abort();
    assert!(rt.block_on(second).unwrap_err().is_cancelled());
    let h = rt
        .spawn_periodic(periodic, |_: Job| async {})
        .expect("the aborted task's share is free");
    h.stop();
    rt.block_on(h.join());
}

/// A deadline without a budget is refused (nothing bounds its CPU), naming the fix; tasks
/// outside the deadline class, and every task without admission control, spawn as with
/// `spawn_with`.
#[test]
fn deadline_without_budget_is_refused_others_spawn() {
    let _dog = Watchdog::default_for("deadline_without_budget_is_refused_others_spawn");
    let rt = runtime();
    let err = rt
        .try_spawn_with(Sched::default().deadline(ms(5)), async {})
        .expect_err("no budget");
    let msg = err.to_string();
    assert!(
        msg.contains("Sched::budget") && msg.contains("spawn_with"),
        "{msg}"
    );
    let fair = rt.try_spawn_with(Sched::default(), async { 1 }).unwrap();
    let prio = rt
        .try_spawn_with(Sched::default().priority(9), async { 2 })
        .unwrap();
    assert_eq!(rt.block_on(fair).unwrap() + rt.block_on(prio).unwrap(), 3);
    let open = Runtime::builder()
        .workers(1)
        .policy(Policy::Classes)
        .build()
        .unwrap();
    let h = open
        .try_spawn_with(Sched::default().deadline(ms(5)), async { 4 })
        .unwrap();
    assert_eq!(open.block_on(h).unwrap(), 4);
}
