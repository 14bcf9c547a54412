//! Road networks and routes: importing a network (OpenStreetMap PBF or
//! GeoJSON lines), keeping the current one loaded with its hierarchy, the
//! risk per segment each viewer's incidents give, and route planning.
//!
//! Risk is computed from what the asking viewer may see, at the positions
//! they see, so a route never reveals an incident by avoiding it. Each
//! viewer's risk is kept (per network and departure day) and brought up to
//! date with the incident index by difference: only incidents that appeared,
//! changed or disappeared from the viewer's view are re-spread onto the
//! road, and the metrics are customised again. A new day recomputes it all
//! (incident ages change).

use crate::query::resolve_place;
use crate::{App, AppError, ParamError};
use chrono::{DateTime, NaiveDate, Utc};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sahelwatch_core::{Incident, Viewer};
use sahelwatch_query::{Filter, Snapshot};
use sahelwatch_routing::build::{BuildReport, GraphBuilder};
use sahelwatch_routing::engine::{Cch, CchMetric, PathEngine, Topology};
use sahelwatch_routing::lines::{LinesOptions, LinesSummary};
use sahelwatch_routing::plan::{self, Context, Route, Snap};
use sahelwatch_routing::risk::{RiskField, RiskIncident, RiskModel, SegmentIndex};
use sahelwatch_routing::{RoadClass, RoadGraph, SpeedProfile};
use sahelwatch_store::{NewRoadNetwork, RoadNetworkRecord};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use utoipa::ToSchema;
use uuid::Uuid;

/// The farthest a route end may be from a road (m).
pub const MAX_SNAP_M: f64 = 25_000.0;
/// Viewers' risk views kept in memory.
const RISK_VIEWS_KEPT: usize = 32;
/// The version of the stored network document.
const DOC_VERSION: u32 = 1;

/// What `import roads` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoadFormat {
    OsmPbf,
    GeoJson,
}

impl RoadFormat {
    /// The format of a file, from its name.
    pub fn of(name: &str) -> Option<RoadFormat> {
        let n = name.to_ascii_lowercase();
        if n.ends_with(".pbf") {
            Some(RoadFormat::OsmPbf)
        } else if n.ends_with(".geojson") || n.ends_with(".json") {
            Some(RoadFormat::GeoJson)
        } else {
            None
        }
    }
}

