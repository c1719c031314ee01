//! JSON reports: every `--json FILE` is one serde_json document carrying its schema version.
//!
//! A document is an object with `schema_version` ([`SCHEMA_VERSION`]), `command` (the
//! subcommand that wrote it) and the command's own fields; a command whose report is a list of
//! table rows puts them under `rows`. Every report is serialised from structs deriving
//! `Serialize`: a row struct the table prints has a `json()` view next to it (`compare`'s batch
//! rows [`RowJson`](crate::report::RowJson), workload-file rows
//! [`FileRowJson`](crate::file_compare::FileRowJson), periodic rows `RtRowJson`; `micro`'s
//! `MicroRowJson`, ...), and each command's document is a struct of its settings and those rows
//! (`MicroJson`, `AllocJson`, `SchedJson`, `NetJson`). Rows are flat objects (`"name": value`);
//! a [`Summary`] a table prints as one cell is either nested (`{median, min, max}`) or, in the
//! flat rows, three fields `key`, `key_min`, `key_max` ([`SummaryFields`]). Non-finite numbers
//! are written as `null` (JSON has no NaN): serde_json does so for every `f64`, and an unknown
//! figure is an `Option<f64>`, `None` also written as `null`.

use crate::error::BenchError;
use crate::stats::Summary;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Version of the report layout. 1 was the unversioned, hand-written layout (the row reports,
/// e.g. `compare`'s, were top-level arrays); 2 makes every report an object with
/// `schema_version` and `command`, row lists under `rows`.
/// Bump it when a field is renamed or removed or changes meaning.
pub const SCHEMA_VERSION: u32 = 2;

/// A [`Summary`] as three fields of the object it is `#[serde(flatten)]`ed into: `key` (the
/// median), `key_min` and `key_max`.
#[derive(Clone, Copy, Debug)]
pub struct SummaryFields<'a> {
    /// The median's field name; the other two add `_min` and `_max`.
    pub key: &'a str,
    /// The figures.
    pub summary: &'a Summary,
}

impl<'a> SummaryFields<'a> {
    /// `summary`'s fields named after `key`.
    pub fn new(key: &'a str, summary: &'a Summary) -> SummaryFields<'a> {
        SummaryFields { key, summary }
    }

    /// Writes the three fields into `map` (for a hand-written `Serialize` whose field names are
    /// computed).
    ///
    /// # Errors
    /// The serialiser's.
    pub fn write<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry(self.key, &self.summary.median)?;
        map.serialize_entry(&format!("{}_min", self.key), &self.summary.min)?;
        map.serialize_entry(&format!("{}_max", self.key), &self.summary.max)
    }
}

impl Serialize for SummaryFields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        self.write(&mut map)?;
        map.end()
    }
}

/// `yes` or `no`: how reports write a flag.
pub fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

/// Tests: `body` as the document `command` writes, printed and parsed back, its `schema_version`
/// and `command` checked.
#[cfg(test)]
pub fn written_and_read(command: &str, body: impl Serialize) -> Value {
    let text = serde_json::to_string(&document(command, to_value(body))).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema_version"], SCHEMA_VERSION);
    assert_eq!(v["command"], command);
    v
}

/// `value` as JSON (a non-finite float anywhere inside becomes `null`); `null` if serde cannot
/// represent it at all (e.g. a map with non-string keys).
pub fn to_value(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// `[a,b,...]`.
pub fn array(items: impl IntoIterator<Item = Value>) -> Value {
    Value::Array(items.into_iter().collect())
}

/// The versioned document for `command`: `body`'s fields if it is an object, else `body` under
/// `rows`, plus `schema_version` and `command`.
pub fn document(command: &str, body: Value) -> Value {
    let mut map = match body {
        Value::Object(map) => map,
        rows => {
            let mut map = Map::new();
            map.insert("rows".to_owned(), rows);
            map
        }
    };
    map.insert("schema_version".to_owned(), Value::from(SCHEMA_VERSION));
    map.insert("command".to_owned(), Value::from(command));
    Value::Object(map)
}

/// A report file, created (truncated) up front so a bad path is reported before the run.
#[derive(Debug)]
pub struct Output {
    /// Where it goes (for messages).
    path: PathBuf,
    /// The open file.
    file: File,
}

impl Output {
    /// Creates or truncates `path`.
    ///
    /// # Errors
    /// [`BenchError::Io`] naming the file.
    pub fn create(path: &Path) -> Result<Output, BenchError> {
        let file = File::create(path).map_err(|source| BenchError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Output {
            path: path.to_owned(),
            file,
        })
    }

    /// Writes `text` plus a newline and says so on stderr.
    ///
    /// # Errors
    /// [`BenchError::Io`] naming the file.
    pub fn write(mut self, text: &str) -> Result<(), BenchError> {
        writeln!(self.file, "{text}")
            .and_then(|()| self.file.flush())
            .map_err(|source| BenchError::Io {
                path: self.path.clone(),
                source,
            })?;
        eprintln!("wrote {}", self.path.display());
        Ok(())
    }

    /// Writes [`document`]`(command, body)`, pretty-printed.
    ///
    /// # Errors
    /// [`BenchError::Io`] naming the file.
    pub fn write_json(self, command: &str, body: Value) -> Result<(), BenchError> {
        let doc = document(command, body);
        // Serialising a `Value` cannot fail: its keys are strings and its numbers finite.
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        self.write(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A derived struct the way the reports use it.
    #[derive(Serialize)]
    struct Example<'a> {
        /// A string needing escapes.
        name: &'a str,
        /// A finite figure.
        x: f64,
        /// A non-finite one.
        bad: f64,
        /// An unknown one.
        unknown: Option<f64>,
        /// A summary as flat fields.
        #[serde(flatten)]
        latency: SummaryFields<'a>,
        /// An absent summary.
        #[serde(flatten)]
        none: Option<SummaryFields<'a>>,
    }

    #[test]
    fn escapes_flattens_and_nulls_non_finite() {
        let s = Summary {
            median: 2.0,
            min: 1.0,
            max: f64::INFINITY,
        };
        let e = Example {
            name: "a\"b\\c\n",
            x: 1.5,
            bad: f64::NAN,
            unknown: None,
            latency: SummaryFields::new("p99_us", &s),
            none: None,
        };
        let text = serde_json::to_string(&to_value(&e)).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["name"], "a\"b\\c\n");
        assert_eq!(back["x"], 1.5);
        assert!(back["bad"].is_null() && back["unknown"].is_null());
        assert_eq!(
            (&back["p99_us"], &back["p99_us_min"]),
            (&2.0.into(), &1.0.into())
        );
        assert!(back["p99_us_max"].is_null());
        assert_eq!(back.as_object().unwrap().len(), 7);
        // Straight to text, without a `Value` in between, the same.
        let direct: Value = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(direct, back);
        assert_eq!((yes_no(true), yes_no(false)), ("yes", "no"));
    }

    #[test]
    fn documents_carry_version_and_command() {
        let rows = document("compare", array([serde_json::json!({ "a": 1 })]));
        assert_eq!(rows["schema_version"], SCHEMA_VERSION);
        assert_eq!(rows["command"], "compare");
        assert_eq!(rows["rows"][0]["a"], 1);
        let obj = document("micro", serde_json::json!({ "peer": "tokio" }));
        assert_eq!(obj["schema_version"], SCHEMA_VERSION);
        assert_eq!(obj["peer"], "tokio");
        assert!(obj.get("rows").is_none());
    }
}
