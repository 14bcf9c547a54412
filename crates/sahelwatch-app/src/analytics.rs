//! Analytics for a viewer: trends by period, period-over-period change,
//! hotspots, the approach of events toward a place, and area briefs. Every
//! number is computed from the incidents the viewer may see, at the
//! positions the viewer sees, through the index ([`Snapshot::visit`]).

pub mod area;
pub mod brief;

use crate::query::{ParamError, RawIncidentQuery};
use crate::{App, AppError};
use chrono::NaiveDate;
use sahelwatch_analytics::change::{Change, Comparison, Totals, change};
use sahelwatch_analytics::period::{Period, Span, SpanCursor};
use sahelwatch_core::{CountryCode, Viewer};
use sahelwatch_query::{Filter, Hit, Snapshot, Within};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Analytics parameters, as the API and the CLI receive them. The area and
/// the filters combine (all must hold); each analysis reads the parameters
/// it needs and ignores the others, except that a comparison refuses
/// `from`/`to` (its spans come from `compare`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RawAnalyticsQuery {
    /// A named region: `sahel` (Mali, Burkina Faso, Niger) or
    /// `liptako-gourma` (the three-borders area; also `three-borders`).
    pub region: Option<String>,
    /// Countries: ISO codes or names, comma-separated.
    pub country: Option<String>,
    /// First-level divisions by name, comma-separated.
    pub admin1: Option<String>,
    /// Bounding box `min_lon,min_lat,max_lon,max_lat`.
    pub bbox: Option<String>,
    /// A GeoJSON Polygon or MultiPolygon geometry (WGS 84), as text.
    pub polygon: Option<String>,
    /// ACLED event types, comma-separated.
    pub event_type: Option<String>,
    /// ACLED sub-event types, comma-separated.
    pub sub_event_type: Option<String>,
    /// Part of an actor's name (main or associated).
    pub actor: Option<String>,
    /// Only incidents of this dataset (`acled`, `ucdp-ged`).
    pub dataset: Option<String>,
    /// Words that must appear in the notes (case and accents ignored).
    pub q: Option<String>,
    /// First day, inclusive (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Last day, inclusive (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// Trend buckets / emerging-hotspot time slices: `week`, `month`
    /// (default), `quarter`, `half`, `year`.
    pub period: Option<String>,
    /// What to compare: `2024-H1 vs 2023-H1`, `last 4 weeks`, `this month vs last year`.
    pub compare: Option<String>,
    /// Reference day of relative comparisons (default: today).
    #[param(value_type = Option<String>, format = Date)]
    pub as_of: Option<String>,
    /// H3 resolution of the hotspot grid, 0..=10 (default 6).
    #[param(value_type = Option<u8>, minimum = 0, maximum = 10)]
    pub resolution: Option<String>,
    /// Place(s) for the approach measures: a gazetteer name (`Bamako`,
    /// `Dori,BF`) or `lat,lon`; a brief takes several, separated by `;`.
    pub place: Option<String>,
    /// Output: `json` (default); trends also `svg`, `png`, `csv`; briefs also `markdown`.
    pub format: Option<String>,
    /// Chart kind for `svg`/`png`: `line` (default) or `bar`.
    pub chart: Option<String>,
}

/// At most this many places in one approach or brief.
pub const MAX_PLACES: usize = 10;
/// At most this many buckets in a trend.
pub const MAX_BUCKETS: usize = 10_000;
/// At most this many (cell, time slice) pairs in an emerging-hotspot analysis.
pub const MAX_CELL_SLICES: usize = 20_000_000;

/// The buckets of `period` over `lo..=hi`, refused past `limit` (counted
/// before any is listed).
fn buckets(
    period: Period,
    lo: Option<NaiveDate>,
    hi: Option<NaiveDate>,
    limit: usize,
) -> Result<Vec<Span>, AppError> {
    let (Some(a), Some(b)) = (lo, hi) else {
        return Ok(Vec::new());
    };
    let n = period.count(a, b);
    if n > limit {
        return Err(AppError::bad(
            "period",
            period.name(),
            format!(
                "gives {n} buckets from {a} to {b}; at most {limit} (use a longer period or a shorter from..to)"
            ),
        ));
    }
    Ok(period.buckets(a, b))
}

