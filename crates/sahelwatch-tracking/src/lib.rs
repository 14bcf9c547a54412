//! The convoy alert engine: a pure state machine. [`step`] takes a convoy's
//! configuration, its state, one input (a position, a clock tick or a fresh
//! incident) and the time now, updates the state and returns what happened
//! to the input and the alerts it raised. Time is a parameter: this crate
//! never reads a clock, and never touches a socket, a file or a database.
//! The state is plain data (serde), so a server can store it and another
//! instance can carry on from it.
//!
//! Rules (thresholds in [`Thresholds`]):
//! - SOS from a device: critical, once per SOS episode;
//! - entering a stretch of the planned route whose road risk is high;
//! - entering or leaving a geofence (circle or polygon);
//! - off route: farther than `off_route_m` from the planned route for
//!   longer than `off_route_s`;
//! - stopped (within `stop_radius_m` for longer than `stop_s`) where the
//!   road risk is high;
//! - loss of contact: no position for `contact_factor` times the expected
//!   interval (warning), then twice that (critical);
//! - a fresh incident (at most `incident_hours` old) within `incident_km` of
//!   the route still ahead of the convoy;
//! - a vehicle farther than `separation_km` from every other vehicle.
//!
//! Positions are checked first: impossible coordinates, an impossible
//! speed and a time far in the future are refused; a time a little in the
//! future (clock skew) is taken as now, and said so; a repeated position is
//! ignored; an older one than the last is kept for the track but raises
//! nothing.

pub mod corridor;
pub mod sim;

pub use corridor::{Corridor, Located, haversine_m};

use geo::Contains;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Longitude, latitude (degrees).
pub type LonLat = [f64; 2];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TrackingError {
    #[error("route: {0}")]
    Route(String),
    #[error("geofence {0}: {1}")]
    Geofence(String, String),
}

/// When an alert fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub high_risk: f64,
    pub off_route_m: f64,
    pub off_route_s: f64,
    pub stop_radius_m: f64,
    pub stop_s: f64,
    pub contact_factor: f64,
    pub incident_km: f64,
    pub incident_hours: f64,
    pub separation_km: f64,
    /// Faster than this (km/h), reported or implied, is impossible.
    pub max_speed_kmh: f64,
    /// A device clock this far ahead (s) is taken as skew: the position
    /// counts as received now. Farther ahead, it is refused.
    pub max_skew_s: f64,
}

impl Thresholds {
    /// Every threshold must be a positive number within its bound; the first
    /// that is not is named.
    pub fn validate(&self) -> Result<(), String> {
        let all = [
            ("high_risk", self.high_risk, 1e6),
            ("off_route_m", self.off_route_m, 100_000.0),
            ("off_route_s", self.off_route_s, 86_400.0),
            ("stop_radius_m", self.stop_radius_m, 10_000.0),
            ("stop_s", self.stop_s, 86_400.0),
            ("contact_factor", self.contact_factor, 100.0),
            ("incident_km", self.incident_km, 500.0),
            ("incident_hours", self.incident_hours, 720.0),
            ("separation_km", self.separation_km, 1_000.0),
            ("max_speed_kmh", self.max_speed_kmh, 1_000.0),
            ("max_skew_s", self.max_skew_s, 86_400.0),
        ];
        match all
            .iter()
            .find(|(_, v, max)| !(v.is_finite() && *v > 0.0 && v <= max))
        {
            Some((name, v, max)) => Err(format!(
                "thresholds.{name}: {v} is not a number above 0 and at most {max}"
            )),
            None => Ok(()),
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            high_risk: 1.0,
            off_route_m: 500.0,
            off_route_s: 120.0,
            stop_radius_m: 50.0,
            stop_s: 600.0,
            contact_factor: 3.0,
            incident_km: 10.0,
            incident_hours: 24.0,
            separation_km: 5.0,
            max_speed_kmh: 200.0,
            max_skew_s: 3_600.0,
        }
    }
}

/// An area whose crossing is reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Geofence {
    pub id: String,
    pub name: String,
    pub shape: Shape,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Shape {
    Circle {
        center: LonLat,
        radius_m: f64,
    },
    /// Stored as `{"exterior": [[lon, lat], ...], "holes": [[...]]}`.
    Polygon {
        #[serde(with = "rings")]
        polygon: geo::Polygon<f64>,
    },
}

/// A polygon as its rings of (lon, lat).
mod rings {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Rings {
        exterior: Vec<[f64; 2]>,
        #[serde(default)]
        holes: Vec<Vec<[f64; 2]>>,
    }

    fn ring(r: &geo::LineString<f64>) -> Vec<[f64; 2]> {
        r.coords().map(|c| [c.x, c.y]).collect()
    }

