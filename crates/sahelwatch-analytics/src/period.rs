//! Calendar periods: the buckets of a trend (ISO week, month, quarter,
//! half-year, year), the labels analysts write ("2024-H1", "2024-Q3",
//! "2024-W05", "2024-03", "2024") and spans of days between two dates.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Serialize;

/// The length of one bucket of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// ISO 8601 week, Monday to Sunday.
    Week,
    Month,
    Quarter,
    /// January-June or July-December.
    Half,
    Year,
}

impl Period {
    pub const ALL: [Period; 5] = [
        Period::Week,
        Period::Month,
        Period::Quarter,
        Period::Half,
        Period::Year,
    ];

    pub fn parse(s: &str) -> Result<Period, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "week" | "weeks" | "w" => Period::Week,
            "month" | "months" | "m" => Period::Month,
            "quarter" | "quarters" | "q" => Period::Quarter,
            "half" | "halves" | "half-year" | "half_year" | "h" => Period::Half,
            "year" | "years" | "y" => Period::Year,
            _ => {
                return Err(format!(
                    "'{s}' is not a period (use week, month, quarter, half or year)"
                ));
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Period::Week => "week",
            Period::Month => "month",
            Period::Quarter => "quarter",
            Period::Half => "half",
            Period::Year => "year",
        }
    }

    /// The first day of the bucket holding `d`.
    pub fn start(self, d: NaiveDate) -> NaiveDate {
        let ymd = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d);
        match self {
            Period::Week => d - Duration::days(d.weekday().num_days_from_monday() as i64),
            Period::Month => ymd(d.year(), d.month()),
            Period::Quarter => ymd(d.year(), (d.month0() / 3) * 3 + 1),
            Period::Half => ymd(d.year(), (d.month0() / 6) * 6 + 1),
            Period::Year => ymd(d.year(), 1),
        }
    }

    /// The first day of the bucket after the one starting at `start`.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        let months = match self {
            Period::Week => return start + Duration::days(7),
            Period::Month => 1,
            Period::Quarter => 3,
            Period::Half => 6,
            Period::Year => 12,
        };
        start
            .checked_add_months(chrono::Months::new(months))
            .unwrap_or(NaiveDate::MAX)
    }

    /// The first day of the bucket `n` buckets before the one starting at `start`.
    pub fn back(self, start: NaiveDate, n: u32) -> NaiveDate {
        let months = match self {
            Period::Week => return start - Duration::days(7 * n as i64),
            Period::Month => n,
            Period::Quarter => 3 * n,
            Period::Half => 6 * n,
            Period::Year => 12 * n,
        };
        start
            .checked_sub_months(chrono::Months::new(months))
            .unwrap_or(NaiveDate::MIN)
    }

    /// The bucket starting at `start` as a span with its label.
    pub fn bucket(self, start: NaiveDate) -> Span {
        let to = self.next(start).pred_opt().unwrap_or(start);
        Span {
            from: start,
            to,
            label: self.label(start),
        }
    }

    /// "2024-W05" (ISO week-numbering year), "2024-03", "2024-Q1", "2024-H1", "2024".
    pub fn label(self, start: NaiveDate) -> String {
        match self {
            Period::Week => {
                let w = start.iso_week();
                format!("{:04}-W{:02}", w.year(), w.week())
            }
            Period::Month => format!("{:04}-{:02}", start.year(), start.month()),
            Period::Quarter => format!("{:04}-Q{}", start.year(), start.month0() / 3 + 1),
            Period::Half => format!("{:04}-H{}", start.year(), start.month0() / 6 + 1),
            Period::Year => format!("{:04}", start.year()),
        }
    }

    /// How many buckets overlap `from..=to` (0 when `to < from`), computed
    /// without listing them.
    pub fn count(self, from: NaiveDate, to: NaiveDate) -> usize {
        if to < from {
            return 0;
        }
        let months = |d: NaiveDate| d.year() as i64 * 12 + d.month0() as i64;
        let n = match self {
            Period::Week => (self.start(to) - self.start(from)).num_days() / 7,
            Period::Month => months(to) - months(from),
            Period::Quarter => months(to) / 3 - months(from) / 3,
            Period::Half => months(to) / 6 - months(from) / 6,
            Period::Year => (to.year() - from.year()) as i64,
        };
        n as usize + 1
    }

    /// Every bucket overlapping `from..=to`, in order (the first and last
    /// may extend beyond the range).
    pub fn buckets(self, from: NaiveDate, to: NaiveDate) -> Vec<Span> {
        let mut out = Vec::new();
        let mut s = self.start(from);
        while s <= to {
            out.push(self.bucket(s));
            let n = self.next(s);
            if n <= s {
                break;
            }
            s = n;
        }
        out
    }
}

