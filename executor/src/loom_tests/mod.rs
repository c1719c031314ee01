//! Loom models of the runtime's concurrent parts.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p kairos --lib --release`
//! (`scripts/test.sh` does, in its own target directory). Each model states the slow path it
//! forces and asserts that it was reached in at least one explored execution.
