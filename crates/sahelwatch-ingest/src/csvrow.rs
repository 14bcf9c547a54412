//! Shared CSV plumbing: header maps, typed field access with error context.

use csv::ByteRecord;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::fmt;

/// Why one row was refused: the line it starts on, the column and value at
/// fault when there is one, and a reason a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowIssue {
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub reason: String,
}

impl fmt::Display for RowIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(c) = &self.column {
            write!(f, ", column {c}")?;
        }
        if let Some(v) = &self.value {
            write!(f, ", value '{v}'")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// A problem with a file as a whole.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty: expected a header line")]
    Empty,
    #[error("the header is not valid UTF-8")]
    HeaderNotUtf8,
    #[error("this is not {format}: the header lacks the column(s) {missing}")]
    MissingColumns {
        format: &'static str,
        missing: String,
    },
    #[error("line {line}: {reason}")]
    Line { line: u64, reason: String },
    #[error("could not read the file: {0}")]
    Io(#[from] std::io::Error),
}

/// A column resolved once per file: its name (for messages) and position.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub name: &'static str,
    pub idx: Option<usize>,
}

/// Declare a struct of [`Col`]s resolved from a header, one per field name.
macro_rules! column_set {
    ($(#[$meta:meta])* $name:ident { $($field:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        pub(crate) struct $name { $(pub $field: $crate::csvrow::Col),+ }

        impl $name {
            pub fn resolve(cols: &$crate::csvrow::Columns) -> Self {
                $name { $($field: cols.col(stringify!($field))),+ }
            }
        }
    };
}
pub(crate) use column_set;

/// Column name -> index, with the header names kept for `original`.
#[derive(Debug, Clone)]
pub struct Columns {
    pub names: Vec<String>,
    index: FxHashMap<String, usize>,
}

impl Columns {
    pub fn from_header(header: &ByteRecord) -> Result<Self, FileError> {
        let mut names = Vec::with_capacity(header.len());
        for (i, f) in header.iter().enumerate() {
            let s = std::str::from_utf8(f).map_err(|_| FileError::HeaderNotUtf8)?;
            let s = if i == 0 {
                s.trim_start_matches('\u{feff}')
            } else {
                s
            };
            names.push(s.trim().to_ascii_lowercase());
        }
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Ok(Columns { names, index })
    }

    pub fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    pub fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn col(&self, name: &'static str) -> Col {
        Col {
            name,
            idx: self.get(name),
        }
    }

    pub fn require(&self, format: &'static str, names: &[&str]) -> Result<(), FileError> {
        let missing: Vec<&str> = names.iter().copied().filter(|n| !self.has(n)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(FileError::MissingColumns {
                format,
                missing: missing.join(", "),
            })
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }
}

/// One record with its line number, giving typed access to fields by name.
/// Building it checks the field count and UTF-8 of every field, once.
pub struct Row<'a> {
    pub line: u64,
    pub cols: &'a Columns,
    fields: Vec<&'a str>,
}

impl<'a> Row<'a> {
    /// Check the field count and UTF-8 of a record, then wrap it.
    pub fn new(line: u64, rec: &'a ByteRecord, cols: &'a Columns) -> Result<Row<'a>, RowIssue> {
        if rec.len() != cols.len() {
            return Err(RowIssue {
                line,
                column: None,
                value: None,
                reason: format!("expected {} fields, found {}", cols.len(), rec.len()),
            });
        }
        let mut fields = Vec::with_capacity(rec.len());
        for (i, f) in rec.iter().enumerate() {
            match std::str::from_utf8(f) {
                Ok(t) => fields.push(t),
                Err(e) => {
                    return Err(RowIssue {
                        line,
                        column: Some(cols.names[i].clone()),
                        value: Some(String::from_utf8_lossy(&f[..f.len().min(80)]).into_owned()),
                        reason: format!("invalid UTF-8 at byte {} of the field", e.valid_up_to()),
                    });
                }
            }
        }
        Ok(Row { line, cols, fields })
    }

    pub fn issue(&self, col: Col, value: &str, reason: impl Into<String>) -> RowIssue {
        self.issue_named(col.name, value, reason)
    }

    pub fn issue_named(&self, column: &str, value: &str, reason: impl Into<String>) -> RowIssue {
        RowIssue {
            line: self.line,
            column: Some(column.to_string()),
            value: Some(truncate(value, 80)),
            reason: reason.into(),
        }
    }

    /// The trimmed text of a column ("" when the column is absent).
    pub fn text(&self, col: Col) -> &'a str {
        match col.idx {
            Some(i) => self.fields[i].trim(),
            None => "",
        }
    }

    /// The trimmed text of the column at position `i`.
    pub fn at(&self, i: usize) -> &'a str {
        self.fields.get(i).map(|t| t.trim()).unwrap_or("")
    }

    pub fn opt_string(&self, name: Col) -> Option<String> {
        let t = self.text(name);
        (!t.is_empty()).then(|| t.to_string())
    }

    pub fn required(&self, name: Col) -> Result<&'a str, RowIssue> {
        let t = self.text(name);
        if t.is_empty() {
            Err(self.issue(name, t, "is empty"))
        } else {
            Ok(t)
        }
    }

    /// An integer, accepting an integral float such as "300380.0" (as some
    /// tools write UCDP ids).
    pub fn int(&self, name: Col) -> Result<i64, RowIssue> {
        let t = self.required(name)?;
        parse_int(t).ok_or_else(|| self.issue(name, t, "is not a whole number"))
    }

    pub fn opt_int(&self, name: Col) -> Result<Option<i64>, RowIssue> {
        let t = self.text(name);
        if t.is_empty() {
            return Ok(None);
        }
        parse_int(t)
            .map(Some)
            .ok_or_else(|| self.issue(name, t, "is not a whole number"))
    }

    pub fn count(&self, name: Col) -> Result<u32, RowIssue> {
        let n = self.int(name)?;
        u32::try_from(n)
            .map_err(|_| self.issue(name, self.text(name), "must be a whole number >= 0"))
    }

    pub fn float(&self, name: Col) -> Result<f64, RowIssue> {
        let t = self.required(name)?;
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(self.issue(name, t, "is not a number")),
        }
    }

    pub fn list(&self, name: Col) -> Vec<String> {
        split_list(self.text(name))
    }
}

