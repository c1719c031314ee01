//! Timers: order, never early, cancellation, many concurrent sleeps, interval grids.
//!
//! No assertion depends on how fast the machine is: "never early" and grid membership are
//! exact; ordering tests use one worker, where firing and polling order are deterministic;
//! missed-tick tests assert inequalities that hold however long a stall lasts.

use kairos::time::{
    interval, interval_at, sleep, sleep_until, timeout, Instant, MissedTickBehavior,
};
use kairos::Runtime;
use kairos_tests::Watchdog;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

fn one_worker() -> Runtime {
    Runtime::builder().workers(1).build().unwrap()
}

/// A small deterministic generator for test inputs (SplitMix64).
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Wraps a future and records whether its first poll returned `Pending`.
struct RecordFirstPoll<F> {
    inner: F,
    pending_at_first_poll: Option<bool>,
}

impl<F> RecordFirstPoll<F> {
    fn new(inner: F) -> RecordFirstPoll<F> {
        RecordFirstPoll {
            inner,
            pending_at_first_poll: None,
        }
    }
}

impl<F: Future + Unpin> Future for RecordFirstPoll<F> {
    /// (pending at first poll, output)
    type Output = (bool, F::Output);
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let polled = Pin::new(&mut self.inner).poll(cx);
        let first = *self
            .pending_at_first_poll
            .get_or_insert(polled.is_pending());
        polled.map(|out| (first, out))
    }
}

/// Of `(deadline, registered)` records in completion order, the deadlines of those that
/// registered a timer.
fn timed_deadlines(order: &[(Instant, bool)]) -> Vec<Instant> {
    order.iter().filter(|(_, r)| *r).map(|(d, _)| *d).collect()
}

/// 100 sleeps with distinct random deadlines each complete at or after their deadline (checked
/// against the clock), and, on one worker, those that registered a timer (their deadline was
/// still ahead at the first poll) complete in deadline order. (A sleep whose deadline passed
/// before its first poll completes at that poll and never reaches the timer heap.)
///
/// 100, not more: FIFO order holds per worker while its local queue does not overflow (256
/// slots; an overflow moves the oldest half to the global queue, see docs/architecture.md).
/// After a stall, every due timer fires at once; 100 cannot overflow it.
#[test]
fn sleeps_complete_in_deadline_order_and_never_early() {
    let _dog = Watchdog::default_for("sleeps_complete_in_deadline_order_and_never_early");
    let rt = one_worker();
    let order = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now() + Duration::from_millis(5);
    let mut rng = 7u64;
    let deadlines: Vec<Instant> = (0..100u64)
        .map(|i| start + Duration::from_nanos((splitmix(&mut rng) % 30_000) * 1_000 + i))
        .collect();
    let handles: Vec<_> = deadlines
        .iter()
        .map(|&deadline| {
            let order = order.clone();
            rt.spawn(async move {
                let (registered, ()) = RecordFirstPoll::new(sleep_until(deadline)).await;
                let woke = Instant::now();
                order.lock().unwrap().push((deadline, registered));
                woke >= deadline
            })
        })
        .collect();
    rt.block_on(async {
        for h in handles {
            assert!(h.await.unwrap(), "a sleep completed before its deadline");
        }
    });
    let order = order.lock().unwrap().clone();
    assert_eq!(order.len(), 100);
    let timed = timed_deadlines(&order);
    assert!(!timed.is_empty(), "no sleep reached the timer heap");
    let mut sorted = timed.clone();
    sorted.sort();
    assert_eq!(
        timed, sorted,
        "timed sleeps completed out of deadline order"
    );
    assert_eq!(rt.metrics().pending_timers, 0);
}

/// `sleep(d)` never returns before `d` has passed, on 2 workers, for many tasks at once.
#[test]
fn sleep_never_returns_early() {
    let _dog = Watchdog::default_for("sleep_never_returns_early");
    let rt = Runtime::builder().workers(2).build().unwrap();
    let handles: Vec<_> = (0..500u64)
        .map(|i| {
            rt.spawn(async move {
                let d = Duration::from_micros(i * 37 % 5_000);
                let start = Instant::now();
                sleep(d).await;
                start.elapsed() >= d
            })
        })
        .collect();
    rt.block_on(async {
        for h in handles {
            assert!(h.await.unwrap());
        }
    });
}

