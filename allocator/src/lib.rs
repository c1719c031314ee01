//! `kairos-alloc`: fixed-size block pools with O(1) allocation and free.
//!
//! Placeholder until the allocator issue lands: the crate exists so the workspace layout is the
//! final one. kairos tasks are allocated with `Box` until then.
#![warn(missing_docs)]
