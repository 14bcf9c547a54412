//! Saved routes and corridor briefs.
//!
//! An organisation saves a route it planned: the request, which of the
//! planned routes it chose, and that route's legs on the road network
//! version it was planned on. Saved routes are private to the organisation
//! (not shared under TLP: a convoy corridor is operational detail). A
//! corridor brief reads one again with the risk the asking user sees now:
//! - its risk profile (stretches and the incidents behind them);
//! - the incidents of the last `days` within `buffer_km` of its line;
//! - the trend: those incidents against the `days` before, monthly counts
//!   over the last year, and the same comparison per section of the route;
//! - the routes planned now from the same request, compared with it.
//!
//! A network re-imported since the route was saved makes the route stale:
//! the brief says so (409) rather than guess where its legs went.

use crate::roads::{Network, RawRouteQuery, RiskView, RouteEnd, RouteView, label_of};
use crate::{App, AppError, ParamError};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sahelwatch_analytics::change::{Change, Totals, change};
use sahelwatch_analytics::period::Span;
use sahelwatch_analytics::round1;
use sahelwatch_core::{Incident, OrgId, UserId, Viewer};
use sahelwatch_query::Filter;
use sahelwatch_routing::LonLat;
use sahelwatch_routing::graph::{haversine_m, point_segment_m};
use sahelwatch_routing::plan::{Context, Route};
use sahelwatch_store::{NewSavedRoute, SavedRouteRecord};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

pub const DEFAULT_BUFFER_KM: f64 = 10.0;
pub const DEFAULT_DAYS: u32 = 90;
/// The most recent incidents listed in a brief (all are counted).
pub const MAX_LISTED: usize = 200;
/// Route sections for the trend along the corridor: about 25 km each, at
/// most 20.
const SECTION_KM: f64 = 25.0;
const MAX_SECTIONS: usize = 20;
const MAX_NAME: usize = 100;

/// A request to save a route.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSaveRoute {
    /// Unique within the organisation; saving under a taken name replaces
    /// that route.
    #[schema(
        required = true,
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\x00-\\x1f]*[^\\s\\x00-\\x1f][^\\x00-\\x1f]*$"
    )]
    pub name: Option<String>,
    /// The route request, as for `POST /api/v1/routes`.
    #[schema(required = true)]
    pub route: Option<RawRouteQuery>,
    /// Which planned route to keep: 0 (default) the requested one, 1 and up
    /// the alternatives in the order `POST /api/v1/routes` lists them.
    pub choose: Option<usize>,
}

/// What is stored of a saved route.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedPlan {
    request: RawRouteQuery,
    label: String,
    lambda: f64,
    from: RouteEnd,
    to: RouteEnd,
    distance_km: f64,
    duration_s: f64,
    exposure: f64,
    /// (segment, reverse, start, end) per leg.
    legs: Vec<(u32, bool, f64, f64)>,
}

/// A saved route.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SavedRouteView {
    pub id: i64,
    pub name: String,
    pub network: String,
    pub created_at: DateTime<Utc>,
    /// Which route of the request it is: `balanced`, `fastest`, `safest`
    /// or `alternative`.
    pub label: String,
    pub from: RouteEnd,
    pub to: RouteEnd,
    pub distance_km: f64,
    pub duration_s: f64,
    /// Its exposure when it was saved, on the risk its author saw then.
    pub exposure_when_saved: f64,
    /// The request it was planned from.
    pub request: RawRouteQuery,
}

/// What a corridor brief covers (API query or CLI flags).
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RawBriefQuery {
    /// Half-width of the corridor (km), 0.5 to 100; default 10.
    #[param(value_type = Option<f64>, minimum = 0.5, maximum = 100)]
    pub buffer_km: Option<String>,
    /// Recent means the last this many days (1 to 730); default 90. The
    /// trend compares them with the same number of days before.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 730)]
    pub days: Option<String>,
    /// Departure (RFC 3339 or YYYY-MM-DD); default now. Risk, recent
    /// incidents and stretch times are as of then.
    pub depart: Option<String>,
}

/// An incident near the corridor, as the viewer sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorridorIncident {
    pub id: Uuid,
    pub event_date: NaiveDate,
    pub event_type: String,
    pub sub_event_type: String,
    pub fatalities: u32,
    pub latitude: f64,
    pub longitude: f64,
    /// From the route's line (km).
    pub distance_km: f64,
    /// Where along the route it is nearest (km from the start).
    pub at_km: f64,
    /// The place, else the smallest named area.
    pub location: String,
}