    pub fn serialize<S: Serializer>(p: &geo::Polygon<f64>, s: S) -> Result<S::Ok, S::Error> {
        Rings {
            exterior: ring(p.exterior()),
            holes: p.interiors().iter().map(ring).collect(),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<geo::Polygon<f64>, D::Error> {
        let r = Rings::deserialize(d)?;
        let line = |v: Vec<[f64; 2]>| geo::LineString::from(v);
        Ok(geo::Polygon::new(
            line(r.exterior),
            r.holes.into_iter().map(line).collect(),
        ))
    }
}

impl Shape {
    fn contains(&self, p: LonLat) -> bool {
        match self {
            Shape::Circle { center, radius_m } => haversine_m(*center, p) <= *radius_m,
            Shape::Polygon { polygon } => polygon.contains(&geo::Point::new(p[0], p[1])),
        }
    }
}

/// What the engine knows of a convoy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Convoy {
    pub route: Corridor,
    /// Vehicles by index (their names, for the messages).
    pub vehicles: Vec<String>,
    /// How often each vehicle is expected to report (s).
    pub interval_s: f64,
    pub geofences: Vec<Geofence>,
    pub thresholds: Thresholds,
}

/// A position as a device reported it, times in milliseconds since the
/// epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    pub vehicle: usize,
    pub time_ms: i64,
    pub position: LonLat,
    pub speed_kmh: Option<f64>,
    pub sos: bool,
}

/// A fresh incident the convoy should hear of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentNear {
    pub id: String,
    pub position: LonLat,
    pub time_ms: i64,
    pub kind: String,
}

/// One input to the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Fix(Fix),
    /// The clock moved on (loss of contact is noticed on ticks).
    Tick,
    Incident(IncidentNear),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    Sos,
    HighRisk,
    GeofenceEnter,
    GeofenceLeave,
    OffRoute,
    DangerousStop,
    LostContact,
    IncidentAhead,
    Separated,
}

/// An alert, with the data behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub kind: AlertKind,
    pub severity: Severity,
    pub vehicle: Option<usize>,
    pub at_ms: i64,
    pub message: String,
    pub data: serde_json::Value,
}

/// What became of a position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FixOutcome {
    /// Used for the track and the alerts.
    Accepted,
    /// Used, at the time it was received: the device clock is ahead.
    Skewed { ahead_s: f64 },
    /// Kept for the track only: older than the vehicle's last position.
    Late { behind_s: f64 },
    /// The vehicle's last position again.
    Duplicate,
    /// Refused, with the reason.
    Refused { reason: String },
}

impl FixOutcome {
    /// Should the position be stored (on the track)?
    pub fn stored(&self) -> bool {
        matches!(
            self,
            FixOutcome::Accepted | FixOutcome::Skewed { .. } | FixOutcome::Late { .. }
        )
    }
}

/// One vehicle's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VehicleState {
    pub last: Option<Fix>,
    /// When the last position was received (ms).
    pub heard_ms: Option<i64>,
    pub located: Option<(usize, f64)>,
    pub in_high_risk: bool,
    pub inside: Vec<String>,
    pub off_route_since: Option<i64>,
    pub off_route_alerted: bool,
    /// Where and since when it has not moved beyond the stop radius.
    pub stop_anchor: Option<(LonLat, i64)>,
    pub stop_alerted: bool,
    pub sos: bool,
    /// 0 in contact, 1 warned, 2 critical.
    pub contact_level: u8,
    pub separated: bool,
}

/// A convoy's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// When tracking began (silence before any position counts from here).
    pub started_ms: i64,
    pub vehicles: Vec<VehicleState>,
    /// Incidents already reported.
    pub incidents_seen: Vec<String>,
}

