//! Minimal JSON writing for report files (objects of strings and numbers, arrays of objects).
//!
//! Hand-written so the binary needs no serialisation dependency; the reports are flat records,
//! and [`Obj`] is enough to write them correctly (strings escaped, non-finite numbers as `null`).

use crate::error::BenchError;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A JSON object under construction.
#[derive(Debug)]
pub struct Obj {
    buf: String,
}

impl Obj {
    /// `{`
    pub fn new() -> Obj {
        Obj {
            buf: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        string(&mut self.buf, key);
        self.buf.push(':');
    }

    /// Adds `"key": "value"`.
    pub fn str(mut self, key: &str, value: &str) -> Obj {
        self.key(key);
        string(&mut self.buf, value);
        self
    }

    /// Adds `"key": value` (`null` if not finite).
    pub fn num(mut self, key: &str, value: f64) -> Obj {
        self.key(key);
        if value.is_finite() {
            let _ = write!(self.buf, "{value}");
        } else {
            self.buf.push_str("null");
        }
        self
    }

    /// Adds `"key": value` for an integer.
    pub fn int(mut self, key: &str, value: u64) -> Obj {
        self.key(key);
        let _ = write!(self.buf, "{value}");
        self
    }

    /// Adds `"key": <already serialised JSON>`.
    pub fn raw(mut self, key: &str, json: &str) -> Obj {
        self.key(key);
        self.buf.push_str(json);
        self
    }

    /// `}`: the finished object.
    pub fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

/// `[a,b,...]` from already serialised items.
pub fn array(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    format!("[{}]", items.join(","))
}

/// Appends `s` as a JSON string literal.
fn string(buf: &mut String, s: &str) {
    buf.push('"');
    for c in s.chars() {
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(buf, "\\u{:04x}", c as u32);
            }
            c => buf.push(c),
        }
    }
    buf.push('"');
}

/// A report file, created (truncated) up front so a bad path is reported before the run.
#[derive(Debug)]
pub struct Output {
    path: PathBuf,
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

    /// Writes `json` plus a newline and says so on stderr.
    ///
    /// # Errors
    /// [`BenchError::Io`] naming the file.
    pub fn write(mut self, json: &str) -> Result<(), BenchError> {
        writeln!(self.file, "{json}")
            .and_then(|()| self.file.flush())
            .map_err(|source| BenchError::Io {
                path: self.path.clone(),
                source,
            })?;
        eprintln!("wrote {}", self.path.display());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{array, Obj};

    #[test]
    fn escapes_and_nests() {
        let inner = Obj::new().int("n", 3).finish();
        let o = Obj::new()
            .str("name", "a\"b\\c\n")
            .num("x", 1.5)
            .num("bad", f64::NAN)
            .raw("inner", &inner)
            .finish();
        assert_eq!(
            o,
            r#"{"name":"a\"b\\c\n","x":1.5,"bad":null,"inner":{"n":3}}"#
        );
        assert_eq!(array([o.clone(), o.clone()]), format!("[{o},{o}]"));
        assert_eq!(Obj::new().finish(), "{}");
    }
}
