//! Test of the optional `tracing` feature: the runtime opens a span named `poll` around every
//! poll and emits a `deadline miss` event for every late periodic job.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Counts `poll` spans and `deadline miss` events.
#[derive(Default)]
struct Counter {
    /// Spans named `poll`.
    polls: AtomicU64,
    /// Events whose message is `deadline miss`.
    misses: AtomicU64,
    /// Span ids handed out.
    next: AtomicU64,
}

/// Finds an event's message.
struct Message(bool);
impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" && format!("{value:?}") == "deadline miss" {
            self.0 = true;
        }
    }
}

/// The subscriber the test installs.
struct Collect(Arc<Counter>);
impl Subscriber for Collect {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        if span.metadata().name() == "poll" {
            self.0.polls.fetch_add(1, Ordering::Relaxed);
        }
        Id::from_u64(self.0.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut m = Message(false);
        event.record(&mut m);
        if m.0 {
            self.0.misses.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn a_span_per_poll_and_an_event_per_miss() {
    let counter = Arc::new(Counter::default());
    // Global: the workers are other threads.
    tracing::subscriber::set_global_default(Collect(counter.clone())).unwrap();
    let rt = crate::Runtime::builder()
        .workers(1)
        .policy(crate::Policy::Edf)
        .build()
        .unwrap();
    let polls_before = rt.metrics().polls;
    // A job that always misses: 2 ms of work against a 1 µs deadline.
    let periodic = rt
        .spawn_periodic(
            crate::Periodic::new(Duration::from_millis(5)).deadline(Duration::from_micros(1)),
            |_job| async { crate::work(Duration::from_millis(2)).await },
        )
        .unwrap();
    while periodic.stats().missed < 2 {
        std::thread::yield_now();
    }
    periodic.stop();
    let handle = rt.handle();
    drop(rt);
    let polls = handle.metrics().polls - polls_before;
    assert_eq!(counter.polls.load(Ordering::Relaxed), polls);
    assert!(counter.misses.load(Ordering::Relaxed) >= 2);
}
