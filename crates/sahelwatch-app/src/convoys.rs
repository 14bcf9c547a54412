//! Convoys: registration (route from a saved route or GeoJSON, vehicles with
//! their tracker devices and secrets, schedule, reporting interval, escort,
//! geofences, thresholds), reads filtered by the viewer, tracks as GeoJSON,
//! alerts and their acknowledgement, and webhooks.
//!
//! A convoy carries a marking like an incident: who may not see it gets
//! "not found" for it, and none of its alerts, on any path. The live side
//! (intake, alert engine, stream, webhook delivery) is in [`crate::tracker`].

use crate::{App, AppError, MarkingInput, ParamError};
use chrono::{DateTime, TimeZone, Utc};
use sahelwatch_core::{OrgId, Principal, Role, Tlp, Viewer};
use sahelwatch_routing::LonLat;
use sahelwatch_store::{
    AlertFilter, AlertRecord, ConvoyRecord, DeliveryRecord, DeviceRecord, NewConvoy, NewWebhook,
    WebhookRecord,
};
use sahelwatch_tracking::{Convoy, Corridor, Geofence, Severity, Shape, State, Thresholds};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

/// Longest name of a convoy, vehicle or geofence.
const MAX_NAME: usize = 100;
/// Most vehicles in one convoy.
pub const MAX_VEHICLES: usize = 200;
/// Most points of a GeoJSON route.
const MAX_ROUTE_POINTS: usize = 200_000;
/// Most positions in one track answer.
pub const MAX_TRACK_POSITIONS: usize = 100_000;

/// A convoy to register.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConvoy {
    #[schema(
        required = true,
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\x00-\\x1f]*[^\\s\\x00-\\x1f][^\\x00-\\x1f]*$"
    )]
    pub name: Option<String>,
    /// Default: TLP:AMBER, the organisation only.
    pub marking: Option<MarkingInput>,
    #[schema(required = true)]
    pub route: Option<RawConvoyRoute>,
    #[serde(default)]
    #[schema(min_items = 1, max_items = 200)]
    pub vehicles: Vec<RawVehicle>,
    /// Planned departure and arrival (RFC 3339).
    pub depart: Option<String>,
    pub arrive: Option<String>,
    /// How often each tracker reports (s, 1 to 3600; default 30).
    pub interval_s: Option<f64>,
    #[serde(default)]
    pub escort: bool,
    #[serde(default)]
    pub geofences: Vec<RawGeofence>,
    /// Alert thresholds; those not given keep their defaults.
    pub thresholds: Option<Thresholds>,
}

/// The planned route: one of the organisation's saved routes, or a GeoJSON
/// LineString (geometry, Feature, or a FeatureCollection of one).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConvoyRoute {
    pub saved: Option<i64>,
    #[schema(value_type = Option<Object>)]
    pub geojson: Option<serde_json::Value>,
}

/// A vehicle and its tracker.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVehicle {
    pub name: Option<String>,
    /// The tracker's device id (as the OsmAnd `id` parameter sends it).
    pub device: Option<String>,
    /// The device secret (16 to 200 characters); generated when absent and
    /// shown once in the answer.
    pub secret: Option<String>,
}

/// A geofence: a circle (`center` [lon, lat] and `radius_m`) or a GeoJSON
/// Polygon (`polygon`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGeofence {
    pub name: Option<String>,
    pub center: Option<[f64; 2]>,
    pub radius_m: Option<f64>,
    #[schema(value_type = Option<Object>)]
    pub polygon: Option<serde_json::Value>,
}

/// What is stored of a convoy besides its engine: the registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ConvoySpec {
    pub engine: Convoy,
    pub devices: Vec<String>,
    pub route_source: String,
    pub distance_km: f64,
    pub depart: Option<DateTime<Utc>>,
    pub arrive: Option<DateTime<Utc>>,
    pub escort: bool,
}

/// A vehicle as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VehicleView {
    pub name: String,
    pub device: String,
    /// Only in the answer to the registration, when it was generated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Last position heard: [lon, lat], its time, and the last alert state.
    #[schema(value_type = Option<Vec<f64>>)]
    pub last_position: Option<LonLat>,
    pub last_time: Option<DateTime<Utc>>,
    /// km along the planned route.
    pub km: Option<f64>,
}

