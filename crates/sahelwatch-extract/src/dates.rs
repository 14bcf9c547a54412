//! Dates and times in report text, English and French, resolved against the
//! publication date.
//!
//! - absolute: "January 18, 2025", "18 January 2025", "18 janvier 2025",
//!   "1er août", "4 août" (the year, when missing, is the latest that does not
//!   put the date after publication), "2025-01-18", "18/01/2025" (day first);
//! - partial: "in March 2024", "en mars 2024", "early January", "fin juillet"
//!   (month precision);
//! - relative: "today", "yesterday", "hier", "avant-hier", "on Monday",
//!   "late Monday", "lundi soir", "samedi dernier", "dans la nuit de lundi à
//!   mardi", "two days ago", "il y a trois jours", "last week", "la semaine
//!   dernière", "last month", "le mois dernier".
//!
//! Each date carries ACLED's time precision (1 day, 2 week, 3 month), the
//! window it stands for, and a best single day (the day itself; the middle of
//! the window otherwise).

use crate::{Found, Span, without_overlaps};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use regex::{Captures, Regex};
use sahelwatch_core::Precision;
use serde::Serialize;
use std::sync::LazyLock;

/// How a date was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateKind {
    /// Day, month (and maybe year) written out.
    Absolute,
    /// A month (and maybe year) only.
    Partial,
    /// Relative to the publication date.
    Relative,
}

/// A date found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DateMention {
    /// The best single day.
    pub date: NaiveDate,
    /// The window the text allows, inclusive.
    pub earliest: NaiveDate,
    pub latest: NaiveDate,
    /// ACLED time precision: 1 day, 2 week, 3 month.
    #[serde(serialize_with = "precision_u8")]
    pub precision: Precision,
    pub kind: DateKind,
}

fn precision_u8<S: serde::Serializer>(p: &Precision, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(p.get())
}

impl DateMention {
    fn day(date: NaiveDate, kind: DateKind) -> DateMention {
        DateMention {
            date,
            earliest: date,
            latest: date,
            precision: Precision::EXACT,
            kind,
        }
    }

    fn window(
        earliest: NaiveDate,
        latest: NaiveDate,
        precision: Precision,
        kind: DateKind,
    ) -> DateMention {
        let mid = earliest + Duration::days((latest - earliest).num_days() / 2);
        DateMention {
            date: mid,
            earliest,
            latest,
            precision,
            kind,
        }
    }
}

const MONTHS: &str = r"january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec|janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[uû]t|septembre|octobre|novembre|d[ée]cembre|janv|f[ée]vr|avr|juil|d[ée]c";

fn month_number(name: &str) -> Option<u32> {
    let n = name
        .to_lowercase()
        .replace(['é', 'è'], "e")
        .replace('û', "u");
    let n = n.trim_end_matches('.');
    Some(match n {
        "january" | "jan" | "janvier" | "janv" => 1,
        "february" | "feb" | "fevrier" | "fevr" => 2,
        "march" | "mar" | "mars" => 3,
        "april" | "apr" | "avril" | "avr" => 4,
        "may" | "mai" => 5,
        "june" | "jun" | "juin" => 6,
        "july" | "jul" | "juillet" | "juil" => 7,
        "august" | "aug" | "aout" => 8,
        "september" | "sept" | "sep" | "septembre" => 9,
        "october" | "oct" | "octobre" => 10,
        "november" | "nov" | "novembre" => 11,
        "december" | "dec" | "decembre" => 12,
        _ => return None,
    })
}

const WEEKDAYS: &str = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche";

fn weekday(name: &str) -> Option<Weekday> {
    Some(match name.to_lowercase().as_str() {
        "monday" | "lundi" => Weekday::Mon,
        "tuesday" | "mardi" => Weekday::Tue,
        "wednesday" | "mercredi" => Weekday::Wed,
        "thursday" | "jeudi" => Weekday::Thu,
        "friday" | "vendredi" => Weekday::Fri,
        "saturday" | "samedi" => Weekday::Sat,
        "sunday" | "dimanche" => Weekday::Sun,
        _ => return None,
    })
}

fn small_number(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    Some(match s.to_lowercase().as_str() {
        "one" | "a" | "un" | "une" => 1,
        "two" | "deux" => 2,
        "three" | "trois" => 3,
        "four" | "quatre" => 4,
        "five" | "cinq" => 5,
        "six" => 6,
        "seven" | "sept" => 7,
        "eight" | "huit" => 8,
        "nine" | "neuf" => 9,
        "ten" | "dix" => 10,
        _ => return None,
    })
}