/// The area of an analysis, as resolved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaView {
    /// "in the Sahel", "in Mali and Niger", "in the given polygon".
    pub words: String,
    /// True when the area has a shape (used for the hotspot grid); else the
    /// grid covers the incidents found.
    pub has_shape: bool,
}

/// A validated analytics query.
#[derive(Debug, Clone)]
pub struct AnalyticsQuery {
    pub filter: Filter,
    /// Folded words the notes must contain (turned into ids per viewer by
    /// [`App::with_text`]).
    pub text: Option<String>,
    pub area: AreaView,
    /// The area's shape, when it has one: the box or polygon if given, else
    /// the countries' or admin-1 units' boundaries.
    pub shape: Option<geo::MultiPolygon<f64>>,
    /// With a box or polygon inside named countries or units: their
    /// boundaries, which the hotspot grid must also respect.
    pub clip: Option<geo::MultiPolygon<f64>>,
    /// "Security incidents", or the event type filtered on.
    pub subject: String,
    pub period: Period,
    pub compare: Option<Comparison>,
    pub as_of: Option<NaiveDate>,
    pub resolution: u8,
    pub places: Vec<String>,
    pub raw: RawAnalyticsQuery,
}

fn param(errs: &mut Vec<ParamError>, name: &str, value: &str, msg: impl Into<String>) {
    errs.push(ParamError::new(name, value, msg));
}