/// Incidents and fatalities in one calendar month near the corridor.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthCount {
    /// `YYYY-MM`.
    pub month: String,
    pub incidents: u64,
    pub fatalities: u64,
}

/// One section of the route: recent incidents against the period before.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SectionTrend {
    pub from_km: f64,
    pub to_km: f64,
    pub recent: u64,
    pub previous: u64,
    pub recent_fatalities: u64,
    /// The highest road risk on the section now.
    pub max_risk: f64,
    /// `up`, `down` or `same`.
    pub direction: String,
}

/// How violence near the corridor is moving.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorridorTrend {
    /// The last `days` against the `days` before.
    pub change: Change,
    /// The last twelve calendar months, oldest first.
    pub monthly: Vec<MonthCount>,
    pub sections: Vec<SectionTrend>,
}

/// A route planned now from the saved route's request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorridorAlternative {
    /// Compared with the saved route (`extra_minutes`, `exposure_saved_pct`).
    #[serde(flatten)]
    pub route: RouteView,
    /// Share of its length on roads of the saved route (%).
    pub shared_pct: f64,
}

/// A corridor brief.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorridorBrief {
    pub route: SavedRouteView,
    pub depart: DateTime<Utc>,
    pub buffer_km: f64,
    pub days: u32,
    /// The saved route with today's risk: duration, exposure, profile.
    pub current: RouteView,
    /// Visible incidents of the last `days` within `buffer_km`, newest
    /// first (at most 200 listed; `recent_incidents` counts them all).
    pub incidents: Vec<CorridorIncident>,
    pub recent_incidents: u64,
    pub trend: CorridorTrend,
    /// The routes planned now for the same request.
    pub alternatives: Vec<CorridorAlternative>,
    /// A few sentences a brief can quote.
    pub summary: Vec<String>,
}

/// A resolved brief query.
struct BriefQuery {
    buffer_km: f64,
    days: u32,
    depart: DateTime<Utc>,
}

impl RawBriefQuery {
    fn resolve(&self, now: DateTime<Utc>) -> Result<BriefQuery, AppError> {
        let mut errs = Vec::new();
        let buffer_km = match self.buffer_km.as_deref() {
            None => DEFAULT_BUFFER_KM,
            Some(s) => match s.trim().parse::<f64>() {
                Ok(v) if (0.5..=100.0).contains(&v) => v,
                _ => {
                    errs.push(ParamError::new(
                        "buffer_km",
                        s,
                        "must be a number of km, 0.5 to 100",
                    ));
                    DEFAULT_BUFFER_KM
                }
            },
        };
        let days = match self.days.as_deref() {
            None => DEFAULT_DAYS,
            Some(s) => match s.trim().parse::<u32>() {
                Ok(v) if (1..=730).contains(&v) => v,
                _ => {
                    errs.push(ParamError::new(
                        "days",
                        s,
                        "must be a whole number of days, 1 to 730",
                    ));
                    DEFAULT_DAYS
                }
            },
        };
        let depart = crate::roads::parse_depart(self.depart.as_deref(), now, &mut errs);
        if !errs.is_empty() {
            return Err(AppError::BadRequest(errs));
        }
        Ok(BriefQuery {
            buffer_km,
            days,
            depart,
        })
    }
}

fn view(rec: SavedRouteRecord) -> Result<SavedRouteView, AppError> {
    let plan = read_plan(&rec)?;
    Ok(SavedRouteView {
        id: rec.id,
        name: rec.name,
        network: rec.network_name,
        created_at: rec.created_at,
        label: plan.label,
        from: plan.from,
        to: plan.to,
        distance_km: plan.distance_km,
        duration_s: plan.duration_s,
        exposure_when_saved: plan.exposure,
        request: plan.request,
    })
}

fn read_plan(rec: &SavedRouteRecord) -> Result<SavedPlan, AppError> {
    serde_json::from_value(rec.plan.clone()).map_err(|e| {
        AppError::Store(sahelwatch_store::StoreError::Corrupt(format!(
            "saved route {}: {e}",
            rec.id
        )))
    })
}