/// Which of a list of sorted, disjoint spans holds each of a non-decreasing
/// sequence of days (incidents come from the index in day order): one pass
/// over both.
pub struct SpanCursor<'a> {
    spans: &'a [Span],
    k: usize,
}

impl<'a> SpanCursor<'a> {
    pub fn new(spans: &'a [Span]) -> Self {
        SpanCursor { spans, k: 0 }
    }

    /// The index of the span holding `day`, if any; days must not decrease
    /// from one call to the next.
    pub fn find(&mut self, day: NaiveDate) -> Option<usize> {
        while self.k < self.spans.len() && self.spans[self.k].to < day {
            self.k += 1;
        }
        (self.k < self.spans.len() && self.spans[self.k].from <= day).then_some(self.k)
    }
}

/// Inclusive days `from..=to` with the words a sentence uses for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Span {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Short label: "2024-H1", or "2024-01-01..2024-03-15".
    pub label: String,
}

impl Span {
    /// A span from two dates; refuses `to` before `from`.
    pub fn between(from: NaiveDate, to: NaiveDate) -> Result<Span, String> {
        if to < from {
            return Err(format!("the span ends ({to}) before it starts ({from})"));
        }
        Ok(Span {
            from,
            to,
            label: format!("{from}..{to}"),
        })
    }

    /// Parse "2024", "2024-H1", "2024-Q3", "2024-03", "2024-W05" or
    /// "2024-01-01..2024-03-15" (either end inclusive).
    pub fn parse(s: &str) -> Result<Span, String> {
        let t = s.trim();
        if let Some((a, b)) = t.split_once("..") {
            let d = |x: &str| {
                NaiveDate::parse_from_str(x.trim(), "%Y-%m-%d")
                    .ok()
                    .filter(|d| (1000..=9999).contains(&d.year()))
                    .ok_or_else(|| format!("'{}' is not a date (YYYY-MM-DD)", x.trim()))
            };
            return Span::between(d(a)?, d(b)?);
        }
        let bad = || {
            format!(
                "'{t}' is not a period (use 2024, 2024-H1, 2024-Q3, 2024-03, 2024-W05 or 2024-01-01..2024-03-15)"
            )
        };
        let (year, rest) = match t.split_once('-') {
            Some((y, r)) => (y, Some(r)),
            None => (t, None),
        };
        if year.len() != 4 {
            return Err(bad());
        }
        let year: i32 = year
            .parse()
            .ok()
            .filter(|y| (1000..=9999).contains(y))
            .ok_or_else(bad)?;
        let first = |m: u32| NaiveDate::from_ymd_opt(year, m, 1).ok_or_else(bad);
        let num = |x: &str, lo: u32, hi: u32| -> Result<u32, String> {
            let n: u32 = x.parse().map_err(|_| bad())?;
            if (lo..=hi).contains(&n) {
                Ok(n)
            } else {
                Err(bad())
            }
        };
        let Some(rest) = rest else {
            return Ok(Period::Year.bucket(first(1)?));
        };
        let upper = rest.to_ascii_uppercase();
        if let Some(h) = upper.strip_prefix('H') {
            let h = num(h, 1, 2)?;
            return Ok(Period::Half.bucket(first((h - 1) * 6 + 1)?));
        }
        if let Some(q) = upper.strip_prefix('Q') {
            let q = num(q, 1, 4)?;
            return Ok(Period::Quarter.bucket(first((q - 1) * 3 + 1)?));
        }
        if let Some(w) = upper.strip_prefix('W') {
            let w = num(w, 1, 53)?;
            let monday = NaiveDate::from_isoywd_opt(year, w, Weekday::Mon)
                .ok_or_else(|| format!("{year} has no ISO week {w}"))?;
            return Ok(Period::Week.bucket(monday));
        }
        if rest.len() == 2 {
            let m = num(rest, 1, 12)?;
            return Ok(Period::Month.bucket(first(m)?));
        }
        Err(bad())
    }

