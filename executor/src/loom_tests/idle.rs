//! Models of the idle protocol (`worker/idle.rs`) with the injector.

use super::check;
use crate::loom::Arc;
use crate::queue::inject::Inject;
use crate::worker::idle::Idle;
use loom::thread;

/// A thread that pushes work onto `inject`, then asks `idle` whom to wake (as a pusher does).
fn push_and_notify(
    idle: &Arc<Idle>,
    inject: &Arc<Inject<u32>>,
) -> thread::JoinHandle<Option<usize>> {
    let (idle, inject) = (idle.clone(), inject.clone());
    thread::spawn(move || {
        inject.try_push(7).unwrap();
        idle.worker_to_notify()
    })
}

/// No lost wake-up: worker 0, the only searcher, gives up and parks while another thread pushes
/// work and asks whom to notify. In every interleaving, either the pusher wakes worker 0, or
/// worker 0 (as the last searcher) sees the work in its recheck.
#[test]
fn last_searcher_parking_vs_push() {
    check(&["idle.last_searcher_parks"], || {
        let idle = Arc::new(Idle::new(2));
        let inject = Arc::new(Inject::<u32>::new());
        // Worker 1 is busy (unparked, not searching); worker 0 searches.
        assert!(idle.transition_worker_to_searching());

        let pusher = push_and_notify(&idle, &inject);
        let last_searcher = idle.transition_worker_to_parked(0, true, false);
        let saw_work = last_searcher && !inject.is_empty();
        let notified = pusher.join().unwrap();
        assert!(
            notified == Some(0) || saw_work,
            "work pushed, nobody woken and the parking searcher did not see it"
        );
    });
}

/// No lost wake-up when the last searcher finds work and wakes a peer only if more work is
/// visible (`Shared::notify_after_search`, every mode): worker 0 leaves the searching
/// state, then looks at the injector, while another thread pushes and asks whom to notify
/// (worker 1 is parked). In every interleaving, either the pusher wakes worker 1, or worker 0
/// sees the work and wakes a peer itself.
#[test]
fn last_searcher_finding_work_vs_push() {
    check(&["idle.last_searcher_found_work"], || {
        let idle = Arc::new(Idle::new(2));
        assert!(!idle.transition_worker_to_parked(1, false, false));
        let inject = Arc::new(Inject::<u32>::new());
        assert!(idle.transition_worker_to_searching());

        let pusher = push_and_notify(&idle, &inject);
        let last_searcher = idle.transition_worker_from_searching();
        let saw_work = last_searcher && !inject.is_empty();
        let notified = pusher.join().unwrap();
        assert!(
            notified == Some(1) || saw_work,
            "work pushed, nobody woken and the searcher that found work did not see it"
        );
    });
}

/// At most one worker is woken per push while nobody searches, and a woken worker counts as
/// searching, so a second concurrent push wakes nobody else (no thundering herd).
#[test]
fn concurrent_pushes_wake_one_worker() {
    check(&[], || {
        let idle = Arc::new(Idle::new(2));
        assert!(!idle.transition_worker_to_parked(0, false, false));
        assert!(!idle.transition_worker_to_parked(1, false, false));
        let other = {
            let idle = idle.clone();
            thread::spawn(move || idle.worker_to_notify())
        };
        let mine = idle.worker_to_notify();
        let other = other.join().unwrap();
        let woken = usize::from(mine.is_some()) + usize::from(other.is_some());
        assert_eq!(woken, 1, "mine={mine:?} other={other:?}");
        assert_eq!(idle.num_searching(), 1);
    });
}

/// A resting worker (Fifo's patience: its search left the surplus in other workers' rings to
/// their owners, `worker/patience.rs`) parks as the last searcher while worker 1 makes surplus
/// on its own ring and asks whom to wake for it, and a third thread pushes onto the injector.
/// In every interleaving the surplus wakes nobody (the resting worker looks again by its own
/// timeout, and the surplus's owner is awake), while the injected work is never lost: either its
/// pusher wakes worker 0, or worker 0's recheck, which looks at the injector only, sees it. The
/// resting count is back to zero once worker 0 is woken.
#[test]
fn surplus_leaves_resting_worker_but_injector_wakes_it() {
    check(
        &[
            "idle.surplus_leaves_resting_worker",
            "idle.last_searcher_parks",
        ],
        || {
            let idle = Arc::new(Idle::new(2));
            let inject = Arc::new(Inject::<u32>::new());
            assert!(idle.transition_worker_to_searching());
            let surplus = {
                let idle = idle.clone();
                thread::spawn(move || idle.worker_to_notify_for_surplus())
            };
            let pusher = push_and_notify(&idle, &inject);
            let last_searcher = idle.transition_worker_to_parked(0, true, true);
            let saw_work = last_searcher && !inject.is_empty();
            assert_eq!(
                surplus.join().unwrap(),
                None,
                "surplus woke a resting worker"
            );
            let notified = pusher.join().unwrap();
            assert!(
                notified == Some(0) || saw_work,
                "work injected, nobody woken and the resting searcher did not see it"
            );
            if notified.is_some() {
                assert_eq!(idle.num_resting(), 0);
            }
        },
    );
}
