//! The bandwidth servers of budgeted tasks (`Sched::budget`), in one table for the process.
//!
//! A task header has no room for a server (runtime, period, remaining budget, deadline: 32
//! bytes) without growing every task, budgeted or not, by a pool size class. So the servers
//! live here, in a slab, and a header holds a `u32` slot number in the padding of its policy
//! state (0: no budget). A slot is taken when the task is spawned and given back when its
//! header is dropped (the task is freed).
//!
//! # Locking
//!
//! One mutex (the crate's loom shim) guards the slab. Only budgeted tasks take it: at each of
//! their pushes, poll ends and cooperative checks under `Policy::Classes`. Its critical sections
//! copy 32 bytes or push and pop a free list; no user code runs under it. The task's own
//! hand-offs (`state.rs`) order the accesses to one server (its pusher, then its poller), as
//! for the rest of the policy state; the mutex only keeps the slab itself consistent.

use crate::loom::{lock, Mutex};
use crate::policy::cbs::Server;

/// The slab: `slots[i - 1]` is slot `i`.
struct Slab {
    /// Servers by slot; `None` for a free slot.
    slots: Vec<Option<Server>>,
    /// Free slot numbers, reused last-freed first.
    free: Vec<u32>,
}

impl Slab {
    /// Empty.
    const fn new() -> Slab {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

#[cfg(not(loom))]
/// The process's servers.
static SLAB: Mutex<Slab> = Mutex::new(Slab::new());

#[cfg(loom)]
loom::lazy_static! {
    /// The process's servers (one table per loom execution).
    static ref SLAB: Mutex<Slab> = Mutex::new(Slab::new());
}

/// Takes a slot for a new server of `runtime` per `period` (ns). Returns 0 (no budget) in the
/// impossible case of `u32::MAX` budgeted tasks alive at once.
pub(super) fn insert(runtime: u64, period: u64) -> u32 {
    let server = Some(Server::new(runtime, period));
    let mut slab = lock(&SLAB);
    if let Some(slot) = slab.free.pop() {
        slab.slots[slot as usize - 1] = server;
        return slot;
    }
    let Ok(slot) = u32::try_from(slab.slots.len() + 1) else {
        return 0;
    };
    slab.slots.push(server);
    slot
}

/// Gives slot `slot` back (nothing for 0, without taking the lock).
#[inline]
pub(super) fn release(slot: u32) {
    if slot != 0 {
        release_slot(slot);
    }
}

/// Frees a taken slot.
#[cold]
fn release_slot(slot: u32) {
    let mut slab = lock(&SLAB);
    if let Some(entry) = slab.slots.get_mut(slot as usize - 1) {
        if entry.take().is_some() {
            slab.free.push(slot);
        }
    }
}

/// A budgeted task's server, by its slot.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget(u32);

impl Budget {
    /// The server of slot `slot`, `None` for 0.
    #[inline]
    pub(super) fn of(slot: u32) -> Option<Budget> {
        (slot != 0).then_some(Budget(slot))
    }

    /// A copy of the server.
    pub(crate) fn load(self) -> Server {
        let slab = lock(&SLAB);
        slab.slots[self.0 as usize - 1].expect("the slot of a live task's server")
    }

    /// Stores the server's new state.
    pub(crate) fn store(self, server: &Server) {
        let mut slab = lock(&SLAB);
        slab.slots[self.0 as usize - 1] = Some(*server);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn slots_are_taken_stored_and_reused() {
        let a = insert(2, 10);
        let b = insert(3, 10);
        assert!(a != 0 && b != 0 && a != b);
        let budget = Budget::of(a).unwrap();
        let mut s = budget.load();
        assert_eq!((s.runtime, s.period), (2, 10));
        s.charge(1);
        budget.store(&s);
        assert_eq!(budget.load().remaining, -1);
        release(a);
        release(0);
        // Another test may take the freed slot first; either way slots stay distinct.
        let c = insert(5, 10);
        assert!(c != 0 && c != b);
        assert_eq!(Budget::of(c).unwrap().load().runtime, 5);
        release(b);
        release(c);
        assert!(Budget::of(0).is_none());
    }
}
