//! `kairos::sync::Semaphore` under the simulator: arrival order (large requests included),
//! close, cancellation.

use kairos::sim::Builder;
use kairos::sync::Semaphore;
use kairos::time::{sleep, timeout};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const US: Duration = Duration::from_micros(1);

#[test]
fn waiters_are_served_in_arrival_order_and_a_large_request_is_not_overtaken() {
    let mut sim = Builder::new().workers(2).build().unwrap();
    let sem = Arc::new(Semaphore::new(3));
    let order = Arc::new(Mutex::new(Vec::new()));
    let s = sem.clone();
    let holder = sim.spawn(async move {
        let p = s.acquire_many(3).await.unwrap();
        sleep(100 * US).await;
        drop(p);
    });
    // Arrive at 10, 20, 30 µs asking for 3, 1, 1 permits.
    let waiters: Vec<_> = [(3u32, 10u32), (1, 20), (1, 30)]
        .into_iter()
        .enumerate()
        .map(|(i, (n, at))| {
            let (s, o) = (sem.clone(), order.clone());
            sim.spawn(async move {
                sleep(US * at).await;
                let p = s.acquire_many(n).await.unwrap();
                o.lock().unwrap().push(i);
                sleep(10 * US).await;
                drop(p);
            })
        })
        .collect();
    sim.block_on(holder).unwrap();
    for w in waiters {
        sim.block_on(w).unwrap();
    }
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2]);
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn close_fails_waiters_and_later_acquires_but_held_permits_stay_valid() {
    let mut sim = Builder::new().build().unwrap();
    let sem = Arc::new(Semaphore::new(1));
    let held = sem.clone().try_acquire_owned().unwrap();
    let s = sem.clone();
    let waiter = sim.spawn(async move { s.acquire().await.is_err() });
    let s = sem.clone();
    sim.block_on(async move {
        sleep(US).await;
        s.close();
    });
    assert!(
        sim.block_on(waiter).unwrap(),
        "the waiter fails with the close"
    );
    assert!(sem.try_acquire().is_err());
    drop(held);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn a_cancelled_waiter_leaves_the_queue_and_unblocks_the_ones_behind() {
    let mut sim = Builder::new().build().unwrap();
    let sem = Arc::new(Semaphore::new(1));
    let held = sem.clone().try_acquire_owned().unwrap();
    let s = sem.clone();
    // Asks for 2 of the semaphore's 1 (once `held` is dropped below) and gives up after 50 µs.
    let big = sim.spawn(async move { timeout(50 * US, s.acquire_many(2)).await.is_err() });
    let s = sem.clone();
    let small = sim.spawn(async move {
        sleep(10 * US).await;
        s.acquire().await.unwrap().forget();
        kairos::time::Instant::now()
    });
    let t0 = sim.now();
    drop(held);
    assert!(sim.block_on(big).unwrap());
    // The small request waited behind the big one and got its permit when the big one left.
    assert_eq!(sim.block_on(small).unwrap() - t0, 50 * US);
    assert_eq!(sem.available_permits(), 0);
}
