//! Fusing reports into incidents, as pure rules:
//! - [`score`]: how well a report's claims match an incident, by type, place
//!   and time, each with its uncertainty;
//! - [`corroboration`]: an incident's information credibility from the
//!   independent sources that confirm it;
//! - [`versions`]: every value reports give for an attribute, so
//!   disagreements are shown and never settled silently;
//! - [`case_state`]: where a kidnap case stands from its steps.

use crate::report::{CaseStepKind, Claims, Credibility, Reliability};
use crate::text::fold;
use crate::{IncidentData, Precision, SubEventType};
use chrono::{Duration, NaiveDate};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Below this a pair is not worth showing as a candidate match.
pub const MIN_CANDIDATE_SCORE: f64 = 0.05;

/// Days around a report's window searched for candidates (beyond this the
/// time factor is below 0.03).
pub const SEARCH_SLACK_DAYS: i64 = 7;

/// An undated report is assumed to tell of the days before its publication.
pub const UNDATED_WINDOW_DAYS: i64 = 7;

/// How far from its point an incident may be, in km, by ACLED geo_precision.
pub fn incident_uncertainty_km(p: Precision) -> f64 {
    match p.get() {
        1 => 5.0,
        2 => 25.0,
        _ => 75.0,
    }
}

/// The days an incident may have happened on, by its time precision (ACLED:
/// 2 = within a week of the date, 3 = within its month).
pub fn incident_window(d: &IncidentData) -> (NaiveDate, NaiveDate) {
    let end = d.event_date_end.unwrap_or(d.event_date).max(d.event_date);
    match d.time_precision.get() {
        1 => (d.event_date, end),
        2 => (widen(d.event_date, -3), widen(end, 3)),
        _ => (widen(d.event_date, -15), widen(end, 15)),
    }
}

/// `day` moved by `days`, stopping at the first or last day chrono
/// represents (a date the source wrote with a year far out of range must not
/// overflow).
fn widen(day: NaiveDate, days: i64) -> NaiveDate {
    day.checked_add_signed(Duration::days(days))
        .unwrap_or(if days < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// A report's window: what it states, else the days before publication.
pub fn report_window(c: &Claims, published: NaiveDate) -> (NaiveDate, NaiveDate) {
    c.window()
        .unwrap_or((widen(published, -UNDATED_WINDOW_DAYS), published))
}

/// Days between two windows (0 when they overlap).
fn gap_days(a: (NaiveDate, NaiveDate), b: (NaiveDate, NaiveDate)) -> i64 {
    if a.1 < b.0 {
        (b.0 - a.1).num_days()
    } else if b.1 < a.0 {
        (a.0 - b.1).num_days()
    } else {
        0
    }
}

pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    use geo::{Distance, Haversine, Point};
    Haversine.distance(Point::new(a.1, a.0), Point::new(b.1, b.0)) / 1000.0
}

/// Do two actor names name the same actor? Canonical dictionary names are
/// ACLED's, which prefix longer forms ("JNIM: Group for Support of Islam and
/// Muslims"), so one folded name containing the other counts.
pub fn same_actor(a: &str, b: &str) -> bool {
    let (a, b) = (fold(a), fold(b));
    !a.is_empty() && !b.is_empty() && (a.contains(&b) || b.contains(&a))
}

/// "Gunmen", "Unidentified Armed Group": no one in particular, so no
/// disagreement with a named perpetrator.
pub fn is_unidentified(actor: &str) -> bool {
    let a = fold(actor);
    a.starts_with("unidentified") || a.starts_with("unknown")
}

/// How one report matches one incident. Each factor is 0..1; the score is
/// their product, so one clear mismatch (a week apart, 100 km away, another
/// kind of event) is enough to rule a pair out.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MatchScore {
    pub score: f64,
    /// exp(-gap/2) for the days between the two date windows.
    pub time: f64,
    /// Gaussian in distance over the combined uncertainty of both places.
    pub place: f64,
    /// Same sub-event type 1; same event type 0.5; other political violence
    /// 0.25; otherwise 0.05; 0.6 when the report gives no type.
    pub kind: f64,
    /// Same perpetrator 1; different 0.5; unknown or unidentified on
    /// either side 0.9.
    pub actor: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    pub days_apart: i64,
}

fn kind_factor(report: Option<SubEventType>, incident: SubEventType) -> f64 {
    use crate::EventType::*;
    let Some(r) = report else { return 0.6 };
    if r == incident {
        return 1.0;
    }
    let (a, b) = (r.event_type(), incident.event_type());
    if a == b {
        return 0.5;
    }
    let violent = |t| {
        matches!(
            t,
            Battles | ExplosionsRemoteViolence | ViolenceAgainstCivilians
        )
    };
    if violent(a) && violent(b) { 0.25 } else { 0.05 }
}

