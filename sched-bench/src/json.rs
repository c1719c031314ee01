//! JSON reports: every `--json FILE` is one serde_json document carrying its schema version.
//!
//! A document is an object with `schema_version` ([`SCHEMA_VERSION`]), `command` (the
//! subcommand that wrote it) and the command's own fields; a command whose report is a list of
//! table rows puts them under `rows`. Rows are flat objects (`"name": value`): a row struct the
//! table prints has a `json()` view deriving `Serialize` (`compare`'s batch rows
//! [`RowJson`](crate::report::RowJson), workload-file rows
//! [`FileRowJson`](crate::file_compare::FileRowJson)); the rest are still built with [`Obj`]
//! from the same row structs. Non-finite numbers are written as
//! `null` (JSON has no NaN).

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

/// A flat JSON object under construction.
#[derive(Debug, Default)]
pub struct Obj {
    /// The fields so far.
    map: Map<String, Value>,
}

impl Obj {
    /// An empty object.
    pub fn new() -> Obj {
        Obj::default()
    }

    /// Adds `"key": "value"`.
    pub fn str(mut self, key: &str, value: &str) -> Obj {
        self.map.insert(key.to_owned(), Value::from(value));
        self
    }

    /// Adds `"key": value` (`null` if not finite).
    pub fn num(mut self, key: &str, value: f64) -> Obj {
        self.map.insert(key.to_owned(), number(value));
        self
    }

    /// Adds `"key": value` for an integer.
    pub fn int(mut self, key: &str, value: u64) -> Obj {
        self.map.insert(key.to_owned(), Value::from(value));
        self
    }

    /// Adds `"key": value` for anything serialisable (`null` if it cannot be represented).
    pub fn val(mut self, key: &str, value: impl Serialize) -> Obj {
        self.map.insert(key.to_owned(), to_value(value));
        self
    }

    /// The finished object.
    pub fn finish(self) -> Value {
        Value::Object(self.map)
    }
}

/// A finite `f64` as a JSON number, anything else as `null`.
pub fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
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

    #[test]
    fn escapes_nests_and_nulls_non_finite() {
        let inner = Obj::new().int("n", 3).finish();
        let o = Obj::new()
            .str("name", "a\"b\\c\n")
            .num("x", 1.5)
            .num("bad", f64::NAN)
            .val("inner", &inner)
            .finish();
        let text = serde_json::to_string(&o).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["name"], "a\"b\\c\n");
        assert_eq!(back["x"], 1.5);
        assert!(back["bad"].is_null());
        assert_eq!(back["inner"]["n"], 3);
        assert_eq!(
            array([o.clone(), o.clone()]),
            Value::Array(vec![o.clone(), o])
        );
        assert_eq!(Obj::new().finish(), Value::Object(Map::new()));
    }

    #[test]
    fn documents_carry_version_and_command() {
        let rows = document("compare", array([Obj::new().int("a", 1).finish()]));
        assert_eq!(rows["schema_version"], SCHEMA_VERSION);
        assert_eq!(rows["command"], "compare");
        assert_eq!(rows["rows"][0]["a"], 1);
        let obj = document("micro", Obj::new().str("peer", "tokio").finish());
        assert_eq!(obj["schema_version"], SCHEMA_VERSION);
        assert_eq!(obj["peer"], "tokio");
        assert!(obj.get("rows").is_none());
    }
}