const NUMBER_WORDS: &str = r"\d{1,2}|a|one|two|three|four|five|six|seven|eight|nine|ten|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix";

struct Rule {
    re: Regex,
    resolve: fn(&Captures, NaiveDate) -> Option<(DateMention, f32)>,
}

fn rule(pattern: &str, resolve: fn(&Captures, NaiveDate) -> Option<(DateMention, f32)>) -> Rule {
    // Word boundaries are ASCII ones, so that the regex engine can use its
    // fast automaton on French text (a Unicode `\b` makes it fall back to a
    // backtracker on any accented haystack: 40% of extraction time); the
    // Unicode boundary at both ends of a match is checked in `extract`.
    let pattern = pattern
        .replace(r"\b", r"(?-u:\b)")
        .replace("MONTHS", MONTHS)
        .replace("WEEKDAYS", WEEKDAYS)
        .replace("NUMBER", NUMBER_WORDS);
    Rule {
        re: Regex::new(&format!("(?i){pattern}")).expect("date pattern"),
        resolve,
    }
}

/// The latest year that does not put (month, day) more than a week after
/// publication: news reports what happened, and may announce the next days.
fn infer_year(month: u32, day: u32, published: NaiveDate) -> Option<NaiveDate> {
    for y in [published.year() + 1, published.year(), published.year() - 1] {
        if let Some(d) = NaiveDate::from_ymd_opt(y, month, day)
            && published
                .checked_add_signed(Duration::days(7))
                .is_none_or(|limit| d <= limit)
        {
            return Some(d);
        }
    }
    None
}

/// A written-out day, with its year or the inferred one.
fn day_month_year(
    day: u32,
    month: u32,
    year: Option<regex::Match>,
    p: NaiveDate,
) -> Option<(DateMention, f32)> {
    Some(match year {
        Some(y) => (
            DateMention::day(
                NaiveDate::from_ymd_opt(y.as_str().parse().ok()?, month, day)?,
                DateKind::Absolute,
            ),
            0.95,
        ),
        None => (
            DateMention::day(infer_year(month, day, p)?, DateKind::Absolute),
            0.85,
        ),
    })
}

fn month_window(year: i32, month: u32) -> Option<DateMention> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    Some(DateMention::window(
        first,
        next - Duration::days(1),
        Precision::COARSE,
        DateKind::Partial,
    ))
}

/// The latest `wd` on or before `published` (the day itself included), or
/// strictly before it with `strictly`; `None` before the first day chrono
/// represents.
fn last_weekday(wd: Weekday, published: NaiveDate, strictly: bool) -> Option<NaiveDate> {
    let mut back = (published.weekday().num_days_from_monday() as i64
        - wd.num_days_from_monday() as i64)
        .rem_euclid(7);
    if back == 0 && strictly {
        back = 7;
    }
    published.checked_sub_signed(Duration::days(back))
}

/// `days` before `p`, if chrono represents that day.
fn days_before(p: NaiveDate, days: i64) -> Option<NaiveDate> {
    p.checked_sub_signed(Duration::days(days))
}

