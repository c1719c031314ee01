//! Priority and deadline inheritance: the side table of contended locks and boosted tasks.
//!
//! `kairos::sync::Mutex` keeps its uncontended path to one compare-and-swap of its lock word
//! (which also records the holding task). Everything inheritance needs lives here, touched only
//! on contended paths, so a task header does not grow by a byte for it:
//!
//! - one [`LockRec`] per lock that has waiters: its holder and its waiters (each with its task,
//!   its waker, its arrival sequence and the [`Mode`] of the runtime it waits on);
//! - one entry per *boosted* task: its base parameters (what it would run with without
//!   donations), as Linux keeps `pi_waiters` beside a task's normal priority
//!   (`Documentation/locking/rt-mutex-design.rst` in the Linux tree).
//!
//! # The rule
//!
//! A task's effective parameters are its base, raised by every waiter of every inheriting lock it
//! holds: under `Edf` the earliest deadline, under `Priority` the highest priority. A waiter
//! donates its own *effective* parameters, so a boost passes along a chain of locks (the holder
//! of lock A waits on lock B: B's holder gets A's waiters' urgency), up to [`MAX_CHAIN`] locks
//! deep. The effective parameters are recomputed from what remains whenever a waiter arrives,
//! leaves (cancelled) or is granted, and whenever a lock is released, so releasing one of
//! several held locks in any order keeps exactly the donations of the others, and the base comes
//! back exactly when the last donor leaves. The effective parameters are written to the task's
//! header (`PolicyState`, where every push and pick reads them) and the scheduler is told
//! (`Schedule::reprioritized`), which moves a queued task to its new place and may preempt a
//! less urgent running task.
//!
//! # The user's own setters while boosted
//!
//! `task::set_deadline`, `clear_deadline` and `set_priority` change the *base*; the effective
//! parameters are recomputed at once (the boost still applies on top). `task::deadline` returns
//! the base. With no contended lock anywhere (one atomic load) the setters write the header
//! directly, as before.
//!
//! # Locking
//!
//! One table for the process, behind one lock (the crate's loom shim). It serialises the
//! contended paths of every `kairos::sync::Mutex`; critical sections are short scans of the
//! records (no user code, no allocation beyond the record vectors). The scheduler calls made from
//! inside it (`reprioritized`: queue locks, preemption slots) never come back to this table, and
//! wakers and task references are released after the table's lock is (see [`Locked`]).
//!
//! # References
//!
//! A lock's holder task and every waiter task are referenced by pointer from the table; each
//! such pointer owns one task reference (`state.rs`), taken by the lock's acquirer
//! (`sync/mutex.rs`) or at registration, so a record never points at a freed task, even if a
//! guard outlives the task that took it.

use super::raw::RawTask;
use super::Header;
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{lock, Mutex, MutexGuard};
use crate::policy::classes::push_urgency;
use crate::policy::runqueue::{edf_urgency, priority_urgency, Urgency};
use std::ptr::NonNull;
use std::task::Waker;

/// Longest chain of locks a boost is passed along (holder of one waits on the next, ...). Chains
/// longer than this (or a deadlock cycle) stop propagating there; 8 is far beyond the lock
/// nesting of real programs and bounds the time spent under the table's lock.
pub(crate) const MAX_CHAIN: usize = 8;

/// How a lock's waiters are ordered and what they donate: the policy of the runtime a waiter
/// runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `Fifo` and `Fair` (and waiters outside any task): granted in arrival order, donate nothing.
    Arrival,
    /// `Edf`: earliest deadline first; donates the deadline.
    Edf,
    /// `Priority`: highest priority first; donates the priority.
    Priority,
    /// `Classes`: most urgent first on the classes' scale (deadline class, then priority class,
    /// then fair); donates both the deadline and the priority, so a holder lent a deadline
    /// runs in the deadline class, one lent a priority in the priority class (if it was
    /// below), until the donation ends (`policy/classes.rs`, "Class moves").
    Classes,
}

/// The parameters inheritance moves: deadline and priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Params {
    /// Absolute deadline (ns), if any.
    pub(crate) deadline: Option<u64>,
    /// Priority, 0 lowest.
    pub(crate) priority: u8,
}

impl Params {
    /// What `header` holds now (its effective parameters).
    pub(crate) fn of(header: &Header) -> Params {
        Params {
            deadline: header.policy.deadline(),
            priority: header.policy.priority(),
        }
    }

    /// Writes these parameters to `header`.
    fn write(self, header: &Header) {
        header.policy.set_deadline(self.deadline);
        header.policy.set_priority(self.priority);
    }

