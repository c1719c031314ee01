//! The kinds of events the runtime reports through the seam (`event/mod.rs`), with the meaning
//! of their arguments.

/// What happened. The meaning of an event's `task`, `a` and `b` per kind:
///
/// | kind | task | a | b |
/// |---|---|---|---|
/// | `Spawn` | new task | absolute deadline (ns, 0: none) | priority |
/// | `Wake` | woken task | 0 | 0 |
/// | `Enqueue` | queued task | worker whose local queue, or `u64::MAX` for the injector | deadline |
/// | `PollStart` | polled task | 1 if it continues a `work` slice, else 0 | 0 |
/// | `PollEnd` | polled task | 1 if it charged a `work` slice (continues), else 0 | slice ns |
/// | `Steal` | first stolen task | victim worker | 0 |
/// | `Park` | 0 | 0 | 0 |
/// | `Unpark` | 0 | 1: woken for due timers, 0: notified | 0 |
/// | `TimerFire` | 0 | timers fired | 0 |
/// | `DeadlineMiss` | periodic task | lateness (ns) | job index |
/// | `Cancel` | cancelled task | 0 | 0 |
/// | `Annotate` | annotating task, or 0 | label number (`Trace::label`) | value |
/// | `PreemptRequest` | 0 | worker asked to yield (`u64::MAX`: the requesting worker itself) | 0 |
/// | `Release` | periodic task | job index | release time (ns) |
/// | `Complete` | periodic task | job index | lateness (ns, 0 if on time) |
/// | `IoReady` | 0 | the source's registration slot in the reactor | readiness: 1 readable, 2 writable, 3 both |
///
/// The simulator's trace ([`sim::Trace::events`](crate::sim::Trace::events)) and its digest
/// hold the kinds up to `Annotate`; it keeps the later ones beside them, in order but outside
/// the digest ([`sim::Trace::to_trace`](crate::sim::Trace::to_trace) merges both), so that its
/// digests and golden traces stay what they were. Runtime tracing (`kairos::trace`) records
/// every kind but `Enqueue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum EventKind {
    /// A task was created.
    Spawn = 1,
    /// A task's waker was called.
    Wake = 2,
    /// A runnable task was put on a run queue.
    Enqueue = 3,
    /// A worker started polling a task.
    PollStart = 4,
    /// That poll returned.
    PollEnd = 5,
    /// A worker took tasks from another worker's queue.
    Steal = 6,
    /// A worker found nothing to run and parked.
    Park = 7,
    /// A parked worker was woken.
    Unpark = 8,
    /// Due timers fired.
    TimerFire = 9,
    /// A periodic job completed after its deadline.
    DeadlineMiss = 10,
    /// A task was cancelled (aborted, or at shutdown).
    Cancel = 11,
    /// A user annotation (`sim::annotate`).
    Annotate = 12,
    /// A worker's running task was asked to yield for a more urgent one.
    PreemptRequest = 13,
    /// A periodic job was released (its task polled at or after the release time).
    Release = 14,
    /// A periodic job completed.
    Complete = 15,
    /// The reactor found an I/O source ready (the tasks it wakes follow as `Wake`s).
    IoReady = 16,
}

impl EventKind {
    /// The kind with the highest number.
    pub(crate) const LAST: EventKind = EventKind::IoReady;

    /// The kind numbered `n`, if there is one.
    pub(crate) fn from_u8(n: u8) -> Option<EventKind> {
        use EventKind::*;
        const ALL: [EventKind; 16] = [
            Spawn,
            Wake,
            Enqueue,
            PollStart,
            PollEnd,
            Steal,
            Park,
            Unpark,
            TimerFire,
            DeadlineMiss,
            Cancel,
            Annotate,
            PreemptRequest,
            Release,
            Complete,
            IoReady,
        ];
        ALL.get(usize::from(n).checked_sub(1)?).copied()
    }

    /// Whether the simulator's trace records this kind (the kinds it recorded before runtime
    /// tracing added more: its digests and golden traces do not change).
    #[inline]
    pub(crate) fn in_sim_trace(self) -> bool {
        (self as u8) <= EventKind::Annotate as u8
    }

    /// The kind's name as written in text and JSON traces.
    ///
    /// ```
    /// assert_eq!(kairos::sim::EventKind::PollStart.name(), "poll_start");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Spawn => "spawn",
            EventKind::Wake => "wake",
            EventKind::Enqueue => "enqueue",
            EventKind::PollStart => "poll_start",
            EventKind::PollEnd => "poll_end",
            EventKind::Steal => "steal",
            EventKind::Park => "park",
            EventKind::Unpark => "unpark",
            EventKind::TimerFire => "timer_fire",
            EventKind::DeadlineMiss => "deadline_miss",
            EventKind::Cancel => "cancel",
            EventKind::Annotate => "annotate",
            EventKind::PreemptRequest => "preempt_request",
            EventKind::Release => "release",
            EventKind::Complete => "complete",
            EventKind::IoReady => "io_ready",
        }
    }
}
