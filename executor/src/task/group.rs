//! Task groups: structured cancellation and deadline inheritance for the tasks a piece of work
//! fans out to.
//!
//! # The model
//!
//! A [`Group`] is owned by the code that starts the work (say, a request handler). Tasks are
//! spawned *into* it ([`Group::spawn`], or through a cloneable [`GroupHandle`] that children
//! take along to spawn their own children into the same group). Then:
//!
//! - **Cancellation reaches every member.** [`Group::cancel`] (or [`GroupHandle::cancel`])
//!   aborts every task spawned into the group, grandchildren spawned through a handle included,
//!   and every task spawned into it afterwards is cancelled before its first poll. A nested
//!   `Group` owned by a member's future is dropped with that future, which cancels its own
//!   members: cancellation goes down the whole tree.
//! - **Dropping the `Group` cancels it.** No member outlives the owner's interest in it: await
//!   [`Group::join`] first to let them finish.
//! - **A member's panic cancels the group.** The panic still goes to that task's `JoinHandle`;
//!   the group records the first panicking member and cancels the others (fail fast, as a
//!   request whose part failed is failed).
//! - **[`Group::join`]** waits until every member has finished (returned, panicked or been
//!   cancelled), and says how the group ended: `Ok(())`, or a [`GroupError`].
//! - **Deadline inheritance.** A group has an optional absolute deadline: by default the
//!   deadline of the task that creates it (so a request's deadline passes to the work it fans
//!   out to), or one given explicitly. Each member is spawned with the earlier of its own
//!   deadline (from its [`Sched`](crate::Sched), relative deadlines anchored at spawn) and the
//!   group's, so under `Edf` a member is never less urgent than the request it serves, and a
//!   member that sets a tighter deadline keeps it. Other parameters (priority, nice, name) are
//!   the member's own. The deadline is fixed when the member is spawned; a member may still
//!   change its own later (`task::set_deadline`).
//!
//! # Protocol
//!
//! (Spawning into a group, `Group::spawn`, is in `executor/src/structured_spawn.rs`, the layer that
//! reaches the scheduler.)
//!
//! The group's state is one mutex (through the loom shim) around a slab of the members'
//! [`AbortHandle`]s, the count of live members, the cancelled flag, the first panic and the
//! joiner's waker. Each member's future is wrapped in a `Member` that owns a `Ticket` (its
//! slot and the slot's generation). Spawning reserves a slot under the lock, spawns outside it
//! (a spawn refused by a shut-down runtime drops the future at once, which takes the lock), and
//! fills the slot under the lock again, unless the member already finished (generation
//! changed) or the group was cancelled meanwhile (then the new member is aborted). The ticket
//! is dropped with the member's future, exactly once however the member ends; it frees the
//! slot and, when the last member goes, wakes the joiner. A panic is seen by a guard on the
//! stack of `Member::poll`, dropped only while unwinding.

use super::{AbortHandle, JoinHandle, TaskId};
use crate::loom::{lock, Arc, Mutex};
use crate::time::instant::Instant;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// How a group ended, from [`Group::join`]: cancelled, or a member panicked (which cancels the
/// group too).
///
/// ```
/// use kairos::task::{Group, GroupError};
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let err = rt.block_on(async {
///     let mut group = Group::new();
///     group.spawn(std::future::pending::<()>());
///     group.cancel();
///     group.join().await
/// });
/// assert_eq!(err, Err(GroupError::Cancelled));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// The group was cancelled ([`Group::cancel`] or [`GroupHandle::cancel`]); its members were
    /// aborted.
    #[error("the task group was cancelled and its members aborted")]
    Cancelled,
    /// A member panicked, and the group cancelled the others. The panic's payload is in that
    /// member's `JoinHandle` result.
    #[error(
        "task {0} of the group panicked and the group cancelled the others: await that task's \
         JoinHandle for the panic"
    )]
    Panicked(TaskId),
}

