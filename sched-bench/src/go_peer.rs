//! The Go peer: `sched-bench/peers/go/main.go`, built with the system's `go` and run as a child
//! process, so `micro --go` can put goroutines next to kairos and tokio in one table.
//!
//! # Build
//!
//! The Go sources are compiled into this binary (`include_str!`), so the peer builds from any
//! working directory. On first use per invocation, [`GoPeer::find`] looks for `go` on the `PATH`
//! (none: `None`, and the caller prints a one-line note and skips the Go columns), hashes the
//! sources (64-bit FNV-1a, [`source_hash`]), and builds them with `go build` into
//! `<dir of this executable>/gopeer/<hash>/gopeer` (the target directory under cargo) unless that
//! file already exists: a changed source gets a new directory, an unchanged one is reused.
//! Each process writes the sources into a directory of its own and the build to a temporary
//! name that is then renamed, so two concurrent sched-bench processes (the test suite) never
//! build from or run a half-written file.
//!
//! # Run
//!
//! [`GoPeer::run`] runs `gopeer -row ROW -rounds N -warmup W [-tasks T] [-secs S]` with
//! `GOMAXPROCS` set to the worker count of the kairos runs, and parses its output: one JSON line
//! per recorded round ([`GoRound`], `schema_version` 1; the fields are documented in `main.go`).
//! The Go program measures inside itself (the clock is read around the row's work only), so
//! process start-up and the Go runtime's own start are not counted, as runtime start-up is not
//! counted on the Rust side.

use crate::error::BenchError;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `main.go` of the peer, compiled into sched-bench.
const MAIN_GO: &str = include_str!("../peers/go/main.go");
/// `go.mod` of the peer.
const GO_MOD: &str = include_str!("../peers/go/go.mod");
/// The `schema_version` this parser understands.
pub const SCHEMA_VERSION: u32 = 1;

/// The built Go peer.
#[derive(Clone, Debug)]
pub struct GoPeer {
    /// The `gopeer` executable.
    exe: PathBuf,
    /// `GOMAXPROCS` of every run (the kairos worker count).
    gomaxprocs: usize,
}

/// The release-to-run distribution of the `periodic` row, in nanoseconds.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
pub struct GoLatency {
    /// Recorded jobs.
    pub samples: u64,
    /// Mean.
    pub mean: f64,
    /// Median (nearest rank).
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    #[serde(rename = "p99_9")]
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

/// One recorded round of one row, as the Go program prints it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct GoRound {
    /// Output format version; [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The row (`spawn_many`, ...).
    pub row: String,
    /// Index of the round within the run (0-based, warm-up rounds not counted).
    pub round: u32,
    /// Operations of the round.
    pub ops: u64,
    /// Measured time of the round.
    pub elapsed_ns: u64,
    /// `elapsed_ns / ops`.
    pub ns_per_op: f64,
    /// `spawn_sleep`: growth of resident memory per sleeping goroutine.
    #[serde(default)]
    pub bytes_per_task: Option<f64>,
    /// `periodic`: release-to-run latency.
    #[serde(default, rename = "latency_ns")]
    pub latency: Option<GoLatency>,
}

/// What one run of the peer does besides its row and round count.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunArgs {
    /// Unrecorded rounds before the recorded ones (`-warmup`).
    pub warmup: u32,
    /// `spawn_sleep`: goroutines (`-tasks`); `None`: the program's default (1,000,000).
    pub tasks: Option<u64>,
    /// `periodic`: measured seconds (`-secs`); `None`: the program's default (2).
    pub secs: Option<u32>,
}

/// 64-bit FNV-1a over the peer's sources (Fowler, Noll, Vo; the parameters of
/// <http://www.isthe.com/chongo/tech/comp/fnv/>): stable across Rust versions, unlike
/// `DefaultHasher`, so the build directory name only changes with the sources.
pub fn source_hash() -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [GO_MOD, "\0", MAIN_GO] {
        for b in part.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The first executable named `go` on `PATH`.
fn go_on_path() -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("go"))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn peer_error(message: String) -> BenchError {
    BenchError::Task {
        backend: "go".to_owned(),
        message,
    }
}

impl GoPeer {
    /// Finds `go` and builds the peer (or reuses the build of the same sources); `Ok(None)` when
    /// `go` is not on the `PATH`.
    ///
    /// # Errors
    /// The build directory cannot be written or `go build` fails (its output is passed on).
    pub fn find(gomaxprocs: usize) -> Result<Option<GoPeer>, BenchError> {
        let Some(go) = go_on_path() else {
            return Ok(None);
        };
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .ok_or_else(|| peer_error("cannot find this executable's directory".to_owned()))?;
        let dir = exe_dir
            .join("gopeer")
            .join(format!("{:016x}", source_hash()));
        let exe = dir.join("gopeer");
        if !is_executable(&exe) {
            build(&go, &dir, &exe)?;
        }
        Ok(Some(GoPeer { exe, gomaxprocs }))
    }

