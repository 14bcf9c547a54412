//! Reports and what they claim: the grading of their source (reliability)
//! and of their information (credibility), the claims a report makes about
//! an event, and the steps of a kidnap case.
//!
//! Grades follow the Admiralty (NATO STANAG 2511) scale used by most
//! intelligence services: reliability A (completely reliable) to F (cannot be
//! judged), credibility 1 (confirmed by other sources) to 6 (cannot be judged).

use crate::{CountryCode, SubEventType};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// How far a source can be trusted, from its record.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum Reliability {
    /// Completely reliable.
    A,
    /// Usually reliable.
    B,
    /// Fairly reliable.
    C,
    /// Not usually reliable.
    D,
    /// Unreliable.
    E,
    /// Reliability cannot be judged.
    F,
}

impl Reliability {
    pub fn label(self) -> &'static str {
        match self {
            Reliability::A => "A",
            Reliability::B => "B",
            Reliability::C => "C",
            Reliability::D => "D",
            Reliability::E => "E",
            Reliability::F => "F",
        }
    }

    /// A, B or C: a source whose reports can confirm others.
    pub fn is_trusted(self) -> bool {
        self <= Reliability::C
    }
}

impl FromStr for Reliability {
    type Err = String;
    fn from_str(s: &str) -> Result<Reliability, String> {
        Ok(match s.trim().to_ascii_uppercase().as_str() {
            "A" => Reliability::A,
            "B" => Reliability::B,
            "C" => Reliability::C,
            "D" => Reliability::D,
            "E" => Reliability::E,
            "F" => Reliability::F,
            _ => {
                return Err(format!(
                    "'{s}' is not a source reliability grade (A completely reliable .. F cannot be judged)"
                ));
            }
        })
    }
}

impl fmt::Display for Reliability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// How credible a piece of information is: 1 confirmed by other sources,
/// 2 probably true, 3 possibly true, 4 doubtful, 5 improbable, 6 cannot be judged.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(try_from = "u8", into = "u8")]
#[schema(value_type = u8, minimum = 1, maximum = 6)]
pub struct Credibility(u8);

impl Credibility {
    pub const CONFIRMED: Credibility = Credibility(1);
    pub const PROBABLY_TRUE: Credibility = Credibility(2);
    pub const CANNOT_BE_JUDGED: Credibility = Credibility(6);

    pub fn new(v: u8) -> Option<Credibility> {
        (1..=6).contains(&v).then_some(Credibility(v))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    pub fn meaning(self) -> &'static str {
        match self.0 {
            1 => "confirmed by other sources",
            2 => "probably true",
            3 => "possibly true",
            4 => "doubtful",
            5 => "improbable",
            _ => "cannot be judged",
        }
    }
}

impl TryFrom<u8> for Credibility {
    type Error = String;
    fn try_from(v: u8) -> Result<Credibility, String> {
        Credibility::new(v).ok_or_else(|| {
            format!(
                "{v} is not an information credibility grade (1 confirmed .. 6 cannot be judged)"
            )
        })
    }
}

impl From<Credibility> for u8 {
    fn from(c: Credibility) -> u8 {
        c.0
    }
}

impl FromStr for Credibility {
    type Err = String;
    fn from_str(s: &str) -> Result<Credibility, String> {
        s.trim()
            .parse::<u8>()
            .map_err(|_| {
                format!(
                    "'{s}' is not an information credibility grade (1 confirmed .. 6 cannot be judged)"
                )
            })
            .and_then(Credibility::try_from)
    }
}

/// A step of a kidnap case. `Abducted` opens it; the last four end it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CaseStepKind {
    Abducted,
    /// An armed group claimed the abduction.
    Claimed,
    ProofOfLife,
    Negotiation,
    Released,
    Rescued,
    Escaped,
    Killed,
}

impl CaseStepKind {
    pub const ALL: [CaseStepKind; 8] = [
        CaseStepKind::Abducted,
        CaseStepKind::Claimed,
        CaseStepKind::ProofOfLife,
        CaseStepKind::Negotiation,
        CaseStepKind::Released,
        CaseStepKind::Rescued,
        CaseStepKind::Escaped,
        CaseStepKind::Killed,
    ];

    pub fn label(self) -> &'static str {
        match self {
            CaseStepKind::Abducted => "abducted",
            CaseStepKind::Claimed => "claimed",
            CaseStepKind::ProofOfLife => "proof_of_life",
            CaseStepKind::Negotiation => "negotiation",
            CaseStepKind::Released => "released",
            CaseStepKind::Rescued => "rescued",
            CaseStepKind::Escaped => "escaped",
            CaseStepKind::Killed => "killed",
        }
    }

    /// The hostages are no longer held after this step.
    pub fn ends_case(self) -> bool {
        matches!(
            self,
            CaseStepKind::Released
                | CaseStepKind::Rescued
                | CaseStepKind::Escaped
                | CaseStepKind::Killed
        )
    }
}

impl FromStr for CaseStepKind {
    type Err = String;
    fn from_str(s: &str) -> Result<CaseStepKind, String> {
        let k = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        CaseStepKind::ALL
            .into_iter()
            .find(|c| c.label() == k)
            .ok_or_else(|| {
                format!(
                    "'{s}' is not a case step ({})",
                    CaseStepKind::ALL.map(|c| c.label()).join(", ")
                )
            })
    }
}

