//! `kairos::task::JoinSet` and `AbortHandle`: completion order (exactly, under the simulator),
//! abort semantics (every task's future dropped exactly once), detach, drop, the cooperative
//! budget, and the real runtime.

use kairos::sim::{self, Builder, Mode};
use kairos::task::{AbortHandle, JoinSet};
use kairos::{Policy, Sched};
use kairos_tests::{runtime, Watchdog};
use std::future::{pending, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// One drop counter per task: `counts[i]` is how many times task `i`'s future was dropped.
fn counters(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

/// Increments `counts[i]` when dropped.
struct Dropped(Arc<Vec<AtomicUsize>>, usize);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0[self.1].fetch_add(1, Ordering::SeqCst);
    }
}

/// Counts the polls of the future it wraps.
struct CountPolls<F> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

/// Tasks that finish at different virtual times come out of `join_next` in exactly that order,
/// with 4 workers, for several seeds; the run is deterministic.
#[test]
fn completion_order_is_exact_under_the_simulator() {
    // Sleep lengths (ms) in spawn order: a permutation, so the expected order is the sorted one.
    let sleeps: Vec<u64> = vec![7, 3, 11, 1, 9, 2, 12, 5, 4, 10, 8, 6];
    sim::for_each_seed(11, |seed| {
        let mut sim = Builder::new().seed(seed).workers(4).build().unwrap();
        let sleeps = sleeps.clone();
        let order = sim.block_on(async move {
            let mut set = JoinSet::new();
            for ms in sleeps {
                set.spawn(async move {
                    kairos::time::sleep(Duration::from_millis(ms)).await;
                    ms
                });
            }
            assert_eq!(set.len(), 12);
            let mut order = Vec::new();
            while let Some(res) = set.join_next().await {
                order.push(res.unwrap());
                assert_eq!(set.len(), 12 - order.len());
            }
            order
        });
        assert_eq!(order, (1..=12).collect::<Vec<u64>>());
    });
}

/// On one worker (Fifo: round robin through the queue), tasks that yield different numbers of
/// times finish in the order the schedule gives, not in spawn order: 3, 1 and 2 yields finish
/// as task 1, task 2, task 0.
#[test]
fn completion_order_follows_the_schedule() {
    let mut sim = Builder::new()
        .seed(3)
        .workers(1)
        .mode(Mode::CostModel)
        .build()
        .unwrap();
    // Spawned from a task, so that all three go to the worker's local queue.
    let parent = sim.spawn(async {
        let mut set = JoinSet::new();
        for (i, yields) in [(0u32, 3u32), (1, 1), (2, 2)] {
            set.spawn(async move {
                for _ in 0..yields {
                    kairos::yield_now().await;
                }
                i
            });
        }
        let mut order = Vec::new();
        while let Some(res) = set.join_next().await {
            order.push(res.unwrap());
        }
        order
    });
    assert_eq!(sim.block_on(parent).unwrap(), [1, 2, 0]);
}

/// `check_determinism` on a JoinSet scenario with sleeps and work.
#[test]
fn join_set_scenario_is_deterministic() {
    let report = Builder::new()
        .seed(5)
        .workers(3)
        .policy(Policy::Edf)
        .check_determinism(|sim| {
            sim.block_on(async {
                let mut set = JoinSet::new();
                for i in 0..40u64 {
                    set.spawn_with(
                        Sched::default().deadline(Duration::from_micros(100 + (i * 37) % 200)),
                        async move {
                            kairos::time::sleep(Duration::from_micros((i * 13) % 50)).await;
                            kairos::work(Duration::from_micros(i % 7)).await;
                            i
                        },
                    );
                }
                let mut sum = 0;
                while let Some(res) = set.join_next().await {
                    sum += res.unwrap();
                }
                sim::annotate("sum", sum);
                assert_eq!(sum, (0..40).sum::<u64>());
            });
        });
    assert!(report.is_ok(), "{report:?}");
}

/// `abort_all` cancels every pending task: each future is dropped exactly once, each result is
/// a cancellation, and the set ends empty.
#[test]
fn abort_all_drops_every_task_exactly_once() {
    const N: usize = 50;
    let drops = counters(N);
    let mut sim = Builder::new().seed(9).workers(2).build().unwrap();
    let d = drops.clone();
    let cancelled = sim.block_on(async move {
        let mut set = JoinSet::new();
        for i in 0..N {
            let guard = Dropped(d.clone(), i);
            set.spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            });
        }
        // Let every task start and park.
        kairos::time::sleep(Duration::from_millis(1)).await;
        assert!(d.iter().all(|c| c.load(Ordering::SeqCst) == 0));
        set.abort_all();
        assert_eq!(set.len(), N);
        let mut cancelled = 0;
        while let Some(res) = set.join_next().await {
            assert!(res.unwrap_err().is_cancelled());
            cancelled += 1;
        }
        assert!(set.is_empty());
        cancelled
    });
    assert_eq!(cancelled, N);
    for (i, c) in drops.iter().enumerate() {
        assert_eq!(c.load(Ordering::SeqCst), 1, "task {i}");
    }
}

