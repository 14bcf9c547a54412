//! The incident: one security event, in the ACLED vocabulary.

use crate::country::CountryCode;
use crate::taxonomy::{DisorderType, EventType, Inter, Precision, SubEventType};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// Internal identifier of an organisation.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct OrgId(pub i64);

/// The actors of an incident, as ACLED records them: two sides, each with a
/// main actor, associated actors and an `inter` class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Actors {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor1: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assoc_actor_1: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 8)]
    pub inter1: Option<Inter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor2: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assoc_actor_2: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 8)]
    pub inter2: Option<Inter>,
}

impl Actors {
    /// Every actor name, main actors first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.actor1
            .iter()
            .chain(self.actor2.iter())
            .chain(self.assoc_actor_1.iter())
            .chain(self.assoc_actor_2.iter())
            .map(String::as_str)
    }
}

/// Where an incident happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub country: CountryCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin3: Option<String>,
    /// Place name (ACLED `location`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// WGS 84 degrees, rounded to 1e-6 (about 0.1 m).
    pub latitude: f64,
    pub longitude: f64,
    /// 1 = the exact place, 2 = near it or a small area, 3 = a larger region.
    #[schema(value_type = u8, minimum = 1, maximum = 3)]
    pub geo_precision: Precision,
}

/// Reported deaths: best estimate and, where the source gives them, bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Fatalities {
    pub best: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<u32>,
}

/// The content of an incident: what a source says happened. Identity,
/// ownership and marking live in [`Incident`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentData {
    /// Dataset the incident came from (`acled`, `ucdp-ged`), if imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// The dataset's own identifier (ACLED `event_id_cnty`, UCDP `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub event_date: NaiveDate,
    /// Last day of the event when the source gives a range (UCDP `date_end`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub event_date_end: Option<NaiveDate>,
    /// 1 = the day is known, 2 = the week, 3 = the month.
    #[schema(value_type = u8, minimum = 1, maximum = 3)]
    pub time_precision: Precision,
    pub sub_event_type: SubEventType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disorder_type: Option<DisorderType>,
    #[serde(default)]
    pub actors: Actors,
    #[serde(default)]
    pub civilian_targeting: bool,
    pub location: Location,
    #[serde(default)]
    pub fatalities: Fatalities,
    #[serde(default)]
    pub notes: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_scale: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// When the source dataset last changed this record (ACLED `timestamp`, Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_timestamp: Option<i64>,
    /// Source fields that the model does not hold as such, verbatim
    /// (for UCDP: every original column).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub original: BTreeMap<String, String>,
}

/// A stored incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: Uuid,
    pub marking: crate::access::Marking,
    /// Where viewers outside the owner organisation see it (the exact
    /// position when the marking does not coarsen).
    pub coarse: (f64, f64),
    pub data: IncidentData,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A problem with one field of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl IncidentData {
    pub fn event_type(&self) -> EventType {
        self.sub_event_type.event_type()
    }

    /// [`IncidentData::validate`], less the rules a source dataset is known
    /// to break and whose values are kept as the source gives them: UCDP
    /// GED's low and high estimates do not always bracket `best` (13 rows of
    /// the 1,000-row sample), and `best` is what every count uses.
    pub fn validate_as_sourced(&self) -> Vec<FieldError> {
        let ucdp = self.dataset.as_deref() == Some("ucdp-ged");
        self.validate()
            .into_iter()
            .filter(|e| !(ucdp && matches!(e.field, "fatalities_low" | "fatalities_high")))
            .collect()
    }

    /// Check the invariants the parsers cannot express in types.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let mut err = |field, message: String| errs.push(FieldError { field, message });
        let l = &self.location;
        if !l.latitude.is_finite() || !(-90.0..=90.0).contains(&l.latitude) {
            err("latitude", format!("{} is outside -90..90", l.latitude));
        }
        if !l.longitude.is_finite() || !(-180.0..=180.0).contains(&l.longitude) {
            err("longitude", format!("{} is outside -180..180", l.longitude));
        }
        if let Some(end) = self.event_date_end
            && end < self.event_date
        {
            err(
                "event_date_end",
                format!("{end} is before event_date {}", self.event_date),
            );
        }
        let f = self.fatalities;
        if let Some(low) = f.low
            && low > f.best
        {
            err(
                "fatalities_low",
                format!("{low} is above the best estimate {}", f.best),
            );
        }
        if let Some(high) = f.high
            && high < f.best
        {
            err(
                "fatalities_high",
                format!("{high} is below the best estimate {}", f.best),
            );
        }
        if self.actors.actor2.is_none() && self.actors.inter2.is_some() {
            err(
                "inter2",
                "an inter2 class is given but there is no actor2".into(),
            );
        }
        if self.actors.actor1.is_none() && self.actors.inter1.is_some() {
            err(
                "inter1",
                "an inter1 class is given but there is no actor1".into(),
            );
        }
        errs
    }

    /// A stable 64-bit hash of the content and its marking, used to tell an
    /// unchanged row from a changed one on re-import. It covers every field
    /// through serde, so adding a field cannot silently escape change detection.
    pub fn content_hash(&self, marking: &crate::access::Marking) -> u64 {
        struct W(xxhash_rust::xxh3::Xxh3);
        impl std::io::Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.update(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut w = W(xxhash_rust::xxh3::Xxh3::new());
        // Serialising plain data into a hasher cannot fail.
        let _ = serde_json::to_writer(&mut w, self);
        let m = marking;
        w.0.update(&m.owner.0.to_le_bytes());
        w.0.update(&[m.tlp.code(), m.coarsen as u8]);
        w.0.update(&m.sharing_group.map_or(-1, |g| g.0).to_le_bytes());
        w.0.update(&m.author.map_or(-1, |a| a.0).to_le_bytes());
        for r in &m.recipients {
            w.0.update(&r.0.to_le_bytes());
        }
        w.0.digest()
    }
}