/// A convoy as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConvoyView {
    pub id: Uuid,
    pub name: String,
    pub owner: String,
    #[schema(value_type = String)]
    pub tlp: Tlp,
    pub created_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub route_source: String,
    pub distance_km: f64,
    /// The planned route, GeoJSON LineString coordinates.
    #[schema(value_type = Vec<Vec<f64>>)]
    pub route: Vec<LonLat>,
    pub depart: Option<DateTime<Utc>>,
    pub arrive: Option<DateTime<Utc>>,
    pub escort: bool,
    pub interval_s: f64,
    pub vehicles: Vec<VehicleView>,
    #[schema(value_type = Vec<Object>)]
    pub geofences: Vec<Geofence>,
    pub thresholds: Thresholds,
}

/// An acknowledgement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AckView {
    pub by: Option<String>,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}

/// An alert as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertView {
    pub id: i64,
    pub convoy: Uuid,
    pub convoy_name: String,
    /// `sos`, `high_risk`, `geofence_enter`, `geofence_leave`, `off_route`,
    /// `dangerous_stop`, `lost_contact`, `incident_ahead` or `separated`.
    pub kind: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    pub vehicle: Option<String>,
    /// When it happened (the position's time, or the clock's).
    pub at: DateTime<Utc>,
    pub message: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub acknowledged: Option<AckView>,
}

/// A webhook to register.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    /// `http://` URL the alerts are POSTed to.
    #[schema(required = true, pattern = "^https?://[^/?#]+")]
    pub url: Option<String>,
    /// The HMAC-SHA256 key (16 to 200 characters); generated when absent.
    pub secret: Option<String>,
    /// Lowest severity delivered: `info`, `warning` (default) or `critical`.
    pub min_severity: Option<String>,
}

/// A webhook as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub min_severity: String,
    pub created_at: DateTime<Utc>,
    /// Only in the answer to the registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The latest deliveries, newest first.
    pub deliveries: Vec<DeliveryView>,
}

/// One alert's delivery to a webhook.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    pub alert: i64,
    /// `pending`, `delivered` or `failed` (gave up after the last attempt).
    pub status: String,
    pub attempts: i32,
    pub next_attempt: Option<DateTime<Utc>>,
    pub last_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

pub(crate) fn ms_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// SHA-256 of a device or webhook secret, hex.
fn new_secret() -> String {
    crate::auth::readable_secret(24)
}

fn check_name(field: &str, name: Option<&str>, errs: &mut Vec<ParamError>) -> String {
    let n = name.map(str::trim).unwrap_or("");
    if n.is_empty() || n.chars().count() > MAX_NAME || n.chars().any(char::is_control) {
        errs.push(ParamError::new(
            field,
            n,
            "is required: 1 to 100 characters, no control characters",
        ));
    }
    n.to_string()
}

fn check_secret(field: &str, s: &str, errs: &mut Vec<ParamError>) {
    let n = s.chars().count();
    if !(16..=200).contains(&n) || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        errs.push(ParamError::new(
            field,
            "(hidden)",
            "a secret is 16 to 200 characters without spaces",
        ));
    }
}

fn check_device(field: &str, d: Option<&str>, errs: &mut Vec<ParamError>) -> String {
    let d = d.map(str::trim).unwrap_or("");
    let ok = !d.is_empty()
        && d.len() <= 64
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        errs.push(ParamError::new(
            field,
            d,
            "a device id is 1 to 64 letters, digits, '-', '_' or '.'",
        ));
    }
    d.to_string()
}

fn parse_time(field: &str, s: Option<&str>, errs: &mut Vec<ParamError>) -> Option<DateTime<Utc>> {
    let s = s?;
    match DateTime::parse_from_rfc3339(s.trim()) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            errs.push(ParamError::new(
                field,
                s,
                "is not an RFC 3339 time such as 2026-11-22T06:00:00Z",
            ));
            None
        }
    }
}

/// The points of a GeoJSON LineString given as a geometry, a Feature or a
/// FeatureCollection of one feature.
fn geojson_line(v: &serde_json::Value) -> Result<Vec<LonLat>, String> {
    let g: geojson::GeoJson = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    let geometry = match g {
        geojson::GeoJson::Geometry(g) => g,
        geojson::GeoJson::Feature(f) => f.geometry.ok_or("the feature has no geometry")?,
        geojson::GeoJson::FeatureCollection(fc) => {
            if fc.features.len() != 1 {
                return Err(format!(
                    "a FeatureCollection of exactly one LineString is needed, not {} features",
                    fc.features.len()
                ));
            }
            let f = fc.features.into_iter().next().expect("one");
            f.geometry.ok_or("the feature has no geometry")?
        }
    };
    match geometry.value {
        geojson::GeometryValue::LineString {
            coordinates: points,
        } => points
            .iter()
            .enumerate()
            .map(|(k, p)| match p.as_slice() {
                [x, y, ..] => Ok([*x, *y]),
                _ => Err(format!("point {k} has fewer than 2 coordinates")),
            })
            .collect(),
        other => Err(format!(
            "a LineString is needed, not a {}",
            other.type_name()
        )),
    }
}

