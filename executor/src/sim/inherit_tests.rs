//! Urgency carried by messages, under the simulator, with the real channels: an urgent
//! message's deadline (or priority) reaches stage three of a pipeline, through `mpsc`, `mpmc`
//! and `oneshot`; with inheritance turned off it does not; a receiver's own parameters come
//! back at its next receive. (Here, in the simulator's layer, because a test that runs the
//! simulator may not live below it.)

use crate::policy::Policy;
use crate::sched::Sched;
use crate::sim::{Builder, Sim};
use crate::sync::{mpmc, mpsc, oneshot};
use crate::time::{sleep, Instant};
use crate::work::work;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const US: Duration = Duration::from_micros(1);
const MS: Duration = Duration::from_millis(1);

/// Which channel carries the pipeline's messages.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// `mpsc::unbounded_channel`.
    Mpsc,
    /// `mpmc::channel(4)`.
    Mpmc,
    /// `oneshot::channel()` (each stage receives one message).
    Oneshot,
}

/// A sending and a receiving end of either kind.
enum Tx {
    Mpsc(mpsc::UnboundedSender<u32>),
    Mpmc(mpmc::Sender<u32>),
    Oneshot(oneshot::Sender<u32>),
}

enum Rx {
    Mpsc(mpsc::UnboundedReceiver<u32>),
    Mpmc(mpmc::Receiver<u32>),
    Oneshot(oneshot::Receiver<u32>),
}

impl Tx {
    async fn send(self, v: u32) {
        match self {
            Tx::Mpsc(tx) => tx.send(v).unwrap(),
            Tx::Mpmc(tx) => tx.send(v).await.unwrap(),
            Tx::Oneshot(tx) => tx.send(v).unwrap(),
        }
    }
}

impl Rx {
    async fn recv(&mut self) -> u32 {
        match self {
            Rx::Mpsc(rx) => rx.recv().await.unwrap(),
            Rx::Mpmc(rx) => rx.recv().await.unwrap(),
            Rx::Oneshot(rx) => rx.await.unwrap(),
        }
    }
}

/// A channel of `kind`, inheritance on or off.
fn channel(kind: Kind, inherit: bool) -> (Tx, Rx) {
    match kind {
        Kind::Mpsc => {
            let (tx, rx) = mpsc::unbounded_channel();
            tx.set_inheritance(inherit);
            (Tx::Mpsc(tx), Rx::Mpsc(rx))
        }
        Kind::Mpmc => {
            let (tx, rx) = mpmc::channel(4);
            tx.set_inheritance(inherit);
            (Tx::Mpmc(tx), Rx::Mpmc(rx))
        }
        Kind::Oneshot => {
            let (tx, rx) = oneshot::channel();
            tx.set_inheritance(inherit);
            (Tx::Oneshot(tx), Rx::Oneshot(rx))
        }
    }
}

/// One worker; `(low, medium, high)` parameters under `policy`.
fn setup(policy: Policy) -> (Sim, Sched, Sched, Sched) {
    let sim = Builder::new()
        .policy(policy)
        .aging_interval(Duration::from_secs(10))
        .build()
        .unwrap();
    let scheds = match policy {
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
    (sim, scheds.0, scheds.1, scheds.2)
}

/// Three stages (low) each take a message, compute 100 µs and pass it on; a medium task
/// computes 10 ms from 100 µs on; at 200 µs a high source sends one message. Returns when stage
/// three finished with it.
fn pipeline(policy: Policy, kind: Kind, inherit: bool) -> Duration {
    let (mut sim, low, medium, high) = setup(policy);
    let t0 = sim.now();
    let mut ends: Vec<(Option<Tx>, Option<Rx>)> = (0..3)
        .map(|_| channel(kind, inherit))
        .map(|(tx, rx)| (Some(tx), Some(rx)))
        .collect();
    let done = Arc::new(Mutex::new(None));
    let mut stages = Vec::new();
    for i in 0..3 {
        let mut rx = ends[i].1.take().unwrap();
        let tx = ends.get_mut(i + 1).and_then(|e| e.0.take());
        let done = done.clone();
        stages.push(sim.spawn_with(low, async move {
            let m = rx.recv().await;
            work(100 * US).await;
            match tx {
                Some(tx) => tx.send(m).await,
                None => *done.lock().unwrap() = Some(Instant::now()),
            }
        }));
    }
    let m = sim.spawn_with(medium, async move {
        sleep(100 * US).await;
        work(10 * MS).await;
    });
    let tx = ends[0].0.take().unwrap();
    let source = sim.spawn_with(high, async move {
        sleep(200 * US).await;
        tx.send(7).await;
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
        for kind in [Kind::Mpsc, Kind::Mpmc, Kind::Oneshot] {
            // Carried: each stage runs before the medium task as soon as the message reaches it
            // (the medium yields at its next slice boundary, which falls on the send at 200 µs).
            assert_eq!(
                pipeline(policy, kind, true),
                200 * US + 3 * 100 * US,
                "{policy} {kind:?}"
            );
            // Inheritance off: the stages wait for the medium task's 10 ms.
            assert_eq!(
                pipeline(policy, kind, false),
                100 * US + 10 * MS + 3 * 100 * US,
                "{policy} {kind:?}"
            );
        }
    }
}

/// A receiver's own parameters come back at its next receive. A low receiver takes an urgent
/// message (sent at 200 µs by a high task), computes 100 µs, then takes a message a low task
/// sent at the start on a second channel, and computes 100 µs more; a medium task computes
/// 10 ms from 100 µs on. The first piece of work runs at the message's urgency, before the
/// medium task (done at 300 µs); the second at the receiver's own, so it yields to the medium
/// task at its first slice boundary (320 µs) and finishes after it: 10.22 ms + 80 µs.
#[test]
fn the_receivers_own_parameters_come_back_at_its_next_receive() {
    for policy in [Policy::Edf, Policy::Priority] {
        let (mut sim, low, medium, high) = setup(policy);
        let t0 = sim.now();
        let (urgent_tx, mut urgent_rx) = channel(Kind::Mpsc, true);
        let (plain_tx, mut plain_rx) = channel(Kind::Mpsc, true);
        let times = Arc::new(Mutex::new(Vec::new()));
        let receiver = {
            let times = times.clone();
            sim.spawn_with(low, async move {
                urgent_rx.recv().await;
                work(100 * US).await;
                times.lock().unwrap().push(Instant::now());
                plain_rx.recv().await;
                work(100 * US).await;
                times.lock().unwrap().push(Instant::now());
            })
        };
        let plain = sim.spawn_with(low, async move { plain_tx.send(1).await });
        let m = sim.spawn_with(medium, async move {
            sleep(100 * US).await;
            work(10 * MS).await;
        });
        let source = sim.spawn_with(high, async move {
            sleep(200 * US).await;
            urgent_tx.send(7).await;
        });
        for h in [source, plain, m, receiver] {
            sim.block_on(h).unwrap();
        }
        let times: Vec<Duration> = times.lock().unwrap().iter().map(|t| *t - t0).collect();
        assert_eq!(
            times,
            [300 * US, 320 * US + (10 * MS - 100 * US) + 80 * US],
            "{policy}"
        );
    }
}
