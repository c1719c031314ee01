//! A relaxed-JSON parser for rt-app files: JSON plus what json-c and rt-app's files use.
//!
//! Accepted beyond RFC 8259:
//! - `/* ... */` and `// ...` comments wherever whitespace may stand;
//! - a trailing comma before `}` or `]`;
//! - repeated keys in one object. They are **kept**, in file order, as separate [`Member`]s:
//!   json-c would keep only the last one, which is why rt-app's `workgen` script renames
//!   repeated keys (`run`, `run` → `run`, `run1`) before handing a file to rt-app. Keeping
//!   them here gives the same result as workgen without renaming anything.
//!
//! Objects are therefore ordered `Vec<Member>`s, not maps. Every value and key records the
//! 1-based line (and column) where it starts, so the importer can point at the line of a bad
//! field. The parser is recursive descent over bytes with one token of lookahead; nesting is
//! limited to [`MAX_DEPTH`] so that hostile input cannot overflow the stack, and every other
//! malformed input is a [`SyntaxError`], never a panic.
//!
//! Numbers: an integer literal that fits `i64` is [`Kind::Int`]; any other number (fraction,
//! exponent) is [`Kind::Float`]. Strings: the JSON escapes, including `\u` surrogate pairs; a
//! string may not span lines (an unclosed quote is reported on its own line, not at end of file).

use std::fmt;

/// Deepest nesting of arrays/objects accepted. rt-app files nest 5 levels deep
/// (root → tasks → task → phases → phase → timer); 64 leaves room while keeping the recursion
/// far from the stack limit.
pub const MAX_DEPTH: usize = 64;

/// A parsed value and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// 1-based line of the value's first character.
    pub line: u32,
    /// 1-based column (in characters) of the value's first character.
    pub column: u32,
    /// The value.
    pub kind: Kind,
}

/// The kinds of JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number literal without fraction or exponent that fits `i64`.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string, escapes resolved.
    Str(String),
    /// An array.
    Array(Vec<Value>),
    /// An object: members in file order, repeated keys kept.
    Object(Vec<Member>),
}

/// One `"key": value` entry of an object.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// The key, escapes resolved.
    pub key: String,
    /// 1-based line of the key.
    pub line: u32,
    /// The value.
    pub value: Value,
}

impl Kind {
    /// A short name of the kind for error messages: "an integer", "a string", ...
    pub fn describe(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a non-integer number",
            Kind::Str(_) => "a string",
            Kind::Array(_) => "an array",
            Kind::Object(_) => "an object",
        }
    }
}

/// Malformed input, at a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column in characters.
    pub column: u32,
    /// What was expected or found.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Parses one value (normally an object) filling the whole text; comments and whitespace may
/// surround it.
///
/// # Errors
/// The first [`SyntaxError`].
pub fn parse(text: &str) -> Result<Value, SyntaxError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
        column: 1,
    };
    let value = p.value(0)?;
    p.skip_blank()?;
    if p.pos < p.bytes.len() {
        return Err(p.error(format!(
            "unexpected {} after the end of the document",
            p.describe_next()
        )));
    }
    Ok(value)
}