/// A saved route replayed on its network with a viewer's risk of one day.
pub(crate) struct Replayed {
    pub rec: SavedRouteRecord,
    plan: SavedPlan,
    pub net: Arc<Network>,
    pub risk: Arc<RiskView>,
    pub route: Route,
}

impl App {
    /// One of `org`'s saved routes replayed with `viewer`'s risk on `as_of`.
    /// A route whose network was imported again since is a conflict.
    pub(crate) async fn replay_saved(
        &self,
        viewer: &Viewer,
        org: OrgId,
        id: i64,
        as_of: NaiveDate,
    ) -> Result<Replayed, AppError> {
        let rec = self
            .store
            .saved_route(org, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let plan = read_plan(&rec)?;
        let net = match self.network(Some(&rec.network_name)).await {
            Ok(n) if n.record.id == rec.network_id => n,
            Ok(n) => {
                return Err(AppError::Conflict(format!(
                    "road network '{}' was imported again on {} after this route was saved \
                     ({}); plan the route and save it again",
                    rec.network_name,
                    n.record.created_at.format("%Y-%m-%d %H:%M UTC"),
                    rec.created_at.format("%Y-%m-%d %H:%M UTC")
                )));
            }
            Err(AppError::NotFound | AppError::BadRequest(_)) => {
                return Err(AppError::Conflict(format!(
                    "road network '{}', on which this route was planned, no longer exists",
                    rec.network_name
                )));
            }
            Err(e) => return Err(e),
        };
        let risk = self.risk_view(viewer, &net, as_of).await?;
        let ctx = Context {
            graph: &net.graph,
            topology: &net.topology,
            engine: &net.cch,
            tenths: &net.tenths,
            risk: &risk.field,
        };
        let saved = ctx.replay(plan.lambda, &plan.legs).ok_or_else(|| {
            AppError::Store(sahelwatch_store::StoreError::Corrupt(format!(
                "saved route {}: its legs are not on network {}",
                rec.id, rec.network_id
            )))
        })?;
        Ok(Replayed {
            rec,
            plan,
            net,
            risk,
            route: saved,
        })
    }
}

impl App {
    /// Plans a route for `viewer` and saves the chosen one for `owner`.
    pub async fn save_route(
        &self,
        viewer: &Viewer,
        owner: OrgId,
        by: Option<UserId>,
        raw: &RawSaveRoute,
        now: DateTime<Utc>,
    ) -> Result<SavedRouteView, AppError> {
        let name = raw.name.as_deref().map(str::trim).unwrap_or("");
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(AppError::bad(
                "name",
                name,
                "is required: 1 to 100 characters, no control characters",
            ));
        }
        let Some(request) = &raw.route else {
            return Err(AppError::bad(
                "route",
                "",
                "is required: the route request, as for POST /api/v1/routes",
            ));
        };
        let choose = raw.choose.unwrap_or(0);
        let mut ask = request.clone();
        ask.alternatives = Some(choose > 0);
        let p = self.plan(viewer, &ask, now).await?;
        let routes: Vec<&Route> = std::iter::once(&p.main).chain(p.alts.iter()).collect();
        let Some(r) = routes.get(choose) else {
            return Err(AppError::bad(
                "choose",
                &choose.to_string(),
                format!(
                    "the request gives {} routes: choose 0 to {}",
                    routes.len(),
                    routes.len() - 1
                ),
            ));
        };
        let plan = SavedPlan {
            request: request.clone(),
            label: if choose == 0 {
                p.q.mode.to_string()
            } else {
                label_of(r).to_string()
            },
            lambda: r.lambda,
            from: p.from.clone(),
            to: p.to.clone(),
            distance_km: round1(r.length_m / 1000.0),
            duration_s: round1(r.seconds),
            exposure: (r.exposure * 1000.0).round() / 1000.0,
            legs: r
                .legs
                .iter()
                .map(|l| (l.segment, l.reverse, l.start, l.end))
                .collect(),
        };
        let rec = self
            .store
            .put_saved_route(&NewSavedRoute {
                owner_org: owner,
                name: name.to_string(),
                network_id: p.net.record.id,
                network_name: p.net.record.name.clone(),
                created_by: by,
                created_at: now,
                plan: serde_json::to_value(&plan).map_err(crate::roads::internal)?,
            })
            .await?;
        view(rec)
    }