pub fn parse_int(t: &str) -> Option<i64> {
    if let Ok(v) = t.parse::<i64>() {
        return Some(v);
    }
    let f: f64 = t.parse().ok()?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

/// Split an ACLED-style "a; b; c" list, dropping empty items.
pub fn split_list(t: &str) -> Vec<String> {
    t.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// Parse a date as ACLED and UCDP exports write them: ISO `2022-11-02`
/// (optionally followed by a time), `02 November 2022`, `02-November-2022`, `02-Nov-2022`.
pub fn parse_date(t: &str) -> Option<chrono::NaiveDate> {
    use chrono::NaiveDate;
    let iso = t
        .get(..10)
        .filter(|_| t.len() == 10 || matches!(t.as_bytes().get(10), Some(b' ' | b'T')));
    if let Some(d) = iso.and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()) {
        return Some(d);
    }
    ["%d %B %Y", "%d-%B-%Y", "%d-%b-%Y", "%d %b %Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
}

/// Open a CSV reader the way both readers want it: flexible row lengths (we
/// check them ourselves to report the line), no header handling.
pub fn csv_reader<R: std::io::Read>(r: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(r)
}

/// Read the header record, refusing an empty file.
pub fn read_header<R: std::io::Read>(rdr: &mut csv::Reader<R>) -> Result<ByteRecord, FileError> {
    let mut header = ByteRecord::new();
    match rdr.read_byte_record(&mut header) {
        Ok(true) => Ok(header),
        Ok(false) => Err(FileError::Empty),
        Err(e) => Err(csv_error(e)),
    }
}

pub fn csv_error(e: csv::Error) -> FileError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.into_kind() {
        csv::ErrorKind::Io(io) => FileError::Io(io),
        other => FileError::Line {
            line,
            reason: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_formats_exports_use() {
        let d = chrono::NaiveDate::from_ymd_opt(2022, 11, 2).unwrap();
        for s in [
            "2022-11-02",
            "02 November 2022",
            "02-November-2022",
            "02-Nov-2022",
            "2022-11-02 00:00:00.000",
        ] {
            assert_eq!(parse_date(s), Some(d), "{s}");
        }
        for s in ["2022-13-02", "11/02/2022", "2022-11-0", "yesterday", ""] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }

    #[test]
    fn integral_floats_are_integers() {
        assert_eq!(parse_int("300380.0"), Some(300380));
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_int("3.5"), None);
        assert_eq!(parse_int("x"), None);
    }
}