fn geojson_polygon(v: &serde_json::Value) -> Result<geo::Polygon<f64>, String> {
    let g: geojson::Geometry = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    let p: geo::Geometry<f64> = g.try_into().map_err(|e: geojson::Error| e.to_string())?;
    match p {
        geo::Geometry::Polygon(p) => {
            if p.exterior().0.len() < 4 {
                return Err("the polygon's ring needs at least 4 points".into());
            }
            if p.exterior()
                .coords()
                .any(|c| !(c.x.abs() <= 180.0 && c.y.abs() <= 90.0))
            {
                return Err("a point is not a longitude, latitude".into());
            }
            Ok(p)
        }
        _ => Err("a GeoJSON Polygon is needed".into()),
    }
}

/// Operators, analysts and admins run convoys; `what` says what was refused.
fn require_operator(p: &Principal, what: &str) -> Result<(), AppError> {
    if p.role.can_operate() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "a {} may not {what}: operators, analysts and admins may",
            p.role
        )))
    }
}

/// The viewer an organisation is as a whole (its sharing groups, no
/// named-recipient rights): what it may see of incidents decides what its
/// convoys are warned of and how road risk is counted for them.
pub(crate) fn org_principal(
    org: OrgId,
    groups: std::collections::BTreeSet<sahelwatch_core::GroupId>,
) -> Viewer {
    Viewer::User(Arc::new(Principal {
        user: sahelwatch_core::UserId(0),
        org,
        role: Role::Viewer,
        superadmin: false,
        groups,
    }))
}

impl App {
    pub(crate) async fn org_viewer(&self, org: OrgId) -> Result<Viewer, AppError> {
        let groups = self
            .store
            .groups()
            .await?
            .into_iter()
            .filter(|g| g.members.contains(&org))
            .map(|g| g.id)
            .collect();
        Ok(org_principal(org, groups))
    }

    /// The planned line and the road risk of each of its pieces, as the
    /// owner organisation sees the incidents today.
    async fn convoy_route(
        &self,
        owner: OrgId,
        raw: &RawConvoyRoute,
        now: DateTime<Utc>,
    ) -> Result<(Vec<LonLat>, Vec<f64>, String), AppError> {
        let viewer = self.org_viewer(owner).await?;
        match (raw.saved, &raw.geojson) {
            (Some(id), None) => {
                let r = self
                    .replay_saved(&viewer, owner, id, now.date_naive())
                    .await
                    .map_err(|e| match e {
                        AppError::NotFound => AppError::bad(
                            "route.saved",
                            &id.to_string(),
                            "is not one of your organisation's saved routes",
                        ),
                        e => e,
                    })?;
                let g = &r.net.graph;
                let (mut line, mut risk): (Vec<LonLat>, Vec<f64>) = (Vec::new(), Vec::new());
                for l in &r.route.legs {
                    let mut part = sahelwatch_routing::plan::cut(
                        g.shape(&g.segments[l.segment as usize]),
                        l.start,
                        l.end,
                    );
                    if l.reverse {
                        part.reverse();
                    }
                    if line.last() == part.first() {
                        part.remove(0);
                    }
                    for p in part {
                        if !line.is_empty() {
                            risk.push(r.risk.field.risk(l.segment));
                        }
                        line.push(p);
                    }
                }
                Ok((line, risk, format!("saved route '{}'", r.rec.name)))
            }
            (None, Some(v)) => {
                let line = geojson_line(v).map_err(|e| AppError::bad("route.geojson", "", e))?;
                if line.len() > MAX_ROUTE_POINTS {
                    return Err(AppError::bad(
                        "route.geojson",
                        &line.len().to_string(),
                        format!("a route has at most {MAX_ROUTE_POINTS} points"),
                    ));
                }
                // Each piece takes the risk of the nearest road within 200 m
                // on the newest network, if there is one.
                let risk = match self.network(None).await {
                    Ok(net) => {
                        let view = self.risk_view(&viewer, &net, now.date_naive()).await?;
                        line.windows(2)
                            .map(|w| {
                                let mid = [(w[0][0] + w[1][0]) / 2.0, (w[0][1] + w[1][1]) / 2.0];
                                match net.index.nearest(mid) {
                                    Some((s, d)) if d <= 200.0 => view.field.risk(s),
                                    _ => 0.0,
                                }
                            })
                            .collect()
                    }
                    // No road network yet: no road risk to give.
                    Err(AppError::NotFound | AppError::BadRequest(_)) => {
                        vec![0.0; line.len().saturating_sub(1)]
                    }
                    Err(e) => return Err(e),
                };
                Ok((line, risk, "GeoJSON".to_string()))
            }
            _ => Err(AppError::bad(
                "route",
                "",
                "give exactly one of route.saved (a saved route id) and route.geojson (a LineString)",
            )),
        }
    }