/// How to import road files.
#[derive(Debug, Clone)]
pub struct RoadImportOptions {
    /// The network's name; a network of the same name is replaced.
    pub name: String,
    /// GeoJSON only: join dangling ends to roads within this distance (m).
    pub snap_m: Option<f64>,
    pub profile: SpeedProfile,
    /// GeoJSON only: the class of every line (else from its properties).
    pub class: Option<RoadClass>,
    pub created_at: DateTime<Utc>,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct RoadImport {
    pub id: i64,
    pub name: String,
    pub source: String,
    pub report: BuildReport,
    /// Per GeoJSON file: what was read.
    pub files: Vec<(String, LinesSummary)>,
    /// Seconds to build the graph and to compute its contraction order.
    pub build_seconds: f64,
    pub order_seconds: f64,
    pub stored_bytes: i64,
}

/// The stored document of a network.
#[derive(Serialize, Deserialize)]
struct NetworkDoc {
    version: u32,
    graph: RoadGraph,
    order: Vec<u32>,
}

/// A network ready for queries.
pub struct Network {
    pub record: RoadNetworkRecord,
    pub graph: RoadGraph,
    pub topology: Arc<Topology>,
    pub cch: Cch,
    pub index: SegmentIndex,
    /// Driving time per arc (tenths of a second).
    pub tenths: Vec<u32>,
}

/// One viewer's risk on one network for one departure day, with the
/// metrics customised from it so far.
pub struct RiskView {
    /// The incident index sequence it reflects.
    seq: i64,
    pub as_of: NaiveDate,
    pub field: RiskField,
    incidents: HashMap<i64, RiskIncident>,
    metrics: Mutex<HashMap<u64, Arc<CchMetric>>>,
    /// The metrics of the view this one updated, each dropped once used:
    /// customising again from one redoes only what the changed segments
    /// touch.
    previous: Mutex<HashMap<u64, Arc<CchMetric>>>,
    /// The segments whose risk changed since that view.
    changed: Vec<u32>,
}

#[derive(Default)]
pub(crate) struct RoadsState {
    network: tokio::sync::Mutex<Option<Arc<Network>>>,
    risk: Mutex<Vec<(RiskKey, Arc<RiskView>)>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RiskKey {
    network: i64,
    viewer: String,
    as_of: NaiveDate,
}

fn viewer_key(v: &Viewer) -> String {
    match v {
        Viewer::Local => "local".into(),
        Viewer::Anonymous => "anonymous".into(),
        Viewer::User(p) => format!("user {} org {} groups {:?}", p.user.0, p.org.0, p.groups),
    }
}

pub(crate) fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

/// A network built from files, before it is stored.
pub struct Built {
    pub graph: RoadGraph,
    pub report: BuildReport,
    pub files: Vec<(String, LinesSummary)>,
    pub order: Vec<u32>,
    pub build_seconds: f64,
    pub order_seconds: f64,
}

/// Builds a network from files (all of one format) and computes its
/// contraction order; blocking, CPU-bound.
pub fn build_network(
    files: Vec<(String, Box<dyn Read + Send>)>,
    opts: &RoadImportOptions,
) -> Result<Built, AppError> {
    let started = std::time::Instant::now();
    let bad = |file: &str, m: String| AppError::bad("file", file, m);
    let formats: Vec<RoadFormat> = files
        .iter()
        .map(|(n, _)| {
            RoadFormat::of(n).ok_or_else(|| {
                bad(
                    n,
                    "is neither an OpenStreetMap extract (.osm.pbf) nor GeoJSON (.geojson)".into(),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let mut summaries = Vec::new();
    let (graph, report) = match formats.as_slice() {
        [] => return Err(AppError::bad("file", "", "give at least one road file")),
        [RoadFormat::OsmPbf] => {
            let (name, reader) = files.into_iter().next().expect("one file");
            if opts.snap_m.is_some() || opts.class.is_some() {
                return Err(bad(
                    &name,
                    "--snap and --class apply to GeoJSON lines only".into(),
                ));
            }
            sahelwatch_routing::osm::read_pbf(reader, opts.profile.clone())
                .map_err(|e| bad(&name, e.to_string()))?
        }
        f if f.iter().all(|f| *f == RoadFormat::GeoJson) => {
            let mut builder = GraphBuilder::new(opts.profile.clone());
            let lines = LinesOptions {
                class: opts.class,
                class_property: None,
            };
            for (name, reader) in files {
                let s = sahelwatch_routing::lines::read_geojson(reader, &lines, &mut builder)
                    .map_err(|e| bad(&name, e.to_string()))?;
                summaries.push((name, s));
            }
            builder.build(opts.snap_m)
        }
        _ => {
            return Err(AppError::bad(
                "file",
                "",
                "import one OpenStreetMap extract, or one or more GeoJSON files, not a mix",
            ));
        }
    };
    if graph.segments.is_empty() {
        return Err(AppError::bad(
            "file",
            "",
            "no drivable road was found in the file(s)",
        ));
    }
    let build_seconds = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let topology = Topology::new(&graph);
    let order = Cch::order(&graph, &topology);
    Ok(Built {
        graph,
        report,
        files: summaries,
        order,
        build_seconds,
        order_seconds: started.elapsed().as_secs_f64(),
    })
}

fn encode(graph: RoadGraph, order: Vec<u32>) -> Result<Vec<u8>, AppError> {
    let doc = NetworkDoc {
        version: DOC_VERSION,
        graph,
        order,
    };
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    serde_json::to_writer(&mut gz, &doc).map_err(internal)?;
    gz.flush()?;
    Ok(gz.finish()?)
}

fn decode(record: RoadNetworkRecord, data: &[u8]) -> Result<Network, AppError> {
    let corrupt = |e: String| AppError::Internal(format!("road network {}: {e}", record.name));
    let doc: NetworkDoc =
        serde_json::from_reader(GzDecoder::new(data)).map_err(|e| corrupt(e.to_string()))?;
    if doc.version != DOC_VERSION {
        return Err(corrupt(format!(
            "document version {} is not {DOC_VERSION}",
            doc.version
        )));
    }
    doc.graph.validate().map_err(corrupt)?;
    let topology = Arc::new(Topology::new(&doc.graph));
    let cch = Cch::new(Arc::clone(&topology), doc.order).map_err(corrupt)?;
    let index = SegmentIndex::new(&doc.graph);
    let tenths = plan::arc_tenths(&doc.graph, &topology);
    Ok(Network {
        record,
        graph: doc.graph,
        topology,
        cch,
        index,
        tenths,
    })
}

/// A route request as given (API query/body or CLI flags).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRouteQuery {
    /// Start: a gazetteer name (`Dori`, `Dori,BF`) or `lat,lon`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = true, min_length = 1)]
    pub from: Option<String>,
    /// End, as `from`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = true, min_length = 1)]
    pub to: Option<String>,
    /// `balanced` (default), `fastest` or `safest` (least exposure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// For `balanced`: 0 (fastest) to 1 (least exposure); default 0.5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tradeoff: Option<f64>,
    /// Up to five alternatives (a Pareto set of time against exposure); default true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternatives: Option<bool>,
    /// Areas to avoid: a GeoJSON Polygon or MultiPolygon (or a Feature of one).
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avoid: Option<serde_json::Value>,
    /// Departure (RFC 3339 or YYYY-MM-DD); default now. Risk is as of that day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depart: Option<String>,
    /// The network's name; default the newest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

/// What a resolved end of a route is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RouteEnd {
    pub query: String,
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
    /// Where it meets the road.
    pub road_latitude: f64,
    pub road_longitude: f64,
    /// From the place to the road (m).
    pub road_distance_m: f64,
}

/// An incident behind a dangerous stretch, as the viewer sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StretchIncident {
    pub id: Uuid,
    pub event_date: NaiveDate,
    pub sub_event_type: String,
    pub fatalities: u32,
    pub latitude: f64,
    pub longitude: f64,
    /// The risk it adds to the stretch's most affected road segment.
    pub risk: f64,
}

/// A stretch of a route at one risk level.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StretchView {
    /// `low`, `elevated` (risk >= 0.25) or `high` (risk >= 1).
    pub level: String,
    pub from_km: f64,
    pub to_km: f64,
    /// When the convoy reaches it and leaves it, at the planned speeds.
    pub enter_at: DateTime<Utc>,
    pub leave_at: DateTime<Utc>,
    pub max_risk: f64,
    /// Risk x hours on this stretch.
    pub exposure: f64,
    pub roads: Vec<String>,
    pub incidents: Vec<StretchIncident>,
}

/// One route.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RouteView {
    /// `fastest`, `safest`, `balanced` or `alternative`.
    pub label: String,
    /// The exposure weight it is optimal for (0 = fastest).
    pub lambda: f64,
    pub duration_s: f64,
    pub distance_km: f64,
    /// Sum over the route of risk x hours driven.
    pub exposure: f64,
    pub max_risk: f64,
    /// Compared with the requested route: extra minutes, and exposure saved (%).
    pub extra_minutes: f64,
    pub exposure_saved_pct: Option<f64>,
    /// GeoJSON LineString coordinates (lon, lat).
    #[schema(value_type = Vec<Vec<f64>>)]
    pub geometry: Vec<[f64; 2]>,
    pub profile: Vec<StretchView>,
}

/// The answer to a route request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RouteAnswer {
    pub network: String,
    pub from: RouteEnd,
    pub to: RouteEnd,
    pub depart: DateTime<Utc>,
    pub mode: String,
    pub tradeoff: f64,
    /// Visible incidents that add risk to some road of the network.
    pub risk_incidents: usize,
    /// The requested route first, then the alternatives, fastest first.
    pub routes: Vec<RouteView>,
    /// Areas avoided (count of polygons).
    pub avoided_areas: usize,
}

/// A departure time: RFC 3339, or a date (06:00 UTC that day); `now` when
/// absent, and when invalid (with the error pushed on `errs`).
pub(crate) fn parse_depart(
    s: Option<&str>,
    now: DateTime<Utc>,
    errs: &mut Vec<ParamError>,
) -> DateTime<Utc> {
    let Some(s) = s else {
        return now;
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return t.with_timezone(&Utc);
    }
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) if (1000..=9999).contains(&chrono::Datelike::year(&d)) => {
            d.and_hms_opt(6, 0, 0).expect("valid time").and_utc()
        }
        _ => {
            errs.push(ParamError::new(
                "depart",
                s,
                "must be an RFC 3339 time (2025-08-05T06:00:00Z) or a date (2025-08-05)",
            ));
            now
        }
    }
}