    /// An organisation's saved routes, by name.
    pub async fn saved_routes(&self, org: OrgId) -> Result<Vec<SavedRouteView>, AppError> {
        self.store
            .saved_routes(org)
            .await?
            .into_iter()
            .map(view)
            .collect()
    }

    /// Deletes one of an organisation's saved routes.
    pub async fn delete_saved_route(&self, org: OrgId, id: i64) -> Result<(), AppError> {
        if self.store.delete_saved_route(org, id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// The corridor brief of one of `org`'s saved routes, on what `viewer`
    /// may see. Reads of non-CLEAR incidents are audited under `path`.
    pub async fn corridor_brief(
        &self,
        viewer: &Viewer,
        org: OrgId,
        id: i64,
        raw: &RawBriefQuery,
        now: DateTime<Utc>,
        path: &str,
    ) -> Result<CorridorBrief, AppError> {
        let bq = raw.resolve(now)?;
        let as_of = bq.depart.date_naive();
        let Replayed {
            rec,
            plan,
            net,
            risk,
            route: saved,
        } = self.replay_saved(viewer, org, id, as_of).await?;
        // The same request planned now, with its alternatives.
        let mut ask = plan.request.clone();
        ask.alternatives = Some(true);
        ask.network = Some(rec.network_name.clone());
        ask.depart = Some(bq.depart.to_rfc3339());
        // A request that cannot be planned now (an end no longer reachable
        // with the avoided areas) leaves the brief without alternatives.
        let now_planned = match self.plan(viewer, &ask, now).await {
            Ok(p) => Some(p),
            Err(AppError::BadRequest(_)) => None,
            Err(e) => return Err(e),
        };
        let mut labelled: Vec<(&Route, String)> = vec![(&saved, "saved".to_string())];
        if let Some(p) = &now_planned {
            for (k, r) in std::iter::once(&p.main).chain(p.alts.iter()).enumerate() {
                let label = if k == 0 {
                    p.q.mode.to_string()
                } else {
                    label_of(r).to_string()
                };
                labelled.push((r, label));
            }
        }
        let mut views = self
            .route_views(viewer, path, &net, &risk, &saved, &labelled, bq.depart)
            .await?
            .into_iter();
        let current = views.next().expect("the saved route's view");
        let alternatives: Vec<CorridorAlternative> = labelled[1..]
            .iter()
            .zip(views)
            .map(|((r, _), v)| CorridorAlternative {
                route: v,
                shared_pct: round1(100.0 * r.shared_m(&saved) / r.length_m.max(1.0)),
            })
            .collect();

        // Incidents near the line, over the longer of a year and twice `days`.
        let (snap, line, who) = (
            self.snapshot().await?,
            saved.geometry(&net.graph),
            viewer.clone(),
        );
        let buffer_m = bq.buffer_km * 1000.0;
        let window = bq.days.max(183) * 2;
        let near = tokio::task::spawn_blocking(move || {
            near_corridor(&snap, &who, &line, buffer_m, as_of, window)
        })
        .await
        .map_err(crate::roads::internal)?;
        let recent_from = as_of - chrono::Days::new(bq.days as u64 - 1);
        let previous_from = recent_from - chrono::Days::new(bq.days as u64);
        let (mut cur, mut prev) = (Totals::default(), Totals::default());
        for n in &near {
            let t = if n.date >= recent_from {
                &mut cur
            } else if n.date >= previous_from {
                &mut prev
            } else {
                continue;
            };
            t.count += 1;
            t.fatalities += n.fatalities as u64;
        }
        let span = |from: NaiveDate, to: NaiveDate| Span::between(from, to).expect("ordered");
        let change = change(
            "Incidents",
            &format!("within {} km of the route", bq.buffer_km),
            span(recent_from, as_of),
            cur,
            span(previous_from, recent_from - chrono::Days::new(1)),
            prev,
        );
        let monthly = monthly(&near, as_of);
        let sections = sections(&saved, &near, recent_from, previous_from);

        // The recent incidents listed, fetched and checked again.
        let mut recent: Vec<&Near> = near.iter().filter(|n| n.date >= recent_from).collect();
        recent.sort_by(|a, b| b.date.cmp(&a.date).then(b.id.cmp(&a.id)));
        let listed: Vec<&Near> = recent.iter().take(MAX_LISTED).copied().collect();
        let ids: Vec<i64> = listed.iter().map(|n| n.id).collect();
        let seen: HashMap<i64, Incident> = self
            .fetch_visible_keyed(viewer, &ids)
            .await?
            .into_iter()
            .collect();
        self.audit_restricted(viewer, path, seen.values()).await?;
        let incidents: Vec<CorridorIncident> = listed
            .iter()
            .filter_map(|n| {
                let inc = seen.get(&n.id)?;
                let v = crate::IncidentView::new(inc.clone(), None, viewer, &HashMap::new(), false);
                Some(CorridorIncident {
                    id: inc.id,
                    event_date: v.data.event_date,
                    event_type: v.event_type.label().to_string(),
                    sub_event_type: v.data.sub_event_type.label().to_string(),
                    fatalities: v.data.fatalities.best,
                    latitude: v.data.location.latitude,
                    longitude: v.data.location.longitude,
                    distance_km: round1(n.distance_m / 1000.0),
                    at_km: round1(n.at_m / 1000.0),
                    location: [
                        &v.data.location.place,
                        &v.data.location.admin2,
                        &v.data.location.admin1,
                    ]
                    .into_iter()
                    .flatten()
                    .next()
                    .cloned()
                    .unwrap_or_else(|| v.country_name.clone()),
                })
            })
            .collect();
        let summary = summary(&current, &change, &sections, &alternatives, bq.buffer_km);
        let mut route = view(rec)?;
        route.network = net.record.name.clone();
        Ok(CorridorBrief {
            route,
            depart: bq.depart,
            buffer_km: bq.buffer_km,
            days: bq.days,
            current,
            incidents,
            recent_incidents: cur.count,
            trend: CorridorTrend {
                change,
                monthly,
                sections,
            },
            alternatives,
            summary,
        })
    }
}

/// A visible incident near the corridor.
struct Near {
    id: i64,
    date: NaiveDate,
    fatalities: u32,
    distance_m: f64,
    at_m: f64,
}

/// The incidents `viewer` may see, of the `days` up to `as_of`, within
/// `buffer_m` of `line` (at the positions the viewer sees).
fn near_corridor(
    snap: &sahelwatch_query::Snapshot,
    viewer: &Viewer,
    line: &[LonLat],
    buffer_m: f64,
    as_of: NaiveDate,
    days: u32,
) -> Vec<Near> {
    if line.len() < 2 {
        return Vec::new();
    }
    let mut cum = vec![0.0; line.len()];
    for k in 1..line.len() {
        cum[k] = cum[k - 1] + haversine_m(line[k - 1], line[k]);
    }
    let pad_lat = buffer_m / 110_000.0;
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in line {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let pad_lon = pad_lat / hi[1].abs().max(lo[1].abs()).to_radians().cos().max(0.05);
    let filter = Filter {
        date_from: as_of.checked_sub_days(chrono::Days::new(days as u64 - 1)),
        date_to: Some(as_of),
        ..Filter::default()
    };
    let mut out = Vec::new();
    snap.visit(&filter, viewer, |h| {
        let p = [h.longitude, h.latitude];
        if p[0] < lo[0] - pad_lon
            || p[0] > hi[0] + pad_lon
            || p[1] < lo[1] - pad_lat
            || p[1] > hi[1] + pad_lat
        {
            return;
        }
        let mut best: Option<(f64, f64)> = None;
        for k in 0..line.len() - 1 {
            let (a, b) = (line[k], line[k + 1]);
            if p[1] < a[1].min(b[1]) - pad_lat
                || p[1] > a[1].max(b[1]) + pad_lat
                || p[0] < a[0].min(b[0]) - pad_lon
                || p[0] > a[0].max(b[0]) + pad_lon
            {
                continue;
            }
            let (d, t) = point_segment_m(p, a, b);
            if d <= buffer_m && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, cum[k] + t * (cum[k + 1] - cum[k])));
            }
        }
        if let Some((distance_m, at_m)) = best {
            out.push(Near {
                id: h.id,
                date: h.event_date,
                fatalities: h.fatalities,
                distance_m,
                at_m,
            });
        }
    });
    out
}