    /// These parameters raised by a donor's under `mode`.
    fn raise(self, donor: Params, mode: Mode) -> Params {
        match mode {
            Mode::Arrival => self,
            Mode::Edf => Params {
                deadline: match (self.deadline, donor.deadline) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
                ..self
            },
            Mode::Priority => Params {
                priority: self.priority.max(donor.priority),
                ..self
            },
            Mode::Classes => self.raise(donor, Mode::Edf).raise(donor, Mode::Priority),
        }
    }
}

/// One waiter of a contended lock.
struct Waiter {
    /// Arrival order (unique per table).
    seq: u64,
    /// The waiting task (owns one reference), `None` outside a task (`block_on`'s own future).
    task: Option<NonNull<Header>>,
    /// Its runtime's policy.
    mode: Mode,
    /// Woken when the lock is handed to it.
    waker: Waker,
}

impl Waiter {
    /// Grant order: most urgent first under the waiter's mode, then arrival.
    fn order(&self) -> (Urgency, u64) {
        let urgency = match (self.task, self.mode) {
            (Some(t), Mode::Edf) => {
                // SAFETY: a waiter's task pointer owns a reference (module docs).
                edf_urgency(unsafe { t.as_ref() }.policy.deadline().into())
            }
            (Some(t), Mode::Priority) => {
                // SAFETY: as above.
                priority_urgency(unsafe { t.as_ref() }.policy.priority())
            }
            (Some(t), Mode::Classes) => {
                // SAFETY: as above.
                let policy = &unsafe { t.as_ref() }.policy;
                push_urgency(policy.deadline(), policy.priority())
            }
            _ => Urgency::LEAST,
        };
        (urgency, self.seq)
    }
}

/// A lock that has waiters.
struct LockRec {
    /// The lock's identity (its address, stable while it has waiters: they borrow it).
    id: usize,
    /// The holding task, if the holder is a task (its reference is owned by the lock).
    holder: Option<NonNull<Header>>,
    /// Whether the lock lends its waiters' urgency to its holder.
    inherit: bool,
    /// Waiting, in arrival order.
    waiters: Vec<Waiter>,
    /// How many of `waiters` donate (a task waiting under an ordered mode): with none, the
    /// holder's parameters owe nothing to this lock and recomputing skips it (under `Fifo` and
    /// `Fair` every waiter is `Arrival`, so a convoy of waiters costs no walk over them).
    donors: usize,
}

impl Waiter {
    /// Whether this waiter lends its urgency to the holder of an inheriting lock.
    fn donates(&self) -> bool {
        self.task.is_some() && self.mode != Mode::Arrival
    }
}

/// The table (module docs).
pub(crate) struct Table {
    /// Locks with waiters.
    locks: Vec<LockRec>,
    /// Boosted tasks and their base parameters.
    boosted: Vec<(NonNull<Header>, Params)>,
    /// Urgency carried by a message a task received, until its next receive (`sync/inherit.rs`):
    /// the task (no reference: removed when the task completes), the donation and its mode.
    carried: Vec<(NonNull<Header>, Params, Mode)>,
    /// Next waiter sequence number.
    seq: u64,
}

// SAFETY: the pointers are to task headers, which are `Sync`, and each owns a reference that
// keeps its task alive; the table is only reached through its lock.
unsafe impl Send for Table {}

impl Table {
    /// An empty table.
    const fn new() -> Table {
        Table {
            locks: Vec::new(),
            boosted: Vec::new(),
            carried: Vec::new(),
            seq: 0,
        }
    }
}

#[cfg(not(loom))]
/// The process's table.
static TABLE: Mutex<Table> = Mutex::new(Table::new());

#[cfg(not(loom))]
/// Records in the table (locks with waiters, carried message urgencies): the setters and task
/// completion skip the table while it is 0.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

#[cfg(loom)]
loom::lazy_static! {
    /// The process's table (one per loom execution).
    static ref TABLE: Mutex<Table> = Mutex::new(Table::new());
    /// Records in the table.
    static ref ACTIVE: AtomicUsize = AtomicUsize::new(0);
}

/// The table, locked. Wakers and task references given up under the lock are released after it
/// is unlocked (a waker may do anything; a last reference frees a task).
pub(crate) struct Locked {
    /// The lock guard (taken out in `drop` before the deferred work runs).
    guard: Option<MutexGuard<'static, Table>>,
    /// Wakers to wake after unlocking.
    wake: Vec<Waker>,
    /// Task references to release after unlocking.
    release: Vec<RawTask>,
}

