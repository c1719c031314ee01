//! Workload files: sched-bench's TOML format and rt-app JSON, parsed into one [`Workload`].
//!
//! - [`toml_format`]: our documented format for periodic task sets (period, deadline, work per
//!   job, priority, nice, CPU set, hogs, duration, seed). It round-trips: [`toml_format::to_toml`] then
//!   [`parse_text`] gives the same model.
//! - [`rtapp`]: import of rt-app's JSON workloads, the periodic subset plus mutexes,
//!   barriers and suspension (run, runtime, sleep, timer, yield, lock, unlock, barrier, suspend,
//!   resume; policies, priorities, SCHED_DEADLINE parameters, phases and loops), read by the
//!   hand-written [`relaxed_json`] parser that keeps rt-app's comments, trailing commas and
//!   repeated keys workable.
//! - [`model`]: what both produce; [`validate`]: the invariants both must meet (including no
//!   time beyond a day unless allowed, and no control character in a name).
//! - [`budget`]: a workload's memory estimate, checked against a limit before a run, and the
//!   watchdog limit derived from its expected length.
//!
//! The format is chosen by extension (`.toml`, `.json`); for other names, a file whose first
//! non-blank, non-comment character is `{` is rt-app JSON and anything else is TOML.
//!
//! [`load`] reads at most [`MAX_FILE_BYTES`] (a larger file, `/dev/zero` included, is refused
//! before parsing) and skips a UTF-8 byte order mark. Errors ([`Error`]) name the file, the
//! line and the field, and are returned before anything runs. No input makes the loaders panic (tested on truncated and garbled files).
//!
//! Used by `sched-bench workloads --check FILE` ([`check`]) and by `compare --workload`, which
//! calls [`load`] for an argument that names an existing file or ends in `.toml`/`.json` and
//! looks other names up among the built-ins. The kernel, executor and tokio backends run file
//! workloads.

pub mod budget;
pub mod error;
pub mod model;
pub mod relaxed_json;
pub mod rtapp;
pub mod toml_format;
pub mod validate;

pub use error::{Error, ErrorKind};
pub use model::Workload;

use crate::table::Table;
use model::format_duration;
use std::path::Path;

/// The two workload file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// sched-bench's TOML ([`toml_format`]).
    Toml,
    /// rt-app's relaxed JSON ([`rtapp`]).
    RtApp,
}

impl Format {
    /// The format of `path` by its extension, else by its content.
    pub fn detect(path: &Path, text: &str) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("toml") => Format::Toml,
            Some(e) if e.eq_ignore_ascii_case("json") => Format::RtApp,
            _ => {
                if starts_like_json(text) {
                    Format::RtApp
                } else {
                    Format::Toml
                }
            }
        }
    }
}

/// Whether the first character after blanks and `/* */` or `//` comments is `{`. (TOML
/// comments start with `#`, and a TOML document never starts with `{`.)
fn starts_like_json(text: &str) -> bool {
    let mut rest = text.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("//") {
            rest = r
                .split_once('\n')
                .map_or("", |(_, after)| after)
                .trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r
                .split_once("*/")
                .map_or("", |(_, after)| after)
                .trim_start();
        } else {
            return rest.starts_with('{');
        }
    }
}

/// Reads, parses and validates a workload file.
///
/// # Errors
/// [`Error`] with the file, line and field: unreadable file, malformed text, unknown fields,
/// unsupported rt-app events or keys, invalid values.
pub fn load(path: &Path) -> Result<Workload, Error> {
    let bytes = read_capped(path)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        Error::new(
            path,
            Some(u32::try_from(line).unwrap_or(u32::MAX)),
            None,
            ErrorKind::Syntax("the file is not valid UTF-8 text".to_owned()),
        )
    })?;
    // A UTF-8 byte order mark (some Windows editors write one) is not part of the text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    parse_text(text, path, Format::detect(path, text))
}

/// Largest workload file read: 16 MiB. rt-app's largest published examples are a few KiB.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Reads at most [`MAX_FILE_BYTES`] + 1 bytes of `path`, refusing a longer file before
/// parsing. Reads instead of trusting the size in the metadata, which is 0 for `/dev/zero`,
/// pipes and `/proc` files.
fn read_capped(path: &Path) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let read_err = |e| Error::new(path, None, None, ErrorKind::Read(e));
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::new(
            path,
            None,
            None,
            ErrorKind::Syntax(format!(
                "the file is larger than {} MiB, the limit for workload files; is it the \
                 right file?",
                MAX_FILE_BYTES >> 20
            )),
        ));
    }
    Ok(bytes)
}

/// Parses and validates workload text in `format`. `path` is used for the default workload
/// name (its file stem) and in error messages; nothing is read from it.
///
/// # Errors
/// As [`load`], except for reading.
pub fn parse_text(text: &str, path: &Path, format: Format) -> Result<Workload, Error> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("workload");
    match format {
        Format::Toml => toml_format::parse(text, path, name),
        Format::RtApp => {
            let (w, warnings) = rtapp::import(text, path, name)?;
            for warning in warnings {
                eprintln!("sched-bench: warning: {warning}");
            }
            Ok(w)
        }
    }
}

/// `sched-bench workloads --check FILE`: loads the file and prints what it describes.
///
/// # Errors
/// The load error, unchanged.
pub fn check(path: &Path) -> Result<(), Error> {
    let w = load(path)?;
    print!("{}", summary(&w, path));
    let e = budget::estimate(&w, false);
    println!(
        "\nmemory estimate: {} MiB without per-job records, {} MiB with --cyclic/--rtapp-log \
         (largest part: {})",
        e.bytes.div_ceil(1 << 20),
        budget::estimate(&w, true).bytes.div_ceil(1 << 20),
        e.driver
    );
    Ok(())
}

/// A human-readable description of `w`: a header line and one table row per phase.
pub fn summary(w: &Workload, path: &Path) -> String {
    let threads: u64 = w.tasks.iter().map(|t| u64::from(t.instances)).sum();
    let mut out = format!(
        "{}: workload `{}`: {} task(s), {threads} thread(s), {} hog(s), duration {}, seed {}\n\n",
        path.display(),
        w.name,
        w.tasks.len(),
        w.hogs,
        w.duration
            .map_or_else(|| "until the tasks end".to_owned(), format_duration),
        w.seed,
    );
    let mut t = Table::new([
        "task",
        "instances",
        "sched",
        "deadline",
        "cpus",
        "delay",
        "task loop",
        "phase",
        "phase loop",
        "events",
    ])
    .text_columns(10);
    for task in &w.tasks {
        for (i, phase) in task.phases.iter().enumerate() {
            let events: Vec<String> = phase.events.iter().map(ToString::to_string).collect();
            let phase_cells = [
                phase.name.clone(),
                phase.repeat.to_string(),
                events.join(", "),
            ];
            if i == 0 {
                let cpus = task.cpus.as_ref().map_or_else(
                    || "all".to_owned(),
                    |c| {
                        c.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(",")
                    },
                );
                let [name, repeat, events] = phase_cells;
                t.row([
                    task.name.clone(),
                    task.instances.to_string(),
                    task.sched.to_string(),
                    task.deadline
                        .map_or_else(|| "-".to_owned(), format_duration),
                    cpus,
                    format_duration(task.delay),
                    task.repeat.to_string(),
                    name,
                    repeat,
                    events,
                ]);
            } else {
                let [name, repeat, events] = phase_cells;
                t.row([
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    name,
                    repeat,
                    events,
                ]);
            }
        }
    }
    out.push_str(&t.to_string());
    out
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fuzz_tests;