/// A resolved route request.
pub(crate) struct RouteQuery {
    pub from: String,
    pub to: String,
    pub lambda: f64,
    pub mode: &'static str,
    pub tradeoff: f64,
    pub alternatives: bool,
    pub avoid: Vec<geo::Polygon<f64>>,
    pub depart: DateTime<Utc>,
    pub network: Option<String>,
}

impl RawRouteQuery {
    pub(crate) fn resolve(&self, now: DateTime<Utc>) -> Result<RouteQuery, AppError> {
        let mut errs = Vec::new();
        let mut need = |name: &str, v: &Option<String>| match v.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => {
                errs.push(ParamError::new(
                    name,
                    "",
                    "is required: a place name or lat,lon",
                ));
                String::new()
            }
        };
        let from = need("from", &self.from);
        let to = need("to", &self.to);
        let tradeoff = self.tradeoff.unwrap_or(0.5);
        if !(0.0..=1.0).contains(&tradeoff) {
            errs.push(ParamError::new(
                "tradeoff",
                &tradeoff.to_string(),
                "must be 0 to 1",
            ));
        }
        let (mode, lambda) = match self.mode.as_deref().unwrap_or("balanced") {
            "balanced" => ("balanced", plan::lambda_of_tradeoff(tradeoff)),
            "fastest" => ("fastest", 0.0),
            "safest" => ("safest", plan::LAMBDA_SAFEST),
            other => {
                errs.push(ParamError::new(
                    "mode",
                    other,
                    "must be balanced, fastest or safest",
                ));
                ("balanced", 0.0)
            }
        };
        let mut avoid = Vec::new();
        if let Some(a) = &self.avoid {
            let text = match a {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match crate::analytics::parse_polygon(&text) {
                Ok(m) => avoid = m.0,
                Err(e) => errs.push(ParamError::new(
                    "avoid",
                    &text.chars().take(80).collect::<String>(),
                    e,
                )),
            }
        }
        let depart = parse_depart(self.depart.as_deref(), now, &mut errs);
        if !errs.is_empty() {
            return Err(AppError::BadRequest(errs));
        }
        Ok(RouteQuery {
            from,
            to,
            lambda,
            mode,
            tradeoff,
            alternatives: self.alternatives.unwrap_or(true),
            avoid,
            depart,
            network: self.network.clone(),
        })
    }
}

