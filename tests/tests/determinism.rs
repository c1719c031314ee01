//! Determinism: with one worker and no timers, a rich scenario (a tree of ~600 tasks that spawn,
//! yield, wake each other through channels and join) polls its tasks in the same order on every
//! run.
//!
//! Everything after the root is spawned and woken on the worker thread itself; the only other
//! thread involved is the test thread, which spawns the root and waits for it.

use kairos::Runtime;
use kairos_tests::{mailbox, oneshot, MailboxSender, Watchdog};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// Managers spawned by the root.
const MANAGERS: u32 = 8;
/// Workers per manager.
const WORKERS: u32 = 8;
/// Leaves per worker.
const LEAVES: u32 = 8;
/// All leaves.
const ALL_LEAVES: u32 = MANAGERS * WORKERS * LEAVES;
/// Rounds of the leaves' message exchange.
const ROUNDS: u32 = 3;
/// Runs compared.
const RUNS: usize = 20;

/// One observation. The trace of a run is the sequence of these, in the order they happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    /// Task `task` (logical id) is polled for the `n`-th time (from 1).
    Poll { task: u32, n: u32 },
    /// `parent` spawned `child`, which kairos numbered `kairos_id`.
    Spawn {
        parent: u32,
        child: u32,
        kairos_id: u64,
    },
    /// Leaf `to` received a message that leaf `from` sent in round `round`.
    Msg { to: u32, from: u32, round: u32 },
}

type Trace = Arc<Mutex<Vec<Event>>>;

/// Wraps a task's future and records every poll of it.
struct Traced<F> {
    /// Logical id.
    task: u32,
    /// Polls so far.
    polls: u32,
    /// Where to record.
    trace: Trace,
    /// The task body.
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls += 1;
        let event = Event::Poll {
            task: self.task,
            n: self.polls,
        };
        self.trace.lock().unwrap().push(event);
        self.inner.as_mut().poll(cx)
    }
}

/// Spawns `body` as task `child` of `parent` (from inside the worker), recording both.
fn spawn_traced<F>(trace: &Trace, parent: u32, child: u32, body: F) -> kairos::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let h = kairos::spawn(Traced {
        task: child,
        polls: 0,
        trace: Arc::clone(trace),
        inner: Box::pin(body),
    });
    trace.lock().unwrap().push(Event::Spawn {
        parent,
        child,
        kairos_id: h.id().as_u64(),
    });
    h
}

/// Yields `n` times.
async fn yields(n: u32) {
    for _ in 0..n {
        kairos::yield_now().await;
    }
}

/// Logical id of leaf `i`.
fn leaf_id(i: u32) -> u32 {
    10_000 + i
}

/// Where leaf `i` sends in round `r`: a permutation of the leaves (multiplier coprime with
/// `ALL_LEAVES`), so every leaf receives exactly one message per round.
fn target(i: u32, r: u32) -> u32 {
    let a = [5, 7, 11][r as usize];
    let b = [3, 101, 257][r as usize];
    (i * a + b) % ALL_LEAVES
}

/// A leaf: per round, yield a little, send to another leaf (waking it), wait for a message;
/// some leaves also spawn a helper and await its answer through a oneshot.
async fn leaf(
    trace: Trace,
    i: u32,
    mut inbox: kairos_tests::MailboxReceiver<(u32, u32)>,
    others: Arc<Vec<MailboxSender<(u32, u32)>>>,
) -> u32 {
    let me = leaf_id(i);
    let mut sum = 0;
    for r in 0..ROUNDS {
        yields((i * 7 + r) % 4).await;
        others[target(i, r) as usize].send((i, r));
        let (from, round) = inbox.recv().await;
        trace
            .lock()
            .unwrap()
            .push(Event::Msg { to: i, from, round });
        sum += from;
    }
    if i.is_multiple_of(5) {
        let (tx, rx) = oneshot::<u32>();
        let helper = 50_000 + i;
        drop(spawn_traced(&trace, me, helper, async move {
            yields(i % 3 + 1).await;
            tx.send(i * 2).unwrap();
        }));
        sum += rx.await.unwrap();
    }
    sum
}

