//! `kairos::task::Group`: cancellation reaches every member, grandchildren and nested groups
//! included, each future dropped exactly once; dropping the group cancels it; a member's panic
//! cancels the others and is reported by `join`; spawning into a cancelled group; and deadline
//! inheritance under `Edf`, with the exact poll order in the simulator.

use kairos::sim::Builder;
use kairos::task::{Group, GroupError};
use kairos::time::Instant;
use kairos::{Policy, Sched};
use kairos_tests::{runtime, Watchdog};
use std::future::pending;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One drop counter per task.
fn counters(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

/// Increments `counts[i]` when dropped.
struct Dropped(Arc<Vec<AtomicUsize>>, usize);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0[self.1].fetch_add(1, Ordering::SeqCst);
    }
}

/// 4 children each spawn 3 grandchildren into the group through a handle, and each child also
/// owns a nested group with 2 members of its own; all wait forever. Cancelling the group drops
/// all 4 + 12 + 8 futures exactly once, and `join` reports the cancellation.
#[test]
fn cancellation_reaches_grandchildren_and_nested_groups() {
    const CHILDREN: usize = 4;
    // Per child: itself, 3 grandchildren, 2 members of its nested group.
    const PER_CHILD: usize = 6;
    let drops = counters(CHILDREN * PER_CHILD);
    let mut sim = Builder::new().seed(7).workers(3).build().unwrap();
    let d = drops.clone();
    let (res, len) = sim.block_on(async move {
        let mut group = Group::new();
        for c in 0..CHILDREN {
            let (d, handle) = (d.clone(), group.handle());
            let guard = Dropped(d.clone(), c * PER_CHILD);
            group.spawn(async move {
                let _guard = guard;
                for g in 1..=3 {
                    let guard = Dropped(d.clone(), c * PER_CHILD + g);
                    handle.spawn(async move {
                        let _guard = guard;
                        pending::<()>().await;
                    });
                }
                let nested = Group::new();
                for n in 4..=5 {
                    let guard = Dropped(d.clone(), c * PER_CHILD + n);
                    nested.spawn(async move {
                        let _guard = guard;
                        pending::<()>().await;
                    });
                }
                pending::<()>().await;
                drop(nested);
            });
        }
        kairos::time::sleep(Duration::from_millis(1)).await;
        // Children and grandchildren are members; the nested groups' members are not.
        assert_eq!(group.len(), CHILDREN * 4);
        assert!(d.iter().all(|c| c.load(Ordering::SeqCst) == 0));
        group.cancel();
        let res = group.join().await;
        // The nested groups' members were aborted when their owners' futures were dropped.
        kairos::time::sleep(Duration::from_millis(1)).await;
        (res, group.len())
    });
    assert_eq!(res, Err(GroupError::Cancelled));
    assert_eq!(len, 0);
    for (i, c) in drops.iter().enumerate() {
        assert_eq!(c.load(Ordering::SeqCst), 1, "task {i}");
    }
}

/// Dropping the `Group` cancels its members; a handle that outlives it spawns tasks that are
/// cancelled before their first poll.
#[test]
fn dropping_the_group_cancels_it() {
    let drops = counters(5);
    let polled_late = Arc::new(AtomicBool::new(false));
    let mut sim = Builder::new().seed(2).workers(2).build().unwrap();
    let (d, p) = (drops.clone(), polled_late.clone());
    sim.block_on(async move {
        let group = Group::new();
        let handle = group.handle();
        let mut members = Vec::new();
        for i in 0..5 {
            let guard = Dropped(d.clone(), i);
            members.push(group.spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            }));
        }
        kairos::time::sleep(Duration::from_millis(1)).await;
        drop(group);
        assert!(handle.is_cancelled());
        for m in members {
            assert!(m.await.unwrap_err().is_cancelled());
        }
        let late = handle.spawn(async move { p.store(true, Ordering::SeqCst) });
        assert!(late.await.unwrap_err().is_cancelled());
    });
    assert!(!polled_late.load(Ordering::SeqCst));
    assert!(drops.iter().all(|c| c.load(Ordering::SeqCst) == 1));
}

/// A member's panic cancels the group: the others are aborted, `join` names the panicking
/// task, and the panic itself is in that task's `JoinHandle`.
#[test]
fn a_member_panic_cancels_the_group() {
    let mut sim = Builder::new().seed(3).workers(2).build().unwrap();
    sim.block_on(async {
        let mut group = Group::new();
        let waiters: Vec<_> = (0..3).map(|_| group.spawn(pending::<()>())).collect();
        kairos::time::sleep(Duration::from_millis(1)).await;
        let bad = group.spawn(async { panic!("member fails") });
        let bad_id = bad.id();
        let res = group.join().await;
        assert_eq!(res, Err(GroupError::Panicked(bad_id)));
        assert!(group.is_cancelled());
        assert!(bad.await.unwrap_err().is_panic());
        for w in waiters {
            assert!(w.await.unwrap_err().is_cancelled());
        }
    });
}

/// A group whose members all finish joins with `Ok`, on the real runtime, with members spawned
/// while `join` waits.
#[test]
fn join_waits_for_every_member_on_threads() {
    let _dog = Watchdog::default_for("join_waits_for_every_member_on_threads");
    let rt = runtime(2);
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    rt.block_on(async move {
        let mut group = Group::new();
        for _ in 0..100 {
            let (d, handle) = (d.clone(), group.handle());
            group.spawn(async move {
                kairos::yield_now().await;
                let d2 = d.clone();
                handle.spawn(async move {
                    kairos::yield_now().await;
                    d2.fetch_add(1, Ordering::SeqCst);
                });
                d.fetch_add(1, Ordering::SeqCst);
            });
        }
        group.join().await.unwrap();
        assert!(group.is_empty());
    });
    assert_eq!(done.load(Ordering::SeqCst), 200);
}

