//! Starting and stopping a runtime trace, and the sink each worker installs while one runs.
//!
//! # Protocol
//!
//! - [`Control`] sits in the runtime's shared state. `start` allocates one [`EventBuf`] per
//!   worker in a new [`Session`], publishes it under the control's mutex and bumps `generation`;
//!   `stop` takes the session out, bumps `generation` again and copies what each buffer published
//!   (no waiting for the workers: see `buffer.rs`).
//! - Each worker loop compares `generation` with the one it last saw before each step (one
//!   relaxed load of a line that is written only at start and stop, and one predictable branch);
//!   on a change it calls [`sync_worker`] (cold), which drops its installed sink and, if a session
//!   runs, installs a [`WorkerSink`] writing into its own buffer (`event::install`). A worker that
//!   is parked when tracing starts installs its sink when it next wakes.
//! - Without a session no sink is installed, so each event point of the runtime costs what the
//!   seam costs without a sink: one thread-local load and one predictable branch.
//! - The worker removes its sink before its loop hands its core back ([`leave_worker`]).

use super::buffer::EventBuf;
use super::tasks::PollStats;
use super::{Record, Trace, TraceError};
use crate::event::{self, EventKind, PollMark, Sink, Wants};
use crate::loom::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::loom::{lock, Arc, Mutex};
use crossbeam_utils::CachePadded;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ptr::NonNull;

/// Tracing state of one runtime.
pub(crate) struct Control {
    /// Bumped at every start and stop; workers compare it with the value they last saw.
    generation: AtomicU64,
    /// Whether a session runs: read by threads that are not workers before they record a spawn
    /// or a wake ([`outside`](Control::outside)).
    tracing: AtomicBool,
    /// The running session, if any.
    session: Mutex<Option<Arc<Session>>>,
    /// Long-poll reports (`long_poll.rs`).
    pub(crate) long_poll: super::long_poll::Reporter,
    /// Sessions the workers let go of: freed by the next `start` or `stop`, on the caller's
    /// thread, so that a worker never frees a session's buffers (tens of MiB) on its hot path.
    retired: Mutex<Vec<Arc<Session>>>,
}

/// One recording: a buffer per worker.
pub(crate) struct Session {
    /// Per worker, indexed by worker index; padded, so that one worker's stores of its
    /// buffer's length do not invalidate the cache line another worker writes.
    bufs: Box<[CachePadded<EventBuf>]>,
    /// Events of threads that are not workers (any number of them, rarely: a lock is fine),
    /// at most `capacity`.
    outside: Mutex<Vec<Record>>,
    /// Outside events dropped because `outside` was full.
    outside_lost: AtomicU64,
    /// Room per buffer.
    capacity: usize,
    /// Both clocks when it started (`ticks.rs`).
    started: super::ticks::Mark,
}

impl Control {
    /// No session.
    pub(crate) fn new() -> Control {
        Control {
            generation: AtomicU64::new(0),
            tracing: AtomicBool::new(false),
            session: Mutex::new(None),
            long_poll: super::long_poll::Reporter::default(),
            retired: Mutex::new(Vec::new()),
        }
    }