impl RawAnalyticsQuery {
    /// Validate every parameter, reporting all problems at once.
    pub fn resolve(
        &self,
        gazetteer: &sahelwatch_core::Gazetteer,
    ) -> Result<AnalyticsQuery, AppError> {
        let mut errs = Vec::new();
        // The incident filters go through the one validation of query parameters.
        let incident = RawIncidentQuery {
            bbox: self.bbox.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            country: self.country.clone(),
            admin1: self.admin1.clone(),
            event_type: self.event_type.clone(),
            sub_event_type: self.sub_event_type.clone(),
            actor: self.actor.clone(),
            dataset: self.dataset.clone(),
            q: self.q.clone(),
            ..Default::default()
        };
        let (mut filter, text) = match incident.resolve(gazetteer) {
            Ok(q) => (q.filter, q.text),
            Err(e) => {
                errs.extend(e);
                (Filter::default(), None)
            }
        };
        let mut words: Vec<String> = Vec::new();
        let mut shape: Option<geo::MultiPolygon<f64>> = None;
        if let Some(r) = &self.region {
            match area::region(r) {
                Some(reg) => {
                    let cc: Vec<CountryCode> = reg
                        .countries
                        .iter()
                        .filter_map(|c| CountryCode::parse(c))
                        .collect();
                    if filter.countries.is_empty() {
                        filter.countries = cc.clone();
                    } else {
                        filter.countries.retain(|c| cc.contains(c));
                        if filter.countries.is_empty() {
                            param(
                                &mut errs,
                                "country",
                                self.country.as_deref().unwrap_or(""),
                                format!("has no country in region '{r}'"),
                            );
                        }
                    }
                    let region_admin1: Vec<String> =
                        reg.admin1.iter().map(|s| s.to_string()).collect();
                    if !region_admin1.is_empty() {
                        if filter.admin1.is_empty() {
                            filter.admin1 = region_admin1;
                        } else {
                            let keys: Vec<String> = region_admin1
                                .iter()
                                .map(|a| sahelwatch_core::place::admin_key(a))
                                .collect();
                            filter
                                .admin1
                                .retain(|a| keys.contains(&sahelwatch_core::place::admin_key(a)));
                            if filter.admin1.is_empty() {
                                param(
                                    &mut errs,
                                    "admin1",
                                    self.admin1.as_deref().unwrap_or(""),
                                    format!("has no unit in region '{r}'"),
                                );
                            }
                        }
                    }
                    words.push(reg.words.to_string());
                }
                None => param(
                    &mut errs,
                    "region",
                    r,
                    format!(
                        "is not a named region (use {})",
                        area::REGIONS
                            .iter()
                            .map(|r| r.names[0])
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                ),
            }
        }
        if self.region.is_none() {
            if !filter.admin1.is_empty() {
                words.push(area::join_names(&filter.admin1));
            } else if !filter.countries.is_empty() {
                let names: Vec<String> = filter
                    .countries
                    .iter()
                    .map(|c| c.info().name.clone())
                    .collect();
                words.push(area::join_names(&names));
            }
        }
        if !filter.countries.is_empty() || !filter.admin1.is_empty() {
            shape = area::shape_of(&filter.countries, &filter.admin1);
        }
        let named_shape = shape.clone();
        if let Some(b) = filter.bbox {
            let rect = geo::Rect::new(
                geo::coord! { x: b.min_lon, y: b.min_lat },
                geo::coord! { x: b.max_lon, y: b.max_lat },
            );
            shape = Some(geo::MultiPolygon(vec![rect.to_polygon()]));
            words.push(format!(
                "the box {},{},{},{}",
                b.min_lon, b.min_lat, b.max_lon, b.max_lat
            ));
        }
        if let Some(p) = &self.polygon {
            match parse_polygon(p).and_then(Within::new) {
                Ok(w) => {
                    shape = Some(w.shape().clone());
                    filter.within = Some(w);
                    words.push("the given polygon".to_string());
                }
                Err(m) => param(&mut errs, "polygon", p, m),
            }
        }
        let clip = if filter.bbox.is_some() || filter.within.is_some() {
            named_shape
        } else {
            None
        };
        let area_words = if words.is_empty() {
            "in all areas".to_string()
        } else {
            format!("in {}", words.join(" within "))
        };
        let subject = match (
            filter.event_types.as_slice(),
            filter.sub_event_types.as_slice(),
        ) {
            (_, [one]) => format!("{} events", one.label()),
            ([one], []) => format!("{} events", one.label()),
            _ => "Security incidents".to_string(),
        };
        let period = match &self.period {
            None => Period::Month,
            Some(p) => Period::parse(p).unwrap_or_else(|m| {
                param(&mut errs, "period", p, m);
                Period::Month
            }),
        };
        let compare = self.compare.as_ref().and_then(|c| {
            Comparison::parse(c)
                .map_err(|m| param(&mut errs, "compare", c, m))
                .ok()
        });
        let as_of = self
            .as_of
            .as_ref()
            .and_then(|d| crate::query::date("as_of", d, &mut errs));
        let resolution = match &self.resolution {
            None => 6,
            Some(r) => match r.trim().parse::<u8>() {
                Ok(v) if v <= 10 => v,
                _ => {
                    param(
                        &mut errs,
                        "resolution",
                        r,
                        "must be an H3 resolution from 0 to 10",
                    );
                    6
                }
            },
        };
        let places: Vec<String> = self
            .place
            .as_deref()
            .unwrap_or("")
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect();
        if places.len() > MAX_PLACES {
            param(
                &mut errs,
                "place",
                self.place.as_deref().unwrap_or(""),
                format!("names {} places; at most {MAX_PLACES}", places.len()),
            );
        }
        if !errs.is_empty() {
            return Err(AppError::BadRequest(errs));
        }
        Ok(AnalyticsQuery {
            area: AreaView {
                words: area_words,
                has_shape: shape.is_some(),
            },
            filter,
            text,
            shape,
            clip,
            subject,
            period,
            compare,
            as_of,
            resolution,
            places,
            raw: self.clone(),
        })
    }
}

/// A GeoJSON Polygon or MultiPolygon geometry (or a Feature holding one).
pub(crate) fn parse_polygon(text: &str) -> Result<geo::MultiPolygon<f64>, String> {
    let gj: geojson::GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| format!("is not GeoJSON: {e}"))?;
    let geometry = match gj {
        geojson::GeoJson::Geometry(g) => g,
        geojson::GeoJson::Feature(f) => f.geometry.ok_or("the Feature has no geometry")?,
        geojson::GeoJson::FeatureCollection(_) => {
            return Err(
                "must be one Polygon or MultiPolygon geometry, not a FeatureCollection".into(),
            );
        }
    };
    let g: geo::Geometry<f64> = geometry
        .try_into()
        .map_err(|e: geojson::Error| format!("is not a usable geometry: {e}"))?;
    let m = match g {
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
        geo::Geometry::MultiPolygon(m) => m,
        other => {
            return Err(format!(
                "must be a Polygon or MultiPolygon, not a {}",
                geometry_name(&other)
            ));
        }
    };
    if m.0.iter().any(|p| p.exterior().0.len() < 4) {
        return Err("a polygon ring needs at least 4 positions (closed)".into());
    }
    Ok(m)
}

