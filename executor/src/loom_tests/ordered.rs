//! Models of the ordered run queues (`queue/ordered.rs`).

use super::check;
use crate::loom::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use crate::loom::Arc;
use crate::policy::edf::EdfKey;
use crate::policy::runqueue::{self, Key, QueueOrder, TaskKey, Urgency};
use crate::queue::ordered::Ordered;
use loom::thread;

fn key(deadline: u64) -> TaskKey {
    TaskKey {
        deadline: Some(deadline),
        priority: 0,
        vruntime: crate::task::policy_state::UNPLACED,
        floor: 0,
    }
}

/// The owner pushes and pops while a thief steals into its own queue: every task comes out
/// exactly once, the thief gets the most urgent ones first, and the mirrors end consistent. The
/// model must reach both a successful steal and a steal that finds the owner holding the lock
/// (`try_lock` fails: the thief gives up instead of waiting).
#[test]
fn steal_vs_owner_push_pop() {
    check(&["ordered.steal", "ordered.steal_contended"], || {
        let victim = Arc::new(Ordered::<u32>::new(QueueOrder::Edf));
        let thief_q = Arc::new(Ordered::<u32>::new(QueueOrder::Edf));
        victim.push(1, key(10), 0).unwrap();
        let thief = {
            let (victim, thief_q) = (victim.clone(), thief_q.clone());
            thread::spawn(move || {
                let mut got = Vec::new();
                if let Some((_, t)) = victim.steal_into(&thief_q, 2, 0) {
                    got.push(t);
                }
                while let Some((_, t)) = thief_q.pop(0) {
                    got.push(t);
                }
                got
            })
        };
        victim.push(2, key(5), 0).unwrap();
        let mut got = Vec::new();
        if let Some((_, t)) = victim.pop(0) {
            got.push(t);
        }
        got.extend(thief.join().unwrap());
        while let Some((_, t)) = victim.pop(0) {
            got.push(t);
        }
        got.sort_unstable();
        assert_eq!(got, vec![1, 2], "a task was lost or duplicated");
        assert!(victim.is_empty() && thief_q.is_empty());
        assert_eq!(victim.head(), Urgency::IDLE);
    });
}

/// Pops everything left in `q`, checking before each pop that the `head` mirror shows the
/// urgency of the task the pop returns, and `Urgency::IDLE` once empty: the mirror is consistent
/// with the structure once the racing threads are done.
fn drain_checking_head(q: &Ordered<u32>, got: &mut Vec<(Key, u32)>) {
    drain_checking_head_by(q, got, runqueue::key_urgency);
}

/// [`drain_checking_head`] with the urgency a popped key should have had as the head.
fn drain_checking_head_by(
    q: &Ordered<u32>,
    got: &mut Vec<(Key, u32)>,
    urgency: fn(Key) -> Urgency,
) {
    loop {
        let head = q.head();
        match q.pop(0) {
            Some((k, t)) => {
                assert_eq!(head, urgency(k), "stale head mirror");
                got.push((k, t));
            }
            None => {
                assert_eq!(head, Urgency::IDLE, "head mirror of an empty queue");
                assert!(q.is_empty());
                return;
            }
        }
    }
}

