//! GeoNames dumps: `allCountries.txt`, per-country `XX.txt`, `cities500.txt`
//! and extracts in the same 19 tab-separated columns, no header:
//! geonameid, name, asciiname, alternatenames (comma-separated), latitude,
//! longitude, feature class, feature code, country code, cc2, admin1, admin2,
//! admin3, admin4, population, elevation, dem, timezone, modification date.

use crate::csvrow::{FileError, RowIssue, truncate};
use sahelwatch_core::{CountryCode, Place};
use std::io::BufRead;

/// Streaming reader of a GeoNames dump.
pub struct GeonamesReader<R: BufRead> {
    r: R,
    line: u64,
    bytes: u64,
    buf: Vec<u8>,
    fatal: Option<FileError>,
}

impl<R: BufRead> GeonamesReader<R> {
    pub fn new(r: R) -> Self {
        GeonamesReader {
            r,
            line: 0,
            bytes: 0,
            buf: Vec::new(),
            fatal: None,
        }
    }

    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Line number of the line read last (1-based).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Set when reading stopped on an I/O error: discard the whole import.
    pub fn fatal_error(&mut self) -> Option<FileError> {
        self.fatal.take()
    }
}

fn issue(line: u64, column: &str, value: &str, reason: &str) -> RowIssue {
    RowIssue {
        line,
        column: Some(column.to_string()),
        value: Some(truncate(value, 80)),
        reason: reason.to_string(),
    }
}

/// Parse one line of a dump.
pub fn parse_line(line_no: u64, line: &str) -> Result<Place, RowIssue> {
    let f: Vec<&str> = line.split('\t').collect();
    if f.len() != 19 {
        return Err(RowIssue {
            line: line_no,
            column: None,
            value: None,
            reason: format!("expected 19 tab-separated fields, found {}", f.len()),
        });
    }
    let id: i64 = f[0]
        .parse()
        .map_err(|_| issue(line_no, "geonameid", f[0], "is not a whole number"))?;
    let coord = |i: usize, name: &str, max: f64| -> Result<f64, RowIssue> {
        match f[i].parse::<f64>() {
            Ok(v) if v.is_finite() && v.abs() <= max => Ok(v),
            Ok(_) => Err(issue(
                line_no,
                name,
                f[i],
                &format!("is outside -{max}..{max}"),
            )),
            Err(_) => Err(issue(line_no, name, f[i], "is not a number")),
        }
    };
    let latitude = coord(4, "latitude", 90.0)?;
    let longitude = coord(5, "longitude", 180.0)?;
    if f[1].trim().is_empty() {
        return Err(issue(line_no, "name", f[1], "is empty"));
    }
    let country = match f[8].trim() {
        "" => None,
        cc => Some(
            CountryCode::parse(cc)
                .ok_or_else(|| issue(line_no, "country code", cc, "is not an ISO 3166-1 code"))?,
        ),
    };
    let population = match f[14].trim() {
        "" => 0,
        p => p
            .parse()
            .map_err(|_| issue(line_no, "population", p, "is not a whole number"))?,
    };
    Ok(Place {
        id,
        name: f[1].trim().to_string(),
        ascii_name: f[2].trim().to_string(),
        alternate_names: f[3]
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        latitude,
        longitude,
        feature_class: f[6].trim().to_string(),
        feature_code: f[7].trim().to_string(),
        country,
        admin1_code: f[10].trim().to_string(),
        admin2_code: f[11].trim().to_string(),
        population,
        elevation: f[15].trim().parse().ok(),
        timezone: f[17].trim().to_string(),
        modified: chrono::NaiveDate::parse_from_str(f[18].trim(), "%Y-%m-%d").ok(),
    })
}

impl<R: BufRead> Iterator for GeonamesReader<R> {
    type Item = Result<Place, RowIssue>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            match self.r.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(n) => {
                    self.bytes += n as u64;
                    self.line += 1;
                }
                Err(e) => {
                    self.fatal = Some(FileError::Io(e));
                    return None;
                }
            }
            let raw = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.is_empty() || raw.starts_with(b"#") {
                continue;
            }
            return Some(match std::str::from_utf8(raw) {
                Ok(s) => parse_line(self.line, s),
                Err(e) => Err(RowIssue {
                    line: self.line,
                    column: None,
                    value: None,
                    reason: format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
                }),
            });
        }
    }
}

/// Check that a file looks like a GeoNames dump before reading it all.
pub fn check_first_line(first: &str) -> Result<(), FileError> {
    let n = first.split('\t').count();
    if n == 19 {
        Ok(())
    } else {
        Err(FileError::Line {
            line: 1,
            reason: format!(
                "this is not a GeoNames dump: expected 19 tab-separated fields, found {n}"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TERA: &str = "2438855\tTéra\tTera\tTera,Téra,Тера\t14.00776\t0.75306\tP\tPPLA2\tNE\t\t09\t\t\t\t21095\t\t230\tAfrica/Niamey\t2013-05-19";

    #[test]
    fn parses_a_real_line() {
        let p = parse_line(1, TERA).unwrap();
        assert_eq!(p.id, 2438855);
        assert_eq!(p.name, "Téra");
        assert_eq!(p.alternate_names.len(), 3);
        assert_eq!(p.population, 21095);
        assert_eq!(p.admin1_name(), Some("Tillabéri"));
    }

    #[test]
    fn reports_bad_lines_and_skips_blank_ones() {
        let text = format!("{TERA}\n\nbad line\n{}\n", TERA.replace("14.00776", "95"));
        let items: Vec<_> = GeonamesReader::new(std::io::Cursor::new(text)).collect();
        assert_eq!(items.len(), 3);
        assert!(items[0].is_ok());
        let e1 = items[1].as_ref().unwrap_err();
        assert_eq!((e1.line, e1.column.as_deref()), (3, None));
        let e2 = items[2].as_ref().unwrap_err();
        assert_eq!((e2.line, e2.column.as_deref()), (4, Some("latitude")));
    }
}