/// A timeout around a future that never completes fails with `Elapsed`, not before its
/// deadline; on one worker, timeouts that registered a timer expire in deadline order; around a
/// ready future a timeout succeeds, even a zero one, and cancels its timer.
#[test]
fn timeouts_fire_in_order_and_never_early() {
    let _dog = Watchdog::default_for("timeouts_fire_in_order_and_never_early");
    let rt = one_worker();
    let order = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = [5u64, 1, 3, 2, 4, 8, 6, 7]
        .into_iter()
        .map(|ms| {
            let order = order.clone();
            rt.spawn(async move {
                let t = timeout(Duration::from_millis(ms), std::future::pending::<()>());
                let deadline = t.deadline();
                let (registered, result) = RecordFirstPoll::new(Box::pin(t)).await;
                assert!(result.is_err());
                order.lock().unwrap().push((deadline, registered));
                Instant::now() >= deadline
            })
        })
        .collect();
    rt.block_on(async {
        for h in handles {
            assert!(h.await.unwrap(), "a timeout expired before its deadline");
        }
        assert_eq!(timeout(Duration::ZERO, async { 5 }).await, Ok(5));
        let long = timeout(Duration::from_secs(3600), async { 6 }).await;
        assert_eq!(long, Ok(6));
    });
    let timed = timed_deadlines(&order.lock().unwrap());
    let mut sorted = timed.clone();
    sorted.sort();
    assert_eq!(timed, sorted, "timeouts expired out of deadline order");
    assert_eq!(rt.metrics().pending_timers, 0);
}

/// Counts its polls; at the first one, registers a sleep of `sleep` and drops it.
struct DropSleepAfterFirstPoll {
    sleep: Option<Duration>,
    polls: Arc<AtomicUsize>,
    release: Arc<AtomicUsize>,
}