/// A group of tasks with structured cancellation and an inherited deadline (the protocol is in
/// the module docs of `executor/src/task/group.rs`; the rules in `docs/sync.md`).
///
/// ```
/// use kairos::task::Group;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
///
/// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
/// let done = Arc::new(AtomicU32::new(0));
/// let d = done.clone();
/// rt.block_on(async move {
///     let mut group = Group::new();
///     for _ in 0..4 {
///         let (d, sub) = (d.clone(), group.handle());
///         group.spawn(async move {
///             // A child fans out further, into the same group.
///             let d2 = d.clone();
///             sub.spawn(async move { d2.fetch_add(1, Ordering::SeqCst); });
///             d.fetch_add(1, Ordering::SeqCst);
///         });
///     }
///     group.join().await.unwrap();
/// });
/// assert_eq!(done.load(Ordering::SeqCst), 8);
/// ```
pub struct Group {
    /// The state shared with handles and members.
    shared: Arc<Shared>,
}

/// A cloneable right to spawn into a [`Group`] and to cancel it, for members that fan out
/// further. It does not keep the group alive: once the `Group` is dropped (or cancelled),
/// tasks spawned through a handle are cancelled before their first poll.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(async {
///     let mut group = kairos::task::Group::new();
///     let handle = group.handle();
///     let child = group.spawn(async move { handle.spawn(async { 2 }).await.unwrap() });
///     assert_eq!(child.await.unwrap(), 2);
///     group.join().await.unwrap();
/// });
/// ```
#[derive(Clone)]
pub struct GroupHandle {
    /// The state shared with the group.
    shared: Arc<Shared>,
}

/// What a group, its handles and its members share.
pub(crate) struct Shared {
    /// The group's absolute deadline (ns on the runtime clock), if any. Fixed at creation.
    deadline: Option<u64>,
    /// Everything else, under one lock.
    inner: Mutex<Inner>,
}

/// The mutable part of a group.
struct Inner {
    /// Members by slot; a slot's generation changes each time it is freed.
    slots: Vec<Slot>,
    /// Free slots.
    free: Vec<u32>,
    /// Members spawned and not finished (slots reserved or filled).
    live: usize,
    /// Cancelled (explicitly, by a panic, or by dropping the `Group`).
    cancelled: bool,
    /// The first member that panicked.
    panicked: Option<TaskId>,
    /// The task waiting in `Group::join`.
    joiner: Option<Waker>,
}

/// One member slot.
struct Slot {
    /// Generation of the slot's current (or next) member.
    generation: u32,
    /// The member's abort handle once spawned (`None` while reserved or vacant).
    abort: Option<AbortHandle>,
}

/// A member's slot and the slot's generation, to file the member once spawned.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MemberKey {
    /// Slot index.
    slot: u32,
    /// The slot's generation when reserved.
    generation: u32,
}

/// A member's place in the group, owned by its future.
struct Ticket {
    /// The group.
    shared: Arc<Shared>,
    /// Slot index.
    slot: u32,
    /// The slot's generation when reserved.
    generation: u32,
}

impl Drop for Ticket {
    /// The member finished (its future is being dropped): free the slot, wake the joiner if
    /// it was the last.
    fn drop(&mut self) {
        let (abort, joiner) = {
            let mut inner = lock(&self.shared.inner);
            let slot = &mut inner.slots[self.slot as usize];
            debug_assert_eq!(slot.generation, self.generation, "a group slot freed twice");
            let abort = slot.abort.take();
            slot.generation = slot.generation.wrapping_add(1);
            inner.free.push(self.slot);
            inner.live -= 1;
            let joiner = if inner.live == 0 {
                inner.joiner.take()
            } else {
                None
            };
            (abort, joiner)
        };
        // Outside the lock: releasing a task reference and waking are not done under it.
        drop(abort);
        if let Some(joiner) = joiner {
            joiner.wake();
        }
    }
}

/// A member's future: the user's future and its ticket.
pub(crate) struct Member<F> {
    /// The user's future (structurally pinned).
    future: F,
    /// Dropped with the future: reports the member's end.
    ticket: Ticket,
}

impl<F: Future> Future for Member<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned (never moved out of the member, dropped in
        // place with it); `ticket` is not pinned and only read.
        let this = unsafe { self.get_unchecked_mut() };
        let on_panic = OnPanic(&this.ticket.shared);
        // SAFETY: see above.
        let polled = unsafe { Pin::new_unchecked(&mut this.future) }.poll(cx);
        std::mem::forget(on_panic);
        polled
    }
}

/// On the stack of `Member::poll`: dropped only if the member's poll unwinds.
struct OnPanic<'a>(&'a Arc<Shared>);

