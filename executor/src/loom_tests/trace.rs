//! Model of a worker's trace buffer (`trace/buffer.rs`): the worker pushes while another thread
//! (`stop_trace`) copies what was published.

use super::check;
use crate::event::EventKind;
use crate::loom::Arc;
use crate::trace::buffer::EventBuf;
use crate::trace::Record;
use loom::thread;

/// A record whose fields all carry `n`.
fn record(n: u64) -> Record {
    Record::new(n, EventKind::Release, n, n, n)
}

/// The writer pushes three records into a buffer of two while a reader snapshots: the reader
/// sees a prefix of what was pushed, every record whole (loom reports a read of a slot being
/// written as a data race), and the third push is counted lost, never blocking.
#[test]
fn snapshot_vs_push() {
    check(&["trace.buffer_full"], || {
        let buf = Arc::new(EventBuf::new(2));
        let writer = {
            let buf = buf.clone();
            thread::spawn(move || {
                for n in 1..=3 {
                    buf.push(record(n));
                }
            })
        };
        let seen = buf.snapshot();
        for (i, r) in seen.iter().enumerate() {
            let n = i as u64 + 1;
            assert_eq!((r.time, r.task(), r.args()), (n, n, (n, n)));
        }
        writer.join().unwrap();
        assert_eq!(buf.snapshot().len(), 2);
        assert_eq!(buf.lost(), 1);
    });
}
