//! Period-over-period change: which two spans to compare, the change in
//! percent, ACLED's early-warning band and a sentence a brief can quote.

use crate::period::{Period, Span};
use crate::round1;
use chrono::{Duration, NaiveDate};
use serde::Serialize;

/// Which two spans of days to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// "2024-H1 vs 2023-H1", "2024-01-01..2024-03-31 vs 2023-01-01..2023-03-31".
    Spans { current: Span, previous: Span },
    /// "last 4 weeks": the `n` periods of days ending on the reference day,
    /// against the `n` before them.
    Last { n: u32, period: Period },
    /// "this month vs last year": the period holding the reference day, up
    /// to that day, against the same days one year earlier.
    SameLastYear { period: Period },
}

const SYNTAX: &str = "use '2024-H1 vs 2023-H1', 'last 4 weeks' or 'this month vs last year'";

impl Comparison {
    pub fn parse(s: &str) -> Result<Comparison, String> {
        let t = s.trim().to_ascii_lowercase();
        let words: Vec<&str> = t.split_whitespace().collect();
        match words.as_slice() {
            ["last", rest @ ..] if !rest.is_empty() && rest.len() <= 2 => {
                let (n, unit) = match rest {
                    [unit] => (1, *unit),
                    [n, unit] => (
                        n.parse::<u32>()
                            .ok()
                            .filter(|n| (1..=520).contains(n))
                            .ok_or_else(|| {
                                format!("'{n}' in '{s}' is not a count of periods from 1 to 520")
                            })?,
                        *unit,
                    ),
                    _ => unreachable!("one or two words"),
                };
                Ok(Comparison::Last {
                    n,
                    period: Period::parse(unit).map_err(|e| format!("in '{s}': {e}"))?,
                })
            }
            ["this", unit, "vs", "last", "year"] | ["same", unit, "last", "year"] => {
                Ok(Comparison::SameLastYear {
                    period: Period::parse(unit).map_err(|e| format!("in '{s}': {e}"))?,
                })
            }
            _ => {
                let Some((a, b)) = s.split_once(" vs ") else {
                    return Err(format!("'{s}' is not a comparison ({SYNTAX})"));
                };
                Ok(Comparison::Spans {
                    current: Span::parse(a)?,
                    previous: Span::parse(b)?,
                })
            }
        }
    }

    /// The (current, previous) spans, with `as_of` the reference day of the
    /// relative forms.
    pub fn resolve(&self, as_of: NaiveDate) -> (Span, Span) {
        match self {
            Comparison::Spans { current, previous } => (current.clone(), previous.clone()),
            Comparison::Last { n, period } => {
                let back = |d: NaiveDate| period.back(d, *n);
                // The n periods ending on as_of: counted back from the day after,
                // so that "last quarter" on 30 June starts on 1 April.
                let from = back(as_of + Duration::days(1));
                let prev_from = back(from);
                let unit = if *n == 1 {
                    period.name().to_string()
                } else {
                    format!("{n} {}s", period.name())
                };
                let cur = Span {
                    from,
                    to: as_of,
                    label: format!("last {unit} to {as_of}"),
                };
                let prev = Span {
                    from: prev_from,
                    to: from - Duration::days(1),
                    label: format!("the {unit} before"),
                };
                (cur, prev)
            }
            Comparison::SameLastYear { period } => {
                let start = period.start(as_of);
                let full = period.bucket(start);
                let cur = if full.to == as_of {
                    full
                } else {
                    Span {
                        from: start,
                        to: as_of,
                        label: format!("{start}..{as_of}"),
                    }
                };
                let prev = cur.year_before();
                (cur, prev)
            }
        }
    }
}

/// ACLED's early-warning bands for a change in the number of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// More than +25 %.
    LargeIncrease,
    /// +10 % to +25 % (both included).
    ModerateIncrease,
    /// -25 % (included) to +10 % (excluded).
    LimitedChange,
    /// Less than -25 %.
    Decrease,
}