/// Cursor over the text. `line`/`column` always describe `pos`.
struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: u32,
    column: u32,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Moves past one byte, keeping line and column right (columns count characters, so UTF-8
    /// continuation bytes do not advance them).
    fn bump(&mut self) {
        if let Some(&b) = self.bytes.get(self.pos) {
            self.pos += 1;
            if b == b'\n' {
                self.line += 1;
                self.column = 1;
            } else if b & 0xC0 != 0x80 {
                self.column += 1;
            }
        }
    }

    fn error(&self, message: String) -> SyntaxError {
        SyntaxError {
            line: self.line,
            column: self.column,
            message,
        }
    }

    /// "end of file" or "character 'x'".
    fn describe_next(&self) -> String {
        match self.text[self.pos..].chars().next() {
            None => "end of file".to_owned(),
            Some(c) => format!("character {c:?}"),
        }
    }

    /// Skips whitespace and comments.
    fn skip_blank(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.bump(),
                Some(b'/') => match self.bytes.get(self.pos + 1) {
                    Some(b'/') => {
                        while !matches!(self.peek(), None | Some(b'\n')) {
                            self.bump();
                        }
                    }
                    Some(b'*') => {
                        let (line, column) = (self.line, self.column);
                        self.bump();
                        self.bump();
                        loop {
                            match self.peek() {
                                None => {
                                    return Err(SyntaxError {
                                        line,
                                        column,
                                        message: "comment `/*` is never closed with `*/`"
                                            .to_owned(),
                                    })
                                }
                                Some(b'*') if self.bytes.get(self.pos + 1) == Some(&b'/') => {
                                    self.bump();
                                    self.bump();
                                    break;
                                }
                                Some(_) => self.bump(),
                            }
                        }
                    }
                    _ => return Err(self.error("a lone `/` (comments are /* */ or //)".into())),
                },
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        self.skip_blank()?;
        let (line, column) = (self.line, self.column);
        let kind = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Kind::Str(self.string()?),
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(b't') => self.literal("true", Kind::Bool(true))?,
            Some(b'f') => self.literal("false", Kind::Bool(false))?,
            Some(b'n') => self.literal("null", Kind::Null)?,
            _ => {
                return Err(self.error(format!("expected a value, found {}", self.describe_next())))
            }
        };
        Ok(Value { line, column, kind })
    }

    fn enter(&self, depth: usize) -> Result<usize, SyntaxError> {
        if depth >= MAX_DEPTH {
            return Err(self.error(format!(
                "nested deeper than {MAX_DEPTH} levels; this is not an rt-app file"
            )));
        }
        Ok(depth + 1)
    }

    fn object(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        let depth = self.enter(depth)?;
        let (line, column) = (self.line, self.column);
        self.bump(); // '{'
        let mut members = Vec::new();
        loop {
            self.skip_blank()?;
            match self.peek() {
                Some(b'}') => {
                    self.bump();
                    return Ok(Kind::Object(members));
                }
                Some(b'"') => {}
                None => {
                    return Err(SyntaxError {
                        line,
                        column,
                        message: "object `{` is never closed with `}`".to_owned(),
                    })
                }
                _ => {
                    return Err(self.error(format!(
                        "expected a quoted key or `}}`, found {}",
                        self.describe_next()
                    )))
                }
            }
            let key_line = self.line;
            let key = self.string()?;
            self.skip_blank()?;
            if self.peek() != Some(b':') {
                return Err(self.error(format!(
                    "expected `:` after key \"{key}\", found {}",
                    self.describe_next()
                )));
            }
            self.bump();
            let value = self.value(depth)?;
            members.push(Member {
                key,
                line: key_line,
                value,
            });
            self.skip_blank()?;
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b'}') => {}
                None => {
                    return Err(SyntaxError {
                        line,
                        column,
                        message: "object `{` is never closed with `}`".to_owned(),
                    })
                }
                _ => {
                    return Err(self.error(format!(
                        "expected `,` or `}}` after the value of \"{}\", found {}",
                        members.last().map_or("", |m| m.key.as_str()),
                        self.describe_next()
                    )))
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        let depth = self.enter(depth)?;
        let (line, column) = (self.line, self.column);
        self.bump(); // '['
        let mut items = Vec::new();
        loop {
            self.skip_blank()?;
            match self.peek() {
                Some(b']') => {
                    self.bump();
                    return Ok(Kind::Array(items));
                }
                None => {
                    return Err(SyntaxError {
                        line,
                        column,
                        message: "array `[` is never closed with `]`".to_owned(),
                    })
                }
                _ => {}
            }
            items.push(self.value(depth)?);
            self.skip_blank()?;
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b']') => {}
                None => {
                    return Err(SyntaxError {
                        line,
                        column,
                        message: "array `[` is never closed with `]`".to_owned(),
                    })
                }
                _ => {
                    return Err(self.error(format!(
                        "expected `,` or `]` in the array, found {}",
                        self.describe_next()
                    )))
                }
            }
        }
    }

    /// A string starting at the `"` under the cursor.
    fn string(&mut self) -> Result<String, SyntaxError> {
        let (line, column) = (self.line, self.column);
        self.bump(); // '"'
        let unclosed = || SyntaxError {
            line,
            column,
            message: "string is not closed with `\"` on its line".to_owned(),
        };
        let mut out = String::new();
        loop {
            // Copy the run of plain characters up to the next quote, backslash or line end.
            // These delimiters are ASCII, so the slice boundaries are char boundaries.
            let start = self.pos;
            while let Some(b) = self.peek() {
                if matches!(b, b'"' | b'\\' | b'\n') {
                    break;
                }
                self.bump();
            }
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.bump();
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.bump();
                    out.push(self.escape()?);
                }
                _ => return Err(unclosed()),
            }
        }
    }

    /// The character of an escape whose backslash has been consumed.
    fn escape(&mut self) -> Result<char, SyntaxError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.bump();
                let hi = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    if self.peek() != Some(b'\\') || self.bytes.get(self.pos + 1) != Some(&b'u') {
                        return Err(self.error("unpaired UTF-16 surrogate in \\u escape".into()));
                    }
                    self.bump();
                    self.bump();
                    let lo = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(self.error("unpaired UTF-16 surrogate in \\u escape".into()));
                    }
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                return char::from_u32(code)
                    .ok_or_else(|| self.error("unpaired UTF-16 surrogate in \\u escape".into()));
            }
            _ => {
                return Err(self.error(format!(
                    "invalid escape: backslash followed by {}",
                    self.describe_next()
                )))
            }
        };
        self.bump();
        Ok(c)
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut v = 0;
        for _ in 0..4 {
            let d = self
                .peek()
                .and_then(|b| (b as char).to_digit(16))
                .ok_or_else(|| self.error("\\u must be followed by 4 hex digits".into()))?;
            v = v * 16 + d;
            self.bump();
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<Kind, SyntaxError> {
        let (line, column) = (self.line, self.column);
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        ) {
            self.bump();
        }
        let token = &self.text[start..self.pos];
        let bad = |what: &str| SyntaxError {
            line,
            column,
            message: format!("{what}: `{token}`"),
        };
        let digits = token.strip_prefix('-').unwrap_or(token);
        if !digits.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(bad("invalid number"));
        }
        if token.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            if token[1..].contains('-') {
                return Err(bad("invalid number"));
            }
            return token
                .parse::<i64>()
                .map(Kind::Int)
                .map_err(|_| bad("integer out of range"));
        }
        match token.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Kind::Float(x)),
            Ok(_) => Err(bad("number out of range")),
            Err(_) => Err(bad("invalid number")),
        }
    }

    fn literal(&mut self, word: &str, kind: Kind) -> Result<Kind, SyntaxError> {
        let end = self.pos + word.len();
        let follows_ident = self
            .bytes
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
        if self.bytes.get(self.pos..end) != Some(word.as_bytes()) || follows_ident {
            return Err(self.error(format!(
                "expected a value, found {} (strings need double quotes)",
                self.describe_next()
            )));
        }
        for _ in 0..word.len() {
            self.bump();
        }
        Ok(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: &Value) -> &[Member] {
        match &v.kind {
            Kind::Object(m) => m,
            other => panic!("not an object: {other:?}"),
        }
    }

    #[test]
    fn plain_json() {
        let v = parse(
            r#"{"a": 1, "b": [true, false, null], "c": "x\"y\u00e9\ud83d\ude00", "d": -2.5e1}"#,
        )
        .unwrap();
        let m = obj(&v);
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].value.kind, Kind::Int(1));
        assert_eq!(
            m[1].value.kind,
            Kind::Array(vec![
                Value {
                    line: 1,
                    column: 16,
                    kind: Kind::Bool(true)
                },
                Value {
                    line: 1,
                    column: 22,
                    kind: Kind::Bool(false)
                },
                Value {
                    line: 1,
                    column: 29,
                    kind: Kind::Null
                },
            ])
        );
        assert_eq!(m[2].value.kind, Kind::Str("x\"y\u{e9}\u{1F600}".to_owned()));
        assert_eq!(m[3].value.kind, Kind::Float(-25.0));
    }

    #[test]
    fn comments_trailing_commas_and_lines() {
        let text = "/* head\n comment */ {\n  // line comment\n  \"a\": [1, 2,],\n  \"b\": { \"c\": 3, },\n}\n// tail";
        let v = parse(text).unwrap();
        let m = obj(&v);
        assert_eq!((m[0].key.as_str(), m[0].line), ("a", 4));
        assert_eq!((m[1].key.as_str(), m[1].line), ("b", 5));
        assert_eq!(m[1].value.line, 5);
        assert_eq!(v.line, 2);
    }

    #[test]
    fn repeated_keys_are_kept_in_order() {
        let v = parse(r#"{"run": 1, "sleep": 2, "run": 3}"#).unwrap();
        let keys: Vec<(&str, &Kind)> = obj(&v)
            .iter()
            .map(|m| (m.key.as_str(), &m.value.kind))
            .collect();
        assert_eq!(
            keys,
            [
                ("run", &Kind::Int(1)),
                ("sleep", &Kind::Int(2)),
                ("run", &Kind::Int(3))
            ]
        );
    }

    #[test]
    fn errors_have_positions() {
        let cases: &[(&str, u32, &str)] = &[
            ("{\n\"a\": 1\n\"b\": 2}", 3, "expected `,` or `}`"),
            ("{\n  \"a\": tru }", 2, "expected a value"),
            ("{\"a\": 1", 1, "never closed"),
            ("{\n\"a\": [1,\n2", 2, "array `[` is never closed"),
            ("/* open", 1, "never closed"),
            ("{\"a\n\": 1}", 1, "not closed"),
            ("{\"a\": 01-2}", 1, "invalid number"),
            ("{\"a\": 99999999999999999999}", 1, "out of range"),
            ("{\"a\": 1} x", 1, "after the end"),
            ("{,}", 1, "expected a quoted key"),
            ("[1,,2]", 1, "expected a value"),
            ("{\"a\": \"\\ud800\"}", 1, "surrogate"),
            ("{\"a\": \"\\q\"}", 1, "invalid escape"),
            ("", 1, "expected a value, found end of file"),
            ("{\"a\" 1}", 1, "expected `:`"),
            ("{\"a\": / }", 1, "lone `/`"),
            ("{\"a\": 1e999}", 1, "out of range"),
            ("{\"a\": -}", 1, "invalid number"),
        ];
        for &(text, line, needle) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = "[".repeat(100_000);
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("nested deeper"), "{e}");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        parse(&ok).unwrap();
    }

    #[test]
    fn columns_count_characters() {
        let e = parse("{\"é\": x}").unwrap_err();
        assert_eq!((e.line, e.column), (1, 7));
    }
}
