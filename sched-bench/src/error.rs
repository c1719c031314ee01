//! `BenchError`: everything that can stop a benchmark run, with a message that says what to do.

use std::fmt;
use std::path::PathBuf;

/// Why a benchmark run failed.
#[derive(Debug)]
pub enum BenchError {
    /// A runtime could not be built (bad configuration, a policy this kairos version lacks, or
    /// the OS refused threads).
    Build {
        /// Which backend, as named on the command line.
        backend: String,
        /// The runtime's own message.
        message: String,
    },
    /// A benchmark task panicked or was cancelled: the measurement is void.
    Task {
        /// Which backend ran it.
        backend: String,
        /// What the runtime reported.
        message: String,
    },
    /// A runtime did not shut down within its timeout (a worker stuck in a poll).
    Shutdown {
        /// Which backend.
        backend: String,
        /// The runtime's own message.
        message: String,
    },
    /// Bad command-line input that clap could not catch (e.g. an unknown workload name).
    Usage(String),
    /// Writing a report file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Build { backend, message } => {
                write!(f, "could not build the {backend} runtime: {message}")
            }
            BenchError::Task { backend, message } => write!(
                f,
                "a benchmark task failed on {backend}: {message} (the measurement is void)"
            ),
            BenchError::Shutdown { backend, message } => {
                write!(
                    f,
                    "the {backend} runtime did not shut down cleanly: {message}"
                )
            }
            BenchError::Usage(message) => f.write_str(message),
            BenchError::Io { path, source } => {
                write!(f, "could not write {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for BenchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BenchError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A spawned benchmark task did not return: it panicked or was cancelled. Carries the runtime's
/// description of the failure; the runner turns it into [`BenchError::Task`] with the backend.
#[derive(Debug)]
pub struct TaskFailed(pub String);

impl fmt::Display for TaskFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