    /// Registers a convoy for the caller's organisation. Generated secrets
    /// are in the answer, and only there.
    pub async fn register_convoy(
        &self,
        by: &Arc<Principal>,
        raw: &RawConvoy,
        now: DateTime<Utc>,
    ) -> Result<ConvoyView, AppError> {
        require_operator(by, "register convoys")?;
        let mut errs = Vec::new();
        let name = check_name("name", raw.name.as_deref(), &mut errs);
        if raw.vehicles.is_empty() || raw.vehicles.len() > MAX_VEHICLES {
            errs.push(ParamError::new(
                "vehicles",
                &raw.vehicles.len().to_string(),
                format!("a convoy has 1 to {MAX_VEHICLES} vehicles"),
            ));
        }
        let mut names = Vec::new();
        let mut devices = Vec::new();
        let mut secrets = Vec::new();
        for (k, v) in raw.vehicles.iter().enumerate() {
            names.push(check_name(
                &format!("vehicles[{k}].name"),
                v.name.as_deref(),
                &mut errs,
            ));
            let d = check_device(
                &format!("vehicles[{k}].device"),
                v.device.as_deref(),
                &mut errs,
            );
            if devices.contains(&d) {
                errs.push(ParamError::new(
                    &format!("vehicles[{k}].device"),
                    &d,
                    "is given twice",
                ));
            }
            devices.push(d);
            match &v.secret {
                Some(s) => {
                    check_secret(&format!("vehicles[{k}].secret"), s, &mut errs);
                    secrets.push((s.clone(), false));
                }
                None => secrets.push((new_secret(), true)),
            }
        }
        let interval_s = raw.interval_s.unwrap_or(30.0);
        if !(interval_s.is_finite() && (1.0..=3600.0).contains(&interval_s)) {
            errs.push(ParamError::new(
                "interval_s",
                &interval_s.to_string(),
                "is 1 to 3600 seconds",
            ));
        }
        let depart = parse_time("depart", raw.depart.as_deref(), &mut errs);
        let arrive = parse_time("arrive", raw.arrive.as_deref(), &mut errs);
        if let (Some(d), Some(a)) = (depart, arrive)
            && a <= d
        {
            errs.push(ParamError::new(
                "arrive",
                raw.arrive.as_deref().unwrap_or(""),
                "is not after depart",
            ));
        }
        let thresholds = raw.thresholds.clone().unwrap_or_default();
        if let Err(e) = thresholds.validate() {
            errs.push(ParamError::new("thresholds", "", e));
        }
        let mut geofences = Vec::new();
        for (k, g) in raw.geofences.iter().enumerate() {
            let field = format!("geofences[{k}]");
            let gname = check_name(&format!("{field}.name"), g.name.as_deref(), &mut errs);
            let shape = match (&g.center, g.radius_m, &g.polygon) {
                (Some(c), Some(r), None) => {
                    if !(c[0].abs() <= 180.0 && c[1].abs() <= 90.0) {
                        errs.push(ParamError::new(
                            &format!("{field}.center"),
                            &format!("{c:?}"),
                            "is not a [longitude, latitude]",
                        ));
                    }
                    if !(r.is_finite() && (1.0..=500_000.0).contains(&r)) {
                        errs.push(ParamError::new(
                            &format!("{field}.radius_m"),
                            &r.to_string(),
                            "is 1 to 500000 m",
                        ));
                    }
                    Some(Shape::Circle {
                        center: *c,
                        radius_m: r,
                    })
                }
                (None, None, Some(p)) => match geojson_polygon(p) {
                    Ok(polygon) => Some(Shape::Polygon { polygon }),
                    Err(e) => {
                        errs.push(ParamError::new(&format!("{field}.polygon"), "", e));
                        None
                    }
                },
                _ => {
                    errs.push(ParamError::new(
                        &field,
                        "",
                        "give either center and radius_m (a circle) or polygon (a GeoJSON Polygon)",
                    ));
                    None
                }
            };
            if let Some(shape) = shape {
                geofences.push(Geofence {
                    id: format!("g{}", k + 1),
                    name: gname,
                    shape,
                });
            }
        }
        let route = match &raw.route {
            None => {
                errs.push(ParamError::new(
                    "route",
                    "",
                    "is required: {\"saved\": ID} or {\"geojson\": LineString}",
                ));
                None
            }
            Some(r) => match self.convoy_route(by.org, r, now).await {
                Ok(x) => Some(x),
                Err(AppError::BadRequest(mut e)) => {
                    errs.append(&mut e);
                    None
                }
                Err(e) => return Err(e),
            },
        };
        let marking_in = raw.marking.clone().unwrap_or(MarkingInput {
            tlp: Tlp::Amber,
            sharing_group: None,
            recipients: Vec::new(),
            coarsen: Default::default(),
        });
        let mut marking = match self.resolve_marking(by, &marking_in).await {
            Ok(m) => Some(m),
            Err(AppError::BadRequest(mut e)) => {
                errs.append(&mut e);
                None
            }
            Err(e) => return Err(e),
        };
        let corridor = match &route {
            Some((line, risk, _)) => match Corridor::new(line.clone(), risk.clone()) {
                Ok(c) => Some(c),
                Err(e) => {
                    errs.push(ParamError::new("route", "", e.to_string()));
                    None
                }
            },
            None => None,
        };
        if !errs.is_empty() {
            return Err(AppError::BadRequest(errs));
        }
        let (Some(corridor), Some((line, _, source)), Some(marking)) =
            (corridor, route, marking.take())
        else {
            return Err(AppError::Internal(
                "convoy checks passed without a route".into(),
            ));
        };
        let engine = Convoy {
            route: corridor,
            vehicles: names.clone(),
            interval_s,
            geofences,
            thresholds,
        };
        let started = depart.map_or(now, |d| d.max(now)).timestamp_millis();
        let state = State::new(&engine, started);
        let spec = ConvoySpec {
            distance_km: (sahelwatch_routing::graph::polyline_m(&line) / 100.0).round() / 10.0,
            engine,
            devices: devices.clone(),
            route_source: source,
            depart,
            arrive,
            escort: raw.escort,
        };
        let rec = self
            .store
            .create_convoy(&NewConvoy {
                uid: Uuid::new_v4(),
                marking,
                name,
                created_ms: now.timestamp_millis(),
                spec: serde_json::to_value(&spec).map_err(crate::roads::internal)?,
                state: serde_json::to_value(&state).map_err(crate::roads::internal)?,
                devices: devices
                    .iter()
                    .zip(&secrets)
                    .enumerate()
                    .map(|(k, (d, (s, _)))| DeviceRecord {
                        device: d.clone(),
                        convoy: 0,
                        vehicle: k as i32,
                        secret_hash: crate::auth::secret_hash(s),
                    })
                    .collect(),
            })
            .await?;
        self.tracker_reload();
        let mut view = self.convoy_view(&rec).await?;
        for (v, (s, generated)) in view.vehicles.iter_mut().zip(secrets) {
            if generated {
                v.secret = Some(s);
            }
        }
        Ok(view)
    }