fn week_of(day: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let monday = days_before(day, day.weekday().num_days_from_monday() as i64)?;
    Some((monday, monday.checked_add_signed(Duration::days(6))?))
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // 2025-01-18
        rule(r"\b(\d{4})-(\d{2})-(\d{2})\b", |c, _| {
            let d = NaiveDate::from_ymd_opt(
                c[1].parse().ok()?,
                c[2].parse().ok()?,
                c[3].parse().ok()?,
            )?;
            Some((DateMention::day(d, DateKind::Absolute), 0.95))
        }),
        // 18/01/2025, 18.01.2025 (day first, as in francophone and most African sources)
        rule(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b", |c, _| {
            let d = NaiveDate::from_ymd_opt(
                c[3].parse().ok()?,
                c[2].parse().ok()?,
                c[1].parse().ok()?,
            )?;
            Some((DateMention::day(d, DateKind::Absolute), 0.85))
        }),
        // January 18, 2025 / Jan. 18 / January 18th
        rule(
            r"\b(MONTHS)\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(\d{4})\b)?",
            |c, p| day_month_year(c[2].parse().ok()?, month_number(&c[1])?, c.get(3), p),
        ),
        // 18 January 2025 / 18 janvier 2025 / 1er août / 4 août / 18th of January
        rule(
            r"\b(\d{1,2})(?:er|st|nd|rd|th)?\s+(?:of\s+)?(MONTHS)\b\.?(?:,?\s+(\d{4})\b)?",
            |c, p| day_month_year(c[1].parse().ok()?, month_number(&c[2])?, c.get(3), p),
        ),
        // March 2024 / mars 2024 / in March 2024
        rule(r"\b(MONTHS)\.?\s+(\d{4})\b", |c, _| {
            Some((
                month_window(c[2].parse().ok()?, month_number(&c[1])?)?,
                0.85,
            ))
        }),
        // in March / early January / fin juillet / en août / mi-mars
        rule(
            r"\b(?:in|during|early|late|mid-?|since|en|d[ée]but|fin|mi-?)\s*(?:de\s+|d')?(MONTHS)\b",
            |c, p| {
                let m = month_number(&c[1])?;
                let d = infer_year(m, 1, p)?;
                Some((month_window(d.year(), m)?, 0.7))
            },
        ),
        // today / this morning / tonight / aujourd'hui / ce matin / ce soir
        rule(
            r"\b(?:today|this\s+morning|this\s+afternoon|this\s+evening|tonight|aujourd'hui|aujourd’hui|ce\s+matin|cet\s+apr[èe]s-midi|ce\s+soir)\b",
            |_, p| Some((DateMention::day(p, DateKind::Relative), 0.85)),
        ),
        // the day before yesterday / avant-hier
        rule(
            r"\b(?:the\s+day\s+before\s+yesterday|avant-hier)\b",
            |_, p| {
                Some((
                    DateMention::day(days_before(p, 2)?, DateKind::Relative),
                    0.9,
                ))
            },
        ),
        // yesterday / last night / hier (soir)
        rule(r"\b(?:yesterday|last\s+night|hier)\b", |_, p| {
            Some((
                DateMention::day(days_before(p, 1)?, DateKind::Relative),
                0.9,
            ))
        }),
        // two days ago / il y a trois jours
        rule(
            r"\b(NUMBER)\s+days?\s+ago\b|\bil\s+y\s+a\s+(NUMBER)\s+jours?\b",
            |c, p| {
                let n = small_number(c.get(1).or(c.get(2))?.as_str())?;
                Some((
                    DateMention::day(days_before(p, n)?, DateKind::Relative),
                    0.85,
                ))
            },
        ),
        // last week / la semaine dernière
        rule(
            r"\blast\s+week\b|\bla\s+semaine\s+derni[èe]re\b|\bthe\s+previous\s+week\b",
            |_, p| {
                let (a, b) = week_of(days_before(p, 7)?)?;
                Some((
                    DateMention::window(a, b, Precision::NEAR, DateKind::Relative),
                    0.6,
                ))
            },
        ),
        // earlier this week / this week / cette semaine / en début de semaine
        rule(
            r"\b(?:earlier\s+)?this\s+week\b|\bcette\s+semaine\b|\ben\s+d[ée]but\s+de\s+semaine\b",
            |_, p| {
                let (a, _) = week_of(p)?;
                Some((
                    DateMention::window(a, p, Precision::NEAR, DateKind::Relative),
                    0.6,
                ))
            },
        ),
        // last month / le mois dernier
        rule(r"\blast\s+month\b|\ble\s+mois\s+dernier\b", |_, p| {
            let d = days_before(p.with_day(1)?, 1)?;
            Some((month_window(d.year(), d.month())?, 0.6))
        }),
        // the night of Monday to Tuesday / dans la nuit de lundi à mardi: the first day
        rule(
            r"\b(?:in\s+)?the\s+night\s+(?:of|from)\s+(WEEKDAYS)\s+(?:to|into)\s+(WEEKDAYS)\b|\b(?:dans\s+)?la\s+nuit\s+(?:de|du)\s+(WEEKDAYS)\s+(?:à|a|au)\s+(WEEKDAYS)\b",
            |c, p| {
                let first = weekday(c.get(1).or(c.get(3))?.as_str())?;
                let second = weekday(c.get(2).or(c.get(4))?.as_str())?;
                let d = days_before(last_weekday(second, p, false)?, 1)?;
                let d = if d.weekday() == first {
                    d
                } else {
                    last_weekday(first, p, false)?
                };
                Some((DateMention::day(d, DateKind::Relative), 0.8))
            },
        ),
        // last Monday / samedi dernier
        rule(
            r"\blast\s+(WEEKDAYS)\b|\b(WEEKDAYS)\s+derni(?:er|ère)\b",
            |c, p| {
                let wd = weekday(c.get(1).or(c.get(2))?.as_str())?;
                Some((
                    DateMention::day(last_weekday(wd, p, true)?, DateKind::Relative),
                    0.8,
                ))
            },
        ),
        // (late|early) (on) Monday (night) / lundi (soir)
        rule(
            r"\b(?:(?:late|early)\s+)?(?:on\s+)?(WEEKDAYS)(?:\s+(?:morning|afternoon|evening|night|matin|soir|après-midi|apres-midi))?\b",
            |c, p| {
                let wd = weekday(&c[1])?;
                Some((
                    DateMention::day(last_weekday(wd, p, false)?, DateKind::Relative),
                    0.75,
                ))
            },
        ),
    ]
});