fn geometry_name(g: &geo::Geometry<f64>) -> &'static str {
    match g {
        geo::Geometry::Point(_) => "Point",
        geo::Geometry::MultiPoint(_) => "MultiPoint",
        geo::Geometry::LineString(_) | geo::Geometry::Line(_) => "LineString",
        geo::Geometry::MultiLineString(_) => "MultiLineString",
        _ => "other geometry",
    }
}

/// One bucket of a trend.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrendBucket {
    pub label: String,
    /// True when the bucket extends beyond the days counted (the first and
    /// last bucket of a range that does not start or end with one): its
    /// count covers only part of it.
    pub partial: bool,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub count: u64,
    pub fatalities: u64,
}

/// Counts and fatalities by period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Trend {
    pub subject: String,
    pub area: AreaView,
    pub period: Period,
    /// Every bucket from the first to the last day asked for (or, without
    /// `from`/`to`, holding the first and last incident seen), empty ones
    /// included.
    pub buckets: Vec<TrendBucket>,
    pub total: Totals,
    /// Source, period and scope, for a chart's caption.
    pub caption: String,
}

/// Count the hits of each span in `spans` (sorted, disjoint); and whether
/// any counted incident is not TLP:CLEAR.
fn count_spans(
    snap: &Snapshot,
    filter: &Filter,
    viewer: &Viewer,
    spans: &[Span],
) -> (Vec<Totals>, bool) {
    let mut out = vec![Totals::default(); spans.len()];
    let mut restricted = false;
    let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
        return (out, restricted);
    };
    let mut f = filter.clone();
    f.date_from = Some(f.date_from.map_or(first.from, |d| d.max(first.from)));
    f.date_to = Some(f.date_to.map_or(last.to, |d| d.min(last.to)));
    let mut cursor = SpanCursor::new(spans);
    snap.visit(&f, viewer, |h: Hit| {
        if let Some(k) = cursor.find(h.event_date) {
            out[k].count += 1;
            out[k].fatalities += h.fatalities as u64;
            restricted |= h.restricted;
        }
    });
    (out, restricted)
}

impl App {
    /// Resolve analytics parameters against the current gazetteer.
    pub async fn analytics_query(
        &self,
        raw: &RawAnalyticsQuery,
    ) -> Result<AnalyticsQuery, AppError> {
        let gaz = self.gazetteer().await?;
        raw.resolve(&gaz)
    }

    /// Audit an analysis that used non-CLEAR incidents (like aggregates).
    async fn audit_analysis(
        &self,
        viewer: &Viewer,
        restricted: bool,
        path: &str,
    ) -> Result<(), AppError> {
        if restricted {
            self.audit_event(viewer, "aggregate", path, Vec::new())
                .await?;
        }
        Ok(())
    }