    pub(crate) async fn convoy_view(&self, rec: &ConvoyRecord) -> Result<ConvoyView, AppError> {
        let spec = read_spec(rec)?;
        let state: Option<State> = serde_json::from_value(rec.state.clone()).ok();
        let owner = self
            .org(rec.marking.owner)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        let vehicles = spec
            .engine
            .vehicles
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let vs = state.as_ref().and_then(|s| s.vehicles.get(k));
                let last = vs.and_then(|v| v.last);
                VehicleView {
                    name: name.clone(),
                    device: spec.devices.get(k).cloned().unwrap_or_default(),
                    secret: None,
                    last_position: last.map(|f| f.position),
                    last_time: last.map(|f| ms_time(f.time_ms)),
                    km: vs
                        .and_then(|v| v.located)
                        .map(|(_, along)| (along / 100.0).round() / 10.0),
                }
            })
            .collect();
        Ok(ConvoyView {
            id: rec.uid,
            name: rec.name.clone(),
            owner,
            tlp: rec.marking.tlp,
            created_at: ms_time(rec.created_ms),
            ended_at: rec.ended_ms.map(ms_time),
            route_source: spec.route_source,
            distance_km: spec.distance_km,
            route: spec.engine.route.line().to_vec(),
            depart: spec.depart,
            arrive: spec.arrive,
            escort: spec.escort,
            interval_s: spec.engine.interval_s,
            vehicles,
            geofences: spec.engine.geofences,
            thresholds: spec.engine.thresholds,
        })
    }

    /// A convoy the viewer may see.
    pub(crate) async fn visible_convoy(
        &self,
        viewer: &Viewer,
        id: Uuid,
    ) -> Result<ConvoyRecord, AppError> {
        match self.store.convoy_by_uid(id).await? {
            Some(c) if viewer.can_see(&c.marking) => Ok(c),
            _ => Err(AppError::NotFound),
        }
    }

    /// The convoys the viewer may see, newest first (active ones only unless `all`).
    pub async fn convoys(&self, viewer: &Viewer, all: bool) -> Result<Vec<ConvoyView>, AppError> {
        let mut out = Vec::new();
        for c in self.store.convoys().await? {
            if viewer.can_see(&c.marking) && (all || c.ended_ms.is_none()) {
                out.push(self.convoy_view(&c).await?);
            }
        }
        Ok(out)
    }

    pub async fn convoy(&self, viewer: &Viewer, id: Uuid) -> Result<ConvoyView, AppError> {
        let c = self.visible_convoy(viewer, id).await?;
        self.convoy_view(&c).await
    }

    /// Ends a convoy: its devices are released and no longer accepted.
    pub async fn end_convoy(
        &self,
        by: &Arc<Principal>,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<ConvoyView, AppError> {
        let viewer = Viewer::User(Arc::clone(by));
        let c = self.visible_convoy(&viewer, id).await?;
        if c.marking.owner != by.org {
            return Err(AppError::Forbidden(
                "only the owner organisation may end a convoy".into(),
            ));
        }
        require_operator(by, "end convoys")?;
        if !self.store.end_convoy(c.id, now.timestamp_millis()).await? {
            return Err(AppError::Conflict(format!(
                "convoy '{}' has already ended",
                c.name
            )));
        }
        self.tracker_reload();
        self.convoy(&viewer, id).await
    }

    /// A convoy's track from `from` to `to` as a GeoJSON FeatureCollection:
    /// one LineString per vehicle, then each position as a Point.
    pub async fn convoy_track(
        &self,
        viewer: &Viewer,
        id: Uuid,
        from: Option<&str>,
        to: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<serde_json::Value, AppError> {
        let mut errs = Vec::new();
        let from_t = parse_time("from", from, &mut errs);
        let to_t = parse_time("to", to, &mut errs);
        if let (Some(a), Some(b)) = (from_t, to_t)
            && b <= a
        {
            errs.push(ParamError::new("to", to.unwrap_or(""), "is not after from"));
        }
        if !errs.is_empty() {
            return Err(AppError::BadRequest(errs));
        }
        let c = self.visible_convoy(viewer, id).await?;
        let spec = read_spec(&c)?;
        let from_ms = from_t.map_or(i64::MIN, |t| t.timestamp_millis());
        let to_ms = to_t.map_or(now.timestamp_millis() + 86_400_000, |t| {
            t.timestamp_millis()
        });
        let positions = self
            .store
            .positions(c.id, from_ms, to_ms, MAX_TRACK_POSITIONS + 1)
            .await?;
        let truncated = positions.len() > MAX_TRACK_POSITIONS;
        let positions = &positions[..positions.len().min(MAX_TRACK_POSITIONS)];
        let mut features = Vec::new();
        for (k, name) in spec.engine.vehicles.iter().enumerate() {
            let mine: Vec<_> = positions.iter().filter(|p| p.vehicle == k as i32).collect();
            if mine.len() >= 2 {
                features.push(serde_json::json!({
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": mine.iter().map(|p| [p.longitude, p.latitude]).collect::<Vec<_>>(),
                    },
                    "properties": {
                        "vehicle": name,
                        "device": spec.devices.get(k),
                        "positions": mine.len(),
                        "from": ms_time(mine[0].time_ms),
                        "to": ms_time(mine[mine.len() - 1].time_ms),
                    },
                }));
            }
        }
        for p in positions {
            features.push(serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p.longitude, p.latitude]},
                "properties": {
                    "vehicle": spec.engine.vehicles.get(p.vehicle as usize),
                    "time": ms_time(p.time_ms),
                    "received": ms_time(p.received_ms),
                    "speed_kmh": p.speed_kmh,
                    "bearing": p.bearing,
                    "altitude": p.altitude,
                    "accuracy": p.accuracy,
                    "battery": p.battery,
                    "sos": p.sos,
                    "outcome": p.outcome,
                    "source": p.source,
                },
            }));
        }
        Ok(serde_json::json!({
            "type": "FeatureCollection",
            "convoy": c.uid,
            "name": c.name,
            "positions": positions.len(),
            "truncated": truncated,
            "features": features,
        }))
    }

    /// Alerts of the convoys the viewer may see, by id (oldest first), after
    /// `after`; of one convoy when `convoy` is given.
    pub async fn convoy_alerts(
        &self,
        viewer: &Viewer,
        convoy: Option<Uuid>,
        after: i64,
        unacknowledged: bool,
        limit: usize,
    ) -> Result<Vec<AlertView>, AppError> {
        let convoys: Vec<ConvoyRecord> = match convoy {
            Some(id) => vec![self.visible_convoy(viewer, id).await?],
            None => self
                .store
                .convoys()
                .await?
                .into_iter()
                .filter(|c| viewer.can_see(&c.marking))
                .collect(),
        };
        let records = self
            .store
            .alerts(&AlertFilter {
                convoys: Some(convoys.iter().map(|c| c.id).collect()),
                after,
                unacknowledged,
                limit,
            })
            .await?;
        let mut out = Vec::with_capacity(records.len());
        for a in records {
            if !self.alert_incident_visible(viewer, &a).await? {
                continue;
            }
            let c = convoys
                .iter()
                .find(|c| c.id == a.convoy)
                .ok_or_else(|| AppError::Internal("alert of an unlisted convoy".into()))?;
            out.push(self.alert_view(c, &read_spec(c)?, a).await?);
        }
        Ok(out)
    }

    /// An alert that tells of an incident (a fresh incident ahead) is
    /// shown only to who may see that incident too.
    pub(crate) async fn alert_incident_visible(
        &self,
        viewer: &Viewer,
        a: &AlertRecord,
    ) -> Result<bool, AppError> {
        let Some(uid) = a.data.get("incident").and_then(|v| v.as_str()) else {
            return Ok(true);
        };
        let Ok(uid) = uid.parse::<Uuid>() else {
            return Ok(false);
        };
        Ok(match self.store.incident_by_uid(uid).await? {
            Some((_, inc)) => viewer.can_see(&inc.marking),
            None => false,
        })
    }

    pub(crate) async fn alert_view(
        &self,
        c: &ConvoyRecord,
        spec: &ConvoySpec,
        a: AlertRecord,
    ) -> Result<AlertView, AppError> {
        let acknowledged = match a.acked_ms {
            Some(at) => Some(AckView {
                by: match a.acked_by {
                    Some(u) => self.store.user(u).await?.map(|u| u.username),
                    None => None,
                },
                at: ms_time(at),
                note: a.ack_note.clone(),
            }),
            None => None,
        };
        Ok(AlertView {
            id: a.id,
            convoy: c.uid,
            convoy_name: c.name.clone(),
            kind: a.kind,
            severity: a.severity,
            vehicle: a
                .vehicle
                .and_then(|v| spec.engine.vehicles.get(v as usize).cloned()),
            at: ms_time(a.at_ms),
            message: a.message,
            data: a.data,
            created_at: ms_time(a.created_ms),
            acknowledged,
        })
    }

    /// Acknowledges an alert of a convoy the caller may see (analysts and
    /// admins); an alert acknowledged already is a conflict that says by whom.
    pub async fn ack_alert(
        &self,
        by: &Arc<Principal>,
        id: i64,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AlertView, AppError> {
        let viewer = Viewer::User(Arc::clone(by));
        let a = self.store.alert(id).await?.ok_or(AppError::NotFound)?;
        let c = self
            .store
            .convoy(a.convoy)
            .await?
            .filter(|c| viewer.can_see(&c.marking))
            .ok_or(AppError::NotFound)?;
        if !self.alert_incident_visible(&viewer, &a).await? {
            return Err(AppError::NotFound);
        }
        require_operator(by, "acknowledge alerts")?;
        if let Some(n) = note
            && (n.chars().count() > 1000 || n.chars().any(|c| c.is_control() && c != '\n'))
        {
            return Err(AppError::bad(
                "note",
                "",
                "a note is at most 1000 characters without control characters",
            ));
        }
        let spec = read_spec(&c)?;
        if !self
            .store
            .ack_alert(id, Some(by.user), now.timestamp_millis(), note)
            .await?
        {
            let v = self.alert_view(&c, &spec, a).await?;
            let ack = v.acknowledged.as_ref();
            return Err(AppError::Conflict(format!(
                "alert {id} was already acknowledged by {} at {}",
                ack.and_then(|a| a.by.clone())
                    .unwrap_or_else(|| "someone".into()),
                ack.map(|a| a.at.to_rfc3339()).unwrap_or_default()
            )));
        }
        let a = self.store.alert(id).await?.ok_or(AppError::NotFound)?;
        self.alert_view(&c, &spec, a).await
    }

    /// Registers a webhook for the caller's organisation (admins and
    /// analysts). It receives the alerts of every convoy the organisation
    /// may see, from `min_severity` up.
    pub async fn create_webhook(
        &self,
        by: &Arc<Principal>,
        raw: &RawWebhook,
        now: DateTime<Utc>,
    ) -> Result<WebhookView, AppError> {
        require_operator(by, "register webhooks")?;
        let mut errs = Vec::new();
        let url = raw.url.as_deref().unwrap_or("").trim().to_string();
        if let Err(e) = crate::tracker::check_webhook_url(&url, self.webhooks_allow_private()) {
            errs.push(ParamError::new("url", &url, e));
        }
        let min = raw.min_severity.as_deref().unwrap_or("warning");
        if parse_severity(min).is_none() {
            errs.push(ParamError::new(
                "min_severity",
                min,
                "is info, warning or critical",
            ));
        }
        let (secret, generated) = match &raw.secret {
            Some(s) => {
                check_secret("secret", s, &mut errs);
                (s.clone(), false)
            }
            None => (new_secret(), true),
        };
        if !errs.is_empty() {
            return Err(AppError::BadRequest(errs));
        }
        let rec = self
            .store
            .create_webhook(&NewWebhook {
                uid: Uuid::new_v4(),
                owner_org: by.org,
                url,
                secret: secret.clone(),
                min_severity: min.to_string(),
                created_by: Some(by.user),
                created_ms: now.timestamp_millis(),
            })
            .await?;
        self.tracker_reload();
        let mut v = webhook_view(rec, Vec::new());
        if generated {
            v.secret = Some(secret);
        }
        Ok(v)
    }

    /// The organisation's webhooks with their latest deliveries.
    pub async fn webhooks(&self, org: OrgId) -> Result<Vec<WebhookView>, AppError> {
        let mut out = Vec::new();
        for w in self.store.webhooks(Some(org)).await? {
            let d = self.store.deliveries(w.id, 20).await?;
            out.push(webhook_view(w, d));
        }
        Ok(out)
    }

    pub async fn delete_webhook(&self, by: &Arc<Principal>, id: Uuid) -> Result<(), AppError> {
        require_operator(by, "delete webhooks")?;
        let w = self
            .store
            .webhooks(Some(by.org))
            .await?
            .into_iter()
            .find(|w| w.uid == id)
            .ok_or(AppError::NotFound)?;
        self.store.delete_webhook(by.org, w.id).await?;
        self.tracker_reload();
        Ok(())
    }
}

pub(crate) fn parse_severity(s: &str) -> Option<Severity> {
    match s {
        "info" => Some(Severity::Info),
        "warning" => Some(Severity::Warning),
        "critical" => Some(Severity::Critical),
        _ => None,
    }
}

fn webhook_view(w: WebhookRecord, deliveries: Vec<DeliveryRecord>) -> WebhookView {
    WebhookView {
        id: w.uid,
        url: w.url,
        min_severity: w.min_severity,
        created_at: ms_time(w.created_ms),
        secret: None,
        deliveries: deliveries
            .into_iter()
            .map(|d| DeliveryView {
                alert: d.alert,
                next_attempt: (d.status == "pending").then(|| ms_time(d.next_ms)),
                status: d.status,
                attempts: d.attempts,
                last_code: d.last_code,
                last_error: d.last_error,
                delivered_at: d.delivered_ms.map(ms_time),
            })
            .collect(),
    }
}

pub(crate) fn read_spec(c: &ConvoyRecord) -> Result<ConvoySpec, AppError> {
    serde_json::from_value(c.spec.clone()).map_err(|e| {
        AppError::Store(sahelwatch_store::StoreError::Corrupt(format!(
            "convoy {}: {e}",
            c.id
        )))
    })
}