impl State {
    pub fn new(convoy: &Convoy, started_ms: i64) -> State {
        State {
            started_ms,
            vehicles: vec![VehicleState::default(); convoy.vehicles.len()],
            incidents_seen: Vec::new(),
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Step {
    /// For a position: what became of it.
    pub outcome: Option<FixOutcome>,
    pub alerts: Vec<Alert>,
}

fn km(m: f64) -> f64 {
    (m / 100.0).round() / 10.0
}

/// Advances `state` by one input at `now_ms`.
pub fn step(convoy: &Convoy, state: &mut State, input: &Input, now_ms: i64) -> Step {
    match input {
        Input::Fix(f) => on_fix(convoy, state, f, now_ms),
        Input::Tick => Step {
            outcome: None,
            alerts: on_tick(convoy, state, now_ms),
        },
        Input::Incident(i) => Step {
            outcome: None,
            alerts: on_incident(convoy, state, i, now_ms),
        },
    }
}

fn refused(reason: String) -> Step {
    Step {
        outcome: Some(FixOutcome::Refused { reason }),
        alerts: Vec::new(),
    }
}

fn on_fix(convoy: &Convoy, state: &mut State, f: &Fix, now_ms: i64) -> Step {
    let t = &convoy.thresholds;
    let Some(name) = convoy.vehicles.get(f.vehicle) else {
        return refused(format!("vehicle {} is not in this convoy", f.vehicle));
    };
    if !corridor::valid(f.position) {
        return refused(format!(
            "position ({}, {}) is not a longitude, latitude",
            f.position[0], f.position[1]
        ));
    }
    if let Some(s) = f.speed_kmh
        && !(s.is_finite() && (0.0..=t.max_speed_kmh).contains(&s))
    {
        return refused(format!("speed {s} km/h is impossible"));
    }
    let ahead_s = (f.time_ms - now_ms) as f64 / 1000.0;
    if ahead_s > t.max_skew_s {
        return refused(format!(
            "time is {ahead_s:.0} s ahead of the server clock (more than {} s of skew)",
            t.max_skew_s
        ));
    }
    let mut fix = *f;
    let mut outcome = FixOutcome::Accepted;
    if ahead_s > 0.0 {
        fix.time_ms = now_ms;
        outcome = FixOutcome::Skewed { ahead_s };
    }
    let v = &mut state.vehicles[f.vehicle];
    if let Some(last) = v.last {
        if last.time_ms == fix.time_ms && last.position == fix.position {
            return Step {
                outcome: Some(FixOutcome::Duplicate),
                alerts: Vec::new(),
            };
        }
        if fix.time_ms < last.time_ms {
            return Step {
                outcome: Some(FixOutcome::Late {
                    behind_s: (last.time_ms - fix.time_ms) as f64 / 1000.0,
                }),
                alerts: Vec::new(),
            };
        }
        let dt_h = (fix.time_ms - last.time_ms) as f64 / 3.6e6;
        let d_km = haversine_m(last.position, fix.position) / 1000.0;
        // Below 1 km, GPS noise over a short interval is not a speed.
        if d_km > 1.0 && (dt_h <= 0.0 || d_km / dt_h > t.max_speed_kmh) {
            return refused(format!(
                "{d_km:.1} km from the last position in {:.0} s: faster than {} km/h",
                dt_h * 3600.0,
                t.max_speed_kmh
            ));
        }
    }
    let mut alerts = Vec::new();
    let at = fix.time_ms;
    let mut alert = |kind, severity, message: String, data| {
        alerts.push(Alert {
            kind,
            severity,
            vehicle: Some(f.vehicle),
            at_ms: at,
            message,
            data,
        })
    };
    v.last = Some(fix);
    v.heard_ms = Some(now_ms);
    v.contact_level = 0;

    if fix.sos && !v.sos {
        alert(
            AlertKind::Sos,
            Severity::Critical,
            format!("{name}: SOS"),
            json!({"position": fix.position}),
        );
    }
    v.sos = fix.sos;

    let l = convoy
        .route
        .locate(fix.position, v.located.map(|(p, _)| p), t.off_route_m);
    v.located = Some((l.piece, l.along_m));
    let on_route = l.distance_m <= t.off_route_m;
    if on_route && l.risk >= t.high_risk {
        if !v.in_high_risk {
            alert(
                AlertKind::HighRisk,
                Severity::Warning,
                format!(
                    "{name} entered a high-risk stretch at km {} (risk {:.2})",
                    km(l.along_m),
                    l.risk
                ),
                json!({"km": km(l.along_m), "risk": l.risk, "piece": l.piece}),
            );
        }
        v.in_high_risk = true;
    } else {
        v.in_high_risk = false;
    }
    if on_route {
        v.off_route_since = None;
        v.off_route_alerted = false;
    } else {
        let since = *v.off_route_since.get_or_insert(at);
        let off_s = (at - since) as f64 / 1000.0;
        if off_s >= t.off_route_s && !v.off_route_alerted {
            v.off_route_alerted = true;
            alert(
                AlertKind::OffRoute,
                Severity::Warning,
                format!(
                    "{name} is {:.0} m off the planned route (for {off_s:.0} s), near km {}",
                    l.distance_m,
                    km(l.along_m)
                ),
                json!({"distance_m": l.distance_m.round(), "seconds": off_s, "km": km(l.along_m)}),
            );
        }
    }

    for g in &convoy.geofences {
        let now_in = g.shape.contains(fix.position);
        let was_in = v.inside.iter().any(|id| id == &g.id);
        if now_in && !was_in {
            v.inside.push(g.id.clone());
            alert(
                AlertKind::GeofenceEnter,
                Severity::Warning,
                format!("{name} entered {}", g.name),
                json!({"geofence": g.id}),
            );
        } else if !now_in && was_in {
            v.inside.retain(|id| id != &g.id);
            alert(
                AlertKind::GeofenceLeave,
                Severity::Info,
                format!("{name} left {}", g.name),
                json!({"geofence": g.id}),
            );
        }
    }

    match v.stop_anchor {
        Some((p, _)) if haversine_m(p, fix.position) <= t.stop_radius_m => {}
        _ => {
            v.stop_anchor = Some((fix.position, at));
            v.stop_alerted = false;
        }
    }
    if let Some((_, since)) = v.stop_anchor {
        let stopped_s = (at - since) as f64 / 1000.0;
        if stopped_s >= t.stop_s && l.risk >= t.high_risk && on_route && !v.stop_alerted {
            v.stop_alerted = true;
            alert(
                AlertKind::DangerousStop,
                Severity::Critical,
                format!(
                    "{name} has been stopped {:.0} min at km {}, where the road risk is {:.2}",
                    stopped_s / 60.0,
                    km(l.along_m),
                    l.risk
                ),
                json!({"minutes": (stopped_s / 60.0).round(), "km": km(l.along_m), "risk": l.risk}),
            );
        }
    }

    // Separation: the distance to the nearest other vehicle heard from.
    let nearest = state
        .vehicles
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != f.vehicle)
        .filter_map(|(_, o)| o.last.map(|o| haversine_m(o.position, fix.position)))
        .min_by(f64::total_cmp);
    let v = &mut state.vehicles[f.vehicle];
    if let Some(d) = nearest {
        let apart = d > t.separation_km * 1000.0;
        if apart && !v.separated {
            alerts.push(Alert {
                kind: AlertKind::Separated,
                severity: Severity::Warning,
                vehicle: Some(f.vehicle),
                at_ms: at,
                message: format!("{name} is {:.1} km from the rest of the convoy", d / 1000.0),
                data: json!({"km": km(d)}),
            });
        }
        v.separated = apart;
    }
    Step {
        outcome: Some(outcome),
        alerts,
    }
}

fn on_tick(convoy: &Convoy, state: &mut State, now_ms: i64) -> Vec<Alert> {
    let t = &convoy.thresholds;
    let mut out = Vec::new();
    let started = state.started_ms;
    for (k, v) in state.vehicles.iter_mut().enumerate() {
        let silent_s = (now_ms - v.heard_ms.unwrap_or(started)) as f64 / 1000.0;
        let level = if silent_s >= 2.0 * t.contact_factor * convoy.interval_s {
            2
        } else if silent_s >= t.contact_factor * convoy.interval_s {
            1
        } else {
            0
        };
        if level > v.contact_level {
            out.push(Alert {
                kind: AlertKind::LostContact,
                severity: if level == 2 {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                vehicle: Some(k),
                at_ms: now_ms,
                message: format!(
                    "no position from {} for {:.0} min (expected every {:.0} s)",
                    convoy.vehicles[k],
                    silent_s / 60.0,
                    convoy.interval_s
                ),
                data: json!({"silent_s": silent_s.round(), "last": v.last.map(|f| f.position)}),
            });
            v.contact_level = level;
        }
    }
    out
}

fn on_incident(convoy: &Convoy, state: &mut State, i: &IncidentNear, now_ms: i64) -> Vec<Alert> {
    let t = &convoy.thresholds;
    let age_h = (now_ms - i.time_ms) as f64 / 3.6e6;
    if !(0.0..=t.incident_hours).contains(&age_h)
        || !corridor::valid(i.position)
        || state.incidents_seen.contains(&i.id)
    {
        return Vec::new();
    }
    // The route still ahead: from the rearmost vehicle heard from.
    let from = state
        .vehicles
        .iter()
        .filter_map(|v| v.located.map(|(_, a)| a))
        .min_by(f64::total_cmp)
        .unwrap_or(0.0);
    let Some(l) = convoy.route.locate_ahead(i.position, from) else {
        return Vec::new();
    };
    // Behind the convoy: nearer the road already driven than the road ahead
    // (a road that comes back past it counts as ahead).
    let whole = convoy.route.locate(i.position, None, f64::INFINITY);
    let behind = whole.along_m < from && l.distance_m > whole.distance_m + 1.0;
    if behind || l.distance_m > t.incident_km * 1000.0 {
        return Vec::new();
    }
    state.incidents_seen.push(i.id.clone());
    vec![Alert {
        kind: AlertKind::IncidentAhead,
        severity: Severity::Warning,
        vehicle: None,
        at_ms: now_ms,
        message: format!(
            "{} reported {:.0} h ago, {:.1} km from the route at km {} ({:.0} km ahead)",
            i.kind,
            age_h,
            l.distance_m / 1000.0,
            km(l.along_m),
            (l.along_m - from) / 1000.0
        ),
        data: json!({"incident": i.id, "km": km(l.along_m), "distance_km": km(l.distance_m)}),
    }]
}

#[cfg(test)]
mod tests;