/// Every date in `text`, in text order, without overlaps (the longest
/// expression wins: "Monday 18 January 2025" is one date, not two).
pub fn extract(text: &str, published: NaiveDate) -> Vec<Found<DateMention>> {
    let mut found = Vec::new();
    for r in RULES.iter() {
        for c in r.re.captures_iter(text) {
            let m = c.get(0).expect("match");
            if !unicode_word_edges(text, m.range()) {
                continue;
            }
            if let Some((value, confidence)) = (r.resolve)(&c, published) {
                found.push(Found {
                    value,
                    span: Span::of(text, m.range()),
                    confidence,
                });
            }
        }
    }
    without_overlaps(found)
}

/// False when a match starts or ends inside a word by Unicode's reckoning
/// (an accented letter next to it), which ASCII word boundaries let through.
fn unicode_word_edges(text: &str, m: std::ops::Range<usize>) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let inside_before = text[..m.start].chars().next_back().is_some_and(word)
        && text[m.start..].chars().next().is_some_and(word);
    let inside_after = text[m.end..].chars().next().is_some_and(word)
        && text[..m.end].chars().next_back().is_some_and(word);
    !inside_before && !inside_after
}

/// The date of the event a report is about: the first date in the text that
/// is not after publication, preferring the most precise among the first
/// sentence's dates. `None` when the text names none.
pub fn event_date(
    found: &[Found<DateMention>],
    published: NaiveDate,
) -> Option<&Found<DateMention>> {
    found
        .iter()
        .filter(|f| f.value.earliest <= published)
        .min_by_key(|f| (f.value.precision.get(), f.span.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// Regression (fuzz target `report_extract`): relative dates against a
    /// publication date at either end of chrono's calendar
    /// (`?published=-262143-01-01`, the last day likewise) overflowed and panicked;
    /// a date that cannot be represented is now simply not found.
    #[test]
    fn publication_dates_at_the_ends_of_the_calendar_do_not_overflow() {
        let text = "Yesterday, the day before yesterday, two days ago, last week, this week, \
                    last month, last Monday, on Tuesday, the night of Monday to Tuesday, \
                    on 5 March, in March, hier, avant-hier, il y a trois jours.";
        for p in [NaiveDate::MIN, NaiveDate::MAX] {
            for f in extract(text, p) {
                assert!(f.value.earliest <= f.value.latest, "{f:?}");
            }
        }
        assert!(dates("Yesterday.", NaiveDate::MIN).is_empty());
        let max = NaiveDate::MAX;
        assert_eq!(dates("On 5 March.", max)[0].1, d(max.year(), 3, 5));
    }

    #[test]
    fn words_next_to_accented_letters_are_not_dates() {
        let p = d(2025, 8, 5);
        // "hier" inside a word that ends in it, after an accented letter.
        assert!(dates("Le chéhier est là.", p).is_empty());
        assert!(dates("Une réunion lundiété.", p).is_empty());
        assert_eq!(dates("Il est arrivé hier à Dori.", p).len(), 1);
    }

    fn dates(text: &str, published: NaiveDate) -> Vec<(String, NaiveDate, u8, DateKind)> {
        extract(text, published)
            .into_iter()
            .map(|f| {
                (
                    f.span.text,
                    f.value.date,
                    f.value.precision.get(),
                    f.value.kind,
                )
            })
            .collect()
    }

    #[test]
    fn absolute_dates_in_english_and_french() {
        let p = d(2025, 1, 20);
        assert_eq!(
            dates("The attack took place on January 18, 2025 near Téra.", p),
            [(
                "January 18, 2025".into(),
                d(2025, 1, 18),
                1,
                DateKind::Absolute
            )]
        );
        assert_eq!(
            dates("L'attaque a eu lieu le 18 janvier 2025 près de Téra.", p),
            [(
                "18 janvier 2025".into(),
                d(2025, 1, 18),
                1,
                DateKind::Absolute
            )]
        );
        // No year: the latest year that is not after publication.
        let p = d(2025, 8, 5);
        assert_eq!(
            dates(
                "Le 4 août, des hommes armés ont enlevé deux ressortissants.",
                p
            )[0]
            .1,
            d(2025, 8, 4)
        );
        assert_eq!(dates("le 1er août", p)[0].1, d(2025, 8, 1));
        assert_eq!(
            dates("On December 30 gunmen struck.", p)[0].1,
            d(2024, 12, 30)
        );
        assert_eq!(dates("Published 2025-08-03.", p)[0].1, d(2025, 8, 3));
        assert_eq!(dates("le 03/08/2025", p)[0].1, d(2025, 8, 3));
        assert_eq!(dates("on the 3rd of August", p)[0].1, d(2025, 8, 3));
    }

    #[test]
    fn months_alone_have_month_precision() {
        let p = d(2025, 8, 5);
        let got = extract("In March 2024, JNIM fighters besieged the town.", p);
        assert_eq!(got[0].span.text, "March 2024");
        assert_eq!(
            (
                got[0].value.earliest,
                got[0].value.latest,
                got[0].value.precision.get()
            ),
            (d(2024, 3, 1), d(2024, 3, 31), 3)
        );
        let got = extract("Les enlèvements se sont multipliés fin juillet.", p);
        assert_eq!(
            (got[0].value.earliest, got[0].value.precision.get()),
            (d(2025, 7, 1), 3)
        );
        // A month after publication is last year's.
        assert_eq!(extract("in October", p)[0].value.earliest, d(2024, 10, 1));
    }

    #[test]
    fn relative_dates_resolve_against_publication() {
        // Tuesday 5 August 2025.
        let p = d(2025, 8, 5);
        assert_eq!(p.weekday(), Weekday::Tue);
        assert_eq!(
            dates("Gunmen attacked the village late Monday.", p)[0].1,
            d(2025, 8, 4)
        );
        assert_eq!(
            dates("Gunmen attacked the village late Monday.", p)[0].0,
            "late Monday"
        );
        assert_eq!(
            dates("Des hommes armés ont attaqué le village hier.", p)[0].1,
            d(2025, 8, 4)
        );
        assert_eq!(dates("avant-hier", p)[0].1, d(2025, 8, 3));
        assert_eq!(dates("on Saturday", p)[0].1, d(2025, 8, 2));
        assert_eq!(dates("samedi dernier", p)[0].1, d(2025, 8, 2));
        assert_eq!(dates("last Tuesday", p)[0].1, d(2025, 7, 29));
        assert_eq!(dates("on Tuesday", p)[0].1, d(2025, 8, 5));
        assert_eq!(dates("three days ago", p)[0].1, d(2025, 8, 2));
        assert_eq!(dates("il y a deux jours", p)[0].1, d(2025, 8, 3));
        assert_eq!(
            dates("dans la nuit de dimanche à lundi", p)[0].1,
            d(2025, 8, 3)
        );
        let lw = extract("Last week, soldiers were killed.", p);
        assert_eq!(
            (
                lw[0].value.earliest,
                lw[0].value.latest,
                lw[0].value.precision.get()
            ),
            (d(2025, 7, 28), d(2025, 8, 3), 2)
        );
        let lm = extract("le mois dernier", p);
        assert_eq!(
            (lm[0].value.earliest, lm[0].value.latest),
            (d(2025, 7, 1), d(2025, 7, 31))
        );
    }

    #[test]
    fn the_longest_expression_wins_and_words_are_not_dates() {
        let p = d(2025, 1, 20);
        let got = dates(
            "On Saturday 18 January 2025, the army said it may respond in March.",
            p,
        );
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[1].0, "18 January 2025");
        assert_eq!(got[2].0, "in March");
        assert!(dates("They may march to Mopti.", p).is_empty());
    }

    #[test]
    fn the_event_date_is_the_first_precise_date_not_after_publication() {
        let p = d(2025, 8, 5);
        let f = extract(
            "Le 4 août, des hommes armés ont enlevé deux Marocains. En juillet, trois autres...",
            p,
        );
        assert_eq!(event_date(&f, p).unwrap().value.date, d(2025, 8, 4));
        assert!(event_date(&extract("No date here.", p), p).is_none());
    }
}
