//! `#[kairos::main]` and `#[kairos::test]` as users write them: arguments reach the builder,
//! return types and `?` are kept, `#[should_panic]` and other attributes still apply.

use std::sync::{Arc, Mutex};

/// The order in which a high- and a low-priority task spawned on the one worker ran.
async fn priority_order() -> Vec<&'static str> {
    kairos::spawn(async {
        let order = Arc::new(Mutex::new(Vec::new()));
        let (a, b) = (order.clone(), order.clone());
        let low = kairos::spawn_with(kairos::Sched::default().priority(1), async move {
            a.lock().unwrap().push("low");
        });
        let high = kairos::spawn_with(kairos::Sched::default().priority(200), async move {
            b.lock().unwrap().push("high");
        });
        low.await.unwrap();
        high.await.unwrap();
        let order = order.lock().unwrap().clone();
        order
    })
    .await
    .unwrap()
}

#[kairos::test]
async fn defaults_to_one_worker() {
    assert_eq!(kairos::Handle::current().metrics().workers, 1);
}

#[kairos::test(workers = 2)]
async fn workers_argument_reaches_the_builder() {
    assert_eq!(kairos::Handle::current().metrics().workers, 2);
}

#[kairos::test(policy = Priority)]
async fn policy_argument_reaches_the_builder() {
    // Both tasks sit in the spawning task's local queue until it awaits: Priority takes the
    // high one first, Fifo (the next test) the one spawned first.
    assert_eq!(priority_order().await, ["high", "low"]);
}

#[kairos::test(policy = "fifo", seed = 7)]
async fn default_policy_runs_in_spawn_order() {
    assert_eq!(priority_order().await, ["low", "high"]);
}

#[kairos::test]
async fn question_mark_and_result_return() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "41".parse()?;
    let m = kairos::spawn(async move { n + 1 }).await.unwrap();
    assert_eq!(m, 42);
    Ok(())
}

#[kairos::test]
#[should_panic(expected = "inside the test")]
async fn should_panic_still_applies() {
    panic!("inside the test");
}

#[kairos::test(crate = "::kairos")]
async fn explicit_crate_path() {
    kairos::yield_now().await;
}

#[kairos::test(flavor = "current_thread")]
async fn current_thread_flavor_runs_tasks_on_the_test_thread() {
    let here = std::thread::current().id();
    let there = kairos::spawn(async { std::thread::current().id() })
        .await
        .unwrap();
    assert_eq!(here, there);
}
