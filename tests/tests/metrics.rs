//! `Metrics` and `Handle`: counters reflect what happened, `live_tasks` goes back to zero.

use kairos::{Handle, JoinHandle, Runtime};
use kairos_tests::{oneshot, runtime, wait_until, Watchdog};

/// `Handle` is `Clone + Send + Sync + 'static`, `JoinHandle<T>` is `Send + Sync` for `T: Send`.
#[test]
fn handle_types_are_thread_safe() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    fn assert_clone<T: Clone>() {}
    assert_send_sync::<Handle>();
    assert_clone::<Handle>();
    assert_send_sync::<JoinHandle<Vec<u8>>>();
    assert_send_sync::<Runtime>();
}

/// `live_tasks` counts spawned, unfinished tasks, and is back to 0 as soon as they all completed
/// (observed through their `JoinHandle`s).
#[test]
fn live_tasks_returns_to_zero() {
    let _dog = Watchdog::default_for("live_tasks_returns_to_zero");
    let rt = runtime(2);
    assert_eq!(rt.metrics().live_tasks, 0);
    let (gate_tx, gate_rx) = oneshot::<()>();
    let gate = std::sync::Arc::new(std::sync::Mutex::new(Some(gate_rx)));
    let waiter = {
        let gate = std::sync::Arc::clone(&gate);
        rt.spawn(async move {
            let rx = gate.lock().unwrap().take().unwrap();
            rx.await.unwrap();
        })
    };
    let handles: Vec<_> = (0..1000u32)
        .map(|i| {
            rt.spawn(async move {
                kairos::yield_now().await;
                i
            })
        })
        .collect();
    // The gated task cannot finish yet.
    assert!(rt.metrics().live_tasks >= 1);
    let sum: u32 = rt.block_on(async move {
        let mut s = 0;
        for h in handles {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(sum, 999 * 1000 / 2);
    // Only the gated task is left.
    assert_eq!(rt.metrics().live_tasks, 1);
    gate_tx.send(()).unwrap();
    rt.block_on(waiter).unwrap();
    assert_eq!(rt.metrics().live_tasks, 0);
}

/// Stricter form: right after a task's `JoinHandle` resolved, `live_tasks` already excludes that
/// task ("tasks spawned and not yet completed").
#[test]
fn live_tasks_zero_as_soon_as_joined() {
    let _dog = Watchdog::default_for("live_tasks_zero_as_soon_as_joined");
    let rt = runtime(2);
    for i in 0..20_000u32 {
        let h = rt.spawn(async move { i });
        if i.is_multiple_of(2) {
            // Observe completion as early as possible: spin on the state word.
            wait_until(|| h.is_finished());
        }
        assert_eq!(rt.block_on(h).unwrap(), i);
        let live = rt.metrics().live_tasks;
        assert_eq!(live, 0, "iteration {i}: task joined but still counted live");
    }
}

/// `polls` counts at least one poll per task and one per yield; `panics` is 0 without panics;
/// `workers` is the configured number; counters only grow.
#[test]
fn counters_reflect_work() {
    let _dog = Watchdog::default_for("counters_reflect_work");
    let rt = runtime(2);
    let before = rt.metrics();
    assert_eq!(before.workers, 2);
    assert_eq!(before.polls, 0);
    assert_eq!(before.panics, 0);
    let hs: Vec<_> = (0..100)
        .map(|_| {
            rt.spawn(async {
                for _ in 0..10 {
                    kairos::yield_now().await;
                }
            })
        })
        .collect();
    rt.block_on(async move {
        for h in hs {
            h.await.unwrap();
        }
    });
    let after = rt.handle().metrics();
    assert!(after.polls >= 100 * 11, "polls {}", after.polls);
    assert_eq!(after.panics, 0);
    assert!(after.steals >= before.steals && after.parks >= before.parks);
}

/// Probe waker: records `live_tasks` at the moment a JoinHandle's waker is woken.
struct LiveProbe {
    /// Runtime to read metrics from.
    handle: Handle,
    /// `live_tasks` seen at each wake.
    seen: std::sync::Mutex<Vec<usize>>,
    /// Signalled on wake.
    woken: std::sync::Condvar,
}

impl std::task::Wake for LiveProbe {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        let live = self.handle.metrics().live_tasks;
        self.seen.lock().unwrap().push(live);
        self.woken.notify_all();
    }
}

/// When a task's completion is announced (its `JoinHandle`'s waker is woken, observed from
/// inside that waker), `live_tasks` no longer counts it: a task leaves the registry before its
/// completion is published.
#[test]
fn live_tasks_excludes_task_when_join_waker_runs() {
    let _dog = Watchdog::default_for("live_tasks_excludes_task_when_join_waker_runs");
    let rt = runtime(1);
    let (gate_tx, gate_rx) = oneshot::<()>();
    let mut h = rt.spawn(async move { gate_rx.await.unwrap() });
    let probe = std::sync::Arc::new(LiveProbe {
        handle: rt.handle(),
        seen: std::sync::Mutex::default(),
        woken: std::sync::Condvar::new(),
    });
    let waker = std::task::Waker::from(std::sync::Arc::clone(&probe));
    assert!(kairos_tests::poll_once(&mut h, &waker).is_pending());
    gate_tx.send(()).unwrap();
    let mut seen = probe.seen.lock().unwrap();
    while seen.is_empty() {
        seen = probe.woken.wait(seen).unwrap();
    }
    assert!(h.is_finished());
    assert_eq!(
        seen[0], 0,
        "live_tasks counted a completed task at its join wake"
    );
}