impl Band {
    pub fn of(percent: f64) -> Band {
        if percent > 25.0 {
            Band::LargeIncrease
        } else if percent >= 10.0 {
            Band::ModerateIncrease
        } else if percent >= -25.0 {
            Band::LimitedChange
        } else {
            Band::Decrease
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Band::LargeIncrease => "large increase",
            Band::ModerateIncrease => "moderate increase",
            Band::LimitedChange => "limited change",
            Band::Decrease => "decrease",
        }
    }
}

/// Events and fatalities in one span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
pub struct Totals {
    pub count: u64,
    pub fatalities: u64,
}

/// One span against another.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Change {
    pub current: Span,
    pub previous: Span,
    pub current_totals: Totals,
    pub previous_totals: Totals,
    /// Change in the number of events, percent, one decimal; absent when the
    /// previous span had none (no finite percentage exists).
    pub percent: Option<f64>,
    /// The same for fatalities.
    pub fatalities_percent: Option<f64>,
    /// ACLED's band for `percent`; absent with it.
    pub band: Option<Band>,
    /// One sentence a brief can quote.
    pub statement: String,
}

/// The change in percent, unrounded; `None` without a baseline.
fn percent(now: u64, before: u64) -> Option<f64> {
    (before > 0).then(|| (now as f64 - before as f64) / before as f64 * 100.0)
}