/// A re-key of a queued task (task 2 inherits a deadline earlier than task 1's) races a thief
/// stealing both tasks into its own queue and the owner popping. The re-keyer follows the
/// protocol of `queue/ordered.rs`: re-key on the victim's queue, and on "not found" on the queue
/// a steal lands in (here known to be the thief's). Checks: each task is popped exactly once;
/// task 2 comes out with its new key if and only if a re-key reported it found; the head mirrors
/// match the queues afterwards. The model must reach a steal, a re-key that misses on the
/// victim (`ordered.rekey_missed`), one that then finds the task where the steal put it
/// (`model.rekey_after_move`), and one that misses on both queues while the task is in flight
/// (`model.rekey_in_flight`: popped from the victim, not yet pushed to the thief's queue).
#[test]
fn rekey_vs_steal_vs_pop() {
    const NEW: Key = Key::Edf(EdfKey::At(5));
    check(
        &[
            "ordered.steal",
            "ordered.rekey_missed",
            "model.rekey_after_move",
            "model.rekey_in_flight",
        ],
        || {
            let victim = Arc::new(Ordered::<u32>::new(QueueOrder::Edf));
            let thief_q = Arc::new(Ordered::<u32>::new(QueueOrder::Edf));
            victim.push(1, key(10), 0).unwrap();
            victim.push(2, key(20), 0).unwrap();
            let thief = {
                let (victim, thief_q) = (victim.clone(), thief_q.clone());
                thread::spawn(move || {
                    let mut got = Vec::new();
                    let first = victim.steal_into(&thief_q, 2, 0);
                    got.extend(first);
                    // What the thief pops from its own queue came there through the steal.
                    let mut landed = Vec::new();
                    if let Some(entry) = thief_q.pop(0) {
                        landed.push(entry);
                    }
                    (got, landed)
                })
            };
            let rekeyer = {
                let (victim, thief_q) = (victim.clone(), thief_q.clone());
                thread::spawn(move || {
                    let on_victim = victim.rekey(NEW, 0, |&t| t == 2);
                    let on_thief = !on_victim && thief_q.rekey(NEW, 0, |&t| t == 2);
                    (on_victim, on_thief)
                })
            };
            let mut got: Vec<(Key, u32)> = victim.pop(0).into_iter().collect();
            let (stolen, mut landed) = thief.join().unwrap();
            let (on_victim, on_thief) = rekeyer.join().unwrap();
            got.extend(stolen);
            drain_checking_head(&victim, &mut got);
            drain_checking_head(&thief_q, &mut landed);

            let task2_landed = landed.iter().any(|&(_, t)| t == 2);
            got.extend(landed);
            got.sort_unstable_by_key(|&(_, t)| t);
            let tasks: Vec<u32> = got.iter().map(|&(_, t)| t).collect();
            assert_eq!(tasks, vec![1, 2], "a task was lost or duplicated");
            let key2 = got[1].0;
            assert_eq!(
                key2 == NEW,
                on_victim || on_thief,
                "a re-key reported found but did not take effect, or the reverse"
            );
            if on_thief {
                crate::loom::reached("model.rekey_after_move");
            }
            if !on_victim && !on_thief && task2_landed {
                // It left the victim before the re-key and reached the thief's queue after it.
                crate::loom::reached("model.rekey_in_flight");
            }
        },
    );
}

/// A class move races a steal and a pop under `Classes`: task 2, queued in the fair class behind
/// task 1 (priority class), is moved to the deadline class (inheritance lending it a deadline)
/// by a re-key that follows the same protocol as [`rekey_vs_steal_vs_pop`]. Checks: each task is
/// popped exactly once; task 2 comes out with the deadline key if and only if a re-key reported
/// it found; the head mirrors match the queues afterwards (on the classes' banded scale). The
/// model must reach a steal, a re-key that misses on the victim and one that finds the task in
/// the thief's queue (`model.class_move_after_steal`).
#[test]
fn class_move_vs_steal_vs_pop() {
    const NEW: Key = Key::Edf(EdfKey::At(5));
    const ORDER: QueueOrder = QueueOrder::Classes {
        aging_interval: u64::MAX,
        sched_latency: 1_000,
    };
    check(
        &[
            "ordered.steal",
            "ordered.rekey_missed",
            "model.class_move_after_steal",
        ],
        || {
            let victim = Arc::new(Ordered::<u32>::new(ORDER));
            let thief_q = Arc::new(Ordered::<u32>::new(ORDER));
            let fair = TaskKey {
                deadline: None,
                ..key(0)
            };
            victim
                .push(
                    1,
                    TaskKey {
                        priority: 3,
                        ..fair
                    },
                    0,
                )
                .unwrap();
            victim.push(2, fair, 0).unwrap();
            let thief = {
                let (victim, thief_q) = (victim.clone(), thief_q.clone());
                thread::spawn(move || {
                    let first = victim.steal_into(&thief_q, 2, 0);
                    let mut landed = Vec::new();
                    if let Some(entry) = thief_q.pop(0) {
                        landed.push(entry);
                    }
                    (first, landed)
                })
            };
            let rekeyer = {
                let (victim, thief_q) = (victim.clone(), thief_q.clone());
                thread::spawn(move || {
                    let on_victim = victim.rekey(NEW, 0, |&t| t == 2);
                    let on_thief = !on_victim && thief_q.rekey(NEW, 0, |&t| t == 2);
                    (on_victim, on_thief)
                })
            };
            let mut got: Vec<(Key, u32)> = victim.pop(0).into_iter().collect();
            let (stolen, mut landed) = thief.join().unwrap();
            let (on_victim, on_thief) = rekeyer.join().unwrap();
            got.extend(stolen);
            let urgency = crate::policy::classes::running_urgency;
            drain_checking_head_by(&victim, &mut got, urgency);
            drain_checking_head_by(&thief_q, &mut landed, urgency);
            got.extend(landed);
            got.sort_unstable_by_key(|&(_, t)| t);
            let tasks: Vec<u32> = got.iter().map(|&(_, t)| t).collect();
            assert_eq!(tasks, vec![1, 2], "a task was lost or duplicated");
            assert_eq!(
                got[1].0 == NEW,
                on_victim || on_thief,
                "a class move reported found but did not take effect, or the reverse"
            );
            if on_thief {
                crate::loom::reached("model.class_move_after_steal");
            }
        },
    );
}