/// Round a coordinate to 1e-6 degrees, the precision the model keeps.
pub fn round_coord(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Fragments that, in an incident's notes, tell of an attack on vehicles, a
/// convoy, a checkpoint or a road, in English and French. Lower case and
/// without accents or regex syntax, so that both storage backends find them
/// with `LIKE` on `lower(notes)` (`véhicule` is found by `hicule`).
pub const ROAD_CUES: &[&str] = &[
    "convoy",
    "convoi",
    "vehicle",
    "hicule",
    "truck",
    "camion",
    "lorry",
    " bus",
    "checkpoint",
    "poste de contr",
    "roadblock",
    "barrage routier",
    "ambush",
    "embuscade",
    "roadside",
    "on the road",
    "sur la route",
    "sur l'axe",
    "highway",
];

/// Whether notes tell of an attack on vehicles, a convoy, a checkpoint or a
/// road ([`ROAD_CUES`]).
pub fn tells_of_road(notes: &str) -> bool {
    let lower = notes.to_lowercase();
    ROAD_CUES.iter().any(|c| lower.contains(c))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tlp::Tlp;

    pub(crate) fn sample() -> IncidentData {
        IncidentData {
            dataset: Some("acled".into()),
            external_id: Some("BFO1".into()),
            event_date: NaiveDate::from_ymd_opt(2025, 1, 18).unwrap(),
            event_date_end: None,
            time_precision: Precision::EXACT,
            sub_event_type: SubEventType::AbductionForcedDisappearance,
            disorder_type: Some(DisorderType::PoliticalViolence),
            actors: Actors {
                actor1: Some("Islamic State (Sahel)".into()),
                inter1: Some(Inter::RebelGroups),
                actor2: Some("Civilians (Morocco)".into()),
                inter2: Some(Inter::Civilians),
                ..Default::default()
            },
            civilian_targeting: true,
            location: Location {
                country: CountryCode::parse("BF").unwrap(),
                region: Some("Western Africa".into()),
                admin1: Some("Sahel".into()),
                admin2: Some("Seno".into()),
                admin3: None,
                place: Some("Dori".into()),
                latitude: 14.0341,
                longitude: -0.0326,
                geo_precision: Precision::NEAR,
            },
            fatalities: Fatalities::default(),
            notes: "Four Moroccan truck drivers abducted on the Dori-Tera road.".into(),
            sources: vec!["Le Faso".into()],
            source_scale: Some("National".into()),
            tags: vec![],
            source_timestamp: None,
            original: BTreeMap::new(),
        }
    }

    #[test]
    fn valid_sample_has_no_errors() {
        assert!(sample().validate().is_empty());
    }

    #[test]
    fn out_of_range_values_are_named() {
        let mut d = sample();
        d.location.latitude = 95.0;
        d.fatalities = Fatalities {
            best: 3,
            low: Some(5),
            high: Some(2),
        };
        let fields: Vec<_> = d.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            vec!["latitude", "fatalities_low", "fatalities_high"]
        );
    }

    #[test]
    fn content_hash_sees_every_field_and_the_marking() {
        use crate::access::{Coarsen, GroupId, Marking, UserId};
        let a = sample();
        let m = Marking::new(OrgId(1), Tlp::Clear);
        let h = a.content_hash(&m);
        assert_eq!(h, a.clone().content_hash(&m.clone()));
        let mut b = a.clone();
        b.notes.push('.');
        assert_ne!(h, b.content_hash(&m));
        let variants = [
            Marking {
                tlp: Tlp::Amber,
                ..m.clone()
            },
            Marking {
                owner: OrgId(2),
                ..m.clone()
            },
            Marking {
                sharing_group: Some(GroupId(1)),
                ..m.clone()
            },
            Marking {
                author: Some(UserId(1)),
                ..m.clone()
            },
            Marking {
                recipients: vec![UserId(3)],
                ..m.clone()
            },
            Marking {
                coarsen: Coarsen::Admin1,
                ..m.clone()
            },
        ];
        for v in variants {
            assert_ne!(h, a.content_hash(&v), "{v:?}");
        }
    }
}
