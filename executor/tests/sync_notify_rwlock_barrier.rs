//! `Notify`, `RwLock` and `Barrier` under the simulator.

use kairos::sim::Builder;
use kairos::sync::{Barrier, Notify, RwLock};
use kairos::time::{sleep, timeout, Instant};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const US: Duration = Duration::from_micros(1);

#[test]
fn notify_one_wakes_waiters_in_arrival_order_and_stores_one_permit() {
    let mut sim = Builder::new().workers(2).build().unwrap();
    let notify = Arc::new(Notify::new());
    let order = Arc::new(Mutex::new(Vec::new()));
    let waiters: Vec<_> = (0..3u32)
        .map(|i| {
            let (n, o) = (notify.clone(), order.clone());
            sim.spawn(async move {
                sleep(US * (i + 1)).await;
                n.notified().await;
                o.lock().unwrap().push(i);
            })
        })
        .collect();
    let n = notify.clone();
    sim.block_on(async move {
        sleep(10 * US).await;
        for _ in 0..3 {
            n.notify_one();
            sleep(US).await;
        }
    });
    for w in waiters {
        sim.block_on(w).unwrap();
    }
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2]);
    // Two notify_one with nobody waiting store one permit, not two.
    notify.notify_one();
    notify.notify_one();
    let n = notify.clone();
    let first = sim.block_on(async move { timeout(US, n.notified()).await.is_ok() });
    let n = notify.clone();
    let second = sim.block_on(async move { timeout(US, n.notified()).await.is_ok() });
    assert!(first && !second);
}

#[test]
fn a_cancelled_notified_passes_its_notification_on() {
    let mut sim = Builder::new().build().unwrap();
    let t0 = sim.now();
    let notify = Arc::new(Notify::new());
    let n = notify.clone();
    // Registers at 0 µs, is handed the notification at 2 µs, and is dropped unseen at 5 µs.
    let first = sim.spawn(async move {
        let mut f = std::pin::pin!(n.notified());
        std::future::poll_fn(|cx| {
            assert!(f.as_mut().poll(cx).is_pending());
            std::task::Poll::Ready(())
        })
        .await;
        sleep(5 * US).await;
    });
    let n = notify.clone();
    let patient = sim.spawn(async move {
        sleep(US).await;
        n.notified().await;
        Instant::now()
    });
    let n = notify.clone();
    sim.block_on(async move {
        sleep(2 * US).await;
        n.notify_one();
    });
    sim.block_on(first).unwrap();
    assert_eq!(sim.block_on(patient).unwrap() - t0, 5 * US);
}

#[test]
fn notify_waiters_reaches_futures_created_before_it_even_unpolled() {
    let mut sim = Builder::new().build().unwrap();
    let notify = Notify::new();
    let created = notify.notified();
    notify.notify_waiters();
    let later = notify.notified();
    sim.block_on(created);
    let got = sim.block_on(async { timeout(US, later).await.is_ok() });
    assert!(!got, "notify_waiters stores no permit");
}

#[test]
fn rwlock_readers_share_and_a_writer_is_not_starved() {
    let mut sim = Builder::new().workers(4).build().unwrap();
    let lock = Arc::new(RwLock::new(0u32));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let concurrent = Arc::new(AtomicUsize::new(0));
    let max_concurrent = Arc::new(AtomicUsize::new(0));
    // Readers arrive every 10 µs and hold for 30 µs; a writer arrives at 25 µs.
    let mut tasks = Vec::new();
    for i in 0..8u32 {
        let (l, s, c, m) = (
            lock.clone(),
            seen.clone(),
            concurrent.clone(),
            max_concurrent.clone(),
        );
        tasks.push(sim.spawn(async move {
            sleep(US * 10 * i).await;
            let g = l.read().await;
            let now = c.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            s.lock().unwrap().push((i, *g));
            sleep(30 * US).await;
            c.fetch_sub(1, Ordering::SeqCst);
        }));
    }
    let l = lock.clone();
    let writer = sim.spawn(async move {
        sleep(25 * US).await;
        *l.write().await = 1;
        Instant::now()
    });
    let t0 = sim.now();
    let wrote = sim.block_on(writer).unwrap() - t0;
    for t in tasks {
        sim.block_on(t).unwrap();
    }
    // Readers 0..=2 (arrived at 0, 10, 20 µs) were in; the writer waited for them (the last
    // leaves at 50 µs); readers arriving after 25 µs waited behind the writer and saw its value.
    assert_eq!(wrote, 50 * US);
    let seen = seen.lock().unwrap().clone();
    for (i, v) in seen {
        assert_eq!(v, u32::from(i >= 3), "reader {i}");
    }
    assert!(max_concurrent.load(Ordering::SeqCst) >= 3);
}

#[test]
fn barrier_releases_each_generation_together_with_one_leader_and_withdraws_cancelled_arrivals() {
    let mut sim = Builder::new().workers(2).build().unwrap();
    let barrier = Arc::new(Barrier::new(3));
    // A participant that gives up: it must not count.
    let b = barrier.clone();
    let quitter = sim.spawn(async move { timeout(US, b.wait()).await.is_err() });
    let tasks: Vec<_> = (0..6u32)
        .map(|i| {
            let b = barrier.clone();
            sim.spawn(async move {
                sleep(US * 10 * (i + 1)).await;
                let r = b.wait().await;
                (Instant::now(), r.is_leader())
            })
        })
        .collect();
    let t0 = sim.now();
    assert!(sim.block_on(quitter).unwrap());
    let mut out: Vec<_> = tasks
        .into_iter()
        .map(|t| {
            let (at, leader) = sim.block_on(t).unwrap();
            (at - t0, leader)
        })
        .collect();
    out.sort();
    let times: Vec<_> = out.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        [30 * US, 30 * US, 30 * US, 60 * US, 60 * US, 60 * US]
    );
    assert_eq!(
        out.iter().filter(|(_, l)| *l).count(),
        2,
        "one leader per generation"
    );
}