/// Locks the table.
#[cold]
pub(crate) fn table() -> Locked {
    Locked {
        guard: Some(lock(&TABLE)),
        wake: Vec::new(),
        release: Vec::new(),
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        drop(self.guard.take());
        for w in self.wake.drain(..) {
            w.wake();
        }
        for t in self.release.drain(..) {
            t.drop_reference();
        }
    }
}

/// What [`Locked::release`] decided.
pub(crate) enum Released {
    /// No waiter: the lock is free.
    Free,
    /// Handed to the most urgent (or first) waiter, whose task becomes the holder (its reference
    /// passes to the lock); `more`: other waiters remain.
    Handed {
        /// The new holder's task, if it is one.
        task: Option<NonNull<Header>>,
        /// Whether waiters remain.
        more: bool,
    },
}

impl Locked {
    /// The table.
    fn t(&mut self) -> &mut Table {
        self.guard.as_mut().expect("locked until dropped")
    }

    /// Releases one task reference once the table is unlocked.
    pub(crate) fn release_later(&mut self, task: NonNull<Header>) {
        // SAFETY: the caller owns the reference it gives up here, so the task is alive.
        self.release.push(unsafe { RawTask::from_header(task) });
    }

    /// Registers a waiter on lock `id` (held by `holder`), taking a reference to `task`, and
    /// passes its urgency on if the lock inherits. Returns its sequence number.
    pub(crate) fn register(
        &mut self,
        id: usize,
        holder: Option<NonNull<Header>>,
        inherit: bool,
        task: Option<NonNull<Header>>,
        mode: Mode,
        waker: Waker,
    ) -> u64 {
        if let Some(t) = task {
            // SAFETY: the caller is the task's poll (or holds a reference), so it is alive.
            unsafe { t.as_ref() }.state.ref_inc();
        }
        let table = self.t();
        let seq = table.seq;
        table.seq += 1;
        let waiter = Waiter {
            seq,
            task,
            mode,
            waker,
        };
        let donors = usize::from(waiter.donates());
        match table.locks.iter_mut().find(|r| r.id == id) {
            Some(rec) => {
                rec.donors += donors;
                rec.waiters.push(waiter);
            }
            None => {
                ACTIVE.fetch_add(1, Ordering::SeqCst);
                table.locks.push(LockRec {
                    id,
                    holder,
                    inherit,
                    waiters: vec![waiter],
                    donors,
                });
            }
        }
        if inherit && task.is_some() && mode != Mode::Arrival {
            self.propagate(id);
        }
        seq
    }

    /// Replaces waiter `seq`'s waker; `false` if it is no longer waiting (it was granted the
    /// lock).
    pub(crate) fn update_waker(&mut self, id: usize, seq: u64, waker: &Waker) -> bool {
        let Some(w) = self
            .t()
            .locks
            .iter_mut()
            .find(|r| r.id == id)
            .and_then(|r| r.waiters.iter_mut().find(|w| w.seq == seq))
        else {
            return false;
        };
        if !w.waker.will_wake(waker) {
            w.waker = waker.clone();
        }
        true
    }

