//! One recorded event as a worker's buffer stores it: four words (32 bytes, two records per
//! cache line), written with plain stores by the worker.
//!
//! | word | holds |
//! |---|---|
//! | `time` | the raw time stamp (`ticks.rs`; converted to ns when the trace stops) |
//! | `tagged` | the kind in the top 8 bits, the task id below (ids count up from 1: 2^56 of them last centuries) |
//! | `a`, `b` | the kind's arguments ([`EventKind`]); on a poll start, the task's name as pointer and length |
//!
//! A poll start's name is kept as the two words of a `&'static str`: [`Record::poll_start`] is
//! the only way to make a `PollStart` record, so [`Record::name`] can rebuild the reference.
//!
//! A task that wakes itself during its poll (`yield_now`, a future that reschedules itself)
//! costs no record of its own: the wake is a flag on the poll's end ([`Record::poll_end`],
//! the top bit of the kind's byte) and is given back as a `Wake` at the poll end's time
//! ([`Record::self_woken`]). A yielding task then costs two records per poll, not three.

use crate::event::EventKind;

/// Bits of `tagged` below the kind.
const KIND_SHIFT: u32 = 56;
/// The flag bit of a poll end whose task woke itself during the poll (above every kind).
const SELF_WOKEN: u64 = 0x80 << KIND_SHIFT;
/// The task id's bits of `tagged`.
const TASK_MASK: u64 = (1 << KIND_SHIFT) - 1;

/// One recorded event (see the module docs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Record {
    /// Raw time stamp.
    pub(crate) time: u64,
    /// Kind (top 8 bits) and task id.
    tagged: u64,
    /// First argument, or the name's pointer on a poll start.
    a: u64,
    /// Second argument, or the name's length on a poll start.
    b: u64,
}

impl Record {
    /// An event of `kind` other than `PollStart` (use [`poll_start`](Record::poll_start)).
    #[inline]
    pub(crate) fn new(time: u64, kind: EventKind, task: u64, a: u64, b: u64) -> Record {
        debug_assert!(kind != EventKind::PollStart, "use Record::poll_start");
        Record {
            time,
            tagged: (u64::from(kind as u8) << KIND_SHIFT) | (task & TASK_MASK),
            a,
            b,
        }
    }

    /// The start of a poll of `task`, named `name`.
    #[inline]
    pub(crate) fn poll_start(time: u64, task: u64, name: Option<&'static str>) -> Record {
        let (ptr, len) = name.map_or((0, 0), |n| (n.as_ptr() as u64, n.len() as u64));
        Record {
            time,
            tagged: (u64::from(EventKind::PollStart as u8) << KIND_SHIFT) | (task & TASK_MASK),
            a: ptr,
            b: len,
        }
    }

    /// The end of a poll of `task` (`a`, `b` as for [`new`](Record::new)); `self_woken`: the
    /// task woke itself during the poll.
    #[inline]
    pub(crate) fn poll_end(time: u64, task: u64, a: u64, b: u64, self_woken: bool) -> Record {
        let mut r = Record::new(time, EventKind::PollEnd, task, a, b);
        if self_woken {
            r.tagged |= SELF_WOKEN;
        }
        r
    }

    /// What happened.
    pub(crate) fn kind(&self) -> EventKind {
        EventKind::from_u8((self.tagged >> KIND_SHIFT) as u8 & 0x7f).unwrap_or(EventKind::Annotate)
    }

    /// Whether this is the end of a poll in which the task woke itself.
    pub(crate) fn self_woken(&self) -> bool {
        self.tagged & SELF_WOKEN != 0
    }

    /// The task, or 0.
    pub(crate) fn task(&self) -> u64 {
        self.tagged & TASK_MASK
    }

    /// The kind's arguments (0, 0 for a poll start, whose words hold the name).
    pub(crate) fn args(&self) -> (u64, u64) {
        if self.kind() == EventKind::PollStart {
            (0, 0)
        } else {
            (self.a, self.b)
        }
    }

    /// The task's name, on a poll start that has one.
    pub(crate) fn name(&self) -> Option<&'static str> {
        if self.kind() != EventKind::PollStart || self.a == 0 {
            return None;
        }
        // SAFETY: only `poll_start` makes a `PollStart` record, and it stores the pointer and
        // length of a `&'static str` (a != 0: one was given): the bytes live for the whole
        // program and are UTF-8.
        Some(unsafe {
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                self.a as usize as *const u8,
                self.b as usize,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_four_words_and_gives_back_what_was_stored() {
        assert_eq!(std::mem::size_of::<Record>(), 32);
        let r = Record::new(7, EventKind::Release, 42, 3, 1_000);
        assert_eq!(
            (r.time, r.kind(), r.task(), r.args(), r.name()),
            (7, EventKind::Release, 42, (3, 1_000), None)
        );
        let p = Record::poll_start(9, 5, Some("reader"));
        assert_eq!(
            (p.kind(), p.task(), p.args(), p.name()),
            (EventKind::PollStart, 5, (0, 0), Some("reader"))
        );
        assert_eq!(Record::poll_start(9, 5, None).name(), None);
        let e = Record::poll_end(10, 5, 0, 0, true);
        assert_eq!(
            (e.kind(), e.task(), e.self_woken()),
            (EventKind::PollEnd, 5, true)
        );
        assert!(!Record::poll_end(10, 5, 0, 0, false).self_woken());
        assert!(!r.self_woken());
    }
}
