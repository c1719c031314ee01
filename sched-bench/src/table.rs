//! `Table`: plain-text tables for the terminal (and for pasting into Markdown docs).
//!
//! Columns are padded to their widest cell; leading text columns (names, by default just the
//! first) are left-aligned, the rest right-aligned (numbers). Rows are separated by `|` so the output is also a valid Markdown
//! table.

use std::fmt;

/// A table of already-formatted cells.
#[derive(Debug)]
pub struct Table {
    /// Column titles.
    header: Vec<String>,
    /// Data rows; each as long as `header`.
    rows: Vec<Vec<String>>,
    /// How many leading columns are left-aligned text.
    text_columns: usize,
}

impl Table {
    /// A table with these column titles.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Table {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
            text_columns: 1,
        }
    }

    /// Left-aligns the first `n` columns (text) instead of only the first.
    pub fn text_columns(mut self, n: usize) -> Table {
        self.text_columns = n;
        self
    }

    /// Appends a row. Missing cells are left blank; extra cells are a programming error.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).collect();
        assert!(
            row.len() <= self.header.len(),
            "table row has {} cells but the table has {} columns",
            row.len(),
            self.header.len()
        );
        row.resize(self.header.len(), String::new());
        self.rows.push(row);
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|c| {
                std::iter::once(&self.header[c])
                    .chain(self.rows.iter().map(|r| &r[c]))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String]| -> fmt::Result {
            f.write_str("|")?;
            for (c, (cell, &w)) in cells.iter().zip(&widths).enumerate() {
                if c < self.text_columns {
                    write!(f, " {cell:<w$} |")?;
                } else {
                    write!(f, " {cell:>w$} |")?;
                }
            }
            writeln!(f)
        };
        line(f, &self.header)?;
        f.write_str("|")?;
        for (c, &w) in widths.iter().enumerate() {
            // Markdown alignment markers: names left, numbers right.
            let dashes = "-".repeat(w);
            if c < self.text_columns {
                write!(f, " {dashes} |")?;
            } else {
                write!(f, "-{dashes}:|")?;
            }
        }
        writeln!(f)?;
        for row in &self.rows {
            line(f, row)?;
        }
        Ok(())
    }
}

/// Formats a float with a precision that suits its magnitude: `12345`, `123.4`, `1.23`.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        "-".to_owned()
    } else if x.abs() >= 1000.0 {
        format!("{x:.0}")
    } else if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::{num, Table};

    #[test]
    fn pads_columns_and_marks_alignment() {
        let mut t = Table::new(["name", "ns"]);
        t.row(["spawn_many", "12.5"]);
        t.row(["x"]);
        let s = t.to_string();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "| name       |   ns |");
        assert_eq!(lines[1], "| ---------- |-----:|");
        assert_eq!(lines[2], "| spawn_many | 12.5 |");
        assert_eq!(lines[3], "| x          |      |");
    }

    #[test]
    fn number_precision_follows_magnitude() {
        assert_eq!(num(12345.6), "12346");
        assert_eq!(num(123.44), "123.4");
        assert_eq!(num(1.234), "1.23");
        assert_eq!(num(f64::NAN), "-");
    }
}
