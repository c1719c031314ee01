//! Models of the ordered run queues (`queue/ordered.rs`).

use super::check;
use crate::loom::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use crate::loom::Arc;
use crate::policy::runqueue::{Ordering, TaskKey, Urgency};
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
        let victim = Arc::new(Ordered::<u32>::new(Ordering::Edf));
        let thief_q = Arc::new(Ordered::<u32>::new(Ordering::Edf));
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

/// The no-lost-wake-up handshake of a push with a worker going to sleep, as `worker/idle.rs`
/// uses it with the ordered queues: the pusher publishes the task (mirror `len` stored under the
/// queue lock) and then does a read-modify-write on the idle word; the parking worker does a
/// read-modify-write on the idle word and then reads the `len` mirror. At least one of them must
/// see the other: never "the pusher saw nobody parked" and "the parker saw an empty queue".
#[test]
fn push_vs_park_mirror_handshake() {
    check(&[], || {
        let q = Arc::new(Ordered::<u32>::new(Ordering::Priority {
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
