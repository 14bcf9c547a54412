//! What a query asks for: filters, sort order, cursor, grouping.

use base64::Engine;
use chrono::NaiveDate;
use sahelwatch_core::{CountryCode, EventType, SubEventType};
use serde::{Deserialize, Serialize};

/// A longitude/latitude box, inclusive on every edge. Boxes crossing the
/// antimeridian are not supported (the Sahel does not need them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl BBox {
    /// Parse `min_lon,min_lat,max_lon,max_lat` (the GeoJSON / OGC order).
    pub fn parse(s: &str) -> Result<BBox, String> {
        let v: Vec<f64> = s
            .split(',')
            .map(|p| {
                p.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("'{p}' is not a number"))
            })
            .collect::<Result<_, _>>()?;
        if v.len() != 4 {
            return Err(format!(
                "expected min_lon,min_lat,max_lon,max_lat (4 numbers), got {}",
                v.len()
            ));
        }
        let b = BBox {
            min_lon: v[0],
            min_lat: v[1],
            max_lon: v[2],
            max_lat: v[3],
        };
        if v.iter().any(|x| !x.is_finite()) {
            return Err("coordinates must be finite".into());
        }
        if !(-180.0..=180.0).contains(&b.min_lon) || !(-180.0..=180.0).contains(&b.max_lon) {
            return Err("longitudes must be within -180..180".into());
        }
        if !(-90.0..=90.0).contains(&b.min_lat) || !(-90.0..=90.0).contains(&b.max_lat) {
            return Err("latitudes must be within -90..90".into());
        }
        if b.min_lon > b.max_lon || b.min_lat > b.max_lat {
            return Err(
                "min must not exceed max (boxes across the antimeridian are not supported)".into(),
            );
        }
        Ok(b)
    }
}

/// Within `radius_km` of a point, by haversine distance on a sphere of the
/// mean Earth radius (6,371,008.8 m).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
    pub lat: f64,
    pub lon: f64,
    pub radius_km: f64,
}

impl Near {
    pub fn new(lat: f64, lon: f64, radius_km: f64) -> Result<Near, String> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(format!("latitude {lat} is outside -90..90"));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(format!("longitude {lon} is outside -180..180"));
        }
        if !radius_km.is_finite() || radius_km <= 0.0 || radius_km > 20_000.0 {
            return Err(format!(
                "radius_km {radius_km} must be > 0 and at most 20000"
            ));
        }
        Ok(Near {
            lat,
            lon,
            radius_km,
        })
    }
}

/// Inside an area given as polygons (holes excluded, edges included), such
/// as a GeoJSON polygon a user drew or the boundary of a named area.
#[derive(Debug, Clone, PartialEq)]
pub struct Within {
    shape: std::sync::Arc<geo::MultiPolygon<f64>>,
    bbox: BBox,
}

impl Within {
    /// Refuses an empty shape or one with coordinates outside the globe.
    pub fn new(shape: geo::MultiPolygon<f64>) -> Result<Within, String> {
        use geo::BoundingRect;
        let Some(r) = shape.bounding_rect() else {
            return Err("the area has no polygon".into());
        };
        let bbox = BBox::parse(&format!(
            "{},{},{},{}",
            r.min().x,
            r.min().y,
            r.max().x,
            r.max().y
        ))
        .map_err(|e| format!("the area's coordinates are invalid: {e}"))?;
        Ok(Within {
            shape: std::sync::Arc::new(shape),
            bbox,
        })
    }

    pub fn shape(&self) -> &geo::MultiPolygon<f64> {
        &self.shape
    }

    pub fn bbox(&self) -> BBox {
        self.bbox
    }

    /// True when the point (degrees) is inside or on an edge.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        use geo::Intersects;
        lat >= self.bbox.min_lat
            && lat <= self.bbox.max_lat
            && lon >= self.bbox.min_lon
            && lon <= self.bbox.max_lon
            && self.shape.intersects(&geo::Point::new(lon, lat))
    }
}

/// Filters; all given conditions must hold (lists mean "any of").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub bbox: Option<BBox>,
    pub near: Option<Near>,
    pub within: Option<Within>,
    /// Inclusive.
    pub date_from: Option<NaiveDate>,
    /// Inclusive.
    pub date_to: Option<NaiveDate>,
    pub countries: Vec<CountryCode>,
    /// Admin-1 names, matched ignoring case and accents.
    pub admin1: Vec<String>,
    pub event_types: Vec<EventType>,
    pub sub_event_types: Vec<SubEventType>,
    /// Substring of any actor name (main or associated), ignoring case and accents.
    pub actor: Option<String>,
    pub min_fatalities: Option<u32>,
    pub dataset: Option<String>,
    /// Incident ids (store row ids) allowed by a filter evaluated elsewhere,
    /// such as free text in notes. `None` means no such restriction.
    pub only_ids: Option<std::collections::HashSet<i64>>,
}

