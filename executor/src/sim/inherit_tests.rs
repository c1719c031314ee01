//! A three-stage pipeline under the simulator: an urgent message's deadline reaches stage three
//! through a minimal channel that uses the message-urgency API of `sync/inherit.rs` (here, in the
//! simulator's layer, because a test that runs the simulator may not live below it).

use crate::policy::Policy;
use crate::sched::Sched;
use crate::sim::Builder;
use crate::sync::inherit::{boost_current_until_next_receive, MessageUrgency, ReceiverTask};
use crate::time::{sleep, Instant};
use crate::work::work;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

const US: Duration = Duration::from_micros(1);
const MS: Duration = Duration::from_millis(1);

/// A parked receiver: its waker and its task.
type Parked = (Waker, Option<ReceiverTask>);

/// The queued messages, each with the urgency it carries.
type Queue<T> = VecDeque<(T, MessageUrgency)>;

/// A single-receiver unbounded channel, enough for the test: `carry` turns the urgency passing
/// on or off.
struct Chan<T> {
    /// Messages, with the urgency each carries.
    queue: Mutex<(Queue<T>, Option<Parked>)>,
    /// Whether messages carry their sender's urgency.
    carry: bool,
}

impl<T> Chan<T> {
    fn new(carry: bool) -> Arc<Chan<T>> {
        Arc::new(Chan {
            queue: Mutex::new((VecDeque::new(), None)),
            carry,
        })
    }

    fn send(&self, value: T) {
        let urgency = if self.carry {
            MessageUrgency::current()
        } else {
            MessageUrgency::NONE
        };
        let waiter = {
            let mut q = self.queue.lock().unwrap();
            q.0.push_back((value, urgency));
            q.1.take()
        };
        if let Some((waker, task)) = waiter {
            if let Some(task) = task {
                task.raise(urgency);
            }
            waker.wake();
        }
    }

    async fn recv(&self) -> T {
        poll_fn(|cx| {
            let mut q = self.queue.lock().unwrap();
            match q.0.pop_front() {
                Some((v, urgency)) => {
                    drop(q);
                    if self.carry {
                        boost_current_until_next_receive(urgency);
                    }
                    Poll::Ready(v)
                }
                None => {
                    q.1 = Some((cx.waker().clone(), ReceiverTask::current()));
                    Poll::Pending
                }
            }
        })
        .await
    }
}

/// Three stages (no deadline of their own beyond 100 ms) each take a message, compute 100 µs and
/// pass it on; a medium task (deadline 50 ms) computes 10 ms from 100 µs on; at 200 µs a source
/// with a 1 ms deadline sends one message. Returns when stage three finished with it.
fn pipeline(policy: Policy, carry: bool) -> Duration {
    let mut sim = Builder::new()
        .policy(policy)
        .aging_interval(Duration::from_secs(10))
        .build()
        .unwrap();
    let t0 = sim.now();
    let (low, medium, high) = match policy {
        Policy::Edf => (
            Sched::default().deadline(100 * MS),
            Sched::default().deadline(50 * MS),
            Sched::default().deadline(MS),
        ),
        _ => (
            Sched::default().priority(1),
            Sched::default().priority(5),
            Sched::default().priority(10),
        ),
    };
    let chans: Vec<Arc<Chan<u32>>> = (0..3).map(|_| Chan::new(carry)).collect();
    let done = Arc::new(Mutex::new(None));
    let mut stages = Vec::new();
    for i in 0..3 {
        let rx = chans[i].clone();
        let tx = chans.get(i + 1).cloned();
        let done = done.clone();
        stages.push(sim.spawn_with(low, async move {
            let m = rx.recv().await;
            work(100 * US).await;
            match tx {
                Some(tx) => tx.send(m),
                None => *done.lock().unwrap() = Some(Instant::now()),
            }
        }));
    }
    let m = sim.spawn_with(medium, async move {
        sleep(100 * US).await;
        work(10 * MS).await;
    });
    let tx = chans[0].clone();
    let source = sim.spawn_with(high, async move {
        sleep(200 * US).await;
        tx.send(7);
    });
    sim.block_on(source).unwrap();
    for s in stages {
        sim.block_on(s).unwrap();
    }
    sim.block_on(m).unwrap();
    let at = done.lock().unwrap().expect("stage three ran");
    at - t0
}

#[test]
fn an_urgent_message_deadline_reaches_stage_three() {
    for policy in [Policy::Edf, Policy::Priority] {
        // Carried: each stage runs before the medium task as soon as the message reaches it
        // (the medium yields at its next slice boundary, which falls on the send at 200 µs).
        assert_eq!(pipeline(policy, true), 200 * US + 3 * 100 * US, "{policy}");
        // Not carried: the stages wait for the medium task's 10 ms.
        assert_eq!(
            pipeline(policy, false),
            100 * US + 10 * MS + 3 * 100 * US,
            "{policy}"
        );
    }
}
