//! Fifo stealing with patience (`executor/src/worker/patience.rs`): a thief leaves a short queue
//! to an owner that is working through it, and steals it from an owner stuck in one poll.
//!
//! Both tests block a worker inside one poll (a task that spins until the tasks it spawned have
//! run) with its spawns queued behind it: the spawned tasks can only run if the other worker
//! steals them. Before the patience rule existed they were stolen at first sight; with it, after
//! `PATIENCE_NS` (3 µs) of a still owner, and, when the other worker had parked resting (its last search left work to an owner that was moving), after its
//! bounded park. A broken rule leaves the spinning task waiting forever: each test gives up after
//! [`GIVE_UP`] and fails, which is a bound on a hang, not a timing threshold (the machine needs
//! microseconds).

use kairos::{Policy, Runtime};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a blocked task waits for its spawns before the test fails.
const GIVE_UP: Duration = Duration::from_secs(30);

/// Tasks spawned behind the blocked poll: fewer than the ring length stolen at first sight.
const SPAWNS: usize = 3;

fn runtime() -> Runtime {
    Runtime::builder()
        .workers(2)
        .policy(Policy::Fifo)
        .build()
        .expect("runtime")
}

/// Spawns [`SPAWNS`] tasks that count themselves, then spins inside this poll until they have
/// all run (or [`GIVE_UP`] passed). Returns how many ran.
fn spawn_and_block() -> usize {
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..SPAWNS {
        let ran = ran.clone();
        kairos::spawn(async move {
            ran.fetch_add(1, Ordering::SeqCst);
        });
    }
    let start = Instant::now();
    while ran.load(Ordering::SeqCst) < SPAWNS && start.elapsed() < GIVE_UP {
        std::hint::spin_loop();
    }
    ran.load(Ordering::SeqCst)
}

#[test]
fn a_short_queue_behind_a_stuck_poll_is_stolen() {
    let rt = runtime();
    for round in 0..20 {
        let ran = rt.block_on(async { kairos::spawn(async { spawn_and_block() }).await.unwrap() });
        assert_eq!(
            ran, SPAWNS,
            "round {round}: the spawns behind a blocked poll never ran"
        );
    }
}

/// First the blocking task keeps its worker busy with a stream of tiny tasks it works through
/// (spawn one, yield): the other worker, woken for the surplus, finds an owner that moves and
/// parks resting. Then the task blocks with spawns queued behind it: surplus pushes do not wake
/// a resting worker, so only its bounded park brings it back to steal them.
#[test]
fn a_resting_worker_comes_back_for_a_queue_behind_a_stuck_poll() {
    let rt = runtime();
    for round in 0..10 {
        let ran = rt.block_on(async {
            kairos::spawn(async {
                let start = Instant::now();
                while start.elapsed() < Duration::from_millis(5) {
                    kairos::spawn(async {});
                    kairos::yield_now().await;
                }
                spawn_and_block()
            })
            .await
            .unwrap()
        });
        assert_eq!(
            ran, SPAWNS,
            "round {round}: the spawns behind a blocked poll never ran"
        );
    }
}