    /// Counts and fatalities by period.
    pub async fn trend(
        &self,
        viewer: &Viewer,
        q: &AnalyticsQuery,
        path: &str,
    ) -> Result<Trend, AppError> {
        let snap = self.snapshot().await?;
        let q = &*self.with_text(&snap, viewer, q).await?;
        // One pass: totals per day (hits arrive in day order), then buckets.
        let mut days: Vec<(NaiveDate, Totals)> = Vec::new();
        let mut restricted = false;
        snap.visit(&q.filter, viewer, |h| {
            restricted |= h.restricted;
            match days.last_mut() {
                Some((d, t)) if *d == h.event_date => {
                    t.count += 1;
                    t.fatalities += h.fatalities as u64;
                }
                _ => days.push((
                    h.event_date,
                    Totals {
                        count: 1,
                        fatalities: h.fatalities as u64,
                    },
                )),
            }
        });
        self.audit_analysis(viewer, restricted, path).await?;
        // Without explicit bounds, the trend spans the incidents seen.
        let lo = q.filter.date_from.or(days.first().map(|d| d.0));
        let hi = q.filter.date_to.or(days.last().map(|d| d.0));
        let spans = buckets(q.period, lo, hi, MAX_BUCKETS)?;
        let mut totals = vec![Totals::default(); spans.len()];
        let mut cursor = SpanCursor::new(&spans);
        for (day, t) in &days {
            if let Some(k) = cursor.find(*day) {
                totals[k].count += t.count;
                totals[k].fatalities += t.fatalities;
            }
        }
        let total = Totals {
            count: totals.iter().map(|t| t.count).sum(),
            fatalities: totals.iter().map(|t| t.fatalities).sum(),
        };
        let buckets: Vec<TrendBucket> = spans
            .into_iter()
            .zip(totals)
            .map(|(s, t)| TrendBucket {
                partial: lo.is_some_and(|a| s.from < a) || hi.is_some_and(|b| s.to > b),
                label: s.label,
                from: s.from,
                to: s.to,
                count: t.count,
                fatalities: t.fatalities,
            })
            .collect();
        let caption = caption(q, lo, hi, total.count, viewer);
        Ok(Trend {
            subject: q.subject.clone(),
            area: q.area.clone(),
            period: q.period,
            buckets,
            total,
            caption,
        })
    }

    /// One span against another (`compare`), relative forms against `as_of`
    /// or `today`.
    pub async fn change(
        &self,
        viewer: &Viewer,
        q: &AnalyticsQuery,
        today: NaiveDate,
        path: &str,
    ) -> Result<Change, AppError> {
        let Some(cmp) = &q.compare else {
            return Err(AppError::bad(
                "compare",
                "",
                "is required (e.g. '2024-H1 vs 2023-H1', 'last 4 weeks', 'this month vs last year')",
            ));
        };
        for (name, v) in [("from", &q.raw.from), ("to", &q.raw.to)] {
            if let Some(v) = v {
                return Err(AppError::bad(
                    name,
                    v,
                    "does not apply to a comparison: the spans come from compare",
                ));
            }
        }
        let (cur, prev) = cmp.resolve(q.as_of.unwrap_or(today));
        let snap = self.snapshot().await?;
        let q = &*self.with_text(&snap, viewer, q).await?;
        let mut spans = vec![prev.clone(), cur.clone()];
        spans.sort_by_key(|s| s.from);
        let overlap = spans[0].to >= spans[1].from;
        let (totals, restricted) = if overlap {
            // Overlapping spans are counted one at a time.
            let (a, ra) = count_spans(&snap, &q.filter, viewer, std::slice::from_ref(&cur));
            let (b, rb) = count_spans(&snap, &q.filter, viewer, std::slice::from_ref(&prev));
            (vec![a[0], b[0]], ra || rb)
        } else {
            let (t, r) = count_spans(&snap, &q.filter, viewer, &spans);
            if spans[0] == cur {
                (vec![t[0], t[1]], r)
            } else {
                (vec![t[1], t[0]], r)
            }
        };
        self.audit_analysis(viewer, restricted, path).await?;
        Ok(change(
            &q.subject,
            &q.area.words,
            cur,
            totals[0],
            prev,
            totals[1],
        ))
    }
}