    /// True when the label is a calendar period ("2024-H1") that is exactly
    /// these days.
    fn is_calendar(&self) -> bool {
        !self.label.contains("..")
            && Span::parse(&self.label).is_ok_and(|p| p.from == self.from && p.to == self.to)
    }

    /// Number of days, both ends included.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The same period one year earlier: a calendar label keeps its form
    /// ("2024-H1" -> "2023-H1", "2024-W05" -> "2023-W05"); other spans move
    /// by twelve months (29 February becomes 28 February).
    pub fn year_before(&self) -> Span {
        if self.is_calendar()
            && let Ok(year) = self.label[..4].parse::<i32>()
            && let Ok(prev) = Span::parse(&format!("{:04}{}", year - 1, &self.label[4..]))
        {
            return prev;
        }
        let shift = |d: NaiveDate| {
            d.checked_sub_months(chrono::Months::new(12))
                .unwrap_or(NaiveDate::MIN)
        };
        let (from, to) = (shift(self.from), shift(self.to));
        Span {
            from,
            to,
            label: format!("{from}..{to}"),
        }
    }

    /// Words for the span in a sentence: "the first half of 2024", "the
    /// third quarter of 2024", "March 2024", "week 5 of 2024", "2024", or
    /// "the period from 1 January 2024 to 15 March 2024".
    pub fn words(&self) -> String {
        if self.is_calendar() {
            let year = &self.label[..4];
            let rest = self.label.get(5..).unwrap_or("");
            let ordinal = |n: &str| match n {
                "1" => "first",
                "2" => "second",
                "3" => "third",
                _ => "fourth",
            };
            if rest.is_empty() {
                return year.to_string();
            }
            if let Some(h) = rest.strip_prefix('H') {
                return format!("the {} half of {year}", ordinal(h));
            }
            if let Some(q) = rest.strip_prefix('Q') {
                return format!("the {} quarter of {year}", ordinal(q));
            }
            if let Some(w) = rest.strip_prefix('W') {
                return format!("week {} of {year}", w.trim_start_matches('0'));
            }
            return self.from.format("%B %Y").to_string();
        }
        let day = |d: NaiveDate| format!("{} {}", d.day(), d.format("%B %Y"));
        if self.from == self.to {
            return day(self.from);
        }
        format!("the period from {} to {}", day(self.from), day(self.to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn buckets_start_where_the_calendar_says() {
        let day = d("2024-08-15"); // a Thursday
        assert_eq!(Period::Week.start(day), d("2024-08-12"));
        assert_eq!(Period::Month.start(day), d("2024-08-01"));
        assert_eq!(Period::Quarter.start(day), d("2024-07-01"));
        assert_eq!(Period::Half.start(day), d("2024-07-01"));
        assert_eq!(Period::Year.start(day), d("2024-01-01"));
        assert_eq!(Period::Quarter.next(d("2024-10-01")), d("2025-01-01"));
        assert_eq!(Period::Half.back(d("2024-01-01"), 1), d("2023-07-01"));
    }

    #[test]
    fn labels_follow_iso_weeks_and_calendar_names() {
        // 2021-01-03 is a Sunday in ISO week 53 of 2020.
        let w = Period::Week.start(d("2021-01-03"));
        assert_eq!(Period::Week.label(w), "2020-W53");
        assert_eq!(Period::Half.label(d("2024-07-01")), "2024-H2");
        assert_eq!(Period::Quarter.label(d("2024-04-01")), "2024-Q2");
        let b = Period::Month.buckets(d("2024-01-15"), d("2024-03-01"));
        let labels: Vec<&str> = b.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["2024-01", "2024-02", "2024-03"]);
        assert_eq!(b[1].to, d("2024-02-29"));
        for p in Period::ALL {
            for (a, z) in [
                ("2019-12-30", "2024-03-01"),
                ("2024-01-01", "2024-01-01"),
                ("2021-01-03", "2021-01-04"),
            ] {
                assert_eq!(
                    p.count(d(a), d(z)),
                    p.buckets(d(a), d(z)).len(),
                    "{p:?} {a} {z}"
                );
            }
        }
        assert_eq!(Period::Month.count(d("2024-02-01"), d("2024-01-01")), 0);
        let spans = [
            Span::parse("2024-01").unwrap(),
            Span::parse("2024-03").unwrap(),
        ];
        let mut c = SpanCursor::new(&spans);
        let found: Vec<Option<usize>> = [
            "2023-12-31",
            "2024-01-31",
            "2024-02-10",
            "2024-03-01",
            "2024-04-01",
        ]
        .iter()
        .map(|x| c.find(d(x)))
        .collect();
        assert_eq!(found, [None, Some(0), None, Some(1), None]);
    }

    #[test]
    fn spans_parse_every_label_and_name_what_is_wrong() {
        assert_eq!(Span::parse("2024-H1").unwrap().to, d("2024-06-30"));
        assert_eq!(Span::parse("2024-q3").unwrap().from, d("2024-07-01"));
        assert_eq!(Span::parse("2024-W01").unwrap().from, d("2024-01-01"));
        assert_eq!(Span::parse("2024-02").unwrap().days(), 29);
        assert_eq!(Span::parse("2023").unwrap().days(), 365);
        let r = Span::parse("2024-01-01..2024-03-15").unwrap();
        assert_eq!((r.from, r.to), (d("2024-01-01"), d("2024-03-15")));
        assert!(Span::parse("2024-H3").unwrap_err().contains("2024-H3"));
        assert!(Span::parse("2024-13").is_err());
        assert!(
            Span::parse("2023-W53")
                .unwrap_err()
                .contains("no ISO week 53")
        );
        assert!(
            Span::parse("2024-03-15..2024-01-01")
                .unwrap_err()
                .contains("before it starts")
        );
        assert!(
            Span::parse("2024-01-01..soon")
                .unwrap_err()
                .contains("'soon'")
        );
    }

    #[test]
    fn spans_read_as_words_and_shift_a_year() {
        assert_eq!(
            Span::parse("2024-H1").unwrap().words(),
            "the first half of 2024"
        );
        assert_eq!(
            Span::parse("2024-Q3").unwrap().words(),
            "the third quarter of 2024"
        );
        assert_eq!(Span::parse("2024-03").unwrap().words(), "March 2024");
        assert_eq!(Span::parse("2024-W05").unwrap().words(), "week 5 of 2024");
        assert_eq!(
            Span::parse("2024-01-01..2024-03-15").unwrap().words(),
            "the period from 1 January 2024 to 15 March 2024"
        );
        let prev = Span::parse("2024-H1").unwrap().year_before();
        assert_eq!(prev.label, "2023-H1");
        assert_eq!(prev.to, d("2023-06-30"));
        let odd = Span::between(d("2024-02-29"), d("2024-03-10")).unwrap();
        assert_eq!(odd.year_before().from, d("2023-02-28"));
    }
}