/// Deadline inheritance under `Edf` on one virtual worker, exactly. A request task R (deadline
/// 10 ms) is queued with X (5 ms) and Y (20 ms). R opens a group (inheriting 10 ms) and spawns
/// A (no deadline of its own: gets 10 ms), B (2 ms: keeps its tighter one), C (50 ms: cut to
/// 10 ms); A spawns a grandchild G into the group (10 ms); R also spawns D with plain
/// `kairos::spawn` (no group, no deadline). Poll order: X, R, B, A, C, G, Y, D; and each
/// member's `task::deadline()` shows what it inherited.
#[test]
fn members_inherit_the_group_deadline_under_edf() {
    let mut sim = Builder::new()
        .seed(1)
        .workers(1)
        .policy(Policy::Edf)
        .build()
        .unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let deadlines = Arc::new(Mutex::new(Vec::new()));
    let t0 = sim.now();
    let ms = move |n: u64| t0 + Duration::from_millis(n);
    let log = |name: &'static str| {
        let order = order.clone();
        let deadlines = deadlines.clone();
        move || {
            order.lock().unwrap().push(name);
            deadlines
                .lock()
                .unwrap()
                .push((name, kairos::task::deadline()));
        }
    };
    let (lr, la, lb, lc, lg, ld) = (log("R"), log("A"), log("B"), log("C"), log("G"), log("D"));
    let request = sim.spawn_with(
        Sched::default().deadline(Duration::from_millis(10)),
        async move {
            lr();
            let mut group = Group::new();
            assert_eq!(group.deadline(), Some(ms(10)));
            let handle = group.handle();
            group.spawn(async move {
                la();
                handle.spawn(async move { lg() });
            });
            group.spawn_with(
                Sched::default().deadline(Duration::from_millis(2)),
                async move { lb() },
            );
            group.spawn_with(
                Sched::default().deadline(Duration::from_millis(50)),
                async move { lc() },
            );
            let d = kairos::spawn(async move { ld() });
            group.join().await.unwrap();
            // Handed out (in an Option: a handle is itself awaitable) to be awaited at the end.
            Some(d)
        },
    );
    let lx = log("X");
    let x = sim.spawn_with(
        Sched::default().deadline(Duration::from_millis(5)),
        async move { lx() },
    );
    let ly = log("Y");
    let y = sim.spawn_with(
        Sched::default().deadline(Duration::from_millis(20)),
        async move { ly() },
    );
    sim.block_on(async move {
        let d = request.await.unwrap();
        x.await.unwrap();
        d.unwrap().await.unwrap();
        y.await.unwrap();
    });
    assert_eq!(
        *order.lock().unwrap(),
        ["X", "R", "B", "A", "C", "G", "Y", "D"]
    );
    let deadlines = deadlines.lock().unwrap().clone();
    let of = |name| deadlines.iter().find(|(n, _)| *n == name).unwrap().1;
    let at = |n: u64| Some(Instant::from_nanos(ms(n).as_nanos()));
    assert_eq!(of("R"), at(10));
    assert_eq!(of("A"), at(10));
    assert_eq!(of("B"), at(2));
    assert_eq!(of("C"), at(10));
    assert_eq!(of("G"), at(10));
    assert_eq!(of("D"), None);
}

/// A group made outside any task has no deadline, and one with an explicit deadline uses it
/// whatever the creating task's is.
#[test]
fn group_deadline_sources() {
    assert_eq!(Group::new().deadline(), None);
    let mut sim = Builder::new().policy(Policy::Edf).build().unwrap();
    let t = sim.spawn_with(Sched::default().deadline(Duration::from_millis(3)), async {
        let own = kairos::task::deadline().unwrap();
        let later = own + Duration::from_millis(1);
        (
            Group::new().deadline() == Some(own),
            Group::with_deadline(later).deadline() == Some(later),
            Group::without_deadline().deadline().is_none(),
        )
    });
    assert_eq!(sim.block_on(t).unwrap(), (true, true, true));
}

/// On threads, cancellation races members that keep spawning into the group: every member
/// future created is dropped exactly once, nothing is left running, and `join` returns.
#[test]
fn cancel_races_spawning_members_on_threads() {
    let _dog = Watchdog::default_for("cancel_races_spawning_members_on_threads");
    let rt = runtime(2);
    for round in 0..20u64 {
        let created = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (c, d) = (created.clone(), dropped.clone());
        let res = rt.block_on(async move {
            let mut group = Group::new();
            for _ in 0..4 {
                spawn_spawner(&group.handle(), c.clone(), d.clone(), 200);
            }
            for _ in 0..round % 5 {
                kairos::yield_now().await;
            }
            group.cancel();
            group.join().await
        });
        assert_eq!(res, Err(GroupError::Cancelled));
        assert_eq!(
            created.load(Ordering::SeqCst),
            dropped.load(Ordering::SeqCst),
            "round {round}"
        );
    }
}

/// Counts its creation and its drop.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Spawns into `group` a member that spawns another such member (up to `depth` deep), yields,
/// and then waits forever.
fn spawn_spawner(
    group: &kairos::task::GroupHandle,
    created: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
    depth: u32,
) {
    created.fetch_add(1, Ordering::SeqCst);
    let guard = Counted(dropped.clone());
    let handle = group.clone();
    group.spawn(async move {
        let _guard = guard;
        if depth > 0 {
            spawn_spawner(&handle, created, dropped, depth - 1);
        }
        kairos::yield_now().await;
        pending::<()>().await;
    });
}
