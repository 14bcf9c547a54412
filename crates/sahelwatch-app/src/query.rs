//! Incident query parameters, as the API and the CLI receive them (strings),
//! and their validation into a [`Filter`]. Both interfaces go through
//! [`RawIncidentQuery::resolve`], so they accept exactly the same things and
//! refuse them with the same messages.

use chrono::NaiveDate;
use sahelwatch_core::{CountryCode, EventType, Gazetteer, SubEventType};
use sahelwatch_query::{BBox, Cursor, Filter, Near, Sort};
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::{IntoParams, ToSchema};

/// A problem with one request parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ParamError {
    pub parameter: String,
    pub value: String,
    pub message: String,
}

impl ParamError {
    pub fn new(parameter: &str, value: &str, message: impl Into<String>) -> ParamError {
        let value: String = value.chars().take(120).collect();
        ParamError {
            parameter: parameter.to_string(),
            value,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}: {}", self.parameter, self.message)
        } else {
            write!(f, "{}='{}': {}", self.parameter, self.value, self.message)
        }
    }
}

/// Incident search parameters. Lists are comma-separated; all given
/// conditions must hold.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RawIncidentQuery {
    /// Bounding box `min_lon,min_lat,max_lon,max_lat` (WGS 84 degrees, edges inclusive).
    pub bbox: Option<String>,
    /// Centre of a radius search: `lat,lon`, or a place name from the gazetteer (`Dori`, `Dori,BF`).
    pub near: Option<String>,
    /// Radius for `near`, in km (haversine). Default 50.
    #[param(value_type = Option<f64>)]
    pub radius_km: Option<String>,
    /// First day, inclusive (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Last day, inclusive (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// Countries: ISO alpha-2 or alpha-3 codes or names, comma-separated.
    pub country: Option<String>,
    /// First-level divisions by name (case and accents ignored), comma-separated.
    pub admin1: Option<String>,
    /// ACLED event types, comma-separated.
    pub event_type: Option<String>,
    /// ACLED sub-event types, comma-separated.
    pub sub_event_type: Option<String>,
    /// Part of an actor's name (main or associated actor; case and accents ignored).
    pub actor: Option<String>,
    /// At least this many fatalities (best estimate).
    #[param(value_type = Option<u32>)]
    pub min_fatalities: Option<String>,
    /// Words that must appear in the notes (case and accents ignored).
    pub q: Option<String>,
    /// Only incidents of this dataset (`acled`, `ucdp-ged`).
    pub dataset: Option<String>,
    /// `-event_date` (default), `event_date`, `-fatalities` or `fatalities`.
    #[param(pattern = "^-?(event_date|date|fatalities)$")]
    pub sort: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1..1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// `json` (default) or `geojson` (searches); `csv`, `geojson`, `points` or
    /// `stix` (exports).
    #[param(pattern = "^(json|geojson|csv|acled|acled-csv|points|stix)$")]
    pub format: Option<String>,
    /// `true` to include the total number of matches.
    #[param(value_type = Option<bool>)]
    pub count: Option<String>,
}

/// A place name that `near` resolved to.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ResolvedNear {
    pub query: String,
    pub place_id: i64,
    pub name: String,
    pub country: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
}

/// A validated incident query.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentQuery {
    pub filter: Filter,
    /// Folded text the notes must contain.
    pub text: Option<String>,
    pub sort: Sort,
    pub cursor: Option<Cursor>,
    pub limit: usize,
    pub geojson: bool,
    pub count: bool,
    pub near_place: Option<ResolvedNear>,
}

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty())
}

/// A `YYYY-MM-DD` day of the years 1000 to 9999 (chrono alone would take
/// years such as +262142, where date arithmetic overflows).
pub(crate) fn date(name: &str, v: &str, errs: &mut Vec<ParamError>) -> Option<NaiveDate> {
    use chrono::Datelike;
    match NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d") {
        Ok(d) if (1000..=9999).contains(&d.year()) => Some(d),
        _ => {
            errs.push(ParamError::new(
                name,
                v,
                "is not a date (expected YYYY-MM-DD)",
            ));
            None
        }
    }
}

/// `lat,lon` as two numbers, if it is that.
fn parse_lat_lon(s: &str) -> Option<(f64, f64)> {
    let mut it = s.split(',');
    let lat = it.next()?.trim().parse::<f64>().ok()?;
    let lon = it.next()?.trim().parse::<f64>().ok()?;
    it.next().is_none().then_some((lat, lon))
}

