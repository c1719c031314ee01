//! [`Error`]: why a workload file was refused, with the file, line and field it is about.
//!
//! Every error carries as much position as its format allows: the path always; the line (and,
//! for syntax errors, the column) whenever the front end knows it; the field as it is spelled in
//! the file (`task[1].deadline`, `tasks.thread0.phases.light.lock0`). The message itself says what
//! is wrong and, where there is one obvious fix, what to do.

use std::fmt;
use std::path::PathBuf;

/// A workload file that cannot be used. Nothing was run.
#[derive(Debug)]
pub struct Error {
    /// The file, as given on the command line (`<input>` for text parsed from memory).
    pub path: PathBuf,
    /// 1-based line of the offending text, when the format tells.
    pub line: Option<u32>,
    /// 1-based column (in characters), for syntax errors.
    pub column: Option<u32>,
    /// The field as spelled in the file, e.g. `task[0].period`.
    pub field: Option<String>,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// What is wrong with a workload file.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// The file could not be read.
    #[error("could not read the file: {0}")]
    Read(#[source] std::io::Error),
    /// The text is not well-formed TOML / relaxed JSON.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// A key the format does not have (often a typo).
    #[error("unknown field `{name}`; valid fields here: {expected}")]
    UnknownField {
        /// The key as written.
        name: String,
        /// The valid keys at that place, comma-separated.
        expected: String,
    },
    /// A value of the wrong type or out of range, or fields that contradict each other.
    #[error("{0}")]
    Invalid(String),
    /// An rt-app event outside the subset sched-bench imports.
    #[error(
        "unsupported rt-app event `{key}`: {event} events are outside the subset sched-bench \
         imports (run, runtime, sleep, timer, yield, lock, unlock, wait, signal, broad, sync, \
         barrier, suspend, resume); remove the event or model the task without it"
    )]
    UnsupportedEvent {
        /// The key as written, e.g. `barrier0`.
        key: String,
        /// The event type its prefix selects, e.g. `barrier`.
        event: &'static str,
    },
    /// An rt-app key sched-bench knows but does not model.
    #[error("rt-app key `{key}` is not supported: {why}")]
    UnsupportedKey {
        /// The key as written.
        key: String,
        /// Why, and what to do instead.
        why: &'static str,
    },
}

impl Error {
    /// An error at `line` (if known) about `field` (if known).
    pub(crate) fn new(
        path: impl Into<PathBuf>,
        line: Option<u32>,
        field: Option<String>,
        kind: ErrorKind,
    ) -> Error {
        Error {
            path: path.into(),
            line,
            column: None,
            field,
            kind,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_file_line_column_and_field() {
        let mut e = Error::new(
            "w.toml",
            Some(7),
            Some("task[0].period".to_owned()),
            ErrorKind::Invalid("must be positive".to_owned()),
        );
        assert_eq!(e.to_string(), "w.toml:7: task[0].period: must be positive");
        e.column = Some(3);
        e.field = None;
        assert_eq!(e.to_string(), "w.toml:7:3: must be positive");
        e.line = None;
        assert_eq!(e.to_string(), "w.toml: must be positive");
    }
}
