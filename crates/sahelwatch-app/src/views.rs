//! How incidents, places and aggregates look to API clients and in CLI
//! JSON output (one shape for both).

use crate::query::ResolvedNear;
use chrono::{DateTime, Utc};
use sahelwatch_core::coarsen::coarsen_location;
use sahelwatch_core::place::MatchKind;
use sahelwatch_core::{Coarsen, EventType, GroupId, Incident, IncidentData, PlaceHit, Tlp, Viewer};
use sahelwatch_store::Org;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// The organisation that owns an item.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OrgRef {
    pub id: Uuid,
    pub name: String,
}

/// A sharing group, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GroupRef {
    pub id: Uuid,
    pub name: String,
}

/// An incident as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IncidentView {
    pub id: Uuid,
    /// Derived from `sub_event_type`.
    pub event_type: EventType,
    #[serde(flatten)]
    pub data: IncidentData,
    pub country_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_org: Option<OrgRef>,
    pub tlp: Tlp,
    /// For AMBER: the group it is shared with beyond the owner organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_group: Option<GroupRef>,
    /// How the location is shown outside the owner organisation (shown to the
    /// owner organisation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coarsen: Option<Coarsen>,
    /// Set when the location was coarsened for this viewer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_coarsened: Option<Coarsen>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl IncidentView {
    /// The incident as `viewer` sees it: outside the owner organisation the
    /// location is coarsened (on the server, before anything leaves).
    /// `with_original` keeps the source's verbatim fields (detail views);
    /// listings leave them out.
    pub fn new(
        inc: Incident,
        org: Option<&Org>,
        viewer: &Viewer,
        groups: &HashMap<GroupId, GroupRef>,
        with_original: bool,
    ) -> IncidentView {
        let mut data = inc.data;
        if !with_original {
            data.original.clear();
        }
        let m = &inc.marking;
        let insider = viewer.exact_location(m.owner);
        let mut location_coarsened = None;
        if !insider && m.coarsen != Coarsen::Exact {
            coarsen_location(&mut data.location, m.coarsen, inc.coarse);
            // The source's own record may carry the exact place too.
            data.original.clear();
            location_coarsened = Some(m.coarsen);
        }
        let sharing_group = if m.tlp == Tlp::Amber {
            m.sharing_group.and_then(|g| groups.get(&g).cloned())
        } else {
            None
        };
        IncidentView {
            id: inc.id,
            event_type: data.event_type(),
            country_name: data.location.country.info().name.clone(),
            data,
            owner_org: org.map(|o| OrgRef {
                id: o.uid,
                name: o.name.clone(),
            }),
            tlp: m.tlp,
            sharing_group,
            coarsen: insider.then_some(m.coarsen),
            location_coarsened,
            created_at: inc.created_at,
            updated_at: inc.updated_at,
        }
    }
}

/// One page of incidents.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentPage {
    pub items: Vec<IncidentView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Total matches, when `count=true` was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// The place `near` was resolved to, when it named a place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub near_place: Option<ResolvedNear>,
}

/// A GeoJSON Feature for an incident: a Point with the incident as properties.
pub fn geojson_feature(v: &IncidentView) -> geojson::Feature {
    let geometry = geojson::Geometry::new(geojson::GeometryValue::new_point([
        v.data.location.longitude,
        v.data.location.latitude,
    ]));
    let properties = match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(m)) => Some(m),
        _ => None,
    };
    geojson::Feature {
        bbox: None,
        geometry: Some(geometry),
        id: Some(geojson::feature::Id::String(v.id.to_string())),
        properties,
        foreign_members: None,
    }
}

/// A gazetteer search hit.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PlaceView {
    /// GeoNames id.
    pub id: i64,
    pub name: String,
    /// "Téra, Tillabéri, Niger".
    pub display_name: String,
    pub latitude: f64,
    pub longitude: f64,
    pub feature_class: String,
    pub feature_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin1: Option<String>,
    pub population: i64,
    pub matched: MatchKind,
    /// The name (primary or alternate) the query matched.
    pub matched_name: String,
}

impl From<&PlaceHit<'_>> for PlaceView {
    fn from(h: &PlaceHit<'_>) -> PlaceView {
        let p = h.place;
        PlaceView {
            id: p.id,
            name: p.name.clone(),
            display_name: p.display_name(),
            latitude: p.latitude,
            longitude: p.longitude,
            feature_class: p.feature_class.clone(),
            feature_code: p.feature_code.clone(),
            country: p.country.map(|c| c.to_string()),
            admin1: p.admin1_name().map(String::from),
            population: p.population,
            matched: h.matched,
            matched_name: h.matched_name.to_string(),
        }
    }
}

/// One group of an aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GroupView {
    /// Group key values, in the order of `by`.
    pub keys: Vec<String>,
    pub count: u64,
    pub fatalities: u64,
}
