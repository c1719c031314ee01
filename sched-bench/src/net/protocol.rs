//! The request protocol of the urgent-under-bulk scenario, shared by the client and both
//! servers.
//!
//! A request is [`REQUEST_BYTES`] bytes: its first byte the [`Kind`], its last eight the
//! client's send time (`CLOCK_MONOTONIC` ns, [`crate::spin::mono_ns`]; client and server are one
//! process, so they share the clock). The server reads a whole request, burns the kind's CPU
//! time ([`Kind::cpu`]) and answers with the same bytes, the last eight replaced by the
//! *response time* ([`answer`]): from the client's send to the moment the server writes the
//! answer. So the figure is the server's (network stack, wake-up, queueing, CPU), not the load
//! generator's: a client thread that gets the CPU late cannot inflate it. Echo connections send
//! raw payloads instead (no header): the server writes back what it read.

use std::time::Duration;

/// Bytes of one request and of its answer.
pub const REQUEST_BYTES: usize = 16;

/// Where the send time (request) and the response time (answer) sit.
const TIME: std::ops::Range<usize> = 8..16;

/// A request of `kind` sent now.
pub fn request(kind: Kind) -> [u8; REQUEST_BYTES] {
    let mut r = [0u8; REQUEST_BYTES];
    r[0] = kind as u8;
    r[TIME].copy_from_slice(&crate::spin::mono_ns().to_le_bytes());
    r
}

/// Turns a request into its answer: the send time becomes the response time until now, ns.
pub fn answer(request: &mut [u8; REQUEST_BYTES]) {
    let mut sent = [0u8; 8];
    sent.copy_from_slice(&request[TIME]);
    let took = crate::spin::mono_ns().saturating_sub(u64::from_le_bytes(sent));
    request[TIME].copy_from_slice(&took.to_le_bytes());
}

/// The response time an answer carries, ns.
pub fn response_ns(answer: &[u8; REQUEST_BYTES]) -> u64 {
    let mut took = [0u8; 8];
    took.copy_from_slice(&answer[TIME]);
    u64::from_le_bytes(took)
}

/// The deadline of a control request, from the moment the server has read it (the 1 ms).
pub const CONTROL_DEADLINE: Duration = Duration::from_millis(1);

/// A request's kind: its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// 200 µs of CPU, as many as the bulk clients can send.
    Bulk = 0,
    /// 20 µs of CPU, paced, with a [`CONTROL_DEADLINE`].
    Control = 1,
}

impl Kind {
    /// The kind a request's first byte names (anything but 1 is bulk).
    pub fn of(request: &[u8]) -> Kind {
        match request.first() {
            Some(1) => Kind::Control,
            _ => Kind::Bulk,
        }
    }

    /// CPU time the server spends on one request of this kind.
    pub fn cpu(self) -> Duration {
        match self {
            Kind::Bulk => Duration::from_micros(200),
            Kind::Control => Duration::from_micros(20),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Kind, REQUEST_BYTES};

    #[test]
    fn the_first_byte_names_the_kind() {
        let mut request = [0u8; REQUEST_BYTES];
        assert_eq!(Kind::of(&request), Kind::Bulk);
        request[0] = Kind::Control as u8;
        assert_eq!(Kind::of(&request), Kind::Control);
        assert!(Kind::Control.cpu() < Kind::Bulk.cpu());
    }

    #[test]
    fn an_answer_carries_the_time_since_the_request_was_sent() {
        let before = crate::spin::mono_ns();
        let mut r = super::request(Kind::Control);
        crate::spin::wall(std::time::Duration::from_millis(1));
        super::answer(&mut r);
        let after = crate::spin::mono_ns();
        let took = super::response_ns(&r);
        assert!((1_000_000..=after - before).contains(&took), "{took}");
        assert_eq!(Kind::of(&r), Kind::Control);
        let sent = crate::spin::mono_ns();
        super::answer(&mut r);
        let took = super::response_ns(&r);
        // At most the time since just before the request was made.
        assert!(
            took <= crate::spin::mono_ns() - sent + (sent - (sent - took.min(sent))),
            "{took}"
        );
        assert_eq!(Kind::of(&r), Kind::Control);
    }
}