/// A place a report names: a point, or the middle of a road segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClaimedPlace {
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
    /// How far the event may be from the point, in km (a town: 5; a
    /// region: its size; a road segment: half its length).
    pub uncertainty_km: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin1: Option<String>,
    /// GeoNames id, when resolved from the gazetteer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geonames_id: Option<i64>,
    /// For a road segment: the two ends' names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>, min_items = 2, max_items = 2)]
    pub segment: Option<(String, String)>,
}

/// What a report says about one event. Every field is optional: a report
/// states what it states. Filled from the extraction, then overridden by
/// structured fields the filer gives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Claims {
    /// The best single day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub event_date: Option<NaiveDate>,
    /// The window the report allows (inclusive); the event date when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub date_earliest: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub date_latest: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<ClaimedPlace>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_event_type: Option<SubEventType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fatalities: Option<u32>,
    /// Who did it (canonical actor name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perpetrator: Option<String>,
    /// Every actor named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostages: Option<u32>,
    /// ISO alpha-2 country of the hostages' nationality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostage_nationality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostage_occupation: Option<String>,
    /// For kidnappings: the step this report tells of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_step: Option<CaseStepKind>,
    /// Whether a ransom was paid, when the report says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ransom_paid: Option<bool>,
}

impl Claims {
    /// The days the event may have happened on, if the report dates it.
    pub fn window(&self) -> Option<(NaiveDate, NaiveDate)> {
        let d = self.event_date?;
        let a = self.date_earliest.unwrap_or(d).min(d);
        let b = self.date_latest.unwrap_or(d).max(d);
        Some((a, b))
    }

    /// Structured fields given by the filer win over what was extracted.
    pub fn overridden_by(mut self, o: Claims) -> Claims {
        if o.event_date.is_some() {
            self.event_date = o.event_date;
            self.date_earliest = o.date_earliest;
            self.date_latest = o.date_latest;
        }
        macro_rules! take {
            ($($f:ident),*) => { $( if o.$f.is_some() { self.$f = o.$f; } )* };
        }
        take!(
            place,
            sub_event_type,
            fatalities,
            perpetrator,
            hostages,
            hostage_nationality,
            hostage_occupation,
            case_step,
            ransom_paid
        );
        if !o.actors.is_empty() {
            self.actors = o.actors;
        }
        self
    }
}

/// Who was taken, where and by whom: what opens a kidnap case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CaseDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostages: Option<u32>,
    /// ISO alpha-2 country of the hostages' nationality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nationality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<ClaimedPlace>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perpetrator: Option<String>,
}

impl CaseDetails {
    pub fn of(c: &Claims) -> CaseDetails {
        CaseDetails {
            hostages: c.hostages,
            nationality: c.hostage_nationality.clone(),
            occupation: c.hostage_occupation.clone(),
            place: c.place.clone(),
            perpetrator: c.perpetrator.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_parse_and_refuse_with_the_scale() {
        assert_eq!("c".parse::<Reliability>().unwrap(), Reliability::C);
        assert!(Reliability::C.is_trusted() && !Reliability::D.is_trusted());
        let e = "G".parse::<Reliability>().unwrap_err();
        assert!(
            e.contains("'G'") && e.contains("A completely reliable"),
            "{e}"
        );
        assert_eq!("3".parse::<Credibility>().unwrap().get(), 3);
        assert!(
            "0".parse::<Credibility>()
                .unwrap_err()
                .contains("1 confirmed")
        );
        assert!("x".parse::<Credibility>().is_err());
        assert!(serde_json::from_str::<Credibility>("7").is_err());
    }

    #[test]
    fn case_steps_parse_in_any_spelling_and_know_which_end_a_case() {
        assert_eq!(
            "proof of life".parse::<CaseStepKind>().unwrap(),
            CaseStepKind::ProofOfLife
        );
        assert_eq!(
            "Proof-of-life".parse::<CaseStepKind>().unwrap(),
            CaseStepKind::ProofOfLife
        );
        assert!(
            "ransomed"
                .parse::<CaseStepKind>()
                .unwrap_err()
                .contains("released")
        );
        assert!(CaseStepKind::Escaped.ends_case() && !CaseStepKind::Negotiation.ends_case());
    }

    #[test]
    fn given_fields_override_extracted_ones_and_keep_the_rest() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let extracted = Claims {
            event_date: Some(d("2025-01-17")),
            date_earliest: Some(d("2025-01-13")),
            date_latest: Some(d("2025-01-19")),
            fatalities: Some(4),
            perpetrator: Some("JNIM".into()),
            ..Default::default()
        };
        let given = Claims {
            event_date: Some(d("2025-01-18")),
            fatalities: Some(6),
            ..Default::default()
        };
        let c = extracted.overridden_by(given);
        assert_eq!(c.window(), Some((d("2025-01-18"), d("2025-01-18"))));
        assert_eq!(c.fatalities, Some(6));
        assert_eq!(c.perpetrator.as_deref(), Some("JNIM"));
    }
}