/// A worker: spawns its leaves, yields, joins them in reverse order, reports to its manager
/// through a oneshot (a cross-task wake) and returns the sum too.
async fn worker(
    trace: Trace,
    id: u32,
    first_leaf: u32,
    inboxes: Vec<kairos_tests::MailboxReceiver<(u32, u32)>>,
    others: Arc<Vec<MailboxSender<(u32, u32)>>>,
    report: kairos_tests::Sender<u32>,
) -> u32 {
    let mut leaves = Vec::new();
    for (k, inbox) in inboxes.into_iter().enumerate() {
        let i = first_leaf + k as u32;
        let body = leaf(Arc::clone(&trace), i, inbox, Arc::clone(&others));
        leaves.push(spawn_traced(&trace, id, leaf_id(i), body));
        if k.is_multiple_of(3) {
            kairos::yield_now().await;
        }
    }
    let mut sum = 0;
    while let Some(h) = leaves.pop() {
        sum += h.await.expect("leaf failed");
    }
    report.send(sum).unwrap();
    sum
}

/// A manager: spawns its workers, collects their reports (oneshots) and their handles, and
/// sends its total to the root's mailbox.
async fn manager(
    trace: Trace,
    m: u32,
    mut inboxes: Vec<kairos_tests::MailboxReceiver<(u32, u32)>>,
    others: Arc<Vec<MailboxSender<(u32, u32)>>>,
    to_root: MailboxSender<(u32, u32)>,
) -> u32 {
    let me = 1 + m;
    let mut reports = Vec::new();
    let mut handles = Vec::new();
    for w in 0..WORKERS {
        let (tx, rx) = oneshot::<u32>();
        reports.push(rx);
        let id = 100 + m * WORKERS + w;
        let first_leaf = (m * WORKERS + w) * LEAVES;
        let mine: Vec<_> = inboxes.drain(..LEAVES as usize).collect();
        let body = worker(
            Arc::clone(&trace),
            id,
            first_leaf,
            mine,
            Arc::clone(&others),
            tx,
        );
        handles.push(spawn_traced(&trace, me, id, body));
        yields(m % 2).await;
    }
    let mut total = 0;
    for rx in reports {
        total += rx.await.expect("worker report");
    }
    for h in handles {
        h.await.expect("worker failed");
    }
    to_root.send((m, total));
    total
}

/// The root: builds the leaves' mailboxes, spawns the managers, gathers their totals.
async fn root(trace: Trace) -> u32 {
    let (senders, mut receivers): (Vec<_>, Vec<_>) =
        (0..ALL_LEAVES).map(|_| mailbox::<(u32, u32)>()).unzip();
    let others = Arc::new(senders);
    let (to_root, mut inbox) = mailbox::<(u32, u32)>();
    let mut handles = Vec::new();
    for m in 0..MANAGERS {
        let mine: Vec<_> = receivers.drain(..(WORKERS * LEAVES) as usize).collect();
        let body = manager(
            Arc::clone(&trace),
            m,
            mine,
            Arc::clone(&others),
            to_root.clone(),
        );
        handles.push(spawn_traced(&trace, 0, 1 + m, body));
    }
    let mut total = 0;
    for _ in 0..MANAGERS {
        total += inbox.recv().await.1;
    }
    for h in handles {
        h.await.expect("manager failed");
    }
    total
}

/// How the root gets onto the runtime.
#[derive(Clone, Copy, Debug)]
enum Start {
    /// Spawned right after `build`.
    Immediately,
    /// Spawned once the (idle) worker has parked at least once.
    AfterWorkerParked,
}

/// Runs the scenario on a fresh 1-worker runtime and returns its trace and result.
fn run_once(seed: u64, start: Start) -> (Vec<Event>, u32) {
    let rt = Runtime::builder()
        .workers(1)
        .seed(seed)
        .build()
        .expect("build runtime");
    if let Start::AfterWorkerParked = start {
        kairos_tests::wait_until(|| rt.metrics().parks >= 1);
    }
    let trace: Trace = Arc::default();
    let root_trace = Arc::clone(&trace);
    let h = rt.spawn(Traced {
        task: 0,
        polls: 0,
        trace: Arc::clone(&trace),
        inner: Box::pin(root(root_trace)),
    });
    let total = rt.block_on(h).expect("root failed");
    drop(rt);
    let events = std::mem::take(&mut *trace.lock().unwrap());
    (events, total)
}

/// The expected result: every leaf receives every sender index once per round, plus helpers.
fn expected_total() -> u32 {
    let per_round: u32 = (0..ALL_LEAVES).sum();
    let helpers: u32 = (0..ALL_LEAVES)
        .filter(|i| i.is_multiple_of(5))
        .map(|i| i * 2)
        .sum();
    per_round * ROUNDS + helpers
}