impl App {
    /// Imports road files as a network (replacing one of the same name).
    /// Nothing is stored unless the whole import succeeds.
    pub async fn import_roads(
        &self,
        files: Vec<(String, Box<dyn Read + Send>)>,
        opts: RoadImportOptions,
    ) -> Result<RoadImport, AppError> {
        let name = opts.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::bad(
                "name",
                &name,
                "a network name is 1 to 100 characters",
            ));
        }
        if let Some(s) = opts.snap_m
            && !(s.is_finite() && (0.0..=5_000.0).contains(&s))
        {
            return Err(AppError::bad(
                "snap",
                &s.to_string(),
                "must be 0 to 5000 metres",
            ));
        }
        let source = files
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let o = opts.clone();
        let Built {
            graph,
            report,
            files,
            order,
            build_seconds,
            order_seconds,
        } = tokio::task::spawn_blocking(move || build_network(files, &o))
            .await
            .map_err(internal)??;
        let report_json = serde_json::to_value(&report).map_err(internal)?;
        let data = tokio::task::spawn_blocking(move || encode(graph, order))
            .await
            .map_err(internal)??;
        let record = self
            .store
            .put_road_network(&NewRoadNetwork {
                name: name.clone(),
                source: source.clone(),
                created_at: opts.created_at,
                report: report_json,
                data,
            })
            .await?;
        Ok(RoadImport {
            id: record.id,
            name,
            source,
            report,
            files,
            build_seconds,
            order_seconds,
            stored_bytes: record.size_bytes,
        })
    }

    pub async fn road_networks(&self) -> Result<Vec<RoadNetworkRecord>, AppError> {
        Ok(self.store.road_networks().await?)
    }

    /// The network of this name (default: the newest), loaded.
    pub async fn network(&self, name: Option<&str>) -> Result<Arc<Network>, AppError> {
        let all = self.store.road_networks().await?;
        let record = match name {
            Some(n) => all.into_iter().find(|r| r.name == n).ok_or_else(|| {
                AppError::bad(
                    "network",
                    n,
                    "no road network of this name (see `sahelwatch roads`)",
                )
            })?,
            None => all.into_iter().next().ok_or_else(|| {
                AppError::bad(
                    "network",
                    "",
                    "no road network yet: import one with `sahelwatch import roads FILE`",
                )
            })?,
        };
        let mut current = self.roads.network.lock().await;
        if let Some(n) = current.as_ref()
            && n.record.id == record.id
        {
            return Ok(Arc::clone(n));
        }
        let data = self
            .store
            .road_network_data(record.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let started = std::time::Instant::now();
        let net = Arc::new(
            tokio::task::spawn_blocking(move || decode(record, &data))
                .await
                .map_err(internal)??,
        );
        tracing::info!(
            network = %net.record.name,
            nodes = net.graph.nodes.len(),
            segments = net.graph.segments.len(),
            ms = started.elapsed().as_millis() as u64,
            "road network loaded"
        );
        *current = Some(Arc::clone(&net));
        Ok(net)
    }

    /// The risk `viewer` sees on `net` as of `as_of`, brought up to date
    /// with the incident index.
    pub async fn risk_view(
        &self,
        viewer: &Viewer,
        net: &Arc<Network>,
        as_of: NaiveDate,
    ) -> Result<Arc<RiskView>, AppError> {
        let snap = self.snapshot().await?;
        let key = RiskKey {
            network: net.record.id,
            viewer: viewer_key(viewer),
            as_of,
        };
        let old = {
            let views = self.roads.risk.lock().unwrap_or_else(|e| e.into_inner());
            views
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| Arc::clone(v))
        };
        if let Some(v) = &old
            && v.seq >= snap.seq()
        {
            return Ok(Arc::clone(v));
        }
        let (viewer2, net2) = (viewer.clone(), Arc::clone(net));
        let view = tokio::task::spawn_blocking(move || {
            let model = RiskModel::default();
            let incidents = risk_incidents(&snap, &viewer2, &net2.graph, as_of, &model);
            let (mut field, mut known, previous) = match old {
                Some(v) => (
                    v.field.clone(),
                    v.incidents.clone(),
                    v.metrics.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                ),
                None => (
                    RiskField::empty(net2.graph.segments.len()),
                    HashMap::new(),
                    HashMap::new(),
                ),
            };
            let gone: Vec<i64> = known
                .keys()
                .filter(|id| !incidents.contains_key(id))
                .copied()
                .collect();
            let mut changed = Vec::new();
            for id in gone {
                changed.extend(field.remove(id));
                known.remove(&id);
            }
            for (id, i) in incidents {
                if known.get(&id) != Some(&i) {
                    changed.extend(field.add(&model, &net2.index, &i));
                    known.insert(id, i);
                }
            }
            changed.sort_unstable();
            changed.dedup();
            RiskView {
                seq: snap.seq(),
                as_of,
                field,
                incidents: known,
                metrics: Mutex::default(),
                previous: Mutex::new(previous),
                changed,
            }
        })
        .await
        .map_err(internal)?;
        let view = Arc::new(view);
        let mut views = self.roads.risk.lock().unwrap_or_else(|e| e.into_inner());
        views.retain(|(k, _)| *k != key);
        views.push((key, Arc::clone(&view)));
        if views.len() > RISK_VIEWS_KEPT {
            views.remove(0);
        }
        Ok(view)
    }

    /// Plans a route for `viewer`. Reads of non-CLEAR incidents (the risk
    /// behind the route) are audited under `path`.
    pub async fn plan_route(
        &self,
        viewer: &Viewer,
        raw: &RawRouteQuery,
        now: DateTime<Utc>,
        path: &str,
    ) -> Result<RouteAnswer, AppError> {
        let p = self.plan(viewer, raw, now).await?;
        let labelled: Vec<(&Route, String)> = std::iter::once(&p.main)
            .chain(p.alts.iter())
            .enumerate()
            .map(|(k, r)| {
                let label = if k == 0 {
                    p.q.mode.to_string()
                } else {
                    label_of(r).to_string()
                };
                (r, label)
            })
            .collect();
        let routes = self
            .route_views(
                viewer, path, &p.net, &p.risk, &p.main, &labelled, p.q.depart,
            )
            .await?;
        Ok(RouteAnswer {
            network: p.net.record.name.clone(),
            from: p.from,
            to: p.to,
            depart: p.q.depart,
            mode: p.q.mode.to_string(),
            tradeoff: p.q.tradeoff,
            risk_incidents: p.risk.field.incidents(),
            routes,
            avoided_areas: p.q.avoid.len(),
        })
    }

    /// The routes of a request (the requested one and its alternatives),
    /// on the risk `viewer` sees, before they are described.
    pub(crate) async fn plan(
        &self,
        viewer: &Viewer,
        raw: &RawRouteQuery,
        now: DateTime<Utc>,
    ) -> Result<Planned, AppError> {
        let q = raw.resolve(now)?;
        let net = self.network(q.network.as_deref()).await?;
        let gaz = self.gazetteer().await?;
        let mut errs = Vec::new();
        let mut end = |name: &str, text: &str| match resolve_place(&gaz, text) {
            Ok(p) => {
                let at = [p.longitude, p.latitude];
                match plan::snap(&net.graph, &net.index, at, MAX_SNAP_M) {
                    Some(s) => Some((p, s)),
                    None => {
                        errs.push(ParamError::new(
                            name,
                            text,
                            format!("no road of network {} within 25 km", net.record.name),
                        ));
                        None
                    }
                }
            }
            Err(e) => {
                errs.push(ParamError::new(name, text, e));
                None
            }
        };
        let (a, b) = (end("from", &q.from), end("to", &q.to));
        let (Some((pa, sa)), Some((pb, sb))) = (a, b) else {
            return Err(AppError::BadRequest(errs));
        };
        let risk = self.risk_view(viewer, &net, q.depart.date_naive()).await?;
        let (net2, risk2) = (Arc::clone(&net), Arc::clone(&risk));
        let (lambda, alternatives, avoid) = (q.lambda, q.alternatives, q.avoid.clone());
        let (sa2, sb2) = (sa.clone(), sb.clone());
        let routes = tokio::task::spawn_blocking(move || {
            routes(&net2, &risk2, lambda, alternatives, &avoid, &sa2, &sb2)
        })
        .await
        .map_err(internal)?;
        let Some((main, alts)) = routes else {
            return Err(AppError::bad(
                "to",
                &q.to,
                if q.avoid.is_empty() {
                    "cannot be reached from `from` on this road network".to_string()
                } else {
                    "cannot be reached from `from` without crossing an avoided area".to_string()
                },
            ));
        };
        let end_view = |text: &str, p: &crate::ResolvedNear, s: &Snap| RouteEnd {
            query: text.to_string(),
            name: p.name.clone(),
            latitude: p.latitude,
            longitude: p.longitude,
            road_latitude: s.point[1],
            road_longitude: s.point[0],
            road_distance_m: sahelwatch_analytics::round1(s.distance_m),
        };
        Ok(Planned {
            from: end_view(&q.from, &pa, &sa),
            to: end_view(&q.to, &pb, &sb),
            q,
            net,
            risk,
            main,
            alts,
        })
    }

    /// Routes as the API shows them, compared with `main`, each with its
    /// risk profile. The incidents behind dangerous stretches are fetched
    /// and checked again, and reads of non-CLEAR ones audited under `path`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn route_views(
        &self,
        viewer: &Viewer,
        path: &str,
        net: &Network,
        risk: &RiskView,
        main: &Route,
        routes: &[(&Route, String)],
        depart: DateTime<Utc>,
    ) -> Result<Vec<RouteView>, AppError> {
        let profiles: Vec<Vec<plan::Stretch>> = routes
            .iter()
            .map(|(r, _)| plan::profile(r, &risk.field))
            .collect();
        let ids: Vec<i64> = profiles
            .iter()
            .flatten()
            .flat_map(|s| s.incidents.iter().map(|(id, _)| *id))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let seen: HashMap<i64, Incident> = self
            .fetch_visible_keyed(viewer, &ids)
            .await?
            .into_iter()
            .collect();
        self.audit_restricted(viewer, path, seen.values()).await?;
        Ok(routes
            .iter()
            .zip(profiles)
            .map(|((r, label), prof)| {
                route_view(
                    &net.graph,
                    main,
                    r,
                    label.clone(),
                    prof,
                    &seen,
                    viewer,
                    depart,
                )
            })
            .collect())
    }

    /// Audits, under `path`, a read of the non-CLEAR incidents among these.
    pub(crate) async fn audit_restricted<'a>(
        &self,
        viewer: &Viewer,
        path: &str,
        incidents: impl Iterator<Item = &'a Incident>,
    ) -> Result<(), AppError> {
        let restricted: Vec<Uuid> = incidents
            .filter(|i| i.marking.tlp != sahelwatch_core::Tlp::Clear)
            .map(|i| i.id)
            .collect();
        if !restricted.is_empty() {
            self.audit_event(viewer, "read", path, restricted).await?;
        }
        Ok(())
    }
}