/// The change from `previous` to `current`. `subject` names what was counted
/// ("Security incidents"); `place` where ("in the Sahel").
pub fn change(
    subject: &str,
    place: &str,
    current: Span,
    current_totals: Totals,
    previous: Span,
    previous_totals: Totals,
) -> Change {
    let pct = percent(current_totals.count, previous_totals.count);
    let (now, before) = (current_totals.count, previous_totals.count);
    let (cw, pw) = (current.words(), previous.words());
    let statement = match pct {
        None if now == 0 => format!(
            "No {} were recorded {place} in {cw} or in {pw}.",
            subject.to_lowercase()
        ),
        None => format!(
            "{subject} {place} numbered {now} in {cw} against none in {pw}; no percentage change can be given."
        ),
        Some(p) if p.abs() < 0.5 => format!(
            "{subject} {place} were unchanged in {cw} compared with {pw} ({now} vs {before})."
        ),
        Some(p) => format!(
            "{subject} {place} {} {}% in {cw} compared with {pw} ({now} vs {before}).",
            if p > 0.0 { "rose" } else { "fell" },
            p.abs().round()
        ),
    };
    Change {
        current,
        previous,
        current_totals,
        previous_totals,
        percent: pct.map(round1),
        fatalities_percent: percent(current_totals.fatalities, previous_totals.fatalities)
            .map(round1),
        // The band of the exact change: +25.04% is a large increase.
        band: pct.map(Band::of),
        statement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn t(count: u64) -> Totals {
        Totals {
            count,
            fatalities: count * 2,
        }
    }

    #[test]
    fn bands_follow_acled_thresholds() {
        assert_eq!(Band::of(35.0), Band::LargeIncrease);
        assert_eq!(Band::of(25.0), Band::ModerateIncrease);
        assert_eq!(Band::of(10.0), Band::ModerateIncrease);
        assert_eq!(Band::of(9.9), Band::LimitedChange);
        assert_eq!(Band::of(-25.0), Band::LimitedChange);
        assert_eq!(Band::of(-25.1), Band::Decrease);
        // The band of the exact change, the sentence rounded half up.
        let s = Span::parse("2024").unwrap();
        let c = change(
            "Incidents",
            "in Mali",
            s.clone(),
            t(2503),
            s.year_before(),
            t(2000),
        );
        assert_eq!((c.percent, c.band), (Some(25.2), Some(Band::LargeIncrease)));
        let c = change(
            "Incidents",
            "in Mali",
            s.clone(),
            t(201),
            s.year_before(),
            t(200),
        );
        assert!(
            c.statement.contains("rose 1%") || c.statement.contains("unchanged"),
            "{}",
            c.statement
        );
        let c = change(
            "Incidents",
            "in Mali",
            s.clone(),
            t(250_050),
            s.year_before(),
            t(200_000),
        );
        assert_eq!(c.percent, Some(25.0), "25.025% reported as 25.0");
        assert_eq!(c.band, Some(Band::LargeIncrease), "but more than +25%");
    }

    #[test]
    fn the_statement_a_brief_quotes() {
        let (cur, prev) = Comparison::parse("2024-H1 vs 2023-H1")
            .unwrap()
            .resolve(d("2026-11-21"));
        let c = change(
            "Security incidents",
            "in the Sahel",
            cur,
            t(135),
            prev,
            t(100),
        );
        assert_eq!(c.percent, Some(35.0));
        assert_eq!(c.band, Some(Band::LargeIncrease));
        assert_eq!(
            c.statement,
            "Security incidents in the Sahel rose 35% in the first half of 2024 compared with the first half of 2023 (135 vs 100)."
        );
        let (cur, prev) = Comparison::parse("2024-03 vs 2024-02")
            .unwrap()
            .resolve(d("2026-11-21"));
        let c = change("Battles", "in Mali", cur, t(7), prev, t(10));
        assert_eq!(c.percent, Some(-30.0));
        assert_eq!(c.band, Some(Band::Decrease));
        assert!(
            c.statement
                .contains("fell 30% in March 2024 compared with February 2024 (7 vs 10)")
        );
    }

    #[test]
    fn empty_denominators_give_no_percent() {
        let s = Span::parse("2024").unwrap();
        let c = change(
            "Security incidents",
            "in Niger",
            s.clone(),
            t(4),
            s.year_before(),
            t(0),
        );
        assert_eq!((c.percent, c.band), (None, None));
        assert!(
            c.statement.contains("4 in 2024 against none in 2023"),
            "{}",
            c.statement
        );
        let c = change(
            "Security incidents",
            "in Niger",
            s.clone(),
            t(0),
            s.year_before(),
            t(0),
        );
        assert!(
            c.statement
                .starts_with("No security incidents were recorded in Niger")
        );
        let c = change(
            "Security incidents",
            "in Niger",
            s.clone(),
            t(0),
            s.year_before(),
            t(9),
        );
        assert_eq!(c.percent, Some(-100.0));
    }

    #[test]
    fn relative_comparisons_resolve_against_the_reference_day() {
        let (cur, prev) = Comparison::parse("last 4 weeks")
            .unwrap()
            .resolve(d("2024-06-30"));
        assert_eq!((cur.from, cur.to), (d("2024-06-03"), d("2024-06-30")));
        assert_eq!((prev.from, prev.to), (d("2024-05-06"), d("2024-06-02")));
        assert_eq!(cur.days(), 28);
        let (cur, prev) = Comparison::parse("this month vs last year")
            .unwrap()
            .resolve(d("2024-03-31"));
        assert_eq!(cur.label, "2024-03");
        assert_eq!(prev.label, "2023-03");
        let (cur, prev) = Comparison::parse("same month last year")
            .unwrap()
            .resolve(d("2024-03-10"));
        assert_eq!((cur.from, cur.to), (d("2024-03-01"), d("2024-03-10")));
        assert_eq!((prev.from, prev.to), (d("2023-03-01"), d("2023-03-10")));
        let (cur, prev) = Comparison::parse("last quarter")
            .unwrap()
            .resolve(d("2024-06-30"));
        assert_eq!(
            (cur.from, prev.from, prev.to),
            (d("2024-04-01"), d("2024-01-01"), d("2024-03-31"))
        );
    }

    #[test]
    fn bad_comparisons_name_the_problem() {
        assert!(
            Comparison::parse("last 0 weeks")
                .unwrap_err()
                .contains("'0'")
        );
        assert!(
            Comparison::parse("last 4 fortnights")
                .unwrap_err()
                .contains("fortnights")
        );
        assert!(
            Comparison::parse("2024-H3 vs 2023-H1")
                .unwrap_err()
                .contains("2024-H3")
        );
        assert!(
            Comparison::parse("sometime")
                .unwrap_err()
                .contains("'sometime'")
        );
    }
}
