//! `kairos::sync::Mutex` under the simulator: priority and deadline inheritance, grant order,
//! cancellation, panics and shutdown. Every figure is virtual time, so the assertions are exact.

use kairos::sim::{Builder, Sim};
use kairos::sync::Mutex;
use kairos::time::{sleep, timeout, Instant};
use kairos::{work, Policy, Sched, WORK_SLICE};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const US: Duration = Duration::from_micros(1);
const MS: Duration = Duration::from_millis(1);

/// The parameters of one urgency class, under either ordered policy.
#[derive(Clone, Copy)]
enum Class {
    Low,
    Medium,
    High,
}

/// `Sched` for `class` under `policy` (deadlines are relative to the spawn).
fn sched(policy: Policy, class: Class) -> Sched {
    match (policy, class) {
        (Policy::Edf, Class::Low) => Sched::default().deadline(100 * MS),
        (Policy::Edf, Class::Medium) => Sched::default().deadline(50 * MS),
        (Policy::Edf, Class::High) => Sched::default().deadline(10 * MS),
        (_, Class::Low) => Sched::default().priority(1),
        (_, Class::Medium) => Sched::default().priority(5),
        (_, Class::High) => Sched::default().priority(10),
    }
}

fn sim(policy: Policy, workers: usize) -> Sim {
    Builder::new()
        .policy(policy)
        .workers(workers)
        // No aging within the scenario: it would let the low task climb past the medium ones
        // and blur what inheritance alone does.
        .aging_interval(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A critical section of `slices` `work` slices that counts its progress in `done`, with a
/// cooperative check between slices (as `work` itself makes).
async fn critical_section(slices: u32, done: &AtomicUsize) {
    for _ in 0..slices {
        work(WORK_SLICE).await;
        done.fetch_add(1, Ordering::SeqCst);
        if kairos::task::should_yield() {
            kairos::yield_now().await;
        }
    }
}

/// What one scenario measured: how long `high` waited for its lock, and how much of `low`'s
/// critical section was left when it asked.
struct Waited {
    waited: Duration,
    remaining: Duration,
}

/// The classic inversion: `low` takes the lock and computes a critical section of `cs_slices`
/// slices; 100 µs later as many `medium` tasks as workers start computing `medium_work`; 200 µs
/// after the start `high` asks for the lock.
fn inversion(policy: Policy, workers: usize, inherit: bool, medium_work: Duration) -> Waited {
    const CS_SLICES: u32 = 50; // 1 ms
    let mut sim = sim(policy, workers);
    let lock = Arc::new(Mutex::with_inheritance((), inherit));
    let done = Arc::new(AtomicUsize::new(0));
    let (l, d) = (lock.clone(), done.clone());
    let low = sim.spawn_with(sched(policy, Class::Low), async move {
        let _g = l.lock().await;
        critical_section(CS_SLICES, &d).await;
    });
    let mediums: Vec<_> = (0..workers)
        .map(|_| {
            sim.spawn_with(sched(policy, Class::Medium), async move {
                sleep(100 * US).await;
                work(medium_work).await;
            })
        })
        .collect();
    let l = lock.clone();
    let high = sim.spawn_with(sched(policy, Class::High), async move {
        sleep(200 * US).await;
        let asked = Instant::now();
        let left = CS_SLICES - done.load(Ordering::SeqCst) as u32;
        let _g = l.lock().await;
        Waited {
            waited: Instant::now() - asked,
            remaining: WORK_SLICE * left,
        }
    });
    let waited = sim.block_on(high).unwrap();
    sim.block_on(low).unwrap();
    for m in mediums {
        sim.block_on(m).unwrap();
    }
    waited
}

#[test]
fn classic_inversion_high_waits_for_the_critical_section_only_under_edf_and_priority() {
    let medium = 10 * MS;
    for policy in [Policy::Edf, Policy::Priority] {
        for workers in [1, 2] {
            // With inheritance: exactly low's remaining critical section. The medium task that
            // kept low from running yields at its next cooperative check, a `work` slice
            // boundary, which in this scenario falls on the instant high asked (every start is
            // a multiple of the slice).
            let with = inversion(policy, workers, true, medium);
            assert_eq!(
                with.waited, with.remaining,
                "{policy} x{workers} with inheritance"
            );
            assert!(with.remaining > Duration::ZERO && with.remaining < MS);
            // Without: all of the mediums' work still to do when high asked (they started 100 µs
            // before), then low's remaining critical section.
            let without = inversion(policy, workers, false, medium);
            assert_eq!(
                without.waited,
                medium - 100 * US + without.remaining,
                "{policy} x{workers} without inheritance"
            );
        }
    }
}

/// A chain of two locks: `low` holds B and computes; `mid` (as little urgent as `low`) holds A
/// and waits for B; `high` waits for A, while the mediums compute on every worker. With
/// inheritance `high`'s urgency reaches `low` through `mid`.
fn chain(policy: Policy, workers: usize, inherit: bool) -> Waited {
    const CS_SLICES: u32 = 50;
    let mut sim = sim(policy, workers);
    let a = Arc::new(Mutex::with_inheritance((), inherit));
    let b = Arc::new(Mutex::with_inheritance((), inherit));
    let done = Arc::new(AtomicUsize::new(0));
    let (b1, d) = (b.clone(), done.clone());
    let low = sim.spawn_with(sched(policy, Class::Low), async move {
        let _gb = b1.lock().await;
        sleep(20 * US).await; // lets `mid` take A and queue on B
        critical_section(CS_SLICES, &d).await;
    });
    let (a2, b2) = (a.clone(), b.clone());
    let mid = sim.spawn_with(sched(policy, Class::Low), async move {
        let _ga = a2.lock().await;
        let _gb = b2.lock().await;
        work(MS).await;
    });
    let mediums: Vec<_> = (0..workers)
        .map(|_| {
            sim.spawn_with(sched(policy, Class::Medium), async move {
                sleep(100 * US).await;
                work(20 * MS).await;
            })
        })
        .collect();
    let high = sim.spawn_with(sched(policy, Class::High), async move {
        sleep(200 * US).await;
        let asked = Instant::now();
        let left = CS_SLICES - done.load(Ordering::SeqCst) as u32;
        let _g = a.lock().await;
        Waited {
            waited: Instant::now() - asked,
            remaining: WORK_SLICE * left,
        }
    });
    let waited = sim.block_on(high).unwrap();
    sim.block_on(low).unwrap();
    sim.block_on(mid).unwrap();
    for m in mediums {
        sim.block_on(m).unwrap();
    }
    drop(b);
    waited
}

#[test]
fn a_boost_passes_along_a_chain_of_two_locks() {
    for policy in [Policy::Edf, Policy::Priority] {
        for workers in [1, 2] {
            // low's remaining critical section, then mid's 1 ms.
            let with = chain(policy, workers, true);
            assert_eq!(with.waited, with.remaining + MS, "{policy} x{workers}");
            // Without: both wait for the mediums' 20 ms.
            let without = chain(policy, workers, false);
            assert!(without.waited >= 20 * MS - 100 * US, "{policy} x{workers}");
        }
    }
}

/// `high` gives up waiting for the lock after 500 µs: its donation must go with it, and `low`
/// must fall back behind the mediums. Returns (when `low` ended its critical section, when the
/// first medium ended, low's critical section left when high gave up, whether high got the lock).
fn cancelled_waiter(policy: Policy) -> (Instant, Instant, Duration, bool) {
    const CS_SLICES: u32 = 100; // 2 ms
    let workers = 2;
    let mut sim = sim(policy, workers);
    let lock = Arc::new(Mutex::new(()));
    let done = Arc::new(AtomicUsize::new(0));
    let (l, d) = (lock.clone(), done.clone());
    let low = sim.spawn_with(sched(policy, Class::Low), async move {
        let _g = l.lock().await;
        critical_section(CS_SLICES, &d).await;
        Instant::now()
    });
    let mediums: Vec<_> = (0..workers)
        .map(|_| {
            sim.spawn_with(sched(policy, Class::Medium), async move {
                sleep(100 * US).await;
                work(10 * MS).await;
                Instant::now()
            })
        })
        .collect();
    let high = sim.spawn_with(sched(policy, Class::High), async move {
        sleep(200 * US).await;
        let got = timeout(500 * US, lock.lock()).await.is_ok();
        let left = CS_SLICES - done.load(Ordering::SeqCst) as u32;
        (got, WORK_SLICE * left)
    });
    let (got, left) = sim.block_on(high).unwrap();
    let low_end = sim.block_on(low).unwrap();
    let medium_end = mediums
        .into_iter()
        .map(|m| sim.block_on(m).unwrap())
        .min()
        .unwrap();
    (low_end, medium_end, left, got)
}

#[test]
fn a_cancelled_waiter_takes_its_boost_with_it() {
    for policy in [Policy::Edf, Policy::Priority] {
        let (low_end, medium_end, left, got) = cancelled_waiter(policy);
        assert!(!got, "{policy}: high timed out");
        // low ran boosted while high waited; with the boost withdrawn it finished the slice it
        // was in, yielded to the medium queued behind it at that check, and got a worker back
        // only when a medium ended (without the cancellation it would have run on to the end of
        // its 2 ms critical section, long before).
        assert!(
            left > Duration::ZERO && left < 2 * MS - 500 * US,
            "{policy}: {left:?}"
        );
        assert_eq!(low_end, medium_end + left - WORK_SLICE, "{policy}");
    }
}

#[test]
fn waiters_are_granted_in_urgency_order_under_ordered_policies_and_in_arrival_order_under_fifo() {
    for policy in [Policy::Fifo, Policy::Edf, Policy::Priority] {
        let mut sim = sim(policy, 1);
        let lock = Arc::new(Mutex::new(Vec::new()));
        let l = lock.clone();
        let holder = sim.spawn(async move {
            let mut g = l.lock().await;
            // Every waiter registers while this task holds the lock.
            sleep(MS).await;
            g.push(0);
        });
        let waiters: Vec<_> = [Class::Low, Class::High, Class::Medium]
            .into_iter()
            .enumerate()
            .map(|(i, class)| {
                let l = lock.clone();
                sim.spawn_with(sched(policy, class), async move {
                    sleep((10 + i as u32) * US).await;
                    l.lock().await.push(i + 1);
                })
            })
            .collect();
        sim.block_on(holder).unwrap();
        for w in waiters {
            sim.block_on(w).unwrap();
        }
        let order = lock.try_lock().unwrap().clone();
        let expected = if policy == Policy::Fifo {
            vec![0, 1, 2, 3]
        } else {
            vec![0, 2, 3, 1]
        };
        assert_eq!(order, expected, "{policy}");
    }
}

#[test]
fn set_deadline_while_boosted_changes_the_base_and_the_boost_stays_on_top() {
    let mut sim = sim(Policy::Edf, 1);
    let lock = Arc::new(Mutex::new(()));
    let l = lock.clone();
    let low = sim.spawn_with(sched(Policy::Edf, Class::Low), async move {
        let g = l.lock().await;
        sleep(100 * US).await; // high registers meanwhile
        let base = kairos::task::deadline().unwrap();
        // Later than high's deadline: the boost keeps the task urgent; `deadline()` shows the base.
        let new_base = Instant::now() + Duration::from_secs(1);
        kairos::task::set_deadline(new_base).unwrap();
        let after_set = kairos::task::deadline().unwrap();
        drop(g);
        (base, after_set, new_base, kairos::task::deadline().unwrap())
    });
    let l = lock.clone();
    let high = sim.spawn_with(sched(Policy::Edf, Class::High), async move {
        sleep(10 * US).await;
        drop(l.lock().await);
    });
    let (base, after_set, new_base, after_release) = sim.block_on(low).unwrap();
    sim.block_on(high).unwrap();
    assert_eq!(
        base.as_nanos(),
        kairos::sim::EPOCH.as_nanos() + 100 * 1_000_000
    );
    assert_eq!(after_set, new_base);
    assert_eq!(after_release, new_base);
}

#[test]
fn a_panicking_holder_releases_the_lock_without_poisoning_it() {
    let mut sim = sim(Policy::Edf, 2);
    let lock = Arc::new(Mutex::new(0u32));
    let l = lock.clone();
    let bad = sim.spawn(async move {
        let mut g = l.lock().await;
        *g = 7;
        sleep(10 * US).await;
        panic!("holder panics with the guard alive");
    });
    let l = lock.clone();
    let waiter = sim.spawn(async move {
        sleep(US).await;
        *l.lock().await
    });
    assert!(sim.block_on(bad).unwrap_err().is_panic());
    assert_eq!(sim.block_on(waiter).unwrap(), 7);
}

/// Counts its drops.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_runtime_dropped_while_tasks_wait_drops_every_waiter_exactly_once() {
    for policy in [Policy::Fifo, Policy::Edf, Policy::Priority] {
        let drops = Arc::new(AtomicUsize::new(0));
        let lock = Arc::new(Mutex::new(()));
        {
            let mut sim = sim(policy, 2);
            let l = lock.clone();
            let d = DropCount(drops.clone());
            // The holder never releases: it sleeps far beyond the run.
            let _holder = sim.spawn_with(sched(policy, Class::Low), async move {
                let _d = d;
                let _g = l.lock().await;
                sleep(Duration::from_secs(3600)).await;
            });
            for i in 0..10u64 {
                let l = lock.clone();
                let d = DropCount(drops.clone());
                let class = [Class::Low, Class::Medium, Class::High][i as usize % 3];
                drop(sim.spawn_with(sched(policy, class), async move {
                    let _d = d;
                    sleep(US * (i as u32 + 1)).await;
                    let _g = l.lock().await;
                    unreachable!("the lock is never released while the runtime runs");
                }));
            }
            sim.run_for(MS);
        }
        assert_eq!(drops.load(Ordering::SeqCst), 11, "{policy}");
        // Nothing hangs, and the lock is free again.
        assert!(lock.try_lock().is_ok(), "{policy}");
    }
}

#[test]
fn a_real_runtime_dropped_while_tasks_wait_hangs_nothing() {
    let drops = Arc::new(AtomicUsize::new(0));
    let lock = Arc::new(Mutex::new(()));
    {
        let rt = kairos::Runtime::builder()
            .workers(2)
            .policy(Policy::Edf)
            .build()
            .unwrap();
        let g = lock.clone().try_lock_owned().unwrap();
        let mut started = Vec::new();
        for i in 0..8u64 {
            let l = lock.clone();
            let d = DropCount(drops.clone());
            started.push(rt.spawn_with(
                Sched::default().deadline(MS * (i as u32 + 1)),
                async move {
                    let _d = d;
                    drop(l.lock().await);
                },
            ));
        }
        // The guard goes to a task that never finishes: dropping the runtime drops it too,
        // handing the lock to waiters that are being dropped.
        drop(rt.spawn(async move {
            let _g = g;
            std::future::pending::<()>().await;
        }));
        rt.block_on(sleep(MS));
    }
    assert_eq!(drops.load(Ordering::SeqCst), 8);
    assert!(lock.try_lock().is_ok());
}

#[test]
fn contended_counter_is_exact_on_the_real_runtime() {
    for policy in [Policy::Fifo, Policy::Edf, Policy::Priority, Policy::Fair] {
        let rt = kairos::Runtime::builder()
            .workers(2)
            .policy(policy)
            .build()
            .unwrap();
        let counter = Arc::new(Mutex::new(0u64));
        let n = rt.block_on(async {
            let hs: Vec<_> = (0..16u64)
                .map(|i| {
                    let c = counter.clone();
                    kairos::spawn_with(
                        Sched::default()
                            .priority((i % 7) as u8)
                            .deadline(MS * (i as u32 % 5 + 1)),
                        async move {
                            for _ in 0..500 {
                                let mut g = c.lock().await;
                                *g += 1;
                                if kairos::task::should_yield() {
                                    drop(g);
                                    kairos::yield_now().await;
                                }
                            }
                        },
                    )
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
            let n = *counter.lock().await;
            n
        });
        assert_eq!(n, 8000, "{policy}");
    }
}

/// The real-runtime example's scenario (`executor/examples/inversion.rs`) under the simulator:
/// low takes the lock for 1 ms with random pauses, two mediums compute 20 ms and pause 5 ms,
/// high asks every 5 ms. Returns high's worst lock wait over 400 requests.
fn periodic_inversion(policy: Policy, inherit: bool) -> Duration {
    let mut sim = Builder::new()
        .workers(2)
        .policy(policy)
        .seed(3)
        .aging_interval(Duration::from_secs(10))
        .build()
        .unwrap();
    let deadline_in = move |d: Duration| {
        if policy == Policy::Edf {
            kairos::task::set_deadline(Instant::now() + d).unwrap();
        }
    };
    let lock = Arc::new(Mutex::with_inheritance((), inherit));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (l, s) = (lock.clone(), stop.clone());
    let low = sim.spawn_with(Sched::default().priority(1), async move {
        let mut rng = kairos::sim::rng();
        while !s.load(Ordering::Relaxed) {
            deadline_in(100 * MS);
            {
                let _g = l.lock().await;
                work(MS).await;
            }
            sleep(US * (500 + rng.below(1000) as u32)).await;
        }
    });
    let mediums: Vec<_> = (0..2)
        .map(|_| {
            let s = stop.clone();
            sim.spawn_with(Sched::default().priority(5), async move {
                while !s.load(Ordering::Relaxed) {
                    deadline_in(50 * MS);
                    work(20 * MS).await;
                    sleep(5 * MS).await;
                }
            })
        })
        .collect();
    let high = sim.spawn_with(Sched::default().priority(10), async move {
        let mut worst = Duration::ZERO;
        let mut next = Instant::now() + 300 * US;
        for _ in 0..400 {
            next += 5 * MS;
            kairos::time::sleep_until(next).await;
            deadline_in(MS);
            let asked = Instant::now();
            drop(lock.lock().await);
            worst = worst.max(Instant::now() - asked);
        }
        stop.store(true, Ordering::Relaxed);
        worst
    });
    let worst = sim.block_on(high).unwrap();
    sim.block_on(low).unwrap();
    for m in mediums {
        sim.block_on(m).unwrap();
    }
    worst
}

#[test]
fn periodic_inversion_worst_wait_is_one_critical_section_with_inheritance() {
    for policy in [Policy::Edf, Policy::Priority] {
        let with = periodic_inversion(policy, true);
        let without = periodic_inversion(policy, false);
        // With: at most low's 1 ms critical section (high asked after it began). Without: some
        // request waited for most of a medium's 20 ms.
        assert!(with <= MS, "{policy}: worst {with:?} with inheritance");
        assert!(
            without >= 19 * MS,
            "{policy}: worst {without:?} without inheritance"
        );
    }
}