/// Sort order of a listing. Ties are broken by row id, in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    #[serde(rename = "-event_date")]
    DateDesc,
    #[serde(rename = "event_date")]
    DateAsc,
    #[serde(rename = "-fatalities")]
    FatalitiesDesc,
    #[serde(rename = "fatalities")]
    FatalitiesAsc,
}

impl Sort {
    pub fn parse(s: &str) -> Result<Sort, String> {
        match s {
            "-event_date" | "-date" => Ok(Sort::DateDesc),
            "event_date" | "date" => Ok(Sort::DateAsc),
            "-fatalities" => Ok(Sort::FatalitiesDesc),
            "fatalities" => Ok(Sort::FatalitiesAsc),
            _ => Err(format!(
                "'{s}' is not a sort order (use event_date, -event_date, fatalities or -fatalities)"
            )),
        }
    }

    fn tag(self) -> char {
        match self {
            Sort::DateDesc => 'D',
            Sort::DateAsc => 'd',
            Sort::FatalitiesDesc => 'F',
            Sort::FatalitiesAsc => 'f',
        }
    }
}

/// Position after the last item of a page: the sort key and row id of that
/// item. Opaque to clients (URL-safe base64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub sort: Sort,
    pub key: i64,
    pub id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the cursor is not one this server issued")]
    Malformed,
    #[error("the cursor was issued for another sort order")]
    WrongSort,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let raw = format!("{}:{}:{}", self.sort.tag(), self.key, self.id);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode(s: &str, sort: Sort) -> Result<Cursor, CursorError> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| CursorError::Malformed)?;
        let raw = String::from_utf8(raw).map_err(|_| CursorError::Malformed)?;
        let mut parts = raw.split(':');
        let tag = parts
            .next()
            .and_then(|t| t.chars().next())
            .ok_or(CursorError::Malformed)?;
        let key = parts
            .next()
            .and_then(|k| k.parse().ok())
            .ok_or(CursorError::Malformed)?;
        let id = parts
            .next()
            .and_then(|k| k.parse().ok())
            .ok_or(CursorError::Malformed)?;
        if parts.next().is_some() {
            return Err(CursorError::Malformed);
        }
        let found = [
            Sort::DateDesc,
            Sort::DateAsc,
            Sort::FatalitiesDesc,
            Sort::FatalitiesAsc,
        ]
        .into_iter()
        .find(|s| s.tag() == tag)
        .ok_or(CursorError::Malformed)?;
        if found != sort {
            return Err(CursorError::WrongSort);
        }
        Ok(Cursor { sort, key, id })
    }
}

/// A dimension to group counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupKey {
    Country,
    Admin1,
    EventType,
    SubEventType,
    Year,
    Month,
    Dataset,
}

impl GroupKey {
    pub fn parse(s: &str) -> Result<GroupKey, String> {
        Ok(match s {
            "country" => GroupKey::Country,
            "admin1" => GroupKey::Admin1,
            "event_type" => GroupKey::EventType,
            "sub_event_type" => GroupKey::SubEventType,
            "year" => GroupKey::Year,
            "month" => GroupKey::Month,
            "dataset" => GroupKey::Dataset,
            _ => {
                return Err(format!(
                    "'{s}' is not a grouping (use country, admin1, event_type, sub_event_type, year, month or dataset)"
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_validation_names_the_problem() {
        assert!(BBox::parse("-1,13,1,15").is_ok());
        assert!(BBox::parse("-1,13,1").unwrap_err().contains("4 numbers"));
        assert!(BBox::parse("-1,95,1,96").unwrap_err().contains("latitudes"));
        assert!(
            BBox::parse("1,13,-1,15")
                .unwrap_err()
                .contains("min must not exceed max")
        );
        assert!(BBox::parse("a,13,1,15").unwrap_err().contains("'a'"));
    }

    #[test]
    fn cursor_round_trip_and_tamper_detection() {
        let c = Cursor {
            sort: Sort::DateDesc,
            key: 19000,
            id: 42,
        };
        assert_eq!(Cursor::decode(&c.encode(), Sort::DateDesc), Ok(c));
        assert_eq!(
            Cursor::decode(&c.encode(), Sort::DateAsc),
            Err(CursorError::WrongSort)
        );
        assert_eq!(
            Cursor::decode("!!!", Sort::DateDesc),
            Err(CursorError::Malformed)
        );
        assert_eq!(
            Cursor::decode("eDox", Sort::DateDesc),
            Err(CursorError::Malformed)
        );
    }
}
