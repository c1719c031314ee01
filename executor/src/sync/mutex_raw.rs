//! The lock word of [`Mutex`](super::Mutex) and its acquire future: one compare-and-swap when
//! uncontended, the inheritance table (`task/boost.rs`) when contended.
//!
//! # The lock word
//!
//! One `AtomicUsize`: the holding task's header address (0 if the holder is not a task, e.g.
//! `block_on`'s own future) with two flag bits below it (headers are 8-aligned):
//!
//! - `LOCKED`: held.
//! - `CONTENDED`: the lock has a record with waiters in the table. While it is set, only a
//!   thread holding the table's lock changes the word.
//!
//! # Uncontended
//!
//! `lock`: CAS `0 → me | LOCKED` (acquire), then one reference to the current task is taken
//! (the table may need it later: the guard can outlive the task's poll). `unlock`: CAS
//! `word → 0` (release) if `CONTENDED` is clear, then that reference is released. No table, no
//! fence, nothing else.
//!
//! # Contended
//!
//! A task whose CAS fails locks the table, then sets `CONTENDED` with a CAS on the word it read
//! (if the word became 0 meanwhile, the holder left by the fast path: it takes the lock with the
//! CAS instead, and never waits). With the flag set, the holder's fast unlock fails, so the
//! holder comes to the table too. The waiter registers (task reference, waker, arrival number,
//! its runtime's policy) and the table lends its urgency to the holder.
//!
//! Release with waiters (under the table's lock) *hands the lock over*: the word is written to
//! `next | LOCKED` (plus `CONTENDED` if others still wait) and the waiter's task reference
//! becomes the holder's. The waiter's future finds itself no longer in the table at its next
//! poll: it holds the lock. Handing over (rather than releasing and letting waiters race) is
//! what makes the grant order the policy's: the most urgent waiter under `Edf` and `Priority`,
//! the first under `Fifo` and `Fair`. The data written by the previous holder is visible to the
//! next: the release of the table's lock by the releaser and its acquisition by the waiter
//! order them.
//!
//! A waiter whose future is dropped (cancelled) removes itself and its donation; if it had
//! already been handed the lock, it releases it (to the next waiter).

use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::task::boost::{self, Released};
use crate::task::raw::RawTask;
use crate::task::{current, Header};
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// The lock is held.
const LOCKED: usize = 1;
/// Waiters exist in the table.
const CONTENDED: usize = 2;
/// The flag bits.
const FLAGS: usize = LOCKED | CONTENDED;

/// The lock word and the inheritance switch.
pub(crate) struct RawMutex {
    /// Holder address and flags (module docs).
    word: AtomicUsize,
    /// Whether waiters lend their urgency to the holder.
    inherit: bool,
}

/// The holder address of word `w`.
#[inline]
fn holder(w: usize) -> Option<NonNull<Header>> {
    NonNull::new((w & !FLAGS) as *mut Header)
}

impl RawMutex {
    /// An unlocked lock.
    pub(crate) fn new(inherit: bool) -> RawMutex {
        RawMutex {
            word: AtomicUsize::new(0),
            inherit,
        }
    }

    /// Whether waiters lend their urgency to the holder.
    pub(crate) fn inherits(&self) -> bool {
        self.inherit
    }

    /// The lock's identity in the table.
    #[inline]
    fn id(&self) -> usize {
        self as *const RawMutex as usize
    }

