//! `kairos-tests`: integration and stress tests for kairos live in `tests/tests/`.
//!
//! This library holds small helpers shared by those tests.
#![warn(missing_docs)]