/// Dropping the set aborts every task still in it, started or not; finished tasks are left
/// alone. Each future is dropped exactly once.
#[test]
fn dropping_the_set_aborts_its_tasks() {
    const N: usize = 20;
    let drops = counters(N);
    let finished = Arc::new(AtomicUsize::new(0));
    let mut sim = Builder::new().seed(1).workers(2).build().unwrap();
    let (d, f) = (drops.clone(), finished.clone());
    let aborts: Vec<AbortHandle> = sim.block_on(async move {
        let mut set = JoinSet::new();
        let mut aborts = Vec::new();
        for i in 0..N {
            let guard = Dropped(d.clone(), i);
            let f = f.clone();
            aborts.push(set.spawn(async move {
                let _guard = guard;
                if i % 2 == 0 {
                    pending::<()>().await;
                }
                f.fetch_add(1, Ordering::SeqCst);
            }));
        }
        kairos::time::sleep(Duration::from_millis(1)).await;
        drop(set);
        kairos::time::sleep(Duration::from_millis(1)).await;
        aborts
    });
    assert_eq!(finished.load(Ordering::SeqCst), N / 2);
    for (i, c) in drops.iter().enumerate() {
        assert_eq!(c.load(Ordering::SeqCst), 1, "task {i}");
        assert!(aborts[i].is_finished());
    }
}

/// `detach_all` empties the set and the tasks run on to completion.
#[test]
fn detach_all_lets_tasks_run_on() {
    let done = Arc::new(AtomicUsize::new(0));
    let mut sim = Builder::new().seed(2).workers(2).build().unwrap();
    let d = done.clone();
    sim.block_on(async move {
        let mut set = JoinSet::new();
        for i in 0..10u64 {
            let d = d.clone();
            set.spawn(async move {
                kairos::time::sleep(Duration::from_millis(i)).await;
                d.fetch_add(1, Ordering::SeqCst);
            });
        }
        set.detach_all();
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
        // The set is usable again, and stale completions of the detached tasks are skipped.
        set.spawn(async {
            kairos::time::sleep(Duration::from_millis(20)).await;
        });
        assert!(set.join_next().await.unwrap().is_ok());
        assert!(set.join_next().await.is_none());
        drop(set);
    });
    assert_eq!(done.load(Ordering::SeqCst), 10);
}

/// A panicking task gives `Err(panic)`; the others are unaffected.
#[test]
fn a_panic_is_one_result() {
    let mut sim = Builder::new().seed(4).workers(2).build().unwrap();
    let (ok, panics) = sim.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..6u32 {
            set.spawn(async move {
                if i == 3 {
                    panic!("task 3 fails");
                }
                i
            });
        }
        let (mut ok, mut panics) = (0, 0);
        while let Some(res) = set.join_next().await {
            match res {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert!(e.is_panic());
                    panics += 1;
                }
            }
        }
        (ok, panics)
    });
    assert_eq!((ok, panics), (5, 1));
}

/// Joining many finished tasks takes part in the cooperative budget: the joining task is polled
/// again (it yielded) before it has joined all 300; `try_join_next`, which cannot yield, takes
/// them all in one go.
#[test]
fn join_next_spends_the_budget_and_try_join_next_is_not_refused() {
    let mut sim = Builder::new().seed(6).workers(1).build().unwrap();
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let (joined, tried) = sim.block_on(async move {
        let joiner = kairos::spawn(CountPolls {
            inner: Box::pin(async {
                let mut set = JoinSet::new();
                for i in 0..300u64 {
                    set.spawn(async move { i });
                }
                // Wait until every task has finished (one worker: they run after this yields).
                kairos::time::sleep(Duration::from_millis(1)).await;
                let mut joined = 0;
                while let Some(res) = set.join_next().await {
                    res.unwrap();
                    joined += 1;
                }
                for i in 0..300u64 {
                    set.spawn(async move { i });
                }
                kairos::time::sleep(Duration::from_millis(1)).await;
                let mut tried = 0;
                while let Some(res) = set.try_join_next() {
                    res.unwrap();
                    tried += 1;
                }
                (joined, tried)
            }),
            polls: p,
        });
        joiner.await.unwrap()
    });
    assert_eq!((joined, tried), (300, 300));
    // Spawn poll, the wake after the first sleep, at least 2 more for the budget (128 per poll),
    // the wake after the second sleep.
    assert!(polls.load(Ordering::SeqCst) >= 5, "{polls:?}");
}

/// On the real runtime with 2 workers: every result arrives once; abort handles work.
#[test]
fn real_runtime_join_set_and_abort_handle() {
    let _dog = Watchdog::default_for("real_runtime_join_set_and_abort_handle");
    let rt = runtime(2);
    let sum = rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..1000u64 {
            set.spawn(async move {
                kairos::yield_now().await;
                i
            });
        }
        let stuck = set.spawn(async {
            pending::<()>().await;
            0
        });
        let stuck2 = stuck.clone();
        assert_eq!(stuck.id(), stuck2.id());
        let mut sum = 0;
        let mut cancelled = 0;
        let mut n = 0;
        while let Some(res) = set.join_next().await {
            n += 1;
            if n == 1000 {
                stuck2.abort();
            }
            match res {
                Ok(v) => sum += v,
                Err(e) => {
                    assert!(e.is_cancelled());
                    cancelled += 1;
                }
            }
        }
        assert!(stuck.is_finished());
        assert_eq!(cancelled, 1);
        sum
    });
    assert_eq!(sum, (0..1000).sum::<u64>());
}

/// `shutdown` aborts and joins everything.
#[test]
fn shutdown_empties_the_set() {
    let drops = counters(8);
    let mut sim = Builder::new().seed(8).workers(2).build().unwrap();
    let d = drops.clone();
    sim.block_on(async move {
        let mut set = JoinSet::new();
        for i in 0..8 {
            let guard = Dropped(d.clone(), i);
            set.spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            });
        }
        set.shutdown().await;
        assert!(set.is_empty());
    });
    assert!(drops.iter().all(|c| c.load(Ordering::SeqCst) == 1));
}
