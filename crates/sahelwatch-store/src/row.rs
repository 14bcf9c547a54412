//! The mapping between domain values and table columns, shared by both
//! backends so that they store and read back exactly the same things.

use crate::{Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use sahelwatch_core::{
    Actors, CountryCode, DisorderType, Fatalities, GroupId, Incident, IncidentData, Inter,
    Location, Marking, OrgId, Precision, SubEventType, Tlp, UserId,
};
use sahelwatch_query::IndexRow;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Columns written by an insert, in bind order.
pub const INSERT_COLUMNS: &str = "uid, seq, owner_org, tlp, sharing_group, author_user, recipients, coarsen, \
    coarse_latitude, coarse_longitude, dataset, external_id, event_date, event_date_end, \
    time_precision, event_type, sub_event_type, disorder_type, actor1, assoc_actor_1, inter1, actor2, \
    assoc_actor_2, inter2, civilian_targeting, country, region, admin1, admin2, admin3, location, latitude, \
    longitude, geo_precision, fatalities, fatalities_low, fatalities_high, notes, sources, source_scale, tags, \
    source_timestamp, original, row_hash, created_at, updated_at";

/// Number of columns in [`INSERT_COLUMNS`].
pub const INSERT_ARITY: usize = 46;

/// Columns before the content in [`INSERT_COLUMNS`]: uid, seq, the marking, dataset, external id.
pub const INSERT_HEAD: usize = 12;

/// Content columns in [`INSERT_COLUMNS`] (event_date ... row_hash).
pub const CONTENT_ARITY: usize = 32;

/// Columns read back for a full incident, in [`DbIncident`] order.
pub const SELECT_COLUMNS: &str = "id, uid, owner_org, tlp, dataset, external_id, event_date, event_date_end, \
    time_precision, sub_event_type, disorder_type, actor1, assoc_actor_1, inter1, actor2, assoc_actor_2, inter2, \
    civilian_targeting, country, region, admin1, admin2, admin3, location, latitude, longitude, geo_precision, \
    fatalities, fatalities_low, fatalities_high, notes, sources, source_scale, tags, source_timestamp, original, \
    created_at, updated_at, sharing_group, author_user, recipients, coarsen, coarse_latitude, coarse_longitude";

/// Columns read for the query index, in [`DbIndexRow`] order. The last is
/// whether the notes tell of an attack on a road, found by the database
/// (`LIKE` on `lower(notes)` works the same in both backends) so that the
/// notes themselves are not read.
pub fn index_columns() -> &'static str {
    static COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let cues: Vec<String> = sahelwatch_core::incident::ROAD_CUES
            .iter()
            .map(|c| {
                format!(
                    "lower(coalesce(notes, '')) LIKE '%{}%'",
                    c.replace('\'', "''")
                )
            })
            .collect();
        format!(
            "id, deleted, owner_org, tlp, dataset, event_date, sub_event_type, latitude, longitude, \
             country, admin1, actor1, actor2, assoc_actor_1, assoc_actor_2, fatalities, sharing_group, \
             author_user, recipients, coarsen, coarse_latitude, coarse_longitude, updated_at, \
             geo_precision, ({})",
            cues.join(" OR ")
        )
    });
    &COLUMNS
}

/// An incident row as read from either backend, before domain validation.
pub struct DbIncident {
    pub id: i64,
    pub uid: Uuid,
    pub dataset: Option<String>,
    pub external_id: Option<String>,
    pub event_date: NaiveDate,
    pub event_date_end: Option<NaiveDate>,
    pub time_precision: i64,
    pub sub_event_type: String,
    pub disorder_type: Option<String>,
    pub actor1: Option<String>,
    pub assoc_actor_1: Vec<String>,
    pub inter1: Option<i64>,
    pub actor2: Option<String>,
    pub assoc_actor_2: Vec<String>,
    pub inter2: Option<i64>,
    pub civilian_targeting: bool,
    pub country: String,
    pub region: Option<String>,
    pub admin1: Option<String>,
    pub admin2: Option<String>,
    pub admin3: Option<String>,
    pub location: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    pub geo_precision: i64,
    pub fatalities: i64,
    pub fatalities_low: Option<i64>,
    pub fatalities_high: Option<i64>,
    pub notes: String,
    pub sources: Vec<String>,
    pub source_scale: Option<String>,
    pub tags: Vec<String>,
    pub source_timestamp: Option<i64>,
    pub original: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub marking: DbMarking,
}

/// The marking columns of an incident row.
pub struct DbMarking {
    pub owner_org: i64,
    pub tlp: String,
    pub sharing_group: Option<i64>,
    pub author_user: Option<i64>,
    pub recipients: Vec<i64>,
    pub coarsen: String,
    pub coarse_latitude: Option<f64>,
    pub coarse_longitude: Option<f64>,
}