/// A removal races a steal: the owner removes task 2 from its queue, and on "not found" from
/// the queue the steal lands in. Each task comes out exactly once (removed, stolen, or left
/// queued), and the mirrors match the queues afterwards. The model must reach a removal that
/// misses on the victim because the steal took the task (`ordered.remove_missed`).
#[test]
fn remove_vs_steal() {
    check(&["ordered.steal", "ordered.remove_missed"], || {
        let victim = Arc::new(Ordered::<u32>::new(QueueOrder::Edf));
        let thief_q = Arc::new(Ordered::<u32>::new(QueueOrder::Edf));
        victim.push(1, key(10), 0).unwrap();
        victim.push(2, key(20), 0).unwrap();
        let thief = {
            let (victim, thief_q) = (victim.clone(), thief_q.clone());
            thread::spawn(move || victim.steal_into(&thief_q, 2, 0))
        };
        let mut got: Vec<(Key, u32)> = victim
            .remove(0, |&t| t == 2)
            .or_else(|| thief_q.remove(0, |&t| t == 2))
            .into_iter()
            .collect();
        got.extend(thief.join().unwrap());
        drain_checking_head(&victim, &mut got);
        drain_checking_head(&thief_q, &mut got);
        got.sort_unstable_by_key(|&(_, t)| t);
        let tasks: Vec<u32> = got.iter().map(|&(_, t)| t).collect();
        assert_eq!(tasks, vec![1, 2], "a task was lost or duplicated");
    });
}

/// The no-lost-wake-up handshake of a push with a worker going to sleep, as `worker/idle.rs`
/// uses it with the ordered queues: the pusher publishes the task (mirror `len` stored under the
/// queue lock) and then does a read-modify-write on the idle word; the parking worker does a
/// read-modify-write on the idle word and then reads the `len` mirror. At least one of them must
/// see the other: never "the pusher saw nobody parked" and "the parker saw an empty queue".
#[test]
fn push_vs_park_mirror_handshake() {
    check(&[], || {
        let q = Arc::new(Ordered::<u32>::new(QueueOrder::Priority {
            aging_interval: 1,
        }));
        // 0: the worker is awake; 1: it has announced it is parking.
        let idle = Arc::new(AtomicUsize::new(0));
        let parker = {
            let (q, idle) = (q.clone(), idle.clone());
            thread::spawn(move || {
                idle.fetch_add(1, AtomicOrdering::SeqCst);
                !q.is_empty()
            })
        };
        q.push(7, key(1), 0).unwrap();
        let saw_parked = idle.fetch_add(0, AtomicOrdering::SeqCst) == 1;
        let parker_saw_work = parker.join().unwrap();
        assert!(
            saw_parked || parker_saw_work,
            "lost wake-up: the pusher saw no parked worker and the worker saw no work"
        );
    });
}