    /// Removes waiter `seq` of lock `id` (its future was dropped) and withdraws what it donated.
    /// `None`: it was not waiting any more (granted: the caller now holds the lock). `Some(true)`:
    /// removed, and the lock has no waiters left.
    pub(crate) fn cancel(&mut self, id: usize, seq: u64) -> Option<bool> {
        let table = self.t();
        let r = table.locks.iter().position(|r| r.id == id)?;
        let rec = &mut table.locks[r];
        let w = rec.waiters.iter().position(|w| w.seq == seq)?;
        let waiter = rec.waiters.remove(w);
        rec.donors -= usize::from(waiter.donates());
        let empty = rec.waiters.is_empty();
        let holder = rec.holder;
        let donated = waiter.donates();
        if empty {
            table.locks.swap_remove(r);
            ACTIVE.fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(t) = waiter.task {
            self.release_later(t);
        }
        if let (Some(h), true) = (holder, donated) {
            self.recompute_chain(h);
        }
        Some(empty)
    }

    /// Lock `id`, held by `holder`, is being released: hands it to the most urgent waiter (by
    /// the waiters' modes; arrival order among equals and under `Arrival`), and recomputes the
    /// old and the new holder's parameters. The caller writes the lock word accordingly and
    /// releases the old holder's reference.
    pub(crate) fn release(&mut self, id: usize, holder: Option<NonNull<Header>>) -> Released {
        let table = self.t();
        let Some(r) = table.locks.iter().position(|r| r.id == id) else {
            return Released::Free;
        };
        let rec = &mut table.locks[r];
        // Without donors every waiter orders as `Urgency::LEAST`, so the oldest (the first:
        // the list is in arrival order) goes next, with no walk over the others.
        let next = if rec.donors == 0 {
            (!rec.waiters.is_empty()).then_some(0)
        } else {
            rec.waiters
                .iter()
                .enumerate()
                .min_by_key(|(_, w)| w.order())
                .map(|(i, _)| i)
        };
        let Some(next) = next else {
            table.locks.swap_remove(r);
            ACTIVE.fetch_sub(1, Ordering::Relaxed);
            return Released::Free;
        };
        let waiter = rec.waiters.remove(next);
        rec.donors -= usize::from(waiter.donates());
        rec.holder = waiter.task;
        // Whether the old or the new holder's parameters can change: the lock lent something
        // (a donor left with the handover, or the remaining donors move to the new holder).
        let lent = rec.inherit && (waiter.donates() || rec.donors > 0);
        let more = !rec.waiters.is_empty();
        if !more {
            table.locks.swap_remove(r);
            ACTIVE.fetch_sub(1, Ordering::Relaxed);
        }
        self.wake.push(waiter.waker);
        if lent {
            if let Some(h) = holder {
                self.recompute_chain(h);
            }
            if let Some(t) = waiter.task {
                self.recompute_chain(t);
            }
        }
        Released::Handed {
            task: waiter.task,
            more,
        }
    }

    /// A lock's waiters changed: recompute its holder, and pass a change along the chain of
    /// locks the holder waits on.
    fn propagate(&mut self, id: usize) {
        if let Some(holder) = self
            .t()
            .locks
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.holder)
        {
            self.recompute_chain(holder);
        }
    }

    /// Recomputes `task`, then, while that changes something, the holder of the lock it waits
    /// on, at most [`MAX_CHAIN`] tasks.
    fn recompute_chain(&mut self, task: NonNull<Header>) {
        let mut task = task;
        for _ in 0..MAX_CHAIN {
            if !self.recompute(task) {
                return;
            }
            let next = self
                .t()
                .locks
                .iter()
                .find(|r| r.waiters.iter().any(|w| w.task == Some(task)))
                .and_then(|r| if r.inherit { r.holder } else { None });
            match next {
                Some(h) => task = h,
                None => return,
            }
        }
        crate::loom::reached("boost.chain_bound");
    }

    /// Sets `task`'s effective parameters to its base raised by its donors; tells its scheduler
    /// if they changed. Returns whether they did.
    fn recompute(&mut self, task: NonNull<Header>) -> bool {
        // SAFETY: `task` is a holder or waiter in the table, whose pointer owns a reference.
        let header = unsafe { task.as_ref() };
        let table = self.t();
        let slot = table.boosted.iter().position(|(t, _)| *t == task);
        let base = slot.map_or_else(|| Params::of(header), |i| table.boosted[i].1);
        let mut effective = base;
        for rec in table
            .locks
            .iter()
            .filter(|r| r.inherit && r.donors > 0 && r.holder == Some(task))
        {
            for w in rec.waiters.iter().filter(|w| w.donates()) {
                if let Some(t) = w.task {
                    // SAFETY: a waiter's task pointer owns a reference.
                    effective = effective.raise(Params::of(unsafe { t.as_ref() }), w.mode);
                }
            }
        }
        if let Some((_, p, mode)) = table.carried.iter().find(|(t, ..)| *t == task) {
            effective = effective.raise(*p, *mode);
        }
        match slot {
            Some(i) if effective == base => {
                table.boosted.swap_remove(i);
            }
            None if effective != base => table.boosted.push((task, base)),
            _ => {}
        }
        if effective == Params::of(header) {
            return false;
        }
        crate::loom::reached("boost.applied");
        effective.write(header);
        // SAFETY: the table's pointer owns a reference to the task.
        unsafe { (header.vtable.reprioritized)(task) };
        true
    }

    /// Sets (`raise: false`) or raises (`raise: true`) the urgency `task` carries from messages,
    /// or removes it (`None`), and recomputes the task.
    fn carry(&mut self, task: NonNull<Header>, donation: Option<(Params, Mode)>, raise: bool) {
        let table = self.t();
        let slot = table.carried.iter().position(|(t, ..)| *t == task);
        match (slot, donation) {
            (Some(i), None) => {
                table.carried.swap_remove(i);
                ACTIVE.fetch_sub(1, Ordering::Relaxed);
            }
            (Some(i), Some((p, mode))) => {
                let entry = &mut table.carried[i];
                entry.1 = if raise { entry.1.raise(p, mode) } else { p };
                entry.2 = mode;
            }
            (None, Some((p, mode))) => {
                table.carried.push((task, p, mode));
                ACTIVE.fetch_add(1, Ordering::SeqCst);
            }
            (None, None) => return,
        }
        self.recompute_chain(task);
    }

