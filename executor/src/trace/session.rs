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
use super::{Record, Trace, TraceError};
use crate::event::{self, EventKind, Sink};
use crate::loom::atomic::{AtomicU64, Ordering};
use crate::loom::{lock, Arc, Mutex};
use std::cell::RefCell;

/// Tracing state of one runtime.
pub(crate) struct Control {
    /// Bumped at every start and stop; workers compare it with the value they last saw.
    generation: AtomicU64,
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
    /// Per worker, indexed by worker index.
    bufs: Box<[EventBuf]>,
    /// Both clocks when it started (`ticks.rs`).
    started: super::ticks::Mark,
}

impl Control {
    /// No session.
    pub(crate) fn new() -> Control {
        Control {
            generation: AtomicU64::new(0),
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
        let bufs = (0..workers).map(|_| EventBuf::new(capacity)).collect();
        *session = Some(Arc::new(Session {
            bufs,
            started: super::ticks::Mark::now(),
        }));
        // Under the lock: a worker that sees the new generation finds the session.
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Stops the session and returns what it recorded, or `None` if none ran.
    pub(crate) fn stop(&self) -> Option<Trace> {
        let session = {
            let mut session = lock(&self.session);
            let s = session.take()?;
            self.generation.fetch_add(1, Ordering::Release);
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
                (worker as u32, r)
            }));
        }
        // One global order: by time; a worker's own events keep their order (stable sort, and
        // a worker's clock reads never go back).
        events.sort_by_key(|(_, r)| r.time);
        Some(Trace::from_runtime(
            events,
            lost,
            session.started.ns(),
            stopped.ns(),
        ))
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
    /// This worker's index (its buffer).
    worker: usize,
}

impl Sink for WorkerSink {
    /// Records every kind but `Enqueue` (a wake's flow to its poll shows the queueing; leaving
    /// it out saves a quarter of a yield's events).
    fn record(&self, kind: EventKind, task: u64, a: u64, b: u64) {
        if kind == EventKind::Enqueue {
            return;
        }
        let mut record = Record {
            time: super::ticks::now(),
            kind,
            task,
            a,
            b,
            name: None,
        };
        match kind {
            EventKind::PollStart => {
                record.name = crate::task::with_current(|h| h.policy.name()).flatten();
            }
            // Who woke it: the task being polled on this worker (0: the worker itself, e.g.
            // firing timers).
            EventKind::Wake => {
                record.a = crate::task::with_current(|h| h.id.0).unwrap_or(0);
            }
            _ => {}
        }
        self.session.bufs[self.worker].push(record);
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
}

/// Worker `worker` saw a new generation: installs the sink of the running session, or none.
#[cold]
#[inline(never)]
pub(crate) fn sync_worker(control: &Control, worker: usize) {
    let session = control.current();
    let _ = INSTALLED.try_with(|installed| {
        let mut installed = installed.borrow_mut();
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
        let sink = Box::new(WorkerSink { session, worker });
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