impl DbMarking {
    /// The marking, and the coarse position (the exact one when not coarsened).
    pub fn decode(self, id: i64, exact: (f64, f64)) -> Result<(Marking, (f64, f64))> {
        let marking = Marking {
            owner: OrgId(self.owner_org),
            tlp: tlp(id, &self.tlp)?,
            sharing_group: self.sharing_group.map(GroupId),
            author: self.author_user.map(UserId),
            recipients: self.recipients.into_iter().map(UserId).collect(),
            coarsen: self
                .coarsen
                .parse()
                .map_err(|_| corrupt(id, "coarsen", &self.coarsen))?,
        };
        let coarse = match (self.coarse_latitude, self.coarse_longitude) {
            (Some(a), Some(b)) => (a, b),
            _ => exact,
        };
        Ok((marking, coarse))
    }
}

/// The nullable coarse columns for a position: NULL when it is the exact one.
pub fn coarse_columns(marking: &Marking, coarse: (f64, f64)) -> (Option<f64>, Option<f64>) {
    if marking.coarsen == sahelwatch_core::Coarsen::Exact {
        (None, None)
    } else {
        (Some(coarse.0), Some(coarse.1))
    }
}

pub fn ids_json(v: &[UserId]) -> Option<String> {
    (!v.is_empty()).then(|| {
        serde_json::to_string(&v.iter().map(|u| u.0).collect::<Vec<_>>()).unwrap_or_default()
    })
}

pub fn ids_from_json(id: i64, s: Option<String>) -> Result<Vec<i64>> {
    match s {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(&t).map_err(|_| corrupt(id, "recipients", t)),
    }
}

fn corrupt(id: i64, what: &str, value: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("incident row {id}: {what} '{value}' is not valid"))
}

pub fn tlp(id: i64, s: &str) -> Result<Tlp> {
    s.parse().map_err(|_| corrupt(id, "tlp", s))
}

pub fn sub_event(id: i64, s: &str) -> Result<SubEventType> {
    SubEventType::parse(s).ok_or_else(|| corrupt(id, "sub_event_type", s))
}

pub fn country(id: i64, s: &str) -> Result<CountryCode> {
    CountryCode::parse(s).ok_or_else(|| corrupt(id, "country", s))
}

fn precision(id: i64, what: &str, v: i64) -> Result<Precision> {
    u8::try_from(v)
        .ok()
        .and_then(Precision::new)
        .ok_or_else(|| corrupt(id, what, v))
}

fn inter(id: i64, what: &str, v: Option<i64>) -> Result<Option<Inter>> {
    match v {
        None | Some(0) => Ok(None),
        Some(n) => u8::try_from(n)
            .ok()
            .and_then(Inter::from_code)
            .map(Some)
            .ok_or_else(|| corrupt(id, what, n)),
    }
}

fn count(id: i64, what: &str, v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| corrupt(id, what, v))
}