    /// The running task `header` changes its own base parameters (`task::set_deadline`, ...).
    fn set_base(&mut self, header: &Header, change: impl Fn(&mut Params)) {
        let task = NonNull::from(header);
        let table = self.t();
        match table.boosted.iter_mut().find(|(t, _)| *t == task) {
            Some((_, base)) => change(base),
            None => {
                let mut p = Params::of(header);
                change(&mut p);
                p.write(header);
            }
        }
        // Recompute it (its boost stays on top of the new base), then whoever it waits on (only
        // possible if it polls a lock future beside other work, e.g. in a `select`).
        self.recompute(task);
        let waits_on = self
            .t()
            .locks
            .iter()
            .find(|r| r.waiters.iter().any(|w| w.task == Some(task)))
            .map(|r| r.id);
        if let Some(id) = waits_on {
            self.propagate(id);
        }
    }

    /// `header`'s base parameters if it is boosted.
    fn base(&mut self, header: &Header) -> Option<Params> {
        let task = NonNull::from(header);
        self.t()
            .boosted
            .iter()
            .find(|(t, _)| *t == task)
            .map(|(_, p)| *p)
    }
}

/// Applies a change of the running task's own base parameters (module docs: "The user's own
/// setters while boosted"). `change` sets fields to values, so applying it twice is harmless.
pub(crate) fn set_base(header: &Header, change: impl Fn(&mut Params)) {
    if ACTIVE.load(Ordering::Relaxed) == 0 {
        let mut p = Params::of(header);
        change(&mut p);
        p.write(header);
        // A waiter registering meanwhile increments the count (an RMW) before it reads this
        // header: either it reads the value just written, or the load below sees its count and
        // the change is applied again through the table (Dekker's pattern, as in
        // `worker/preempt.rs`).
        crate::loom::atomic::fence(Ordering::SeqCst);
        if ACTIVE.load(Ordering::Relaxed) == 0 {
            return;
        }
    }
    table().set_base(header, change);
}

/// Whether any task in the process is boosted or carries a message's urgency (one relaxed
/// load).
#[inline]
pub(crate) fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed) != 0
}

/// Message urgency (`sync/inherit.rs`): `task` now carries `donation` (`raise`: at least it,
/// keeping a more urgent one it carries), or nothing (`None`). The caller holds a reference to
/// `task` (or is its poll).
///
/// While the table is empty (no task boosted or carrying anything), a donation that would not
/// raise `task` above its own parameters changes nothing and is not recorded: the common case
/// of a pipeline whose messages are no more urgent than their receivers costs one load and a
/// comparison, not the table's lock. The imprecision this buys: such a message's urgency is not
/// kept for the rest of the receiver's run, so a receiver that lowers its own parameters
/// before its next receive does not fall back to the message's.
pub(crate) fn carry(task: &Header, donation: Option<(Params, Mode)>, raise: bool) {
    if ACTIVE.load(Ordering::Relaxed) == 0 {
        match donation {
            None => return,
            Some((p, mode)) => {
                let own = Params::of(task);
                if own.raise(p, mode) == own {
                    crate::loom::reached("boost.carry_needless");
                    return;
                }
            }
        }
    }
    table().carry(NonNull::from(task), donation, raise);
}

/// `header`'s task completes: drop the urgency it carries from messages (the table holds no
/// reference for it). One relaxed load when the table is empty.
#[inline]
pub(crate) fn finished(header: &Header) {
    if ACTIVE.load(Ordering::Relaxed) != 0 {
        finished_slow(header);
    }
}

/// See [`finished`].
#[cold]
fn finished_slow(header: &Header) {
    let mut table = table();
    let task = NonNull::from(header);
    if table.t().carried.iter().any(|(t, ..)| *t == task) {
        table.carry(task, None, false);
    }
}

/// The running task's base parameters: its header's, unless it is boosted.
pub(crate) fn base(header: &Header) -> Params {
    if ACTIVE.load(Ordering::Relaxed) == 0 {
        return Params::of(header);
    }
    table().base(header).unwrap_or_else(|| Params::of(header))
}