impl Future for DropSleepAfterFirstPoll {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(duration) = self.sleep.take() {
            // The sleep is created here, not at spawn: on a loaded machine the first poll may
            // come later than `duration` after the spawn, and an elapsed sleep completes without
            // registering a timer. A thread descheduled between the two lines below has the same
            // problem, so retry until the sleep is registered.
            loop {
                let mut s = sleep(duration);
                if Pin::new(&mut s).poll(cx).is_pending() {
                    // Dropped here: the timer must be cancelled and never wake this task.
                    break;
                }
            }
        }
        // Counted at the end of the poll, after the drop, so an observer that sees the count
        // also sees the cancellation.
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.release.load(Ordering::SeqCst) == 1 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A dropped sleep is removed from the timer heap and never wakes its task: with one worker, a
/// second task sleeping past the dropped sleep's deadline runs after that deadline, and by then
/// the first task was still polled only once.
#[test]
fn dropped_sleep_is_cancelled_and_never_wakes() {
    let _dog = Watchdog::default_for("dropped_sleep_is_cancelled_and_never_wakes");
    let rt = one_worker();
    let polls = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(AtomicUsize::new(0));
    let victim = rt.spawn(DropSleepAfterFirstPoll {
        sleep: Some(Duration::from_millis(5)),
        polls: polls.clone(),
        release: release.clone(),
    });
    rt.block_on(async {
        while polls.load(Ordering::SeqCst) == 0 {
            // Finished without completing a poll: it panicked. Fail instead of spinning.
            assert!(
                !victim.is_finished(),
                "the victim panicked in its first poll"
            );
            kairos::yield_now().await;
        }
    });
    assert_eq!(
        rt.metrics().pending_timers,
        0,
        "the dropped sleep left a timer"
    );
    let p = polls.clone();
    let observed = rt.block_on(rt.spawn(async move {
        sleep(Duration::from_millis(20)).await;
        p.load(Ordering::SeqCst)
    }));
    assert_eq!(observed.unwrap(), 1, "the dropped sleep woke its task");
    release.store(1, Ordering::SeqCst);
    victim.abort();
    let _ = rt.block_on(victim);
}

/// 100,000 tasks sleeping at once (deadlines spread over 50 ms) all complete, and every timer
/// is gone afterwards.
#[test]
fn hundred_thousand_concurrent_sleeps_complete() {
    let _dog = Watchdog::new(
        "hundred_thousand_concurrent_sleeps_complete",
        Duration::from_secs(120),
    );
    let rt = Runtime::builder().workers(2).build().unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let total = rt.block_on(rt.spawn({
        let done = done.clone();
        async move {
            let handles: Vec<_> = (0..100_000u64)
                .map(|i| {
                    let done = done.clone();
                    kairos::spawn(async move {
                        sleep(Duration::from_micros(i % 50_000)).await;
                        done.fetch_add(1, Ordering::Relaxed);
                    })
                })
                .collect();
            let n = handles.len();
            for h in handles {
                h.await.unwrap();
            }
            n
        }
    }));
    assert_eq!(total.unwrap(), 100_000);
    assert_eq!(done.load(Ordering::Relaxed), 100_000);
    assert_eq!(rt.metrics().pending_timers, 0);
}

/// Blocks the calling thread for `d`: a deliberately slow consumer, not synchronisation.
fn slow_consumer(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

const PERIOD: Duration = Duration::from_millis(4);

/// Ticks of an interval around one slow tick (3.5 periods of work after the first tick), with
/// the consumption time of the late tick: `(ticks, consumed_late_at)`.
fn ticks_around_slow_consumer(behavior: MissedTickBehavior) -> (Vec<Instant>, Instant) {
    let rt = one_worker();
    rt.block_on(rt.spawn(async move {
        let start = Instant::now() + PERIOD;
        let mut it = interval_at(start, PERIOD);
        it.set_missed_tick_behavior(behavior);
        let mut ticks = vec![it.tick().await];
        slow_consumer(PERIOD * 7 / 2);
        let before_late = Instant::now();
        ticks.push(it.tick().await); // late
        for _ in 0..3 {
            ticks.push(it.tick().await);
        }
        (ticks, before_late)
    }))
    .unwrap()
}

fn on_grid(t: Instant, start: Instant) -> bool {
    (t.as_nanos() - start.as_nanos()).is_multiple_of(PERIOD.as_nanos() as u64)
}

/// `Skip` keeps the grid after a slow tick: every tick is on the grid, strictly later than the
/// one before by whole periods, and the missed ticks are not delivered (the tick after the late
/// one is the first grid point after it was consumed).
#[test]
fn interval_skip_keeps_grid_after_slow_tick() {
    let _dog = Watchdog::default_for("interval_skip_keeps_grid_after_slow_tick");
    let (ticks, consumed_late) = ticks_around_slow_consumer(MissedTickBehavior::Skip);
    let start = ticks[0];
    assert!(ticks.iter().all(|&t| on_grid(t, start)), "{ticks:?}");
    assert!(
        ticks[2] > consumed_late,
        "Skip delivered a missed tick: {ticks:?}"
    );
    for w in ticks.windows(2) {
        assert!(
            w[1] - w[0] >= PERIOD,
            "ticks closer than a period: {ticks:?}"
        );
    }
}

/// `Burst` delivers every tick, missed ones back to back, each at its scheduled grid time.
#[test]
fn interval_burst_catches_up_on_grid() {
    let _dog = Watchdog::default_for("interval_burst_catches_up_on_grid");
    let (ticks, _) = ticks_around_slow_consumer(MissedTickBehavior::Burst);
    let start = ticks[0];
    for (k, t) in ticks.iter().enumerate() {
        assert_eq!(*t, start + PERIOD * k as u32, "{ticks:?}");
    }
}

/// `Delay` restarts the grid from the late tick: the next tick is a full period after the late
/// one was consumed, and ticks are never closer than a period.
#[test]
fn interval_delay_restarts_grid() {
    let _dog = Watchdog::default_for("interval_delay_restarts_grid");
    let (ticks, consumed_late) = ticks_around_slow_consumer(MissedTickBehavior::Delay);
    assert!(ticks[2] >= consumed_late + PERIOD, "{ticks:?}");
    for w in ticks.windows(2) {
        assert!(w[1] - w[0] >= PERIOD, "{ticks:?}");
    }
}

/// The first tick of `interval` is immediate and ticks are never observed before their time.
#[test]
fn interval_ticks_are_never_early() {
    let _dog = Watchdog::default_for("interval_ticks_are_never_early");
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(rt.spawn(async {
        let mut it = interval(Duration::from_millis(1));
        for _ in 0..50 {
            let scheduled = it.tick().await;
            assert!(Instant::now() >= scheduled);
        }
    }))
    .unwrap();
}

/// A sleep awaited inside `block_on` (not a task) works, and sleeping outside any runtime
/// panics with a message that says so.
#[test]
fn sleep_in_block_on_and_outside_runtime() {
    let _dog = Watchdog::default_for("sleep_in_block_on_and_outside_runtime");
    let rt = one_worker();
    let start = Instant::now();
    rt.block_on(sleep(Duration::from_millis(2)));
    assert!(start.elapsed() >= Duration::from_millis(2));
    let msg = kairos_tests::catch_panic_message(|| {
        kairos_tests::block_on_thread(sleep(Duration::from_millis(1)))
    });
    assert!(msg.contains("outside a kairos runtime"), "{msg}");
}

/// A waker that panics when woken.
struct PanickingWaker;
impl std::task::Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("this waker panics on wake");
    }
}

/// A sleep polled with a user waker that panics when the timer fires does not take the worker
/// down: the runtime keeps running tasks and timers, and shuts down cleanly.
#[test]
fn panicking_waker_in_a_timer_does_not_kill_the_worker() {
    let _dog = Watchdog::default_for("panicking_waker_in_a_timer_does_not_kill_the_worker");
    let rt = one_worker();
    rt.block_on(rt.spawn(async {
        let waker = std::task::Waker::from(Arc::new(PanickingWaker));
        // Register the timer with the panicking waker, then let the task finish. A sleep that
        // elapsed before its poll (the thread was descheduled for 1 ms) registers no timer:
        // take a fresh one.
        let s = loop {
            let mut s = Box::pin(sleep(Duration::from_millis(1)));
            if s.as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
            {
                break s;
            }
        };
        std::mem::forget(s); // keep the timer registered after the task ends
    }))
    .unwrap();
    // The timer fires (and its waker panics) while this sleep waits; the worker must survive.
    rt.block_on(rt.spawn(sleep(Duration::from_millis(5))))
        .unwrap();
    assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
    assert_eq!(rt.metrics().pending_timers, 0);
    assert_eq!(rt.metrics().panics, 1, "the panicking waker is counted");
}