    /// Runs `rounds` recorded rounds of `row` in one process.
    ///
    /// # Errors
    /// The process cannot start or fails, or prints something other than `rounds` lines of
    /// schema version 1 for `row`.
    pub fn run(&self, row: &str, rounds: u32, args: RunArgs) -> Result<Vec<GoRound>, BenchError> {
        let mut cmd = Command::new(&self.exe);
        cmd.env("GOMAXPROCS", self.gomaxprocs.to_string())
            .args(["-row", row, "-rounds", &rounds.to_string()])
            .args(["-warmup", &args.warmup.to_string()]);
        if let Some(tasks) = args.tasks {
            cmd.args(["-tasks", &tasks.to_string()]);
        }
        if let Some(secs) = args.secs {
            cmd.args(["-secs", &secs.to_string()]);
        }
        let out = cmd
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| peer_error(format!("cannot run {}: {e}", self.exe.display())))?;
        if !out.status.success() {
            return Err(peer_error(format!(
                "{} -row {row} failed ({}); its messages are above",
                self.exe.display(),
                out.status
            )));
        }
        let rounds_out = parse_rounds(&String::from_utf8_lossy(&out.stdout), row)?;
        if rounds_out.len() != rounds as usize {
            return Err(peer_error(format!(
                "-row {row} -rounds {rounds} printed {} rounds",
                rounds_out.len()
            )));
        }
        Ok(rounds_out)
    }
}

/// Parses the peer's stdout: one [`GoRound`] per non-empty line, each for `row`.
///
/// # Errors
/// A line that is not a round of schema version [`SCHEMA_VERSION`] for `row`.
pub fn parse_rounds(stdout: &str, row: &str) -> Result<Vec<GoRound>, BenchError> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let r: GoRound = serde_json::from_str(line)
                .map_err(|e| peer_error(format!("unreadable output line ({e}): {line}")))?;
            if r.schema_version != SCHEMA_VERSION || r.row != row {
                return Err(peer_error(format!(
                    "expected schema_version {SCHEMA_VERSION} and row {row}, got: {line}"
                )));
            }
            Ok(r)
        })
        .collect()
}

/// Writes the sources into a directory of this process's own under `dir` (so a concurrent build
/// never reads a half-written file), runs `go build` there to a temporary name, and renames the
/// result to `exe`.
#[cold]
fn build(go: &Path, dir: &Path, exe: &Path) -> Result<(), BenchError> {
    let src = dir.join(format!("src.{}", std::process::id()));
    let io = |what: &str, e: std::io::Error| peer_error(format!("{what} {}: {e}", src.display()));
    std::fs::create_dir_all(&src).map_err(|e| io("cannot create", e))?;
    std::fs::write(src.join("main.go"), MAIN_GO).map_err(|e| io("cannot write main.go in", e))?;
    std::fs::write(src.join("go.mod"), GO_MOD).map_err(|e| io("cannot write go.mod in", e))?;
    let tmp = dir.join(format!("gopeer.tmp{}", std::process::id()));
    eprintln!("go peer: building {} with {}", exe.display(), go.display());
    let mut cmd = Command::new(go);
    cmd.current_dir(&src)
        .arg("build")
        .arg("-o")
        .arg(&tmp)
        .arg(".");
    // `go` keeps its build cache under $HOME; without a HOME give it one in the build dir.
    if std::env::var_os("HOME").is_none() && std::env::var_os("GOCACHE").is_none() {
        cmd.env("GOCACHE", dir.join("gocache"));
    }
    let out = cmd
        .output()
        .map_err(|e| peer_error(format!("cannot run {}: {e}", go.display())))?;
    if !out.status.success() {
        return Err(peer_error(format!(
            "go build in {} failed ({}): {}",
            src.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    std::fs::rename(&tmp, exe).map_err(|e| io("cannot rename the build from", e))?;
    // The sources are only needed for the build; a leftover directory would do no harm.
    let _ = std::fs::remove_dir_all(&src);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_rounds;

    #[test]
    fn parses_rounds_with_and_without_optional_fields() {
        let out = concat!(
            r#"{"schema_version":1,"row":"periodic","round":0,"ops":2000,"elapsed_ns":5,"#,
            r#""ns_per_op":0.1,"latency_ns":{"samples":2000,"mean":1.5,"p50":1,"p99":2,"#,
            r#""p99_9":3,"max":4}}"#,
            "\n\n",
            r#"{"schema_version":1,"row":"periodic","round":1,"ops":2,"elapsed_ns":4,"#,
            r#""ns_per_op":2}"#,
            "\n"
        );
        let r = parse_rounds(out, "periodic").unwrap();
        assert_eq!(r.len(), 2);
        let lat = r[0].latency.unwrap();
        assert_eq!((lat.p50, lat.p99, lat.p999, lat.max), (1, 2, 3, 4));
        assert_eq!(r[1].round, 1);
        assert!(r[1].latency.is_none() && r[1].bytes_per_task.is_none());
    }

    #[test]
    fn refuses_other_rows_versions_and_garbage() {
        let line = r#"{"schema_version":1,"row":"ping_pong","round":0,"ops":1,"elapsed_ns":1,"ns_per_op":1}"#;
        assert!(parse_rounds(line, "ping_pong").is_ok());
        assert!(parse_rounds(line, "spawn_many").is_err());
        assert!(parse_rounds(&line.replace(":1,\"row", ":2,\"row"), "ping_pong").is_err());
        assert!(parse_rounds("goroutine 1 [running]:", "ping_pong").is_err());
    }
}