/// "Source: sahelwatch (datasets); period; N incidents visible to the viewer."
fn caption(
    q: &AnalyticsQuery,
    lo: Option<NaiveDate>,
    hi: Option<NaiveDate>,
    n: u64,
    viewer: &Viewer,
) -> String {
    let period = match (lo, hi) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        _ => "no incidents".to_string(),
    };
    let scope = match viewer {
        Viewer::Anonymous => "public (TLP:CLEAR) incidents",
        _ => "incidents visible to the requester",
    };
    let source = q
        .filter
        .dataset
        .as_deref()
        .map(|d| format!("sahelwatch, dataset {d}"))
        .unwrap_or_else(|| "sahelwatch (UCDP GED, ACLED and partner reports)".to_string());
    format!(
        "Source: {source}. {period}; {n} {scope}; {}.",
        q.area.words.trim_start_matches("in ")
    )
}

/// Hotspots on an H3 grid, as a GeoJSON FeatureCollection with foreign
/// members describing the grid.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hotspots {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub resolution: u8,
    /// Cells in the study grid (every cell of the area, with or without incidents).
    pub grid_cells: usize,
    /// Incidents counted (inside the grid).
    pub incidents: u64,
    /// Incidents outside the grid (an area shape narrower than the filter).
    pub outside_grid: usize,
    /// Labels of the time slices of the emerging-hotspot classes.
    pub slices: Vec<String>,
    pub area: AreaView,
    pub caption: String,
    /// One Feature per cell with incidents or a significant class; the
    /// other cells of the grid are quiet and left out.
    #[schema(value_type = Vec<Object>)]
    pub features: Vec<serde_json::Value>,
}

/// Above this many time slices an emerging-hotspot analysis is refused.
pub const MAX_SLICES: usize = 260;

impl App {
    /// Getis-Ord Gi* per H3 cell with Benjamini-Hochberg FDR classes, and
    /// emerging-hotspot classes over the time slices of `period`.
    pub async fn hotspots(
        &self,
        viewer: &Viewer,
        q: &AnalyticsQuery,
        path: &str,
    ) -> Result<Hotspots, AppError> {
        let snap = self.snapshot().await?;
        let q = &*self.with_text(&snap, viewer, q).await?;
        let mut hits: Vec<Hit> = Vec::new();
        snap.visit(&q.filter, viewer, |h| hits.push(h));
        self.audit_analysis(viewer, hits.iter().any(|h| h.restricted), path)
            .await?;
        // Seconds of arithmetic on a large grid: off the async workers.
        let (q, viewer) = (q.clone(), viewer.clone());
        tokio::task::spawn_blocking(move || hotspot_answer(&viewer, &q, hits))
            .await
            .map_err(|e| AppError::Internal(format!("hotspot computation failed: {e}")))?
    }
}