    /// Takes the lock if it is free (one CAS).
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        let me = current::get();
        let word = me as usize | LOCKED;
        if self
            .word
            .compare_exchange(0, word, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            if !me.is_null() {
                // SAFETY: `me` is the task being polled on this thread, alive during its poll.
                unsafe { &*me }.state.ref_inc();
            }
            true
        } else {
            false
        }
    }

    /// Releases the lock (the caller holds it).
    #[inline]
    pub(crate) fn unlock(&self) {
        let w = self.word.load(Ordering::Relaxed);
        if w & CONTENDED == 0
            && self
                .word
                .compare_exchange(w, 0, Ordering::Release, Ordering::Relaxed)
                .is_ok()
        {
            if let Some(h) = holder(w) {
                // SAFETY: the lock owned this reference to its holder.
                unsafe { RawTask::from_header(h) }.drop_reference();
            }
            return;
        }
        self.unlock_slow();
    }

    /// Releases the lock through the table: hands it to the next waiter if there is one.
    #[cold]
    fn unlock_slow(&self) {
        let mut table = boost::table();
        // `CONTENDED` is set, or was cleared by a cancelled last waiter: in both cases nobody but
        // this thread changes the word now (the flag) or its holder bits (the holder is us).
        let w = self.word.load(Ordering::Relaxed);
        let old = holder(w);
        if w & CONTENDED == 0 {
            self.word.store(0, Ordering::Release);
        } else {
            crate::loom::reached("mutex.handoff_path");
            match table.release(self.id(), old) {
                Released::Free => self.word.store(0, Ordering::Release),
                Released::Handed { task, more } => {
                    let next = task.map_or(0, |t| t.as_ptr() as usize);
                    let flags = if more { LOCKED | CONTENDED } else { LOCKED };
                    self.word.store(next | flags, Ordering::Release);
                }
            }
        }
        if let Some(h) = old {
            table.release_later(h);
        }
    }

    /// Acquires the lock: a future that resolves once this caller holds it.
    pub(crate) fn acquire(&self) -> Acquire<'_> {
        Acquire {
            raw: self,
            waiting: None,
        }
    }
}

/// Future of [`RawMutex::acquire`]. Dropping it while waiting cancels the wait (and releases the
/// lock if it had just been handed over).
pub(crate) struct Acquire<'a> {
    /// The lock.
    raw: &'a RawMutex,
    /// The waiter's sequence number while registered in the table.
    waiting: Option<u64>,
}

impl Future for Acquire<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // One operation of the cooperative budget, as awaiting a `JoinHandle`.
        std::task::ready!(crate::coop::poll_proceed(cx));
        let raw = self.raw;
        if let Some(seq) = self.waiting {
            if boost::table().update_waker(raw.id(), seq, cx.waker()) {
                return Poll::Pending;
            }
            // Handed over: we hold the lock.
            self.waiting = None;
            return Poll::Ready(());
        }
        if raw.try_lock() {
            return Poll::Ready(());
        }
        self.register(cx)
    }
}

impl Acquire<'_> {
    /// The contended path: set `CONTENDED` and register, or take the lock if it was freed.
    #[cold]
    fn register(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let raw = self.raw;
        let me = current::get();
        let mode = super::inherit::current_mode();
        let mut table = boost::table();
        let mut w = raw.word.load(Ordering::Relaxed);
        loop {
            if w == 0 {
                if raw.try_lock() {
                    crate::loom::reached("mutex.freed_while_registering");
                    return Poll::Ready(());
                }
                w = raw.word.load(Ordering::Relaxed);
                continue;
            }
            if w & CONTENDED != 0 {
                break;
            }
            match raw
                .word
                .compare_exchange(w, w | CONTENDED, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => w = now,
            }
        }
        crate::loom::reached("mutex.registered");
        let seq = table.register(
            raw.id(),
            holder(w),
            raw.inherit,
            NonNull::new(me.cast_mut()),
            mode,
            cx.waker().clone(),
        );
        self.waiting = Some(seq);
        Poll::Pending
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(seq) = self.waiting else { return };
        let raw = self.raw;
        let mut table = boost::table();
        match table.cancel(raw.id(), seq) {
            Some(true) => {
                // The last waiter left: the holder may take the fast path again.
                raw.word.fetch_and(!CONTENDED, Ordering::Relaxed);
            }
            Some(false) => {}
            None => {
                // Handed over before we saw it: pass it on.
                crate::loom::reached("mutex.cancel_after_handoff");
                drop(table);
                raw.unlock();
            }
        }
    }
}