/// Counts per calendar month over the twelve months up to `as_of`.
fn monthly(near: &[Near], as_of: NaiveDate) -> Vec<MonthCount> {
    let first = |d: NaiveDate| d.with_day(1).expect("day 1 exists");
    let start = first(as_of)
        .checked_sub_months(chrono::Months::new(11))
        .unwrap_or(NaiveDate::MIN);
    let mut out: Vec<MonthCount> = (0..12)
        .filter_map(|k| start.checked_add_months(chrono::Months::new(k)))
        .map(|m| MonthCount {
            month: m.format("%Y-%m").to_string(),
            incidents: 0,
            fatalities: 0,
        })
        .collect();
    for n in near.iter().filter(|n| n.date >= start) {
        let k = ((n.date.year() - start.year()) * 12 + n.date.month() as i32 - start.month() as i32)
            as usize;
        if let Some(m) = out.get_mut(k) {
            m.incidents += 1;
            m.fatalities += n.fatalities as u64;
        }
    }
    out
}

/// The recent and previous incidents per section of the route, with the
/// highest risk on each.
fn sections(
    route: &Route,
    near: &[Near],
    recent_from: NaiveDate,
    previous_from: NaiveDate,
) -> Vec<SectionTrend> {
    let total_km = route.length_m / 1000.0;
    let count = ((total_km / SECTION_KM).ceil() as usize).clamp(1, MAX_SECTIONS);
    let width = total_km / count as f64;
    let mut out: Vec<SectionTrend> = (0..count)
        .map(|k| SectionTrend {
            from_km: round1(k as f64 * width),
            to_km: round1((k + 1) as f64 * width),
            recent: 0,
            previous: 0,
            recent_fatalities: 0,
            max_risk: 0.0,
            direction: String::new(),
        })
        .collect();
    let at = |km: f64| ((km / width.max(1e-9)) as usize).min(count - 1);
    let mut km = 0.0;
    for l in &route.legs {
        let (a, b) = (km, km + l.length_m / 1000.0);
        for s in &mut out[at(a)..=at(b)] {
            s.max_risk = s.max_risk.max((l.risk * 1000.0).round() / 1000.0);
        }
        km = b;
    }
    for n in near {
        let s = &mut out[at(n.at_m / 1000.0)];
        if n.date >= recent_from {
            s.recent += 1;
            s.recent_fatalities += n.fatalities as u64;
        } else if n.date >= previous_from {
            s.previous += 1;
        }
    }
    for s in &mut out {
        s.direction = match s.recent.cmp(&s.previous) {
            std::cmp::Ordering::Greater => "up",
            std::cmp::Ordering::Less => "down",
            std::cmp::Ordering::Equal => "same",
        }
        .into();
    }
    out
}