/// Checks the trace is as rich as intended (many tasks, many re-polls, every message seen).
fn assert_rich(trace: &[Event]) {
    let polls = trace
        .iter()
        .filter(|e| matches!(e, Event::Poll { .. }))
        .count();
    let repolls = trace
        .iter()
        .filter(|e| matches!(e, Event::Poll { n, .. } if *n > 1))
        .count();
    let spawns = trace
        .iter()
        .filter(|e| matches!(e, Event::Spawn { .. }))
        .count();
    let msgs = trace
        .iter()
        .filter(|e| matches!(e, Event::Msg { .. }))
        .count();
    let helpers = (0..ALL_LEAVES).filter(|i| i.is_multiple_of(5)).count();
    let tasks = (MANAGERS + MANAGERS * WORKERS + ALL_LEAVES) as usize + helpers;
    assert_eq!(spawns, tasks, "spawn events");
    assert_eq!(msgs, (ALL_LEAVES * ROUNDS) as usize, "message events");
    assert!(polls > 3 * tasks, "only {polls} polls for {tasks} tasks");
    assert!(repolls > 2 * tasks, "only {repolls} re-polls");
}

/// Reports the first difference between two traces.
fn assert_same_trace(reference: &[Event], other: &[Event], what: &str) {
    if reference == other {
        return;
    }
    let first = reference
        .iter()
        .zip(other)
        .position(|(a, b)| a != b)
        .unwrap_or(reference.len().min(other.len()));
    panic!(
        "{what}: poll order differs at event {first} of {}/{}: {:?} vs {:?}",
        reference.len(),
        other.len(),
        reference.get(first),
        other.get(first)
    );
}

/// 20 runs of the scenario on fresh 1-worker runtimes with the same seed record the identical
/// sequence of polls, spawns (with kairos task ids) and messages.
///
/// The root is spawned right after `build()`, while the worker may still be starting, spinning
/// or parking: how long it idled must not matter.
#[test]
fn one_worker_poll_order_is_reproducible() {
    let _dog = Watchdog::default_for("one_worker_poll_order_is_reproducible");
    let (reference, total) = run_once(42, Start::Immediately);
    assert_eq!(total, expected_total());
    assert_rich(&reference);
    for run in 1..RUNS {
        let (trace, total) = run_once(42, Start::Immediately);
        assert_eq!(total, expected_total());
        assert_same_trace(&reference, &trace, &format!("run {run}"));
    }
}

/// The poll order does not depend on thread timing before the root arrives: spawning the root
/// while the worker is still starting up, or after it went idle and parked, gives the same
/// trace.
#[test]
fn poll_order_independent_of_worker_idle_time() {
    let _dog = Watchdog::default_for("poll_order_independent_of_worker_idle_time");
    let (reference, _) = run_once(42, Start::AfterWorkerParked);
    for run in 0..5 {
        let (trace, total) = run_once(42, Start::Immediately);
        assert_eq!(total, expected_total());
        assert_same_trace(&reference, &trace, &format!("immediate-root run {run}"));
    }
}

/// Minimal form of a bug fixed in the worker (idle steps used to advance the scheduling tick): 1 worker, the root spawns 300 tasks that yield 3 times each
/// (more than a local queue holds, so some overflow to the injector); the recorded poll order
/// differs between a root spawned at once and one spawned after the worker parked.
#[test]
fn minimal_idle_steps_change_poll_order() {
    fn run(wait_for_park: bool) -> Vec<Event> {
        let rt = Runtime::builder().workers(1).build().unwrap();
        if wait_for_park {
            kairos_tests::wait_until(|| rt.metrics().parks >= 1);
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let o = Arc::clone(&order);
        rt.block_on(rt.spawn(async move {
            let hs: Vec<_> = (0..300u32)
                .map(|i| {
                    let o = Arc::clone(&o);
                    kairos::spawn(async move {
                        for _ in 0..3 {
                            o.lock().unwrap().push(i);
                            kairos::yield_now().await;
                        }
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        }))
        .unwrap();
        let order = std::mem::take(&mut *order.lock().unwrap());
        order
            .into_iter()
            .map(|task| Event::Poll { task, n: 0 })
            .collect::<Vec<_>>()
    }
    let _dog = Watchdog::default_for("minimal_idle_steps_change_poll_order");
    let parked_first = run(true);
    assert_same_trace(&parked_first, &run(true), "two parked-first runs");
    assert_same_trace(&parked_first, &run(false), "parked-first vs immediate root");
}