/// A planned request.
pub(crate) struct Planned {
    pub q: RouteQuery,
    pub net: Arc<Network>,
    pub risk: Arc<RiskView>,
    pub from: RouteEnd,
    pub to: RouteEnd,
    /// The requested route, then the alternatives, fastest first.
    pub main: Route,
    pub alts: Vec<Route>,
}

/// What an alternative is called.
pub(crate) fn label_of(r: &Route) -> &'static str {
    if r.lambda == 0.0 {
        "fastest"
    } else if r.lambda >= plan::LAMBDA_SAFEST {
        "safest"
    } else {
        "alternative"
    }
}

/// The incidents `viewer` may see that can touch `graph` (inside its box
/// widened by 100 km), as the risk model takes them, as of `as_of`.
pub fn risk_incidents(
    snap: &Snapshot,
    viewer: &Viewer,
    graph: &RoadGraph,
    as_of: NaiveDate,
    model: &RiskModel,
) -> HashMap<i64, RiskIncident> {
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in &graph.nodes {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let margin = 1.0;
    let filter = Filter {
        date_from: as_of.checked_sub_days(chrono::Days::new(model.max_age_days as u64)),
        date_to: Some(as_of),
        ..Filter::default()
    };
    let mut out = HashMap::new();
    snap.visit(&filter, viewer, |h| {
        if h.longitude < lo[0] - margin
            || h.longitude > hi[0] + margin
            || h.latitude < lo[1] - margin
            || h.latitude > hi[1] + margin
        {
            return;
        }
        out.insert(
            h.id,
            RiskIncident {
                id: h.id,
                position: [h.longitude, h.latitude],
                age_days: (as_of - h.event_date).num_days() as f64,
                sub_event_type: h.sub_event_type.label().to_string(),
                fatalities: h.fatalities,
                precision: h.geo_precision,
                on_road: h.on_road,
            },
        );
    });
    out
}

impl RiskView {
    /// The metric of `lambda`, customised once per view.
    fn metric(&self, net: &Network, lambda: f64) -> Arc<CchMetric> {
        let key = lambda.to_bits();
        if let Some(m) = self
            .metrics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Arc::clone(m);
        }
        let (topo, tenths, field) = (&net.topology, &net.tenths, &self.field);
        let before = self
            .previous
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        let m = Arc::new(match before {
            Some(before) => {
                let w = before.weights().to_vec();
                let w = plan::reweigh(w, topo, tenths, field, lambda, &self.changed);
                net.cch.recustomize(&before, w)
            }
            None => net
                .cch
                .customize(plan::weights(topo, tenths, field, lambda, &[])),
        });
        self.metrics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, Arc::clone(&m));
        m
    }
}