/// Score a report (its claims and publication date) against an incident.
pub fn score(c: &Claims, published: NaiveDate, inc: &IncidentData) -> MatchScore {
    let days_apart = gap_days(report_window(c, published), incident_window(inc));
    let mut time = (-(days_apart as f64) / 2.0).exp();
    if c.window().is_none() {
        time *= 0.8;
    }
    let loc = &inc.location;
    let (place, distance_km) = match &c.place {
        None => (0.5, None),
        Some(p) => {
            let d = distance_km((p.latitude, p.longitude), (loc.latitude, loc.longitude));
            let sigma = p
                .uncertainty_km
                .max(1.0)
                .hypot(incident_uncertainty_km(loc.geo_precision));
            ((-0.5 * (d / sigma).powi(2)).exp(), Some(d))
        }
    };
    let kind = kind_factor(c.sub_event_type, inc.sub_event_type);
    let actor = match (&c.perpetrator, &inc.actors.actor1) {
        (Some(p), Some(_)) if !is_unidentified(p) => {
            if inc.actors.names().any(|n| same_actor(p, n)) {
                1.0
            } else {
                0.5
            }
        }
        _ => 0.9,
    };
    MatchScore {
        score: time * place * kind * actor,
        time,
        place,
        kind,
        actor,
        distance_km: distance_km.map(|d| (d * 10.0).round() / 10.0),
        days_apart,
    }
}

/// The grades of one report that confirms an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Grade {
    pub source: String,
    pub reliability: Reliability,
    pub credibility: Credibility,
}

/// What an incident's confirmed reports make of it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Corroboration {
    pub reports: usize,
    /// Distinct sources (by name, case and accents ignored).
    pub independent_sources: usize,
    /// Absent when no report confirms the incident.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credibility: Option<Credibility>,
    /// Why this grade.
    pub rule: String,
}

/// Credibility follows independent corroboration:
/// - two or more independent sources graded A–C: 1 (confirmed);
/// - two or more independent sources otherwise: the best grade given, at worst 2;
/// - one source: its best grade, at best 2 (one source cannot confirm itself).
///
/// Several reports from one source count once.
pub fn corroboration(grades: &[Grade]) -> Corroboration {
    let mut sources: BTreeMap<String, (Reliability, Credibility)> = BTreeMap::new();
    for g in grades {
        let e = sources
            .entry(fold(&g.source))
            .or_insert((g.reliability, g.credibility));
        e.0 = e.0.min(g.reliability);
        e.1 = e.1.min(g.credibility);
    }
    let n = sources.len();
    let trusted = sources.values().filter(|(r, _)| r.is_trusted()).count();
    let best = sources.values().map(|(_, c)| *c).min();
    let (credibility, rule) = match best {
        None => (None, "no report confirms it".to_string()),
        Some(_) if trusted >= 2 => (
            Some(Credibility::CONFIRMED),
            format!("confirmed by {trusted} independent sources graded A to C"),
        ),
        Some(b) if n >= 2 => (
            Some(b.min(Credibility::PROBABLY_TRUE)),
            format!("{n} independent sources, fewer than two graded A to C"),
        ),
        Some(b) => (
            Some(b.max(Credibility::PROBABLY_TRUE)),
            "one source: its own grade, at best probably true".to_string(),
        ),
    };
    Corroboration {
        reports: grades.len(),
        independent_sources: n,
        credibility,
        rule,
    }
}

/// The attributes whose versions are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    EventDate,
    Fatalities,
    Perpetrator,
    /// How a kidnapping ended.
    Outcome,
    RansomPaid,
}

/// One value of an attribute and who gives it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Version<R> {
    pub value: String,
    /// The incident's own record gives this value.
    pub from_record: bool,
    pub reports: Vec<R>,
}

/// Every value given for one attribute.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AttributeVersions<R> {
    pub attribute: Attribute,
    /// More than one value: the sources disagree.
    pub disputed: bool,
    pub versions: Vec<Version<R>>,
}

fn day_range(w: (NaiveDate, NaiveDate)) -> String {
    if w.0 == w.1 {
        w.0.to_string()
    } else {
        format!("{}..{}", w.0, w.1)
    }
}

