//! The request protocol of the urgent-under-bulk scenario, shared by the client and both
//! servers.
//!
//! A request is [`REQUEST_BYTES`] bytes, its first byte the [`Kind`]; the server reads a whole
//! request, burns the kind's CPU time ([`Kind::cpu`]) and writes the request back as the
//! answer. Echo connections send raw payloads instead (no header): the server writes back what
//! it read.

use std::time::Duration;

/// Bytes of one request and of its answer.
pub const REQUEST_BYTES: usize = 8;

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
}