/// The hotspots of `hits` (the visible incidents of the query), pure arithmetic.
fn hotspot_answer(
    viewer: &Viewer,
    q: &AnalyticsQuery,
    hits: Vec<Hit>,
) -> Result<Hotspots, AppError> {
    use sahelwatch_analytics::hotspot::{
        Grid, HotColdClass, HotspotError, emerging_hotspots, fdr_bh, gi_star,
    };
    let res = h3o::Resolution::try_from(q.resolution)
        .map_err(|e| AppError::bad("resolution", &q.resolution.to_string(), e.to_string()))?;
    let shape = match &q.shape {
        Some(s) => s.clone(),
        None => {
            // No area shape: the box around the incidents found, half a
            // degree wider on every side.
            let (mut a, mut b, mut c, mut d) = (90.0f64, 180.0f64, -90.0f64, -180.0f64);
            for h in &hits {
                a = a.min(h.latitude);
                b = b.min(h.longitude);
                c = c.max(h.latitude);
                d = d.max(h.longitude);
            }
            if hits.is_empty() {
                return Err(AppError::bad(
                    "region",
                    "",
                    "no incident matches and no area was given, so there is no grid to analyse; give region, country, admin1, bbox or polygon",
                ));
            }
            let rect = geo::Rect::new(
                geo::coord! { x: (b - 0.5).max(-180.0), y: (a - 0.5).max(-90.0) },
                geo::coord! { x: (d + 0.5).min(180.0), y: (c + 0.5).min(90.0) },
            );
            geo::MultiPolygon(vec![rect.to_polygon()])
        }
    };
    let grid_error = |e: HotspotError| match e {
        HotspotError::InvalidArea(m) if q.raw.polygon.is_some() => {
            AppError::bad("polygon", q.raw.polygon.as_deref().unwrap_or(""), m)
        }
        HotspotError::InvalidArea(m) => {
            AppError::bad("bbox", q.raw.bbox.as_deref().unwrap_or(""), m)
        }
        other => AppError::bad("resolution", &q.resolution.to_string(), other.to_string()),
    };
    let mut grid = Grid::covering(&shape, res).map_err(grid_error)?;
    if let Some(clip) = &q.clip {
        // A box or polygon inside named countries: only their cells.
        use geo::Intersects;
        let cells: Vec<h3o::CellIndex> = grid
            .cells()
            .iter()
            .copied()
            .filter(|c| {
                let ll = h3o::LatLng::from(*c);
                clip.intersects(&geo::Point::new(ll.lng(), ll.lat()))
            })
            .collect();
        grid = Grid::from_cells(cells).map_err(grid_error)?;
    }
    // Each incident's cell, once (the H3 lookup is the costly part).
    let cell_of: Vec<Option<usize>> = hits
        .iter()
        .map(|h| {
            h3o::LatLng::new(h.latitude, h.longitude)
                .ok()
                .and_then(|ll| grid.index_of(ll.to_cell(res)))
        })
        .collect();
    let mut counts = vec![0.0; grid.len()];
    for i in cell_of.iter().flatten() {
        counts[*i] += 1.0;
    }
    let outside_grid = cell_of.iter().filter(|c| c.is_none()).count();
    let gi = gi_star(&grid, &counts).map_err(|e| AppError::Internal(e.to_string()))?;
    let q_values = fdr_bh(&gi.iter().map(|g| g.p).collect::<Vec<_>>());
    let classes: Vec<HotColdClass> = gi
        .iter()
        .zip(&q_values)
        .map(|(g, q)| HotColdClass::from_z_q(g.z, *q))
        .collect();
    // Time slices for the emerging classes.
    let (lo, hi) = (
        q.filter.date_from.or(hits.first().map(|h| h.event_date)),
        q.filter.date_to.or(hits.last().map(|h| h.event_date)),
    );
    // Without an explicit period, the finest one with at most MAX_SLICES slices.
    let period = match &q.raw.period {
        Some(_) => q.period,
        None => [Period::Month, Period::Quarter, Period::Half, Period::Year]
            .into_iter()
            .find(|p| matches!((lo, hi), (Some(a), Some(b)) if p.count(a, b) <= MAX_SLICES))
            .unwrap_or(Period::Year),
    };
    let spans = buckets(period, lo, hi, MAX_SLICES)?;
    if spans.len().saturating_mul(grid.len()) > MAX_CELL_SLICES {
        return Err(AppError::bad(
            "resolution",
            &q.resolution.to_string(),
            format!(
                "{} cells x {} time slices is more than {MAX_CELL_SLICES}; use a coarser resolution or a longer period",
                grid.len(),
                spans.len()
            ),
        ));
    }
    let mut slices = vec![vec![0.0; grid.len()]; spans.len()];
    let mut fat = vec![0u64; grid.len()];
    let mut cursor = SpanCursor::new(&spans);
    for (h, i) in hits.iter().zip(&cell_of) {
        let Some(i) = *i else { continue };
        fat[i] += h.fatalities as u64;
        if let Some(k) = cursor.find(h.event_date) {
            slices[k][i] += 1.0;
        }
    }
    let emerging = if spans.is_empty() {
        None
    } else {
        Some(emerging_hotspots(&grid, &slices).map_err(|e| AppError::Internal(e.to_string()))?)
    };
    let mut features = Vec::new();
    for (i, cell) in grid.cells().iter().enumerate() {
        let e = emerging.as_ref().map(|e| &e[i]);
        let quiet = counts[i] == 0.0
            && !classes[i].is_hot()
            && !classes[i].is_cold()
            && e.is_none_or(|e| e.class == sahelwatch_analytics::hotspot::EmergingClass::NotHot);
        if quiet {
            continue;
        }
        let ring: Vec<Vec<f64>> = {
            let b = cell.boundary();
            let mut r: Vec<Vec<f64>> = b
                .iter()
                .map(|ll| vec![round6(ll.lng()), round6(ll.lat())])
                .collect();
            if let Some(first) = r.first().cloned() {
                r.push(first);
            }
            r
        };
        let mut props = serde_json::json!({
            "h3": cell.to_string(),
            "count": counts[i] as u64,
            "fatalities": fat[i],
            "gi_z": round6(gi[i].z),
            "gi_p": gi[i].p,
            "gi_q": q_values[i],
            "class": classes[i],
            "bin": classes[i].bin(),
        });
        if let Some(e) = e {
            props["emerging"] = serde_json::to_value(e.class).unwrap_or_default();
            props["hot_slices"] = e.hot_slices.into();
            props["trend_tau"] = e.trend_tau.into();
            props["trend_p"] = e.trend_p.into();
        }
        features.push(serde_json::json!({
            "type": "Feature",
            "id": cell.to_string(),
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": props,
        }));
    }
    let incidents = counts.iter().sum::<f64>() as u64;
    Ok(Hotspots {
        kind: "FeatureCollection",
        resolution: q.resolution,
        grid_cells: grid.len(),
        incidents,
        outside_grid,
        slices: spans.into_iter().map(|s| s.label).collect(),
        area: q.area.clone(),
        caption: caption(q, lo, hi, incidents, viewer),
        features,
    })
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Approach toward one place.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApproachView {
    pub place: crate::ResolvedNear,
    pub subject: String,
    pub area: AreaView,
    #[serde(flatten)]
    pub approach: sahelwatch_analytics::approach::Approach,
    pub statement: String,
}

impl App {
    /// Monthly minimum and median distance of matching incidents from each
    /// place of `place`, and their trends. Needs `from` and `to`, or takes
    /// the months of the incidents found.
    pub async fn approach(
        &self,
        viewer: &Viewer,
        q: &AnalyticsQuery,
        path: &str,
    ) -> Result<Vec<ApproachView>, AppError> {
        if q.places.is_empty() {
            return Err(AppError::bad(
                "place",
                "",
                "is required: a place name from the gazetteer (Bamako, Dori,BF) or lat,lon",
            ));
        }
        let gaz = self.gazetteer().await?;
        let mut places = Vec::new();
        let mut errs = Vec::new();
        for p in &q.places {
            match crate::query::resolve_place(&gaz, p) {
                Ok(r) => places.push(r),
                Err(m) => errs.push(ParamError::new("place", p, m)),
            }
        }
        if !errs.is_empty() {
            return Err(AppError::BadRequest(errs));
        }
        let snap = self.snapshot().await?;
        let q = &*self.with_text(&snap, viewer, q).await?;
        let mut events = Vec::new();
        let mut restricted = false;
        snap.visit(&q.filter, viewer, |h| {
            restricted |= h.restricted;
            events.push((h.event_date, h.latitude, h.longitude))
        });
        self.audit_analysis(viewer, restricted, path).await?;
        let lo = q.filter.date_from.or(events.first().map(|e| e.0));
        let hi = q.filter.date_to.or(events.last().map(|e| e.0));
        let mut out = Vec::new();
        for place in places {
            let a = match (lo, hi) {
                (Some(a), Some(b)) if a <= b => sahelwatch_analytics::approach::approach(
                    (place.latitude, place.longitude),
                    events.iter().copied(),
                    a,
                    b,
                ),
                _ => sahelwatch_analytics::approach::Approach {
                    months: Vec::new(),
                    median_trend: None,
                    min_trend: None,
                },
            };
            let subject = match &q.filter.actor {
                Some(actor) => format!("{} involving '{actor}'", q.subject),
                None => q.subject.clone(),
            };
            let statement = sahelwatch_analytics::approach::statement(&subject, &place.name, &a);
            out.push(ApproachView {
                place,
                subject,
                area: q.area.clone(),
                approach: a,
                statement,
            });
        }
        Ok(out)
    }
}