/// Group the values of `claims` (with the record's own) by attribute.
/// Dates agree when their windows overlap; perpetrators when they name the
/// same actor; numbers and outcomes when equal. Only attributes some report
/// states are returned.
pub fn versions<R: Clone>(
    record: &IncidentData,
    claims: &[(R, &Claims)],
) -> Vec<AttributeVersions<R>> {
    let mut out = Vec::new();
    // Dates: versions carry a window; a claim joins the first it overlaps.
    {
        let mut vs: Vec<((NaiveDate, NaiveDate), Version<R>)> = vec![(
            (
                record.event_date,
                record.event_date_end.unwrap_or(record.event_date),
            ),
            Version {
                value: String::new(),
                from_record: true,
                reports: Vec::new(),
            },
        )];
        let mut any = false;
        for (r, c) in claims {
            let Some(w) = c.window() else { continue };
            any = true;
            match vs.iter_mut().find(|(vw, _)| gap_days(*vw, w) == 0) {
                Some((_, v)) => v.reports.push(r.clone()),
                None => vs.push((
                    w,
                    Version {
                        value: String::new(),
                        from_record: false,
                        reports: vec![r.clone()],
                    },
                )),
            }
        }
        if any {
            out.push(attribute(
                Attribute::EventDate,
                vs.into_iter()
                    .map(|(w, mut v)| {
                        v.value = day_range(w);
                        v
                    })
                    .collect(),
            ));
        }
    }
    let keyed = |attr: Attribute,
                 own: Option<String>,
                 of: &dyn Fn(&Claims) -> Option<String>,
                 same: &dyn Fn(&str, &str) -> bool| {
        let mut vs: Vec<Version<R>> = own
            .into_iter()
            .map(|value| Version {
                value,
                from_record: true,
                reports: Vec::new(),
            })
            .collect();
        let mut any = false;
        for (r, c) in claims {
            let Some(value) = of(c) else { continue };
            any = true;
            match vs.iter_mut().find(|v| same(&v.value, &value)) {
                Some(v) => v.reports.push(r.clone()),
                None => vs.push(Version {
                    value,
                    from_record: false,
                    reports: vec![r.clone()],
                }),
            }
        }
        any.then(|| attribute(attr, vs))
    };
    let eq = |a: &str, b: &str| a == b;
    out.extend(keyed(
        Attribute::Fatalities,
        Some(record.fatalities.best.to_string()),
        &|c| c.fatalities.map(|f| f.to_string()),
        &eq,
    ));
    out.extend(keyed(
        Attribute::Perpetrator,
        record.actors.actor1.clone(),
        &|c| c.perpetrator.clone().filter(|p| !is_unidentified(p)),
        &same_actor,
    ));
    out.extend(keyed(
        Attribute::Outcome,
        None,
        &|c| {
            c.case_step
                .filter(|s| s.ends_case())
                .map(|s| s.label().to_string())
        },
        &eq,
    ));
    out.extend(keyed(
        Attribute::RansomPaid,
        None,
        &|c| {
            c.ransom_paid
                .map(|p| if p { "yes" } else { "no" }.to_string())
        },
        &eq,
    ));
    out
}

fn attribute<R>(attribute: Attribute, versions: Vec<Version<R>>) -> AttributeVersions<R> {
    AttributeVersions {
        attribute,
        disputed: versions.len() > 1,
        versions,
    }
}

/// Where a kidnap case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Held,
    Released,
    Rescued,
    Escaped,
    Killed,
}

impl CaseStatus {
    pub fn label(self) -> &'static str {
        match self {
            CaseStatus::Held => "held",
            CaseStatus::Released => "released",
            CaseStatus::Rescued => "rescued",
            CaseStatus::Escaped => "escaped",
            CaseStatus::Killed => "killed",
        }
    }
}

impl std::str::FromStr for CaseStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<CaseStatus, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "held" => CaseStatus::Held,
            "released" => CaseStatus::Released,
            "rescued" => CaseStatus::Rescued,
            "escaped" => CaseStatus::Escaped,
            "killed" => CaseStatus::Killed,
            _ => {
                return Err(format!(
                    "'{s}' is not a case status (held, released, rescued, escaped, killed)"
                ));
            }
        })
    }
}

/// The state of a case from its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct CaseState {
    pub status: CaseStatus,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_on: Option<NaiveDate>,
    /// Days from the abduction to its end, or to `today` while held.
    pub days_held: i64,
}

/// The latest step that ends a case decides its status (reports that
/// disagree on the ending show as a disputed outcome).
pub fn case_state(
    abducted_on: NaiveDate,
    steps: &[(CaseStepKind, NaiveDate)],
    today: NaiveDate,
) -> CaseState {
    let end = steps
        .iter()
        .filter(|(k, _)| k.ends_case())
        .max_by_key(|(_, d)| *d);
    let status = match end.map(|e| e.0) {
        None => CaseStatus::Held,
        Some(CaseStepKind::Released) => CaseStatus::Released,
        Some(CaseStepKind::Rescued) => CaseStatus::Rescued,
        Some(CaseStepKind::Escaped) => CaseStatus::Escaped,
        Some(_) => CaseStatus::Killed,
    };
    let ended_on = end.map(|e| e.1);
    CaseState {
        status,
        ended_on,
        days_held: (ended_on.unwrap_or(today) - abducted_on).num_days().max(0),
    }
}

#[cfg(test)]
mod tests;