impl Drop for OnPanic<'_> {
    #[cold]
    fn drop(&mut self) {
        let id = super::current::with_current(|h| h.id);
        let aborts = {
            let mut inner = lock(&self.0.inner);
            if inner.panicked.is_none() {
                inner.panicked = id;
            }
            cancel_locked(&mut inner)
        };
        abort_all(aborts);
    }
}

/// Marks the group cancelled and returns abort handles of every spawned member (aborted by the
/// caller outside the lock).
fn cancel_locked(inner: &mut Inner) -> Vec<AbortHandle> {
    inner.cancelled = true;
    inner.slots.iter().filter_map(|s| s.abort.clone()).collect()
}

/// Aborts each task (outside the group's lock).
fn abort_all(aborts: Vec<AbortHandle>) {
    for abort in aborts {
        abort.abort();
    }
}

impl Shared {
    /// A new group state with `deadline`.
    fn new(deadline: Option<Instant>) -> Arc<Shared> {
        Arc::new(Shared {
            deadline: deadline.map(Instant::as_nanos),
            inner: Mutex::new(Inner {
                slots: Vec::new(),
                free: Vec::new(),
                live: 0,
                cancelled: false,
                panicked: None,
                joiner: None,
            }),
        })
    }

    /// The member's deadline: the earlier of its own and the group's.
    fn member_deadline(&self, own: Option<u64>) -> Option<u64> {
        match (own, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Reserves a slot for a new member whose own absolute deadline is `own`, and wraps
    /// `future` with its ticket. Returns the member to spawn, its key for
    /// [`insert`](Self::insert), and its deadline after inheritance (the earlier of `own` and the
    /// group's).
    pub(crate) fn prepare<F: Future>(
        this: &Arc<Self>,
        own: Option<u64>,
        future: F,
    ) -> (Member<F>, MemberKey, Option<u64>) {
        let mut inner = lock(&this.inner);
        let slot = match inner.free.pop() {
            Some(slot) => slot,
            None => {
                inner.slots.push(Slot {
                    generation: 0,
                    abort: None,
                });
                u32::try_from(inner.slots.len() - 1).expect("more than 2^32 tasks in a group")
            }
        };
        inner.live += 1;
        let generation = inner.slots[slot as usize].generation;
        drop(inner);
        let member = Member {
            future,
            ticket: Ticket {
                shared: this.clone(),
                slot,
                generation,
            },
        };
        (
            member,
            MemberKey { slot, generation },
            this.member_deadline(own),
        )
    }

    /// The member `key` was spawned as `handle`: file its abort handle, or abort it at once if
    /// the group was cancelled meanwhile.
    pub(crate) fn insert<T>(&self, key: MemberKey, handle: &JoinHandle<T>) {
        let MemberKey { slot, generation } = key;
        let abort = handle.abort_handle();
        let mut inner = lock(&self.inner);
        if inner.cancelled {
            drop(inner);
            abort.abort();
            return;
        }
        let entry = &mut inner.slots[slot as usize];
        if entry.generation == generation {
            entry.abort = Some(abort);
        }
        // Otherwise the member already finished and its slot moved on.
    }

    /// Cancels the group (idempotent).
    fn cancel(&self) {
        let aborts = cancel_locked(&mut lock(&self.inner));
        abort_all(aborts);
    }

    /// See [`Group::is_cancelled`].
    fn is_cancelled(&self) -> bool {
        lock(&self.inner).cancelled
    }

    /// See [`Group::len`].
    fn live(&self) -> usize {
        lock(&self.inner).live
    }
}

impl Group {
    /// A group whose deadline is the calling task's ([`task::deadline`](super::deadline)),
    /// or none outside a task or if the task has none.
    ///
    /// ```
    /// let group = kairos::task::Group::new();
    /// assert_eq!(group.deadline(), None); // not inside a task
    /// ```
    pub fn new() -> Group {
        Group {
            shared: Shared::new(super::deadline()),
        }
    }

    /// A group with the absolute deadline `at` (whatever the calling task's deadline is).
    ///
    /// ```
    /// use kairos::time::Instant;
    /// let at = Instant::from_nanos(5_000_000);
    /// assert_eq!(kairos::task::Group::with_deadline(at).deadline(), Some(at));
    /// ```
    pub fn with_deadline(at: Instant) -> Group {
        Group {
            shared: Shared::new(Some(at)),
        }
    }

    /// A group without a deadline (members keep their own, if any).
    ///
    /// ```
    /// assert_eq!(kairos::task::Group::without_deadline().deadline(), None);
    /// ```
    pub fn without_deadline() -> Group {
        Group {
            shared: Shared::new(None),
        }
    }

    /// The shared state (for `structured_spawn.rs`).
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// A handle for spawning into this group (and cancelling it) from its members.
    ///
    /// ```
    /// let group = kairos::task::Group::new();
    /// let handle = group.handle();
    /// assert!(!handle.is_cancelled());
    /// ```
    pub fn handle(&self) -> GroupHandle {
        GroupHandle {
            shared: self.shared.clone(),
        }
    }

    /// The group's deadline, if it has one.
    ///
    /// ```
    /// assert_eq!(kairos::task::Group::without_deadline().deadline(), None);
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.shared.deadline.map(Instant::from_nanos)
    }

    /// Cancels the group: aborts every member (see [`JoinHandle::abort`]), and every task
    /// spawned into it from now on is cancelled before its first poll. Idempotent.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async {
    ///     let group = kairos::task::Group::new();
    ///     let member = group.spawn(std::future::pending::<()>());
    ///     group.cancel();
    ///     assert!(group.is_cancelled());
    ///     assert!(member.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn cancel(&self) {
        self.shared.cancel();
    }