    /// The value workers compare (see the module docs).
    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// Starts a session of `capacity` events per worker for `workers` workers.
    pub(crate) fn start(&self, workers: usize, capacity: usize) -> Result<(), TraceError> {
        if capacity == 0 {
            return Err(TraceError::ZeroCapacity);
        }
        self.free_retired();
        let mut session = lock(&self.session);
        if session.is_some() {
            return Err(TraceError::AlreadyTracing);
        }
        let bufs = (0..workers)
            .map(|_| CachePadded::new(EventBuf::new(capacity)))
            .collect();
        *session = Some(Arc::new(Session {
            bufs,
            outside: Mutex::new(Vec::new()),
            outside_lost: AtomicU64::new(0),
            capacity,
            started: super::ticks::Mark::now(),
        }));
        // Under the lock: a worker that sees the new generation finds the session.
        self.generation.fetch_add(1, Ordering::Release);
        self.tracing.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Stops the session and returns what it recorded, or `None` if none ran.
    pub(crate) fn stop(&self) -> Option<Trace> {
        let session = {
            let mut session = lock(&self.session);
            let s = session.take()?;
            self.generation.fetch_add(1, Ordering::Release);
            self.tracing.store(false, Ordering::Relaxed);
            s
        };
        self.free_retired();
        let stopped = super::ticks::Mark::now();
        let convert = super::ticks::Convert::new(session.started, stopped);
        let mut events = Vec::new();
        let mut lost = Vec::with_capacity(session.bufs.len());
        for (worker, buf) in session.bufs.iter().enumerate() {
            lost.push(buf.lost());
            events.extend(buf.snapshot().into_iter().map(|mut r| {
                r.time = convert.ns(r.time);
                (Some(worker as u32), r)
            }));
        }
        events.extend(lock(&session.outside).iter().map(|r| {
            let mut r = *r;
            r.time = convert.ns(r.time);
            (None, r)
        }));
        let outside_lost = session.outside_lost.load(Ordering::Relaxed);
        // One global order: by time; a worker's own events keep their order (stable sort, and
        // a worker's clock reads never go back).
        events.sort_by_key(|(_, r)| r.time);
        Some(Trace::from_runtime(
            events,
            lost,
            outside_lost,
            session.started.ns(),
            stopped.ns(),
        ))
    }

    /// The poll statistics of every task polled since the running session started, from its
    /// buffers as they are now (for the task dump of a runtime without a task table), or
    /// `None` if no session runs.
    pub(crate) fn poll_stats(&self) -> Option<HashMap<u64, PollStats>> {
        let session = self.current()?;
        let convert = super::ticks::Convert::new(session.started, super::ticks::Mark::now());
        let mut stats: HashMap<u64, PollStats> = HashMap::new();
        for buf in session.bufs.iter() {
            // A worker writes each poll's start and end together, start first (`WorkerSink`).
            let mut start = None;
            buf.for_each(|r| match r.kind() {
                EventKind::PollStart => start = Some((r.task(), r.time)),
                EventKind::PollEnd => {
                    if let Some((task, begun)) = start.take().filter(|(t, _)| *t == r.task()) {
                        let (begun, end) = (convert.ns(begun), convert.ns(r.time));
                        let s = stats.entry(task).or_default();
                        s.polls += 1;
                        s.poll_ns = s.poll_ns.saturating_add(end.saturating_sub(begun));
                        s.last_poll_end = s.last_poll_end.max(end);
                    }
                }
                _ => {}
            });
        }
        Some(stats)
    }

    /// An event of kind `kind` (`Spawn` or `Wake`) on a thread that is not one of this
    /// runtime's workers: recorded on the trace's outside track while a session runs. Costs one
    /// relaxed load while none runs.
    #[inline]
    pub(crate) fn outside(&self, kind: EventKind, args: impl FnOnce() -> (u64, u64, u64)) {
        if self.tracing.load(Ordering::Relaxed) {
            self.record_outside(kind, args());
        }
    }

    #[cold]
    #[inline(never)]
    fn record_outside(&self, kind: EventKind, (task, a, b): (u64, u64, u64)) {
        let Some(session) = self.current() else {
            return;
        };
        let record = Record::new(super::ticks::now(), kind, task, a, b);
        let mut outside = lock(&session.outside);
        if outside.len() < session.capacity {
            outside.push(record);
        } else {
            session.outside_lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Frees the retired sessions (their buffers) that no worker holds any more.
    fn free_retired(&self) {
        let freed: Vec<Arc<Session>> = {
            let mut retired = lock(&self.retired);
            let (free, keep) = retired.drain(..).partition(|s| Arc::strong_count(s) == 1);
            *retired = keep;
            free
        };
        drop(freed);
    }

    /// A worker lets go of `session`.
    fn retire(&self, session: Arc<Session>) {
        lock(&self.retired).push(session);
    }

    /// The running session, if any.
    fn current(&self) -> Option<Arc<Session>> {
        lock(&self.session).clone()
    }
}

/// The sink of one worker thread while a session runs.
struct WorkerSink {
    /// The session (kept alive while installed, also after it stopped).
    session: Arc<Session>,
    /// This worker's buffer, inside `session`: reached without an index per event.
    buf: NonNull<EventBuf>,
}

impl WorkerSink {
    /// This worker's buffer.
    #[inline]
    fn buf(&self) -> &EventBuf {
        // SAFETY: `buf` points into `self.session.bufs`, which `self.session` keeps alive and
        // never moves (a boxed slice).
        unsafe { self.buf.as_ref() }
    }
}

/// Every kind but `Enqueue` (a wake's flow to its poll shows the queueing; leaving it out saves
/// a quarter of a yield's events); polls whole (one call per poll, at its end: the worker keeps
/// the start's stamp and the task's name), not the clock.
const WORKER_WANTS: Wants = Wants::all_kinds()
    .without(EventKind::Enqueue)
    .without(EventKind::PollStart)
    .and(Wants::WHOLE_POLLS);

impl Sink for WorkerSink {
    fn wants(&self) -> Wants {
        WORKER_WANTS
    }

    #[inline]
    fn record(&self, kind: EventKind, task: u64, a: u64, b: u64) {
        let a = match kind {
            // Who woke it: the task being polled on this worker (0: the worker itself, e.g.
            // firing timers).
            EventKind::Wake => crate::task::with_current(|h| h.id.0).unwrap_or(0),
            _ => a,
        };
        self.buf()
            .push(Record::new(crate::event::stamp(), kind, task, a, b));
    }

    /// Both ends of the poll: its start, then its end (events recorded during the poll are in
    /// the buffer before both; the trace orders by time when it stops).
    #[inline]
    fn poll_end(&self, task: u64, start: Option<PollMark>, self_woken: bool, a: u64, b: u64) {
        // Also the start of the next poll on this worker (`event::stamp`).
        let end = crate::event::stamp();
        if let Some(start) = start {
            self.buf()
                .push(Record::poll_start(start.ticks, task, start.name));
        }
        self.buf()
            .push(Record::poll_end(end, task, a, b, self_woken));
    }
}

/// What a worker thread has installed: the guard first, so it is dropped (uninstalling the
/// sink) before the sink.
struct Installed {
    /// Uninstalls the sink on drop.
    guard: event::Installed,
    /// The installed sink (boxed: its address must not move while installed).
    sink: Box<WorkerSink>,
}

thread_local! {
    /// This worker thread's installed sink, if any.
    static INSTALLED: RefCell<Option<Installed>> = const { RefCell::new(None) };
    /// The generation this thread last synced with (for [`after_park`]).
    static SEEN: Cell<u64> = const { Cell::new(0) };
}

/// Worker `worker` wakes from a park: if a trace started or stopped while it slept, installs
/// or removes its sink now, so that the polls of the step that woke it are recorded (the
/// worker loop's own check comes only before the next step).
#[inline]
pub(crate) fn after_park(control: &Control, worker: usize) {
    if SEEN.try_with(Cell::get).ok() != Some(control.generation()) {
        sync_worker(control, worker);
    }
}

/// Worker `worker` saw a new generation: installs the sink of the running session, or none
/// (nothing if its sink already writes into the running session).
#[cold]
#[inline(never)]
pub(crate) fn sync_worker(control: &Control, worker: usize) {
    let _ = SEEN.try_with(|s| s.set(control.generation()));
    let session = control.current();
    let _ = INSTALLED.try_with(|installed| {
        let mut installed = installed.borrow_mut();
        let current = installed.as_ref().map(|i| &i.sink.session);
        if let (Some(current), Some(session)) = (current, &session) {
            if Arc::ptr_eq(current, session) {
                return;
            }
        }
        // Uninstall first (the guard restores "no sink"), and hand the session back for the
        // controller to free.
        if let Some(Installed { guard, sink }) = installed.take() {
            drop(guard);
            control.retire(sink.session);
        }
        let Some(session) = session else { return };
        if worker >= session.bufs.len() {
            return;
        }
        let buf = NonNull::from(&*session.bufs[worker]);
        let sink = Box::new(WorkerSink { session, buf });
        // SAFETY: the sink is boxed and stored next to the guard in this thread's `INSTALLED`;
        // the guard is dropped first (field order), on this thread, in `sync_worker` or
        // `leave_worker`.
        let guard = unsafe { event::install(&*sink) };
        *installed = Some(Installed { guard, sink });
    });
}

/// The worker's loop ended: uninstalls its sink, if any.
pub(crate) fn leave_worker() {
    let _ = INSTALLED.try_with(|installed| installed.borrow_mut().take());
}