/// The sentences at the head of a brief.
fn summary(
    current: &RouteView,
    change: &Change,
    sections: &[SectionTrend],
    alternatives: &[CorridorAlternative],
    buffer_km: f64,
) -> Vec<String> {
    let mut out = Vec::new();
    let high: f64 = current
        .profile
        .iter()
        .filter(|s| s.level == "high")
        .map(|s| s.to_km - s.from_km)
        .fold(0.0, |a, b| a + b);
    out.push(format!(
        "The route is {} km, {} at planned speeds; {} km of it is at high risk and its exposure is {}.",
        current.distance_km,
        hours_minutes(current.duration_s),
        round1(high),
        current.exposure
    ));
    out.push(change.statement.clone());
    if let Some(worst) = sections
        .iter()
        .filter(|s| s.recent > 0)
        .max_by_key(|s| (s.recent, s.recent_fatalities))
    {
        out.push(format!(
            "The section with the most recent incidents within {buffer_km} km is km {}-{} ({}, against {} in the period before).",
            worst.from_km, worst.to_km, worst.recent, worst.previous
        ));
    }
    if let Some(best) = alternatives
        .iter()
        .filter(|a| a.route.exposure < current.exposure && a.shared_pct < 99.0)
        .min_by(|a, b| a.route.exposure.total_cmp(&b.route.exposure))
    {
        out.push(format!(
            "Planned now, the {} route has exposure {} instead of {}, for {:+} minutes ({} km).",
            best.route.label,
            best.route.exposure,
            current.exposure,
            best.route.extra_minutes,
            best.route.distance_km
        ));
    } else if !alternatives.is_empty() {
        out.push("No route planned now is less exposed than this one.".into());
    }
    out
}

fn hours_minutes(seconds: f64) -> String {
    let m = (seconds / 60.0).round() as i64;
    format!("{}h{:02}", m / 60, m % 60)
}