impl DbIncident {
    pub fn into_incident(self) -> Result<Incident> {
        let id = self.id;
        let data = IncidentData {
            dataset: self.dataset,
            external_id: self.external_id,
            event_date: self.event_date,
            event_date_end: self.event_date_end,
            time_precision: precision(id, "time_precision", self.time_precision)?,
            sub_event_type: sub_event(id, &self.sub_event_type)?,
            disorder_type: match self.disorder_type {
                None => None,
                Some(d) => {
                    Some(DisorderType::parse(&d).ok_or_else(|| corrupt(id, "disorder_type", &d))?)
                }
            },
            actors: Actors {
                actor1: self.actor1,
                assoc_actor_1: self.assoc_actor_1,
                inter1: inter(id, "inter1", self.inter1)?,
                actor2: self.actor2,
                assoc_actor_2: self.assoc_actor_2,
                inter2: inter(id, "inter2", self.inter2)?,
            },
            civilian_targeting: self.civilian_targeting,
            location: Location {
                country: country(id, &self.country)?,
                region: self.region,
                admin1: self.admin1,
                admin2: self.admin2,
                admin3: self.admin3,
                place: self.location,
                latitude: self.latitude,
                longitude: self.longitude,
                geo_precision: precision(id, "geo_precision", self.geo_precision)?,
            },
            fatalities: Fatalities {
                best: count(id, "fatalities", self.fatalities)?,
                low: self
                    .fatalities_low
                    .map(|v| count(id, "fatalities_low", v))
                    .transpose()?,
                high: self
                    .fatalities_high
                    .map(|v| count(id, "fatalities_high", v))
                    .transpose()?,
            },
            notes: self.notes,
            sources: self.sources,
            source_scale: self.source_scale,
            tags: self.tags,
            source_timestamp: self.source_timestamp,
            original: self.original,
        };
        let exact = (data.location.latitude, data.location.longitude);
        let (marking, coarse) = self.marking.decode(id, exact)?;
        Ok(Incident {
            id: self.uid,
            marking,
            coarse,
            data,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The index projection as read from either backend.
pub struct DbIndexRow {
    pub id: i64,
    pub deleted: bool,
    pub marking: DbMarking,
    pub dataset: Option<String>,
    pub event_date: NaiveDate,
    pub sub_event_type: String,
    pub latitude: f64,
    pub longitude: f64,
    pub country: String,
    pub admin1: Option<String>,
    pub actor1: Option<String>,
    pub actor2: Option<String>,
    pub assoc_actor_1: Vec<String>,
    pub assoc_actor_2: Vec<String>,
    pub fatalities: i64,
    pub updated_at: DateTime<Utc>,
    pub geo_precision: i64,
    pub on_road: bool,
}

impl DbIndexRow {
    pub fn into_index_row(self) -> Result<IndexRow> {
        let id = self.id;
        let mut actors =
            Vec::with_capacity(2 + self.assoc_actor_1.len() + self.assoc_actor_2.len());
        actors.extend(self.actor1);
        actors.extend(self.actor2);
        actors.extend(self.assoc_actor_1);
        actors.extend(self.assoc_actor_2);
        let (marking, coarse) = self.marking.decode(id, (self.latitude, self.longitude))?;
        Ok(IndexRow {
            id,
            deleted: self.deleted,
            marking,
            coarse_latitude: coarse.0,
            coarse_longitude: coarse.1,
            dataset: self.dataset,
            event_date: self.event_date,
            sub_event_type: sub_event(id, &self.sub_event_type)?,
            latitude: self.latitude,
            longitude: self.longitude,
            country: country(id, &self.country)?,
            admin1: self.admin1,
            actors,
            fatalities: count(id, "fatalities", self.fatalities)?,
            geo_precision: precision(id, "geo_precision", self.geo_precision)?,
            on_road: self.on_road,
            updated_micros: self.updated_at.timestamp_micros(),
        })
    }
}

/// A list column as JSON text, NULL when empty.
pub fn list_json(v: &[String]) -> Option<String> {
    (!v.is_empty()).then(|| serde_json::to_string(v).unwrap_or_default())
}

pub fn list_from_json(id: i64, what: &str, s: Option<String>) -> Result<Vec<String>> {
    match s {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(&t).map_err(|_| corrupt(id, what, t)),
    }
}

pub fn map_json(m: &BTreeMap<String, String>) -> Option<String> {
    (!m.is_empty()).then(|| serde_json::to_string(m).unwrap_or_default())
}

pub fn map_from_json(id: i64, s: Option<String>) -> Result<BTreeMap<String, String>> {
    match s {
        None => Ok(BTreeMap::new()),
        Some(t) => serde_json::from_str(&t).map_err(|_| corrupt(id, "original", t)),
    }
}

/// Timestamps in SQLite: RFC 3339, UTC, microseconds.
pub fn ts_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub fn ts_parse(s: &str) -> Result<DateTime<Utc>> {
    // Fast path for the layout `ts_text` writes (the index loads a million).
    let b = s.as_bytes();
    if b.len() == 27 && b[10] == b'T' && b[19] == b'.' && b[26] == b'Z' {
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32)
            })
        };
        if let (Ok(d), Some(h), Some(m), Some(sec), Some(us), b':', b':') = (
            date_parse(&s[..10]),
            num(11..13),
            num(14..16),
            num(17..19),
            num(20..26),
            b[13],
            b[16],
        ) && let Some(t) = d.and_hms_micro_opt(h, m, sec, us)
        {
            return Ok(t.and_utc());
        }
    }
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("timestamp '{s}' is not RFC 3339")))
}

#[cfg(test)]
mod ts_tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_the_fast_path() {
        for t in [
            "2026-11-21T08:30:05.123456Z",
            "1999-01-01T00:00:00.000000Z",
            "2026-11-21T08:30:05+01:00",
        ] {
            let parsed = ts_parse(t).unwrap();
            assert_eq!(parsed, DateTime::parse_from_rfc3339(t).unwrap());
        }
        assert_eq!(
            ts_text(ts_parse("2026-11-21T08:30:05.123456Z").unwrap()),
            "2026-11-21T08:30:05.123456Z"
        );
        assert!(ts_parse("2026-11-21T25:30:05.123456Z").is_err());
        assert!(ts_parse("2026-11-21T08:30:05.12345xZ").is_err());
    }
}

/// Parse a stored `YYYY-MM-DD` date (a fast path: the index loads a million of them).
pub fn date_parse(s: &str) -> Result<NaiveDate> {
    let bad = || StoreError::Corrupt(format!("date '{s}' is not YYYY-MM-DD"));
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32)
        })
    };
    let y = num(0..4).ok_or_else(bad)?;
    let m = num(5..7).ok_or_else(bad)?;
    let d = num(8..10).ok_or_else(bad)?;
    NaiveDate::from_ymd_opt(y as i32, m, d).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_dates_parse_and_garbage_does_not() {
        assert_eq!(
            date_parse("2024-02-29").unwrap(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
        for bad in [
            "2023-02-29",
            "2024-2-29",
            "2024/02/29",
            "20x4-02-01",
            "",
            "2024-02-290",
        ] {
            assert!(date_parse(bad).is_err(), "{bad}");
        }
    }
}