    /// Whether the group was cancelled (explicitly, or by a member's panic).
    ///
    /// ```
    /// assert!(!kairos::task::Group::new().is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.shared.is_cancelled()
    }

    /// Members spawned and not yet finished (grandchildren spawned into the group included).
    ///
    /// ```
    /// assert_eq!(kairos::task::Group::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.live()
    }

    /// Whether no member is running.
    ///
    /// ```
    /// assert!(kairos::task::Group::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until every member has finished (including members spawned while waiting), then
    /// says how the group ended: `Ok(())` if it was never cancelled and no member panicked,
    /// [`GroupError::Panicked`] with the first panicking member, or [`GroupError::Cancelled`].
    /// The group can be used again afterwards (a cancelled group stays cancelled).
    ///
    /// ```
    /// use kairos::task::{Group, GroupError};
    /// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
    /// let res = rt.block_on(async {
    ///     let mut group = Group::new();
    ///     group.spawn(std::future::pending::<()>()); // cancelled by the panic below
    ///     group.spawn(async { panic!("member fails") });
    ///     group.join().await
    /// });
    /// assert!(matches!(res, Err(GroupError::Panicked(_))));
    /// ```
    pub async fn join(&mut self) -> Result<(), GroupError> {
        poll_fn(|cx| {
            let mut inner = lock(&self.shared.inner);
            if inner.live > 0 {
                match &mut inner.joiner {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    slot => *slot = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            Poll::Ready(match (inner.panicked, inner.cancelled) {
                (Some(id), _) => Err(GroupError::Panicked(id)),
                (None, true) => Err(GroupError::Cancelled),
                (None, false) => Ok(()),
            })
        })
        .await
    }
}

impl Default for Group {
    /// [`Group::new`].
    fn default() -> Group {
        Group::new()
    }
}

impl Drop for Group {
    /// Cancels the group: no member outlives it.
    fn drop(&mut self) {
        self.shared.cancel();
    }
}

impl GroupHandle {
    /// The shared state (for `structured_spawn.rs`).
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Cancels the group (as [`Group::cancel`]).
    ///
    /// ```
    /// let group = kairos::task::Group::new();
    /// group.handle().cancel();
    /// assert!(group.is_cancelled());
    /// ```
    pub fn cancel(&self) {
        self.shared.cancel();
    }

    /// Whether the group was cancelled (or dropped).
    ///
    /// ```
    /// let group = kairos::task::Group::new();
    /// let handle = group.handle();
    /// drop(group);
    /// assert!(handle.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.shared.is_cancelled()
    }

    /// The group's deadline, if it has one.
    ///
    /// ```
    /// assert_eq!(kairos::task::Group::without_deadline().handle().deadline(), None);
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.shared.deadline.map(Instant::from_nanos)
    }
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("deadline", &self.deadline())
            .field("len", &self.len())
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl fmt::Debug for GroupHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupHandle")
            .field("deadline", &self.deadline())
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