/// The requested route and its alternatives, or `None` when the end cannot
/// be reached.
fn routes(
    net: &Network,
    risk: &RiskView,
    lambda: f64,
    alternatives: bool,
    avoid: &[geo::Polygon<f64>],
    a: &Snap,
    b: &Snap,
) -> Option<(Route, Vec<Route>)> {
    let ctx = Context {
        graph: &net.graph,
        topology: &net.topology,
        engine: &net.cch,
        tenths: &net.tenths,
        risk: &risk.field,
    };
    let avoided = if avoid.is_empty() {
        Vec::new()
    } else {
        plan::avoided_segments(&net.graph, &net.index, avoid)
    };
    // Every path of the request goes through one searcher.
    net.cch.search(|search| {
        let mut route = |lambda: f64| -> Option<Route> {
            if avoided.is_empty() {
                let m = risk.metric(net, lambda);
                ctx.route(search, &m, m.weights(), lambda, a, b)
            } else {
                // Avoided areas make a one-off metric.
                let w = plan::weights(&net.topology, &net.tenths, &risk.field, lambda, &avoided);
                let m = net.cch.customize(w);
                ctx.route(search, &m, m.weights(), lambda, a, b)
            }
        };
        let main = route(lambda)?;
        let alts = if alternatives {
            let candidates: Vec<Route> = plan::LADDER
                .iter()
                .filter(|&&l| l != lambda)
                .filter_map(|&l| route(l))
                .collect();
            plan::alternatives(&main, candidates)
        } else {
            Vec::new()
        };
        Some((main, alts))
    })
}

