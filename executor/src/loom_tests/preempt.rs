//! Model of the preemption handshake between a worker's pick and a pusher
//! (`worker/preempt.rs`).

use super::check;
use crate::loom::Arc;
use crate::policy::runqueue::{self, QueueOrder, TaskKey};
use crate::queue::ordered::Ordered;
use crate::worker::preempt::{self, Slot};
use loom::thread;

fn key(deadline: Option<u64>) -> TaskKey {
    TaskKey {
        deadline,
        priority: 0,
        vruntime: crate::task::policy_state::UNPLACED,
        floor: 0,
    }
}

/// One worker under `Edf` picks from its queue, which holds a task without a deadline (`HOG`),
/// while another thread queues an urgent task (`URGENT`, deadline 5) there and runs the pusher
/// side. Whatever the interleaving, the worker either picked the urgent task or holds a
/// preemption request during the hog's poll (only the worker clears it, at its next poll): never "the pusher saw the worker idle
/// (or running something more urgent) and the worker's pick missed the task". The model must
/// reach the worker's recheck flagging itself (the interleaving the recheck exists for).
#[test]
fn pick_vs_push() {
    const HOG: u32 = 1;
    const URGENT: u32 = 2;
    check(&["preempt.recheck_flags_itself"], || {
        let q = Arc::new(Ordered::<u32>::new(QueueOrder::Edf));
        q.push(HOG, key(None), 0).unwrap();
        let slot = Arc::new(Slot::new());
        let pusher = {
            let (q, slot) = (q.clone(), slot.clone());
            thread::spawn(move || {
                q.push(URGENT, key(Some(5)), 0).unwrap();
                let urgency = runqueue::edf_urgency(crate::policy::edf::EdfKey::At(5));
                preempt::after_push([&*slot], urgency, None);
            })
        };
        // The worker: pick, publish, clear, recheck (worker::Core::run_task).
        let (k, picked) = q.pop(0).expect("the hog was queued first");
        let urgency = runqueue::key_urgency(k);
        slot.set_running(urgency);
        slot.clear();
        preempt::after_publish(&slot, urgency, || q.head());
        pusher.join().unwrap();
        assert!(
            picked == URGENT || slot.requested(),
            "lost preemption: the worker polls the hog with the urgent task queued and no request"
        );
    });
}
