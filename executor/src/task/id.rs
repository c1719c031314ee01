//! Task identifiers.

use std::fmt;

/// Identifies a task within its runtime.
///
/// Ids are assigned in spawn order, starting at 1, by a per-runtime counter, so a run that spawns
/// tasks in the same order gets the same ids (this is what makes traces comparable).
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let a = rt.spawn(async {});
/// let b = rt.spawn(async {});
/// assert!(a.id() < b.id());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The id as an integer.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// assert!(rt.spawn(async {}).id().as_u64() >= 1);
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task#{}", self.0)
    }
}