/// A point given as `lat,lon` (place id 0) or as a gazetteer name,
/// optionally followed by `,COUNTRY` (`Dori`, `Dori,BF`).
pub fn resolve_place(gazetteer: &Gazetteer, text: &str) -> Result<ResolvedNear, String> {
    if let Some((lat, lon)) = parse_lat_lon(text) {
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(format!("latitude {lat} or longitude {lon} is out of range"));
        }
        return Ok(ResolvedNear {
            query: text.to_string(),
            place_id: 0,
            name: format!("{lat:.4},{lon:.4}"),
            country: None,
            latitude: lat,
            longitude: lon,
        });
    }
    let (name, country) = match text.rsplit_once(',') {
        Some((name, cc)) if CountryCode::parse(cc).is_some() => {
            (name.trim(), CountryCode::parse(cc))
        }
        _ => (text.trim(), None),
    };
    let p = gazetteer
        .resolve(name, country)
        .ok_or("is neither lat,lon nor a place in the gazetteer")?;
    Ok(ResolvedNear {
        query: text.to_string(),
        place_id: p.id,
        name: p.display_name(),
        country: p.country.map(|c| c.to_string()),
        latitude: p.latitude,
        longitude: p.longitude,
    })
}

impl RawIncidentQuery {
    /// Validate every parameter, reporting all problems at once. `near` may
    /// name a place, resolved against `gazetteer`.
    pub fn resolve(&self, gazetteer: &Gazetteer) -> Result<IncidentQuery, Vec<ParamError>> {
        let mut errs = Vec::new();
        let mut f = Filter::default();
        if let Some(b) = &self.bbox {
            match BBox::parse(b) {
                Ok(b) => f.bbox = Some(b),
                Err(m) => errs.push(ParamError::new("bbox", b, m)),
            }
        }
        let radius_km = match &self.radius_km {
            None => 50.0,
            Some(r) => match r.trim().parse::<f64>() {
                Ok(v) => v,
                Err(_) => {
                    errs.push(ParamError::new("radius_km", r, "is not a number"));
                    50.0
                }
            },
        };
        if self.radius_km.is_some() && self.near.is_none() {
            errs.push(ParamError::new(
                "radius_km",
                self.radius_km.as_deref().unwrap_or(""),
                "needs near",
            ));
        }
        let mut near_place = None;
        if let Some(n) = &self.near {
            let centre = match resolve_place(gazetteer, n) {
                Ok(p) => {
                    let c = (p.latitude, p.longitude);
                    near_place = (p.place_id != 0).then_some(p);
                    Some(c)
                }
                Err(m) => {
                    errs.push(ParamError::new("near", n, m));
                    None
                }
            };
            if let Some((lat, lon)) = centre {
                match Near::new(lat, lon, radius_km) {
                    Ok(v) => f.near = Some(v),
                    Err(m) => errs.push(ParamError::new("near", n, m)),
                }
            }
        }
        if let Some(v) = &self.from {
            f.date_from = date("from", v, &mut errs);
        }
        if let Some(v) = &self.to {
            f.date_to = date("to", v, &mut errs);
        }
        if let (Some(a), Some(b)) = (f.date_from, f.date_to)
            && a > b
        {
            errs.push(ParamError::new(
                "from",
                &a.to_string(),
                format!("is after to ({b})"),
            ));
        }
        if let Some(v) = &self.country {
            for c in list(v) {
                match CountryCode::parse(c) {
                    Some(code) => f.countries.push(code),
                    None => errs.push(ParamError::new(
                        "country",
                        c,
                        "is not a known country code or name",
                    )),
                }
            }
        }
        if let Some(v) = &self.admin1 {
            f.admin1 = list(v).map(String::from).collect();
        }
        if let Some(v) = &self.event_type {
            for t in list(v) {
                match EventType::parse(t) {
                    Some(e) => f.event_types.push(e),
                    None => errs.push(ParamError::new(
                        "event_type",
                        t,
                        "is not an ACLED event type",
                    )),
                }
            }
        }
        if let Some(v) = &self.sub_event_type {
            for t in list(v) {
                match SubEventType::parse(t) {
                    Some(e) => f.sub_event_types.push(e),
                    None => errs.push(ParamError::new(
                        "sub_event_type",
                        t,
                        "is not an ACLED sub-event type",
                    )),
                }
            }
        }
        if let Some(a) = &self.actor
            && !a.trim().is_empty()
        {
            f.actor = Some(a.trim().to_string());
        }
        if let Some(m) = &self.min_fatalities {
            match m.trim().parse::<u32>() {
                Ok(v) => f.min_fatalities = Some(v),
                Err(_) => errs.push(ParamError::new(
                    "min_fatalities",
                    m,
                    "is not a whole number >= 0",
                )),
            }
        }
        if let Some(d) = &self.dataset {
            f.dataset = Some(d.trim().to_string());
        }
        let text = self
            .q
            .as_deref()
            .map(sahelwatch_core::text::fold)
            .filter(|t| !t.is_empty());
        let sort = match &self.sort {
            None => Sort::default(),
            Some(s) => Sort::parse(s.trim()).unwrap_or_else(|m| {
                errs.push(ParamError::new("sort", s, m));
                Sort::default()
            }),
        };
        let cursor = match &self.cursor {
            None => None,
            Some(c) => match Cursor::decode(c.trim(), sort) {
                Ok(c) => Some(c),
                Err(e) => {
                    errs.push(ParamError::new("cursor", c, e.to_string()));
                    None
                }
            },
        };
        let limit = match &self.limit {
            None => DEFAULT_LIMIT,
            Some(l) => match l.trim().parse::<usize>() {
                Ok(v) if (1..=MAX_LIMIT).contains(&v) => v,
                _ => {
                    errs.push(ParamError::new(
                        "limit",
                        l,
                        format!("must be a whole number from 1 to {MAX_LIMIT}"),
                    ));
                    DEFAULT_LIMIT
                }
            },
        };
        let geojson = match self.format.as_deref().map(str::trim) {
            None | Some("json") => false,
            Some("geojson") => true,
            Some(other) => {
                errs.push(ParamError::new("format", other, "must be json or geojson"));
                false
            }
        };
        let count = match self.count.as_deref().map(str::trim) {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") | Some("") => true,
            Some(other) => {
                errs.push(ParamError::new("count", other, "must be true or false"));
                false
            }
        };
        if errs.is_empty() {
            Ok(IncidentQuery {
                filter: f,
                text,
                sort,
                cursor,
                limit,
                geojson,
                count,
                near_place,
            })
        } else {
            Err(errs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sahelwatch_core::Place;

    fn gaz() -> Gazetteer {
        let p = |id, name: &str, cc: &str, pop| Place {
            id,
            name: name.into(),
            ascii_name: name.into(),
            alternate_names: vec![],
            latitude: 14.0,
            longitude: if cc == "BF" { -0.03 } else { -5.0 },
            feature_class: "P".into(),
            feature_code: "PPL".into(),
            country: CountryCode::parse(cc),
            admin1_code: String::new(),
            admin2_code: String::new(),
            population: pop,
            elevation: None,
            timezone: String::new(),
            modified: None,
        };
        Gazetteer::new(vec![p(1, "Dori", "BF", 46512), p(2, "Dori", "ML", 0)])
    }

    #[test]
    fn every_bad_parameter_is_reported_by_name() {
        let raw = RawIncidentQuery {
            bbox: Some("1,2,3".into()),
            from: Some("2024-13-01".into()),
            country: Some("BF,Atlantis".into()),
            event_type: Some("Battles,Wars".into()),
            min_fatalities: Some("-1".into()),
            limit: Some("5000".into()),
            sort: Some("date_asc".into()),
            near: Some("Nowhereville".into()),
            ..Default::default()
        };
        let errs = raw.resolve(&gaz()).unwrap_err();
        let names: Vec<&str> = errs.iter().map(|e| e.parameter.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "bbox",
                "near",
                "from",
                "country",
                "event_type",
                "min_fatalities",
                "sort",
                "limit"
            ]
        );
        assert_eq!(errs[3].value, "Atlantis");
    }

    #[test]
    fn near_takes_coordinates_or_a_place_name() {
        let q = RawIncidentQuery {
            near: Some("14.03, -0.03".into()),
            radius_km: Some("25".into()),
            ..Default::default()
        }
        .resolve(&gaz())
        .unwrap();
        assert_eq!(q.filter.near, Some(Near::new(14.03, -0.03, 25.0).unwrap()));
        let q = RawIncidentQuery {
            near: Some("dori".into()),
            ..Default::default()
        }
        .resolve(&gaz())
        .unwrap();
        assert_eq!(q.near_place.as_ref().unwrap().place_id, 1);
        assert_eq!(q.filter.near.unwrap().radius_km, 50.0);
        let q = RawIncidentQuery {
            near: Some("Dori,ML".into()),
            ..Default::default()
        }
        .resolve(&gaz())
        .unwrap();
        assert_eq!(q.near_place.unwrap().place_id, 2);
        let err = RawIncidentQuery {
            near: Some("95,0".into()),
            ..Default::default()
        }
        .resolve(&gaz())
        .unwrap_err();
        assert!(err[0].message.contains("latitude 95"), "{err:?}");
    }
}
