//! Spawning: many tasks from outside and inside the runtime, from many threads; every task runs
//! exactly once and every result is delivered exactly once.

use kairos::Runtime;
use kairos_tests::{runtime, Watchdog};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

const N: usize = 100_000;

/// Checks that `results` is exactly `0..n` (each index once) after sorting.
fn assert_each_index_once(mut results: Vec<usize>, n: usize) {
    assert_eq!(results.len(), n, "wrong number of results");
    results.sort_unstable();
    for (expected, got) in results.into_iter().enumerate() {
        assert_eq!(got, expected, "an index is missing or duplicated");
    }
}

/// 100k tasks spawned with `Runtime::spawn` from outside on 2 workers all run once and each
/// delivers its result once.
#[test]
fn spawn_100k_from_outside() {
    let _dog = Watchdog::default_for("spawn_100k_from_outside");
    let rt = runtime(2);
    let runs = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let runs = Arc::clone(&runs);
            rt.spawn(async move {
                runs.fetch_add(1, Ordering::Relaxed);
                i
            })
        })
        .collect();
    let results = rt.block_on(async move {
        let mut out = Vec::with_capacity(N);
        for h in handles {
            out.push(h.await.expect("task failed"));
        }
        out
    });
    assert_each_index_once(results, N);
    assert_eq!(runs.load(Ordering::Relaxed), N);
    let m = rt.metrics();
    assert_eq!(m.workers, 2);
    assert!(m.polls >= N as u64, "polls {} < tasks {N}", m.polls);
    assert_eq!(m.panics, 0);
}

/// 100k tasks spawned with `kairos::spawn` from inside a task on a worker all run once and each
/// delivers its result once to the spawning task.
#[test]
fn spawn_100k_from_inside_a_worker() {
    let _dog = Watchdog::default_for("spawn_100k_from_inside_a_worker");
    let rt = runtime(2);
    let runs = Arc::new(AtomicUsize::new(0));
    let runs2 = Arc::clone(&runs);
    let root = rt.spawn(async move {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let runs = Arc::clone(&runs2);
                kairos::spawn(async move {
                    runs.fetch_add(1, Ordering::Relaxed);
                    i
                })
            })
            .collect();
        let mut out = Vec::with_capacity(N);
        for h in handles {
            out.push(h.await.expect("task failed"));
        }
        out
    });
    let results = rt.block_on(root).expect("root task failed");
    assert_each_index_once(results, N);
    assert_eq!(runs.load(Ordering::Relaxed), N);
}

/// A tree of spawns (100 tasks from outside, each spawning 1000 from inside, which yield once)
/// completes with every leaf result delivered once.
#[test]
fn spawn_tree_with_yields() {
    let _dog = Watchdog::default_for("spawn_tree_with_yields");
    let rt = runtime(2);
    let runs = Arc::new(AtomicUsize::new(0));
    let parents: Vec<_> = (0..100usize)
        .map(|p| {
            let runs = Arc::clone(&runs);
            rt.spawn(async move {
                let kids: Vec<_> = (0..1000usize)
                    .map(|k| {
                        let runs = Arc::clone(&runs);
                        kairos::spawn(async move {
                            kairos::yield_now().await;
                            runs.fetch_add(1, Ordering::Relaxed);
                            p * 1000 + k
                        })
                    })
                    .collect();
                let mut out = Vec::with_capacity(kids.len());
                for k in kids {
                    out.push(k.await.expect("leaf failed"));
                }
                out
            })
        })
        .collect();
    let results = rt.block_on(async move {
        let mut all = Vec::with_capacity(N);
        for p in parents {
            all.extend(p.await.expect("parent failed"));
        }
        all
    });
    assert_each_index_once(results, N);
    assert_eq!(runs.load(Ordering::Relaxed), N);
}

/// `Handle::spawn` from 4 foreign threads at once (10k spawns each) loses and duplicates no task.
#[test]
fn handle_spawn_from_many_threads() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 10_000;
    let _dog = Watchdog::default_for("handle_spawn_from_many_threads");
    let rt = runtime(2);
    let runs = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(THREADS));
    let spawners: Vec<_> = (0..THREADS)
        .map(|t| {
            let handle = rt.handle();
            let runs = Arc::clone(&runs);
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                (0..PER_THREAD)
                    .map(|i| {
                        let runs = Arc::clone(&runs);
                        handle.spawn(async move {
                            runs.fetch_add(1, Ordering::Relaxed);
                            t * PER_THREAD + i
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let handles: Vec<_> = spawners
        .into_iter()
        .flat_map(|s| s.join().expect("spawner thread panicked"))
        .collect();
    let results = rt.block_on(async move {
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(h.await.expect("task failed"));
        }
        out
    });
    assert_each_index_once(results, THREADS * PER_THREAD);
    assert_eq!(runs.load(Ordering::Relaxed), THREADS * PER_THREAD);
}

/// `kairos::spawn` inside `block_on` (not a worker) spawns onto the runtime.
#[test]
fn spawn_inside_block_on() {
    let _dog = Watchdog::default_for("spawn_inside_block_on");
    let rt = runtime(2);
    let sum = rt.block_on(async {
        let hs: Vec<_> = (0..1000u64)
            .map(|i| kairos::spawn(async move { i }))
            .collect();
        let mut sum = 0;
        for h in hs {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, 999 * 1000 / 2);
}

/// Spawned tasks run without anyone awaiting their `JoinHandle` (dropping it detaches).
#[test]
fn detached_tasks_run() {
    let _dog = Watchdog::default_for("detached_tasks_run");
    let rt = runtime(2);
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..1000usize {
        let tx = tx.clone();
        drop(rt.spawn(async move {
            kairos::yield_now().await;
            tx.send(i).unwrap();
        }));
    }
    drop(tx);
    // The channel closes when the last task (and its sender) is gone.
    let results: Vec<usize> = rx.iter().collect();
    assert_each_index_once(results, 1000);
}

/// Worker threads are named `"{thread_name}-{index}"`.
#[test]
fn thread_name_is_applied() {
    let _dog = Watchdog::default_for("thread_name_is_applied");
    let rt = Runtime::builder()
        .workers(2)
        .thread_name("kt-name")
        .build()
        .unwrap();
    let handles: Vec<_> = (0..200)
        .map(|_| {
            rt.spawn(async {
                kairos::yield_now().await;
                std::thread::current().name().map(str::to_owned)
            })
        })
        .collect();
    let names = rt.block_on(async move {
        let mut names = Vec::new();
        for h in handles {
            names.push(h.await.unwrap());
        }
        names
    });
    for name in names {
        let name = name.expect("worker thread has no name");
        assert!(
            name == "kt-name-0" || name == "kt-name-1",
            "unexpected worker thread name {name:?}"
        );
    }
}

/// Task ids are unique and increase in spawn order.
#[test]
fn task_ids_increase() {
    let rt = runtime(1);
    let ids: Vec<u64> = (0..1000)
        .map(|_| rt.spawn(async {}).id().as_u64())
        .collect();
    assert!(ids[0] >= 1);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids not strictly increasing"
    );
}