#[allow(clippy::too_many_arguments)]
fn route_view(
    graph: &RoadGraph,
    main: &Route,
    r: &Route,
    label: String,
    profile: Vec<plan::Stretch>,
    seen: &HashMap<i64, Incident>,
    viewer: &Viewer,
    depart: DateTime<Utc>,
) -> RouteView {
    let r1 = sahelwatch_analytics::round1;
    let r3 = |v: f64| (v * 1000.0).round() / 1000.0;
    let at = |s: f64| depart + chrono::Duration::milliseconds((s * 1000.0) as i64);
    let stretches = profile
        .into_iter()
        .map(|st| {
            let mut roads: Vec<String> = Vec::new();
            for l in &r.legs[st.legs.0..st.legs.1] {
                if let Some(n) = graph.name(&graph.segments[l.segment as usize])
                    && !roads.iter().any(|x| x == n)
                {
                    roads.push(n.to_string());
                }
            }
            roads.truncate(5);
            StretchView {
                level: serde_json::to_value(st.level)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                from_km: r1(st.from_km),
                to_km: r1(st.to_km),
                enter_at: at(st.from_s),
                leave_at: at(st.from_s + st.seconds),
                max_risk: r3(st.max_risk),
                exposure: r3(st.exposure),
                roads,
                incidents: st
                    .incidents
                    .iter()
                    .filter_map(|(id, v)| {
                        let inc = seen.get(id)?;
                        let view = crate::IncidentView::new(
                            inc.clone(),
                            None,
                            viewer,
                            &HashMap::new(),
                            false,
                        );
                        Some(StretchIncident {
                            id: inc.id,
                            event_date: view.data.event_date,
                            sub_event_type: view.data.sub_event_type.label().to_string(),
                            fatalities: view.data.fatalities.best,
                            latitude: view.data.location.latitude,
                            longitude: view.data.location.longitude,
                            risk: r3(*v),
                        })
                    })
                    .collect(),
            }
        })
        .collect();
    RouteView {
        label,
        lambda: r.lambda,
        duration_s: r1(r.seconds),
        distance_km: r1(r.length_m / 1000.0),
        exposure: r3(r.exposure),
        max_risk: r3(r.legs.iter().map(|l| l.risk).fold(0.0, f64::max)),
        extra_minutes: r1((r.seconds - main.seconds) / 60.0),
        exposure_saved_pct: (main.exposure > 0.0)
            .then(|| r1(100.0 * (main.exposure - r.exposure) / main.exposure)),
        geometry: r
            .geometry(graph)
            .into_iter()
            .map(|p| [r6(p[0]), r6(p[1])])
            .collect(),
        profile: stretches,
    }
}

fn r6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}
