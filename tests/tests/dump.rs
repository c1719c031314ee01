//! The task dump (`Runtime::dump`, `Handle::dump`) and long-poll detection
//! (`Builder::long_poll`) on the real runtime, with states made deterministic by std channels:
//! one worker is held inside a poll while the dump is taken.

use kairos::trace::{LongPoll, TaskState};
use kairos::{Runtime, Sched};
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// A future that stays pending, keeping its latest waker where the test can call it.
struct Parked(Arc<Mutex<(bool, Option<Waker>)>>);

impl Future for Parked {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut slot = self.0.lock().unwrap();
        if slot.0 {
            return Poll::Ready(());
        }
        slot.1 = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn dump_lists_exactly_the_live_tasks_in_their_states() {
    let rt = Runtime::builder()
        .workers(1)
        .track_tasks(true)
        .build()
        .expect("runtime");
    // "idle": polled once, pending, not woken.
    let slot = Arc::new(Mutex::new((false, None)));
    let idle_line = line!() + 1;
    let idle = rt.spawn_with(Sched::default().name("idle"), Parked(slot.clone()));
    // "running": holds the only worker inside its poll until `go` is sent. Spawned after
    // `idle`, so when it runs (the worker takes the global queue in order) `idle`'s first poll
    // has returned.
    let (started_tx, started_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let running = rt.spawn_with(
        Sched::default().name("running").priority(7).nice(3),
        async move {
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
        },
    );
    started_rx.recv().unwrap();
    // "scheduled": queued while the worker is busy.
    let queued = rt.spawn_with(Sched::default().name("queued"), async {});

    let dump = rt.dump();
    let states: Vec<(Option<&str>, TaskState)> =
        dump.tasks().iter().map(|t| (t.name, t.state)).collect();
    assert_eq!(
        states,
        vec![
            (Some("idle"), TaskState::Idle),
            (Some("running"), TaskState::Running),
            (Some("queued"), TaskState::Scheduled),
        ],
        "{dump}"
    );
    let [i, r, q] = dump.tasks() else {
        unreachable!()
    };
    assert_eq!(i.polls, Some(1));
    assert!(i.since_last_poll.is_some());
    let at = i.spawned_at.expect("track_tasks records the location");
    assert!(at.file().ends_with("dump.rs"), "{at}");
    assert_eq!(at.line(), idle_line);
    assert_eq!((r.priority, r.nice, r.polls), (7, 3, Some(0)));
    assert_eq!((q.polls, q.since_last_poll), (Some(0), None));
    assert!(i.id < r.id && r.id < q.id);
    let text = dump.to_string();
    assert!(text.starts_with("3 live task(s)"), "{text}");
    assert!(text.contains("dump.rs"), "{text}");

    // Woken from this thread: "idle" is queued now, and the dump says so (from another thread).
    let waker = {
        let mut s = slot.lock().unwrap();
        s.0 = true;
        s.1.take().expect("polled once")
    };
    waker.wake();
    let handle = rt.handle();
    let dump = std::thread::spawn(move || handle.dump()).join().unwrap();
    assert_eq!(dump.tasks()[0].state, TaskState::Scheduled, "{dump}");

    go_tx.send(()).unwrap();
    rt.block_on(async {
        idle.await.unwrap();
        running.await.unwrap();
        queued.await.unwrap();
    });
}

#[test]
fn dump_without_track_tasks_has_no_statistics() {
    let rt = Runtime::builder().workers(1).build().expect("runtime");
    let t = rt.spawn(std::future::pending::<()>());
    let dump = rt.dump();
    assert_eq!(dump.tasks().len(), 1);
    let info = &dump.tasks()[0];
    assert_eq!((info.polls, info.spawned_at), (None, None));
    drop(t);
}

/// A future that sends on `tx` when first polled, then stays pending.
struct Signal(Option<mpsc::Sender<()>>);

impl Future for Signal {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if let Some(tx) = self.0.take() {
            tx.send(()).unwrap();
        }
        Poll::Pending
    }
}

#[test]
fn dump_takes_poll_statistics_from_a_running_trace() {
    // No task table: the statistics come from the trace while it runs, and only then.
    let rt = Runtime::builder().workers(1).build().expect("runtime");
    rt.start_trace(1 << 12).expect("starts");
    // A worker that is between two steps when the trace starts records from its next step: one
    // step (one poll) here, so that it records every poll below.
    rt.block_on(rt.spawn(async {})).unwrap();
    let (tx, rx) = mpsc::channel();
    let idle = rt.spawn_with(Sched::default().name("idle"), Signal(Some(tx.clone())));
    let yielder = rt.spawn_with(Sched::default().name("yielder"), async move {
        for _ in 0..3 {
            kairos::yield_now().await;
        }
        Signal(Some(tx)).await;
    });
    rx.recv().unwrap();
    rx.recv().unwrap();
    // One worker: it ends the poll that signalled before it polls this task.
    rt.block_on(rt.spawn(async {})).unwrap();

    let dump = rt.dump();
    let polls: Vec<_> = dump
        .tasks()
        .iter()
        .map(|t| (t.name, t.polls, t.spawned_at))
        .collect();
    assert_eq!(
        polls,
        vec![
            (Some("idle"), Some(1), None),
            (Some("yielder"), Some(4), None)
        ],
        "{dump}"
    );
    for t in dump.tasks() {
        assert!(
            t.poll_time.is_some() && t.since_last_poll.is_some(),
            "{dump}"
        );
    }

    // Stopped: nothing records poll times any more.
    assert!(rt.stop_trace().is_some());
    let dump = rt.dump();
    assert!(dump.tasks().iter().all(|t| t.polls.is_none()), "{dump}");
    drop((idle, yielder));
}

/// The reports of a runtime's long polls.
fn long_poll_runtime(threshold: Duration) -> (Runtime, Arc<Mutex<Vec<LongPoll>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let rt = Runtime::builder()
        .workers(2)
        .long_poll(threshold, move |p| log.lock().unwrap().push(p.clone()))
        .build()
        .expect("runtime");
    (rt, seen)
}

#[test]
fn long_poll_names_a_blocking_poll() {
    let (rt, seen) = long_poll_runtime(Duration::from_millis(20));
    let line = line!() + 1;
    let blocker = rt.spawn_with(Sched::default().name("blocker"), async {
        // The subject of the test: a task that blocks its worker for 50 ms.
        std::thread::sleep(Duration::from_millis(50));
    });
    rt.block_on(blocker).unwrap();
    drop(rt); // every report is in once the workers are joined
    let seen = seen.lock().unwrap();
    let reports: Vec<&LongPoll> = seen.iter().filter(|p| p.name == Some("blocker")).collect();
    assert_eq!(reports.len(), 1, "{seen:?}");
    let p = reports[0];
    assert!(p.duration >= Duration::from_millis(50), "{p}");
    let at = p.spawned_at.expect("spawn location");
    assert_eq!((at.line(), at.file().ends_with("dump.rs")), (line, true));
    assert!(p.to_string().contains("\"blocker\""));
}

#[test]
fn long_poll_is_quiet_for_ordinary_tasks() {
    let (rt, seen) = long_poll_runtime(Duration::from_secs(1));
    rt.block_on(async {
        let tasks: Vec<_> = (0..200u64)
            .map(|i| {
                kairos::spawn(async move {
                    kairos::yield_now().await;
                    i
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    drop(rt);
    assert!(seen.lock().unwrap().is_empty());
}
